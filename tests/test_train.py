import math

import matplotlib
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from torchvision.models.googlenet import GoogLeNetOutputs

from inception_edu.data import loaders
from inception_edu.train import (
    History,
    InceptionLoss,
    collect_logits,
    evaluate,
    fit,
    parameter_groups,
    seed_everything,
)

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
    assert torch.allclose(
        InceptionLoss((0.5, 0.1))(output, y), ce(logits, y) + 0.5 * ce(aux2, y) + 0.1 * ce(aux1, y)
    )
    assert torch.allclose(InceptionLoss()(logits, y), ce(logits, y))
    with pytest.raises(ValueError, match="aux_weight has 1 entries but the model returned 2"):
        InceptionLoss((0.3,))(output, y)


def test_fit_trains_a_model_with_aux_heads():
    train, test = loaders(batch_size=64, train_size=500)
    seed_everything(0)
    history = fit(
        WithAux(), train, test, epochs=1, progress=False, label_smoothing=0.1, clip_grad_norm=2.0
    )
    assert history.val_acc[0] > 0.3


@pytest.mark.parametrize("optimizer", ["sgd", "adamw", "rmsprop"])
def test_every_optimizer_takes_steps(optimizer):
    x, y = torch.randn(32, 1, 28, 28), torch.randint(0, 10, (32,))
    loader = DataLoader(TensorDataset(x, y), batch_size=16)
    model = tiny_cnn()
    before = [p.detach().clone() for p in model.parameters()]
    history = fit(model, loader, epochs=1, lr=0.01, optimizer=optimizer, progress=False)
    assert history.epochs == 1 and len(history.lr) == 2
    # Every kernel and BatchNorm scale moves. (A conv bias right before a BatchNorm gets an almost
    # zero gradient, and without weight decay, the default for biases, it may not move at all.)
    moved = {n: not torch.equal(a, b) for (n, b), a in zip(model.named_parameters(), before)}
    kernels_and_scales = ("0.weight", "1.weight", "4.weight", "5.weight", "9.weight")
    assert all(moved[n] for n in kernels_and_scales), moved


def lr_used(schedule: str, lr: float = 0.1, epochs: int = 4, steps: int = 4) -> list[float]:
    x, y = torch.randn(steps * 8, 1, 28, 28), torch.randint(0, 10, (steps * 8,))
    loader = DataLoader(TensorDataset(x, y), batch_size=8)
    history = fit(tiny_cnn(), loader, epochs=epochs, lr=lr, schedule=schedule, progress=False)
    assert len(history.lr) == epochs * steps
    return history.lr


def test_constant_schedule_uses_the_same_rate_at_every_step():
    assert lr_used("constant") == [0.1] * 16


def test_onecycle_warms_up_to_lr_at_a_quarter_then_anneals_to_almost_zero():
    used = lr_used("onecycle")
    assert used[0] == pytest.approx(0.1 / 25)  # OneCycleLR's div_factor
    assert max(used) == pytest.approx(0.1, rel=1e-3) and used.index(max(used)) == 3
    assert used[-1] < 1e-4 and used == sorted(used[:4]) + sorted(used[4:], reverse=True)


def test_cosine_halves_the_rate_halfway():
    used = lr_used("cosine")
    assert used[0] == pytest.approx(0.1) and used[8] == pytest.approx(0.05)
    assert used[-1] == pytest.approx(0.1 * (1 + math.cos(math.pi * 15 / 16)) / 2)


def test_exponential_multiplies_by_0_94_every_two_epochs():
    used = lr_used("exponential")
    assert used[0] == pytest.approx(0.1)
    assert used[8] == pytest.approx(0.1 * 0.94)  # step 8 starts epoch 3 (4 steps an epoch)
    assert used[4] == pytest.approx(0.1 * 0.94**0.5)  # smoothly, per step


def test_fit_leaves_the_loader_and_the_global_random_state_alone_without_a_seed():
    def loader():
        x, y = torch.randn(40, 1, 28, 28), torch.randint(0, 10, (40,))
        gen = torch.Generator().manual_seed(3)
        return DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True, generator=gen)

    torch.manual_seed(7)
    untouched, trained = loader(), loader()
    list(untouched)  # one epoch of plain iteration
    model = tiny_cnn()
    state = torch.get_rng_state()
    fit(model, trained, epochs=1, progress=False)
    assert torch.equal(torch.get_rng_state(), state), "fit reseeded or used the global RNG"
    assert torch.equal(trained.generator.get_state(), untouched.generator.get_state())
    fit(tiny_cnn(), loader(), epochs=1, progress=False, seed=5)
    assert not torch.equal(torch.get_rng_state(), state)


def test_empty_loaders_wrong_images_and_nan_inputs_stop_with_a_clear_message():
    empty = DataLoader(TensorDataset(torch.zeros(0, 1, 28, 28), torch.zeros(0).long()))
    with pytest.raises(ValueError, match=r"train_loader is empty \(0 batches\)"):
        fit(tiny_cnn(), empty, progress=False)
    rgb = DataLoader(TensorDataset(torch.zeros(8, 3, 32, 32), torch.zeros(8).long()), batch_size=4)
    from inception_edu.models import create_model

    with pytest.raises(ValueError, match=r"batches of shape \(4, 3, 32, 32\).*expects 1 input"):
        fit(create_model("naive_small"), rgb, progress=False)
    with pytest.raises(ValueError, match=r"batches of shape \(4, 3, 32, 32\)"):
        fit(tiny_cnn(), rgb, progress=False)
    nan = DataLoader(TensorDataset(torch.full((8, 1, 28, 28), float("nan")), torch.zeros(8).long()))
    with pytest.raises(FloatingPointError, match=r"loss became nan at epoch 1, step 1"):
        fit(tiny_cnn(), nan, progress=False)


