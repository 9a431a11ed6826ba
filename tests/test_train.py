import matplotlib
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from torchvision.models.googlenet import GoogLeNetOutputs

from inception_edu.data import loaders
from inception_edu.train import History, InceptionLoss, evaluate, fit, main_logits, seed_everything

matplotlib.use("Agg")


def tiny_cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 7 * 7, 10),
    )  # fmt: skip


class WithAux(nn.Module):
    """A tiny network that, like GoogLeNet, returns (logits, aux2, aux1) in train mode."""

    def __init__(self) -> None:
        super().__init__()
        self.body = tiny_cnn()
        self.aux1 = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
        self.aux2 = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))

    def forward(self, x):
        logits = self.body(x)
        if self.training:
            return GoogLeNetOutputs(logits, self.aux2(x), self.aux1(x))
        return logits


def test_a_tiny_model_learns_fashion_mnist():
    train, test = loaders(batch_size=64, train_size=2_000)
    seed_everything(0)
    model = tiny_cnn()
    before = evaluate(model, test)
    history = fit(model, train, test, epochs=2, lr=0.1, progress=False)
    assert history.epochs == 2 and len(history.val_acc) == 2
    assert history.train_loss[-1] < history.train_loss[0]
    assert history.val_acc[-1] > 0.6 > before.accuracy + 0.3
    assert history.images_per_second[0] > 0


def test_two_seeded_runs_are_equal():
    results = []
    for _ in range(2):
        train, _ = loaders(batch_size=64, train_size=500, augment=True)
        seed_everything(1)
        model = tiny_cnn()
        history = fit(model, train, epochs=1, progress=False, seed=1)
        results.append((history.train_loss, [p.detach().clone() for p in model.parameters()]))
    assert results[0][0] == results[1][0]
    assert all(torch.equal(a, b) for a, b in zip(results[0][1], results[1][1]))


def test_aux_outputs_are_weighted_into_the_loss():
    torch.manual_seed(0)
    logits, aux2, aux1 = torch.randn(3, 8, 10).unbind(0)
    y = torch.randint(0, 10, (8,))
    ce = nn.functional.cross_entropy
    output = GoogLeNetOutputs(logits, aux2, aux1)
    expected = ce(logits, y) + 0.3 * ce(aux2, y) + 0.3 * ce(aux1, y)
    assert torch.allclose(InceptionLoss()(output, y), expected)
    assert torch.allclose(InceptionLoss((0.5, 0.1))(output, y), ce(logits, y) + 0.5 * ce(aux2, y) + 0.1 * ce(aux1, y))
    assert torch.allclose(InceptionLoss()(logits, y), ce(logits, y))
    assert main_logits(output) is logits
    with pytest.raises(ValueError, match="aux_weight has 1 entries but the model returned 2"):
        InceptionLoss((0.3,))(output, y)


def test_fit_trains_a_model_with_aux_heads():
    train, test = loaders(batch_size=64, train_size=500)
    seed_everything(0)
    history = fit(WithAux(), train, test, epochs=1, progress=False, label_smoothing=0.1, clip_grad_norm=2.0)
    assert history.val_acc[0] > 0.3


@pytest.mark.parametrize("schedule", ["onecycle", "cosine", "exponential", "constant"])
@pytest.mark.parametrize("optimizer", ["sgd", "adamw", "rmsprop"])
def test_every_optimizer_and_schedule_runs(optimizer, schedule):
    x, y = torch.randn(32, 1, 28, 28), torch.randint(0, 10, (32,))
    loader = DataLoader(TensorDataset(x, y), batch_size=16)
    history = fit(tiny_cnn(), loader, epochs=1, lr=0.01, optimizer=optimizer, schedule=schedule, progress=False)
    assert history.epochs == 1


def test_divergence_and_bad_options_are_explained():
    x, y = torch.randn(32, 1, 28, 28), torch.randint(0, 10, (32,))
    loader = DataLoader(TensorDataset(x * 1e30, y), batch_size=16)
    with pytest.raises(FloatingPointError, match="training diverged"):
        fit(tiny_cnn(), loader, epochs=1, lr=1e30, schedule="constant", progress=False)
    with pytest.raises(ValueError, match="schedule must be one of"):
        fit(tiny_cnn(), loader, schedule="linear", progress=False)
    with pytest.raises(ValueError, match="optimizer must be"):
        fit(tiny_cnn(), loader, optimizer="lion", progress=False)
    with pytest.raises(TypeError, match="expected a logits tensor"):
        main_logits({"logits": x})


def test_history_plots_itself():
    history = History(train_loss=[1.0, 0.5], train_acc=[0.6, 0.8], val_loss=[0.9, 0.6], val_acc=[0.65, 0.79])
    fig = history.plot()
    assert fig._suptitle.get_text() == "Validation accuracy 79.0% after 2 epochs"
    assert [ax.get_xlabel() for ax in fig.axes] == ["epoch", "epoch"]
    assert repr(history) == "History(2 epochs, train_acc=0.8000, val_acc=0.7900)"
