"""Notebook 02: the small GoogLeNet against the naive network of notebook 01, at the same recipe.

``googlenet_vs_naive`` trains ``googlenet_small`` with its two auxiliary heads (losses weighted
0.3, as in the paper's §5) and ``naive_small`` (notebook 01) with the same recipe, data and seed,
and records the validation accuracy and the training speed of each. The small GoogLeNet costs 58 %
of the naive network's multiply-adds; the question is what that buys in accuracy and in time.
Both train with the course's default recipe on a class-balanced 10,000-image sample of the
training split and are measured on the validation split.
"""

from __future__ import annotations

from typing import Any

from ..models import googlenet_small, naive_small
from .registry import experiment
from .training import train_run

_KEYS = ("val_acc", "val_acc_per_epoch", "train_loss", "train_seconds", "images_per_second")


@experiment(
    "googlenet_vs_naive",
    notebook="02",
    config={"train_size": 10_000, "epochs": 2, "lr": 0.1, "aux_weight": 0.3, "seeds": 5},
)
def googlenet_vs_naive(config: dict[str, Any], seed: int) -> dict[str, Any]:
    """googlenet_small with aux heads vs naive_small: accuracy and speed, paired by seed."""
    metrics: dict[str, Any] = {}
    googlenet = train_run(
        lambda: googlenet_small(aux_logits=True), config, seed, aux_weight=config["aux_weight"]
    )
    naive = train_run(naive_small, config, seed)
    for arm, run in (("googlenet", googlenet), ("naive", naive)):
        for key in _KEYS:
            metrics[f"{key}_{arm}"] = run[key]
    return metrics
