import matplotlib
import pytest
import torch
from torch import nn

from inception_edu import data, models
from inception_edu.attributions import (
    METHODS,
    TargetError,
    attribute,
    blank_baseline,
    branch_attribution,
    default_gradcam_layer,
    integrated_gradients,
    plot_attributions,
    plot_branch_attribution,
    predict,
)
from inception_edu.inference import ImageError
from inception_edu.receptive_field import inception_modules, module_branches
from inception_edu.train import fit, seed_everything

matplotlib.use("Agg")


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def images(test_set):
    return [test_set[i][0] for i in range(4)]


class Inception(nn.Module):
    """1×1 ‖ 3×3 ‖ 5×5 ‖ pool → 1×1, concatenated, as in GoogLeNet."""

    def __init__(self, c_in: int) -> None:
        super().__init__()
        self.branch1 = nn.Sequential(nn.Conv2d(c_in, 4, 1), nn.ReLU())
        self.branch2 = nn.Sequential(nn.Conv2d(c_in, 6, 3, padding=1), nn.ReLU())
        self.branch3 = nn.Sequential(nn.Conv2d(c_in, 3, 5, padding=2), nn.ReLU())
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, 1, 1), nn.Conv2d(c_in, 3, 1), nn.ReLU())

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class TinyInception(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.in_channels = 1
        self.stem = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.inception = Inception(8)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.inception(self.stem(x))), 1))


@pytest.fixture(scope="module")
def tiny():
    # Trained for a few seconds, so that images move the logits: attributions have something to
    # explain (about 30 % test accuracy; enough for the properties tested here).
    train_loader, _ = data.loaders(batch_size=64, train_size=2000)
    seed_everything(0)
    model = TinyInception()
    fit(model, train_loader, epochs=2, lr=0.1, progress=False)
    return model.eval()


def linear() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 10))


def test_integrated_gradients_of_a_linear_model_is_input_minus_baseline_times_weight(images):
    model, image = linear(), images[0]
    attr, delta = integrated_gradients(model, image, 3, n_steps=8)
    weight = model[1].weight[3].detach().view(1, 28, 28)
    assert torch.allclose(attr, (image - blank_baseline(image)) * weight, atol=1e-5)
    assert abs(delta) < 1e-4
    saliency = attribute(model, image, 3, "saliency")
    assert torch.allclose(saliency, weight.abs()[0])
    # A 1×1 occlusion window removes one pixel at a time: for a linear model, the same as IG.
    occlusion = attribute(model, image, 3, "occlusion", window=1, stride=1)
    assert torch.allclose(occlusion, attr[0], atol=1e-5)


def test_integrated_gradients_completeness_on_a_real_image(tiny, images):
    model = tiny
    for image in images[:2]:
        target = int(predict(model, image).argmax())
        attr, delta = integrated_gradients(model, image, target, n_steps=128)
        with torch.no_grad():
            change = model(image[None])[0, target] - model(blank_baseline(image)[None])[0, target]
        assert abs(float(change)) > 0.05  # a real change to explain, not a trivial zero
        assert float(attr.sum()) == pytest.approx(float(change), rel=1e-3, abs=1e-5)
        assert abs(delta) < 1e-3 * abs(float(change)) + 1e-5


def test_every_method_gives_an_image_sized_map(tiny, images):
    model, image = tiny, images[1]
    assert default_gradcam_layer(model, (1, 28, 28)) == "inception"
    for method in METHODS:
        heat = attribute(model, image, 2, method)
        assert heat.shape == (28, 28) and torch.isfinite(heat).all(), method
        if method in ("saliency", "gradcam"):
            assert heat.min() >= 0, method
        assert heat.abs().max() > 0, method


