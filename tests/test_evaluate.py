"""Multi-crop views, ensembles and latency (inception_edu.evaluate)."""

import math

import pytest
import torch
from torch import nn

from inception_edu import calibration, cost, evaluate, train
from inception_edu.data import FASHION_MNIST, MEAN, STD
from inception_edu.models import create_model

pytestmark = pytest.mark.usefixtures("one_thread")

BLACK = (0 - MEAN) / STD


class Fixed(nn.Module):
    """A 'classifier' that returns given logits whatever the image, with K classes."""

    def __init__(self, logits: list[float]) -> None:
        super().__init__()
        self.logits = nn.Parameter(torch.tensor(logits))
        self.num_classes = len(logits)

    def forward(self, x):
        return self.logits.expand(len(x), -1)


class ReadsCorner(nn.Module):
    """Logits taken from the top-left pixel and the mean: shows which view it saw."""

    num_classes = 2

    def forward(self, x):
        return torch.stack([x[:, 0, 0, 0], x.mean(dim=(1, 2, 3))], dim=1)


def images(n=3, size=28, seed=0):
    return torch.randn(n, 1, size, size, generator=torch.Generator().manual_seed(seed))


# --- schemes and crops ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, views", [("center", 1), ("mirror", 2), ("5-crop", 5), ("10-crop", 10)]
)
def test_named_schemes_cost_one_pass_per_view(name, views):
    scheme = evaluate.get_scheme(name)
    assert scheme.views == views == len(scheme.view_names())
    assert evaluate.crops(images(), name).shape == (views, 3, 1, 28, 28)


def test_the_centre_crop_is_the_image_and_the_mirror_its_flip():
    x = images()
    views = evaluate.crops(x, "10-crop")
    assert torch.equal(views[0], x)
    assert torch.equal(views[5], x.flip(-1))


def test_corner_crops_are_shifts_padded_with_black():
    x = images()
    views = dict(zip(evaluate.SCHEMES["5-crop"].view_names(), evaluate.crops(x, "5-crop")))
    # top-left crop of the image padded by 2: the image moves 2 pixels right and down.
    top_left = views["top-left"]
    assert torch.equal(top_left[..., 2:, 2:], x[..., :-2, :-2])
    assert torch.allclose(top_left[..., :2, :], torch.tensor(BLACK))
    bottom_right = views["bottom-right"]
    assert torch.equal(bottom_right[..., :-2, :-2], x[..., 2:, 2:])
    assert torch.allclose(bottom_right[..., -2:, :], torch.tensor(BLACK))


def test_a_smaller_crop_is_resized_to_the_image_size():
    scheme = evaluate.CropScheme("zoom", positions=("center",), padding=0, crop=20)
    views = evaluate.crops(images(), scheme)
    assert views.shape == (1, 3, 1, 28, 28)


def test_a_crop_larger_than_the_padded_image_is_a_clear_error():
    scheme = evaluate.CropScheme("too big", positions=("top-left",), padding=2, crop=33)
    with pytest.raises(ValueError, match=r"33×33 crop is larger than the padded image \(32×32"):
        evaluate.crops(images(), scheme)


def test_bad_schemes_are_refused_with_the_valid_choices():
    with pytest.raises(ValueError, match="use one of 'center', 'mirror', '5-crop', '10-crop'"):
        evaluate.get_scheme("144-crop")
    with pytest.raises(ValueError, match="positions must be"):
        evaluate.CropScheme("x", positions=("middle",))
    with pytest.raises(ValueError, match="padding must be"):
        evaluate.CropScheme("x", padding=-1)
    with pytest.raises(ValueError, match="N×C×H×W"):
        evaluate.crops(torch.zeros(1, 28, 28), "center")


# --- multi_crop ----------------------------------------------------------------------------------


def test_multi_crop_averages_the_softmax_of_the_views():
    model = ReadsCorner()
    x = images()
    per_view = evaluate.multi_crop(model, x, "5-crop", per_view=True)
    assert per_view.shape == (5, 3, 2)
    expected = torch.stack([model(v).softmax(1) for v in evaluate.crops(x, "5-crop")])
    assert torch.allclose(per_view, expected)
    assert torch.allclose(evaluate.multi_crop(model, x, "5-crop"), expected.mean(0))


def test_multi_crop_in_chunks_gives_the_same_answer_and_restores_train_mode():
    model = create_model("googlenet_small").train()
    x = images(7)
    whole = evaluate.multi_crop(model, x, "mirror")
    chunked = evaluate.multi_crop(model, x, "mirror", batch_size=3)
    assert torch.allclose(whole, chunked, atol=1e-6)
    assert model.training
    assert torch.allclose(whole.sum(1), torch.ones(7))


def test_the_center_scheme_is_plain_evaluation():
    model = create_model("naive_small")
    x = images(4)
    with torch.no_grad():
        expected = model.eval()(x).softmax(1)
    assert torch.allclose(evaluate.multi_crop(model, x, "center"), expected, atol=1e-6)


# --- ensembles -----------------------------------------------------------------------------------


