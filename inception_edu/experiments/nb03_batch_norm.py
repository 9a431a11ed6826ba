"""Notebook 03: which learning rates can the small GoogLeNet use, with batch norm and without?

The batch-norm paper (Ioffe and Szegedy, 2015) reports that batch norm lets a network use much
higher learning rates. The sweep below trains ``googlenet_small`` with and without batch norm at a
range of constant learning rates (SGD with Nesterov momentum, no warm-up, so that the rate is the
one thing that changes) and records the validation accuracy of every run. A run whose loss becomes
NaN or infinite is recorded as diverged (``None``).
"""

from __future__ import annotations

from typing import Any

from ..models import create_model
from .registry import experiment
from .training import train_run

__all__ = ["metric"]


def metric(batch_norm: bool, lr: float) -> str:
    """Return the sweep's metric for one arm and learning rate, e.g. "val_acc_bn_lr0.1"."""
    return f"val_acc_{'bn' if batch_norm else 'no_bn'}_lr{lr:g}"


@experiment(
    "batch_norm_lr_sweep",
    notebook="03",
    config={
        "model": "googlenet_small",
        "train_size": 5_000,
        "epochs": 3,
        "schedule": "constant",
        "lrs": [0.003, 0.01, 0.03, 0.1, 0.3, 1.0],
        # Three seeds: the arms differ by tens of points where they differ at all.
        "seeds": 3,
    },
)
def batch_norm_lr_sweep(config: dict[str, Any], seed: int) -> dict[str, Any]:
    """googlenet_small with and without batch norm, at each constant learning rate of the sweep."""
    metrics: dict[str, Any] = {}
    for lr in config["lrs"]:
        for batch_norm in (True, False):
            metrics[metric(batch_norm, lr)] = _val_acc(config, seed, lr, batch_norm)
    return metrics


def _val_acc(config: dict[str, Any], seed: int, lr: float, batch_norm: bool) -> float | None:
    """Validation accuracy after training at ``lr``, or None if the loss became NaN or infinite."""
    try:
        run = train_run(
            lambda: create_model(config["model"], batch_norm=batch_norm),
            {**config, "lr": lr},
            seed,
            schedule=config["schedule"],
        )
    except FloatingPointError:
        return None
    return run["val_acc"]