def test_target_and_method_errors_say_what_is_valid(tiny, images):
    model, image = tiny, images[0]
    with pytest.raises(
        TargetError,
        match=r"target class 10 is out of range: this model has 10 classes, 0 to 9 "
        r"\(0 T-shirt/top, 1 Trouser",
    ):
        attribute(model, image, 10)
    with pytest.raises(TargetError, match="9 Ankle boot"):
        attribute(model, image, -1, "saliency")
    with pytest.raises(
        ValueError, match="unknown method 'lime'; choose one of integrated_gradients, saliency"
    ):
        attribute(model, image, 1, "lime")
    with pytest.raises(ImageError, match="got 3×28×28"):
        attribute(model, image.expand(3, -1, -1), 1)


def test_branch_shares_by_integrated_gradients_add_up_to_the_logit_change(tiny, images):
    model, image = tiny, images[2]
    result = branch_attribution(model, image, "inception", target=4, n_steps=128)
    assert list(result.totals) == ["branch1", "branch2", "branch3", "branch4"]
    assert result.sizes == {
        "branch1": (1, 1),
        "branch2": (3, 3),
        "branch3": (5, 5),
        "branch4": (3, 3),
    }
    with torch.no_grad():
        change = model(image[None])[0, 4] - model(blank_baseline(image)[None])[0, 4]
    # Every path to the logit goes through the module: completeness holds at its output too.
    assert sum(result.totals.values()) == pytest.approx(float(change), rel=1e-2, abs=1e-4)
    assert sum(abs(v) for v in result.shares.values()) == pytest.approx(1.0)
    assert result.class_name == "Coat" and 0 < result.probability < 1


def test_branch_ablation_is_the_logit_drop_when_the_branch_is_zeroed(tiny, images):
    model, image = tiny, images[3]
    result = branch_attribution(model, image, "inception", target=7, method="ablation")
    with torch.no_grad():
        full = model(image[None])[0, 7]
        for name, drop in result.totals.items():
            branch = getattr(model.inception, name)
            handle = branch.register_forward_hook(lambda m, i, out: torch.zeros_like(out))
            zeroed = model(image[None])[0, 7]
            handle.remove()
            assert drop == pytest.approx(float(full - zeroed), abs=1e-5)
    assert result.top == max(result.totals, key=result.totals.get)
    with pytest.raises(
        ValueError, match="unknown method 'shap'; choose one of integrated_gradients, ablation"
    ):
        branch_attribution(model, image, "inception", method="shap")


def test_branch_attribution_on_the_course_models(images):
    shape = (1, 28, 28)
    torch.manual_seed(0)
    googlenet = models.create_model("googlenet_small").eval()
    result = branch_attribution(googlenet, images[0], "inception4a", method="ablation")
    assert result.sizes == {
        "branch1": (1, 1),
        "branch2": (3, 3),
        "branch3": (5, 5),
        "branch4": (3, 3),
    }
    resnet = models.create_model("inception_resnet_v2_small").eval()
    # A residual block's branches feed its 1×1 conv: the attribution is at that conv's input.
    block = next(
        m for m in inception_modules(resnet, shape) if module_branches(resnet, m, shape).is_input
    )
    result = branch_attribution(resnet, images[0], block, target=1, n_steps=8)
    assert list(result.totals) == ["branch0", "branch1", "branch2"]
    assert sum(abs(v) for v in result.shares.values()) == pytest.approx(1.0)


def test_attribution_figures_name_method_class_and_probability(tiny, images):
    model, image = tiny, images[0]
    probabilities = predict(model, image)
    fig = plot_attributions(model, image, target=9)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[1] == f"Integrated Gradients\n→ Ankle boot (p = {probabilities[9]:.2f})"
    assert [t.split("\n")[0] for t in titles[1:]] == [
        "Integrated Gradients",
        "Saliency",
        "Grad-CAM",
        "Occlusion",
    ]
    assert "evidence for Ankle boot" in fig._suptitle.get_text()
    bars = plot_branch_attribution(model, image, "inception", target=9, method="ablation")
    assert "carried the decision for Ankle boot" in bars._suptitle.get_text()
    assert [t.get_text() for t in bars.axes[0].get_yticklabels()][2] == "branch3 (5×5)"