def test_parameter_groups_exempt_norm_and_bias_unless_asked():
    model = tiny_cnn()
    (everything,) = parameter_groups(model, 5e-4, decay_norm_and_bias=True)
    assert len(everything["params"]) == len(list(model.parameters()))
    decay, no_decay = parameter_groups(model, 5e-4)
    assert decay["weight_decay"] == 5e-4 and no_decay["weight_decay"] == 0.0
    assert [p.ndim for p in decay["params"]] == [4, 4, 2]  # two conv kernels, the linear weight
    assert len(no_decay["params"]) == 7  # conv biases, BN weights and biases, linear bias


class Untouched(nn.Module):
    """tiny_cnn plus a vector and a matrix with a zero gradient: only weight decay moves them."""

    def __init__(self) -> None:
        super().__init__()
        self.body = tiny_cnn()
        self.vector = nn.Parameter(torch.ones(3))
        self.matrix = nn.Parameter(torch.ones(2, 2))

    def forward(self, x):
        return self.body(x) + 0.0 * (self.vector.sum() + self.matrix.sum())


@pytest.mark.parametrize("decay_norm_and_bias", [None, True])
def test_fit_spares_norm_and_bias_from_weight_decay_by_default(decay_norm_and_bias):
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(32, 1, 28, 28, generator=gen), torch.randint(0, 10, (32,), generator=gen)
    model = Untouched()
    options = {} if decay_norm_and_bias is None else {"decay_norm_and_bias": decay_norm_and_bias}
    loader = DataLoader(TensorDataset(x, y), batch_size=8)
    fit(model, loader, epochs=1, schedule="constant", progress=False, **options)
    assert model.matrix.detach().max() < 1.0  # decayed either way: it has two dimensions
    vector_decayed = bool(model.vector.detach().max() < 1.0)
    assert vector_decayed == (decay_norm_and_bias is True)


def test_weight_averaging_keeps_the_average_in_the_model():
    def run(ema_decay):
        gen = torch.Generator().manual_seed(1)
        x, y = torch.randn(64, 1, 28, 28, generator=gen), torch.randint(0, 10, (64,), generator=gen)
        loader = DataLoader(TensorDataset(x, y), batch_size=8)
        seed_everything(0)
        model = tiny_cnn()
        initial = [p.detach().clone() for p in model.parameters()]
        fit(model, loader, epochs=1, lr=0.05, progress=False, ema_decay=ema_decay, seed=0)
        return initial, [p.detach().clone() for p in model.parameters()]

    initial, plain = run(None)
    _, forgetful = run(1e-9)  # averages over one step: the last weights
    _, slow = run(0.999)  # 8 steps of a 0.999 average barely leave the start
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(forgetful, plain))
    far = sum((a - b).norm() for a, b in zip(plain, initial))
    near = sum((a - b).norm() for a, b in zip(slow, initial))
    assert near < 0.05 * far


def test_divergence_and_bad_options_are_explained():
    x, y = torch.randn(32, 1, 28, 28), torch.randint(0, 10, (32,))
    loader = DataLoader(TensorDataset(x * 1e30, y), batch_size=16)
    with pytest.raises(FloatingPointError, match="training diverged"):
        fit(tiny_cnn(), loader, epochs=1, lr=1e30, schedule="constant", progress=False)
    with pytest.raises(ValueError, match="schedule must be one of"):
        fit(tiny_cnn(), loader, schedule="linear", progress=False)
    with pytest.raises(ValueError, match="optimizer must be"):
        fit(tiny_cnn(), loader, optimizer="lion", progress=False)
    with pytest.raises(ValueError, match="ema_decay must be between 0 and 1"):
        fit(tiny_cnn(), loader, ema_decay=1.0, progress=False)


def test_history_plots_itself():
    history = History(
        train_loss=[1.0, 0.5], train_acc=[0.6, 0.8], val_loss=[0.9, 0.6], val_acc=[0.65, 0.79]
    )
    fig = history.plot()
    assert fig._suptitle.get_text() == "Validation accuracy 79.0% after 2 epochs"
    assert [ax.get_xlabel() for ax in fig.axes] == ["epoch", "epoch"]
    assert repr(history) == "History(2 epochs, train_acc=0.8000, val_acc=0.7900)"


class TupleModel(nn.Module):
    """Returns (logits, aux) like an Inception network with auxiliary heads in train mode."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 3)

    def forward(self, x):
        logits = self.linear(x.flatten(1))
        return (logits, -logits) if self.training else logits


def test_collect_logits_runs_in_eval_mode_and_restores_the_mode():
    torch.manual_seed(0)
    model = TupleModel().train()
    x = torch.randn(10, 1, 2, 2)
    loader = DataLoader(TensorDataset(x, torch.arange(10) % 3), batch_size=4)
    logits, targets = collect_logits(model, loader)
    assert logits.shape == (10, 3) and targets.tolist() == (torch.arange(10) % 3).tolist()
    assert torch.allclose(logits, model.linear(x.flatten(1)).detach())
    assert model.training
