"""Notebook 03: which learning rates can the small GoogLeNet use, with batch norm and without?

The batch-norm paper (Ioffe and Szegedy, 2015) reports that batch norm lets a network use much
higher learning rates. The sweep below trains ``googlenet_small`` with and without batch norm at a
range of constant learning rates (SGD with Nesterov momentum, no warm-up, so that the rate is the
one thing that changes) and records the validation accuracy and final training loss of every
run. A run whose loss becomes NaN or infinite is recorded as diverged (``None``). The budget is
one pass over 5,000 images (39 steps of 128; the 8-image last batch is dropped), the regime of
the BN paper's claim: how far a network gets in few steps.

After so few steps a batch-normalized network's running statistics still remember their initial
value (variance 1, decayed by 0.9 per step: 0.9**39 ≈ 0.016), while the true variances deep in
the network are far smaller (the std-0.01 initialization shrinks the signal; batch norm rescales
it in training mode only). Evaluated with those running averages, the network predicts one class.
So, before scoring, the sweep recomputes every BatchNorm's statistics over a few training batches
(``recompute_batch_norm_statistics``, often called "precise BN"); the network without batch norm
has nothing to recompute.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from .. import data, train
from ..models import create_model
from .registry import experiment

__all__ = ["metric", "recompute_batch_norm_statistics", "sweep_point"]


def metric(batch_norm: bool, lr: float, name: str = "val_acc") -> str:
    """Return the sweep's metric for one arm and learning rate, e.g. "val_acc_bn_lr0.1"."""
    return f"{name}_{'bn' if batch_norm else 'no_bn'}_lr{lr:g}"


@experiment(
    "batch_norm_lr_sweep",
    notebook="03",
    config={
        "model": "googlenet_small",
        "train_size": 5_000,
        "epochs": 1,
        "schedule": "constant",
        # Training batches over which BatchNorm statistics are recomputed before scoring.
        "bn_batches": 10,
        "lrs": [0.01, 0.03, 0.1, 0.3, 1.0],
        # Three seeds: the arms differ by tens of points where they differ at all. One epoch
        # keeps the whole sweep (30 runs) within about 6 minutes on one core.
        "seeds": 3,
    },
)
def batch_norm_lr_sweep(config: dict[str, Any], seed: int) -> dict[str, Any]:
    """googlenet_small with and without batch norm, at each constant learning rate of the sweep."""
    metrics: dict[str, Any] = {}
    for lr in config["lrs"]:
        for batch_norm in (True, False):
            metrics.update(sweep_point(config, seed, lr, batch_norm))
    return metrics


def sweep_point(
    config: dict[str, Any], seed: int, lr: float, batch_norm: bool
) -> dict[str, float | None]:
    """One run of the sweep: its validation accuracy and final training loss (None if diverged)."""
    train.seed_everything(seed)
    model = create_model(config["model"], batch_norm=batch_norm)
    train_loader, val_loader = data.loaders(
        batch_size=128, train_size=config["train_size"], seed=seed
    )
    names = [metric(batch_norm, lr, name) for name in ("val_acc", "train_loss")]
    try:
        history = train.fit(
            model,
            train_loader,
            epochs=config["epochs"],
            lr=lr,
            seed=seed,
            schedule=config["schedule"],
            decay_norm_and_bias=True,  # as recorded; see training.train_run
            progress=False,
        )
    except FloatingPointError:
        return dict.fromkeys(names)
    recompute_batch_norm_statistics(model, train_loader, batches=config["bn_batches"])
    val_acc = train.evaluate(model, val_loader).accuracy
    return dict(zip(names, (val_acc, history.train_loss[-1])))


def recompute_batch_norm_statistics(model: nn.Module, loader: DataLoader, batches: int) -> int:
    """Replace every BatchNorm's running mean and variance by their average over ``batches``
    training batches (the weights are not touched); return how many BatchNorm layers there are."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # None: a plain average over every batch seen, not a decaying one
    model.train()
    with torch.no_grad():
        for step, (x, _) in enumerate(loader):
            if step == batches:
                break
            model(x.to(memory_format=torch.channels_last))
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum
    model.eval()
    return len(norms)
