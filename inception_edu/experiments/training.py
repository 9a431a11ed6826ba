"""The one training run every experiment is made of: seed, build, train, measure.

Every experiment of the course trains small networks on the shipped Fashion-MNIST training split,
makes its choices on the validation split and, where it reports a final number, evaluates the test
set once at the end. ``train_run`` does exactly that for one seed, so that two arms of an
experiment differ only in what the experiment varies.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from .. import data, train

__all__ = ["train_run"]


def train_run(
    build: Callable[[], nn.Module],
    config: dict[str, Any],
    seed: int,
    *,
    test: bool = False,
    **fit_options: Any,
) -> dict[str, Any]:
    """Seed, build a model, train it as ``config`` says; return its metrics.

    ``config`` gives ``train_size`` (images, class-balanced), ``epochs``, ``lr`` and optionally
    ``batch_size`` (128) and ``augment`` (False); ``fit_options`` go to ``train.fit``. Weight
    decay reaches every parameter (``decay_norm_and_bias=True``) unless ``fit_options`` say
    otherwise: the recorded results were made that way and must reproduce. The metrics
    are the validation accuracy after each epoch and at the end, the training loss, the seconds
    spent training and the images per second, and with ``test=True`` the test accuracy.
    """
    train.seed_everything(seed)
    model = build()
    train_loader, val_loader = data.loaders(
        batch_size=config.get("batch_size", 128),
        train_size=config["train_size"],
        augment=config.get("augment", False),
        seed=seed,
    )
    history = train.fit(
        model,
        train_loader,
        val_loader,
        epochs=config["epochs"],
        lr=config["lr"],
        seed=seed,
        progress=False,
        **{"decay_norm_and_bias": True, **fit_options},
    )
    metrics: dict[str, Any] = {
        "val_acc": history.val_acc[-1],
        "val_acc_per_epoch": history.val_acc,
        "train_loss": history.train_loss[-1],
        "train_seconds": round(sum(history.seconds), 2),
        "images_per_second": round(history.images_per_second[-1], 1),
    }
    if test:
        _, test_loader = data.loaders(train_size=10, eval_split="test")
        metrics["test_acc"] = train.evaluate(model, test_loader).accuracy
    return metrics