def test_an_ensemble_averages_softmax_outputs_and_returns_their_log():
    a, b = Fixed([2.0, 0.0, -1.0]), Fixed([0.0, 3.0, 0.0])
    team = evaluate.ensemble([a, b])
    x = images(2)
    expected = (a(x).softmax(1) + b(x).softmax(1)) / 2
    out = team(x)
    assert torch.allclose(out.exp(), expected)
    assert torch.allclose(out.softmax(1), expected)  # softmax of the output gives the average back
    assert isinstance(team, nn.Module) and not team.training and team.num_classes == 3


def test_an_ensemble_is_evaluated_and_calibrated_like_any_classifier(test_set):
    members = [create_model("naive_small") for _ in range(2)]
    team = evaluate.ensemble(members)
    loader = torch.utils.data.DataLoader(torch.utils.data.Subset(test_set, range(64)), 32)
    logits, targets = train.collect_logits(team, loader)
    confidence, correct = calibration.confidence_and_correct(logits, targets)
    assert logits.shape == (64, 10) and 0 <= calibration.expected_calibration_error(
        confidence, correct
    ) <= 1


def test_an_ensemble_costs_the_sum_of_its_members():
    members = [create_model("googlenet_small"), create_model("naive_small")]
    total = sum(cost.count(m, (1, 1, 28, 28)).macs for m in members)
    assert cost.count(evaluate.ensemble(members), (1, 1, 28, 28)).macs == total


def test_an_empty_ensemble_is_a_clear_error():
    with pytest.raises(ValueError, match="an ensemble needs at least one model"):
        evaluate.ensemble([])
    with pytest.raises(ValueError, match="an ensemble needs at least one model"):
        evaluate.ensemble(m for m in [create_model("naive_small")] if False)


def test_members_with_different_class_counts_are_refused_by_name():
    ten, five = create_model("naive_small"), create_model("googlenet_small", num_classes=5)
    expected = r"class counts differ \(naive_small: 10, googlenet_small: 5"
    with pytest.raises(ValueError, match=expected):
        evaluate.ensemble([ten, five])


def test_members_without_num_classes_are_checked_on_their_outputs():
    a = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    b = nn.Sequential(nn.Flatten(), nn.Linear(784, 3))
    team = evaluate.ensemble([a, b])
    with pytest.raises(ValueError, match="class counts differ"):
        team(images(2))


def test_ensemble_members_must_be_modules():
    with pytest.raises(TypeError, match="must be nn.Modules, got function"):
        evaluate.ensemble([create_model("naive_small"), lambda x: x])


# --- latency -------------------------------------------------------------------------------------


def test_latency_times_the_requested_batch():
    model = create_model("naive_small").train()
    measured = evaluate.latency(model, (1, 28, 28), batch=4, repeats=3, warmup=1)
    assert measured.batch == 4 and len(measured.times) == 3
    assert all(t > 0 for t in measured.times)
    assert math.isclose(measured.per_image, measured.seconds / 4)
    assert math.isclose(measured.images_per_second, 4 / measured.seconds)
    assert model.training  # its mode is restored
    assert "batch 4:" in str(measured)


def test_latency_refuses_a_batched_shape_and_bad_counts():
    model = create_model("naive_small")
    with pytest.raises(ValueError, match="one image's"):
        evaluate.latency(model, (8, 1, 28, 28), batch=8)
    with pytest.raises(ValueError, match="batch ≥ 1"):
        evaluate.latency(model, (1, 28, 28), batch=0)


def test_crops_use_the_dataset_info_for_the_padding():
    info = FASHION_MNIST
    views = evaluate.crops(torch.zeros(1, 1, 28, 28), "5-crop", info)
    assert torch.allclose(views[1, 0, 0, 0, 0], torch.tensor(BLACK))


# --- subsets of views and samples ----------------------------------------------------------------


def test_every_named_scheme_is_a_subset_of_the_ten_views():
    assert evaluate.view_indices("center") == [0]
    assert evaluate.view_indices("mirror") == [0, 5]
    assert evaluate.view_indices("5-crop") == [0, 1, 2, 3, 4]
    assert evaluate.view_indices("10-crop") == list(range(10))
    x = images()
    ten = evaluate.crops(x, "10-crop")
    assert torch.equal(ten[evaluate.view_indices("mirror")], evaluate.crops(x, "mirror"))


def test_a_scheme_with_other_views_or_padding_is_not_a_subset():
    with pytest.raises(ValueError, match="not a subset of 'mirror'"):
        evaluate.view_indices("5-crop", within="mirror")
    wider = evaluate.CropScheme("wide", positions=("top-left",), padding=4)
    with pytest.raises(ValueError, match="other padding or crop"):
        evaluate.view_indices(wider)


def test_sample_is_class_balanced_and_normalized():
    x, y = evaluate.sample("test", 200, seed=0)
    assert x.shape == (200, 1, 28, 28) and torch.bincount(y).tolist() == [20] * 10
    assert x.min() < 0  # normalized: black is below zero
    x_again, y_again = evaluate.sample("test", 200, seed=0)
    assert torch.equal(x, x_again) and torch.equal(y, y_again)
