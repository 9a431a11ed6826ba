"""Notebook 00: does averaging the weights help, as GoogLeNet's §6 ("Polyak averaging") used it?

GoogLeNet trained with "asynchronous stochastic gradient descent with 0.9 momentum" and a learning
rate cut by 4 % every 8 epochs, and used Polyak averaging "to create the final model used at
inference time" (§6). Over a few epochs that schedule is a constant learning rate, whose last
weights still jitter from batch to batch; an average of the recent weights smooths the jitter.
The course's default schedule (one-cycle) anneals the learning rate to nearly zero instead, which
calms the weights by itself. So notebook 00's tiny CNN is trained with each schedule, and each run
is evaluated with its plain weights and with an exponential moving average of them
(``train.fit(..., ema_decay=...)``): four arms, paired by seed. With the same seed and schedule,
the averaged and the plain run follow the same trajectory: only the evaluated weights differ.
"""

from __future__ import annotations

from typing import Any

from .nb00_seed_spread import tiny_cnn
from .registry import experiment
from .training import train_run

__all__ = ["ARMS", "polyak_arm"]

#: The four arms: (learning-rate schedule, the config key of its learning rate, averaged or not).
ARMS: dict[str, tuple[str, str, bool]] = {
    "onecycle": ("onecycle", "lr", False),
    "onecycle_ema": ("onecycle", "lr", True),
    "constant": ("constant", "constant_lr", False),
    "constant_ema": ("constant", "constant_lr", True),
}

_KEYS = ("val_acc", "val_acc_per_epoch", "train_loss")


def polyak_arm(config: dict[str, Any], seed: int, arm: str) -> dict[str, Any]:
    """Train one arm of ``polyak_averaging`` (a key of ``ARMS``), one seed; return its metrics."""
    schedule, lr_key, averaged = ARMS[arm]
    run = train_run(
        lambda: tiny_cnn(config["width"]),
        {**config, "lr": config[lr_key]},
        seed,
        schedule=schedule,
        ema_decay=config["ema_decay"] if averaged else None,
    )
    return {key: run[key] for key in _KEYS}


@experiment(
    "polyak_averaging",
    notebook="00",
    config={
        "width": 16,
        "train_size": 5_000,
        "epochs": 4,
        "lr": 0.1,
        "constant_lr": 0.05,
        "ema_decay": 0.95,
        "seeds": 3,
    },
)
def polyak_averaging(config: dict[str, Any], seed: int) -> dict[str, Any]:
    """The tiny CNN, one-cycle or constant learning rate, each evaluated with and without an EMA."""
    metrics: dict[str, Any] = {}
    for arm in ARMS:
        for key, value in polyak_arm(config, seed, arm).items():
            metrics[f"{key}_{arm}"] = value
    return metrics
