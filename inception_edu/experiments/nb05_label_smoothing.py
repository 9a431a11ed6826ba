"""Notebook 05: what label smoothing does to a network's confidence, next to temperature scaling.

``label_smoothing_calibration`` trains the small Inception-v3 twice per seed, with one-hot targets
(ε = 0, arm "plain") and with the paper's smoothed targets (ε = 0.1, arm "smooth"): same initial
weights, same images in the same order, only ε differs. For each network it then

- fits a temperature on the validation split (``calibration.fit_temperature``: Guo et al.'s
  post-hoc alternative to smoothing, one number that divides the logits),
- measures on the test set, once: accuracy, mean confidence, expected calibration error (ECE) and
  negative log-likelihood (NLL), before and after dividing the logits by that temperature, and the
  logits' norm and gap (top logit minus the mean of the others),
- measures how tightly the penultimate-layer features of each class cluster (``cluster_spread``)
  on training images (the first ``train_probe`` of the subset it trained on) and on the
  validation split: the effect Müller, Kornblith and Hinton (2019, §2) show in pictures.

``run_with_models`` is the same run, also returning the trained networks and their logits, so that
a notebook can draw the figures of the very run whose numbers it checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import DataLoader, Subset

from .. import calibration, data, train
from ..inference import eval_mode
from ..models import InceptionV3, inception_v3_small
from .registry import experiment

__all__ = ["ARMS", "Outputs", "cluster_spread", "penultimate", "run_with_models"]

#: The two arms of the experiment, named by what their targets are.
ARMS = ("plain", "smooth")


@dataclass
class Outputs:
    """What one network of a run produced: features on training images and on validation (with
    the logits), logits on test."""

    model: InceptionV3
    train_features: Tensor
    train_targets: Tensor
    val_features: Tensor
    val_logits: Tensor
    val_targets: Tensor
    test_logits: Tensor
    test_targets: Tensor


@experiment(
    "label_smoothing_calibration",
    notebook="05",
    config={
        "train_size": 8000,
        "epochs": 1,
        "lr": 0.1,
        "eps": 0.1,
        "n_bins": 15,
        "train_probe": 2000,
        "seeds": 5,
    },
)
def label_smoothing_calibration(config: dict[str, Any], seed: int) -> dict[str, Any]:
    """Small Inception-v3 with ε = 0 and 0.1: test calibration, with and without temperature."""
    return run_with_models(config, seed)[0]


def run_with_models(config: dict[str, Any], seed: int) -> tuple[dict[str, Any], dict[str, Outputs]]:
    """Return the experiment's metrics for ``seed`` and, per arm, the network and its outputs."""
    _, test_loader = data.loaders(train_size=10, eval_split="test")
    metrics: dict[str, Any] = {}
    outputs: dict[str, Outputs] = {}
    for arm, eps in zip(ARMS, (0.0, config["eps"]), strict=True):
        model, train_loader, val_loader = _train(config, seed, eps)
        probe = DataLoader(
            Subset(train_loader.dataset, range(config["train_probe"])), batch_size=512
        )
        train_features, _, train_targets = penultimate(model, probe)
        val_features, val_logits, val_targets = penultimate(model, val_loader)
        test_logits, test_targets = train.collect_logits(model, test_loader)
        outputs[arm] = Outputs(
            model,
            train_features,
            train_targets,
            val_features,
            val_logits,
            val_targets,
            test_logits,
            test_targets,
        )
        measured = _measure(outputs[arm], config["n_bins"])
        metrics.update({f"{name}_{arm}": value for name, value in measured.items()})
    return metrics, outputs


@torch.no_grad()
def penultimate(model: InceptionV3, loader: DataLoader) -> tuple[Tensor, Tensor, Tensor]:
    """Return the pooled penultimate-layer features, the logits and the targets over ``loader``.

    The logits are the final layer applied to those features (what ``model(x)`` returns in eval
    mode), so one pass gives both.
    """
    features, targets = [], []
    with eval_mode(model):
        for x, y in loader:
            features.append(model.forward_head(model.forward_features(x), pre_logits=True))
            targets.append(y)
        pooled = torch.cat(features)
        return pooled, model.get_classifier()(pooled), torch.cat(targets)


def cluster_spread(features: Tensor, targets: Tensor) -> float:
    """Return how spread each class's features are, relative to how far apart the classes are.

    The mean distance of a feature vector to its class's mean, divided by the mean distance
    between two class means: 0 for classes collapsed to points, larger for looser clusters. It
    does not change when every feature is scaled by one number.
    """
    x = features.double()
    classes = targets.unique()
    means = torch.stack([x[targets == c].mean(0) for c in classes])
    index = torch.searchsorted(classes, targets)
    within = (x - means[index]).norm(dim=1).mean()
    between = torch.pdist(means).mean()
    return float(within / between)


def _train(
    config: dict[str, Any], seed: int, eps: float
) -> tuple[nn.Module, DataLoader, DataLoader]:
    """Seed, build and train one network with smoothing ``eps``; return it and its loaders.

    As ``training.train_run`` does, without the per-epoch validation pass (the metrics read the
    validation split once, after training).
    """
    train.seed_everything(seed)
    model = inception_v3_small()
    train_loader, val_loader = data.loaders(
        batch_size=config.get("batch_size", 128), train_size=config["train_size"], seed=seed
    )
    train.fit(
        model,
        train_loader,
        epochs=config["epochs"],
        lr=config["lr"],
        label_smoothing=eps,
        seed=seed,
        decay_norm_and_bias=True,  # as recorded; see training.train_run
        progress=False,
    )
    return model, train_loader, val_loader


def _measure(out: Outputs, n_bins: int) -> dict[str, float]:
    """Accuracy, confidence, ECE and NLL on test, before and after temperature scaling; more."""
    temperature = calibration.fit_temperature(out.val_logits, out.val_targets)
    measured: dict[str, float] = {
        "val_acc": float((out.val_logits.argmax(1) == out.val_targets).double().mean()),
        "temperature": temperature,
        "cluster_spread_train": cluster_spread(out.train_features, out.train_targets),
        "cluster_spread_val": cluster_spread(out.val_features, out.val_targets),
    }
    for suffix, logits in (("", out.test_logits), ("_ts", out.test_logits / temperature)):
        confidence, correct = calibration.confidence_and_correct(logits, out.test_targets)
        if not suffix:  # a temperature changes no prediction, so no accuracy
            measured["test_acc"] = float(correct.double().mean())
        measured[f"confidence{suffix}"] = float(confidence.double().mean())
        measured[f"ece{suffix}"] = calibration.expected_calibration_error(
            confidence, correct, n_bins
        )
        measured[f"nll{suffix}"] = float(F.cross_entropy(logits.double(), out.test_targets))
    top = out.test_logits.max(dim=1).values
    others = (out.test_logits.sum(1) - top) / (out.test_logits.shape[1] - 1)
    measured["logit_norm"] = float(out.test_logits.norm(dim=1).mean())
    measured["logit_gap"] = float((top - others).mean())
    return {name: round(value, 6) for name, value in measured.items()}
