"""Notebook 06: do residual connections speed up Inception training, and what does scaling do?

Two experiments, each a function of a config and a seed:

- ``residual_speedup`` tests the Inception-v4 paper's headline claim (abstract: "training with
  residual connections accelerates the training of Inception networks significantly") on the small
  networks: Inception-v4, Inception-ResNet-v2 and -v1, and Inception-ResNet-v2 with its shortcuts
  removed (same parameters, same multiply-adds: the control that changes only the shortcut). Every
  network trains with the same recipe and data order; the validation accuracy is measured every
  ``eval_every`` steps, with the training seconds spent so far.
- ``residual_scaling`` reproduces §3.3's "dying" wide residual stacks, with the controls the claim
  needs: the same stack without shortcuts, a lower learning rate, and the two halves of what the
  residual scale does to training (a smaller initial residual, and a step on the projection that is
  scale² times smaller).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import DataLoader

from .. import cost, data, train
from ..models import BasicConv2d, InceptionResNetB, create_model
from ..models.inception_resnet import InceptionResNetA, InceptionResNetC
from .registry import experiment

__all__ = [
    "PLAIN_SUFFIX",
    "SCALING_ARMS",
    "WideResidualStack",
    "build",
    "dead_fraction",
    "residual_blocks",
    "scaling_run",
    "speedup_run",
    "without_shortcuts",
]

#: A model name ending so is that network with every residual shortcut removed.
PLAIN_SUFFIX = "_plain"

_RESIDUAL = (InceptionResNetA, InceptionResNetB, InceptionResNetC)


# --- the headline claim: convergence with and without residual connections ----------------------


@experiment(
    "residual_speedup",
    notebook="06",
    config={
        "models": [
            "inception_v4_small",
            "inception_resnet_v2_small",
            "inception_resnet_v2_small" + PLAIN_SUFFIX,
            "inception_resnet_v1_small",
        ],
        "train_size": 3_000,
        "epochs": 2,
        "batch_size": 64,
        "lr": 0.1,
        "eval_every": 16,
        "eval_size": 500,
        "final_eval_size": 2_000,
        "seeds": 3,
    },
)
def residual_speedup(config: dict[str, Any], seed: int) -> dict[str, Any]:
    """Validation accuracy against steps and seconds: Inception-v4 vs the Inception-ResNets."""
    metrics: dict[str, Any] = {}
    for name in config["models"]:
        for key, value in speedup_run(name, config, seed).items():
            metrics[f"{key}_{name}"] = value
    return metrics


def speedup_run(name: str, config: dict[str, Any], seed: int) -> dict[str, Any]:
    """Train model ``name`` (see ``build``) once; return its validation curve and final metrics.

    The recipe is ``train.fit``'s default (SGD with Nesterov momentum 0.9, weight decay 5e-4, a
    one-cycle learning rate peaking at ``lr``), written out so that the validation accuracy can be
    measured every ``eval_every`` steps, on a fixed class-balanced ``eval_size`` images of the
    validation split; the final accuracy on a fixed class-balanced ``final_eval_size`` of them.
    Seconds count training only.
    """
    train.seed_everything(seed)
    model = build(name).to(memory_format=torch.channels_last)  # as train.fit does: faster on CPUs
    train_loader, _ = data.loaders(
        batch_size=config["batch_size"], train_size=config["train_size"], seed=seed
    )
    probe = _probe_loader(config["eval_size"])
    steps = config["epochs"] * len(train_loader)
    groups = train.parameter_groups(model, weight_decay=5e-4)
    opt = torch.optim.SGD(groups, lr=config["lr"], momentum=0.9, nesterov=True)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=config["lr"], total_steps=steps, pct_start=0.25
    )
    curve = {"step": [0], "seconds": [0.0], "val_acc": [_accuracy(model, probe)]}
    seconds, losses = 0.0, []
    for step, (x, y) in enumerate(_batches(train_loader, config["epochs"]), start=1):
        start = time.perf_counter()
        model.train()
        loss = F.cross_entropy(model(x.contiguous(memory_format=torch.channels_last)), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        schedule.step()
        seconds += time.perf_counter() - start
        losses.append(loss.item())
        if step % config["eval_every"] == 0 or step == steps:
            curve["step"].append(step)
            curve["seconds"].append(round(seconds, 2))
            curve["val_acc"].append(_accuracy(model, probe))
    return {
        "curve_step": curve["step"],
        "curve_seconds": curve["seconds"],
        "curve_val_acc": curve["val_acc"],
        "val_acc": _accuracy(model, _probe_loader(config["final_eval_size"])),
        "train_loss": sum(losses[-20:]) / len(losses[-20:]),
        "train_seconds": round(seconds, 2),
        "macs": cost.count(model, (1, 28, 28)).macs,
        "params": sum(p.numel() for p in model.parameters()),
    }


def build(name: str) -> nn.Module:
    """Return ``create_model(name)``, or, for a name ending in ``_plain``, that network with every
    residual shortcut removed (same layers and weights' shapes: same parameters and MACs)."""
    if name.endswith(PLAIN_SUFFIX):
        return without_shortcuts(create_model(name.removesuffix(PLAIN_SUFFIX)))
    return create_model(name)


def without_shortcuts(model: nn.Module) -> nn.Module:
    """Make every Inception-ResNet block of ``model`` compute ``act(conv1x1(branches))``: no
    shortcut, no scale (without a shortcut the scale only rescales what the next BatchNorm undoes).
    Returns ``model``, changed in place."""
    for block in residual_blocks(model):
        block.forward = _plain_forward.__get__(block)  # type: ignore[method-assign]
    return model


def residual_blocks(model: nn.Module) -> list[nn.Module]:
    """Return the Inception-ResNet A/B/C blocks of ``model``, in order."""
    return [m for m in model.modules() if isinstance(m, _RESIDUAL)]


def _plain_forward(block: nn.Module, x: Tensor) -> Tensor:
    branches = [getattr(block, f"branch{i}") for i in range(3) if hasattr(block, f"branch{i}")]
    return block.relu(block.conv2d(torch.cat([branch(x) for branch in branches], 1)))


def _batches(loader: DataLoader, epochs: int) -> Iterator[tuple[Tensor, Tensor]]:
    for _ in range(epochs):
        yield from loader


def _probe_loader(size: int) -> DataLoader:
    """A fixed, class-balanced subset of the validation split (the same for every seed)."""
    val = data.fashion_mnist("val", transform=data.test_transform())
    return DataLoader(data.balanced_subset(val, size, seed=0), batch_size=500)


def _accuracy(model: nn.Module, loader: DataLoader) -> float:
    return round(train.evaluate(model, loader).accuracy, 4)


# --- §3.3: wide residual stacks that "die", with controls ----------------------------------------

#: The arms of ``residual_scaling`` at its widest width: (label, settings).
SCALING_ARMS: dict[str, dict[str, Any]] = {
    "residual, scale 1": {"scale": 1.0},
    "residual, scale 0.1": {"scale": 0.1},
    "no shortcut": {"scale": 1.0, "shortcut": False},
    "residual, scale 1, lr / 100": {"scale": 1.0, "lr_factor": 0.01},
    "residual, scale 1, projection lr / 100": {"scale": 1.0, "projection_lr_factor": 0.01},
    "residual, scale 1, projection init / 10": {"scale": 1.0, "projection_init_factor": 0.1},
}


@experiment(
    "residual_scaling",
    notebook="06",
    config={
        "channels": 1024,
        "narrow_channels": [256],
        "blocks": 10,
        "steps": 40,
        "batch_size": 32,
        "lr": 0.05,
        "seeds": 3,
    },
)
def residual_scaling(config: dict[str, Any], seed: int) -> dict[str, Any]:
    """Wide residual stacks that die (§3.3), with controls: no shortcut, lower lr, init vs lr."""
    metrics: dict[str, Any] = {}
    runs = {f"{label} @ {config['channels']}": (config["channels"], arm)
            for label, arm in SCALING_ARMS.items()}  # fmt: skip
    for channels in config["narrow_channels"]:
        for scale in (1.0, 0.1):
            runs[f"residual, scale {scale:g} @ {channels}"] = (channels, {"scale": scale})
    for key, (channels, arm) in runs.items():
        record = scaling_run(channels, config, seed, **arm)
        for name, value in record.items():
            metrics[f"{name} | {key}"] = value
    return metrics


class WideResidualStack(nn.Module):
    """A small stem to a 4×4×``channels`` map, ``blocks`` Inception-ResNet-B blocks (v2's design
    at a quarter of its branch widths), average pooling and a linear classifier; returns logits.

    ``last_map`` keeps the output of the last block: "the last layer before the average pooling",
    whose channels die in §3.3.
    """

    def __init__(self, channels: int, scale: float, blocks: int = 10) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            BasicConv2d(1, 32, 3, padding=1), nn.MaxPool2d(2),  # 28 → 14
            BasicConv2d(32, 64, 3, padding=1), nn.MaxPool2d(2),  # 14 → 7
            nn.MaxPool2d(2, ceil_mode=True), BasicConv2d(64, channels, 1),  # 7 → 4, widen
        )  # fmt: skip
        self.blocks = nn.Sequential(
            *[InceptionResNetB(channels, scale=scale, width=0.25) for _ in range(blocks)]
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, 10)
        self.last_map = torch.empty(0)

    def forward(self, x: Tensor) -> Tensor:
        self.last_map = self.blocks(self.stem(x))
        return self.fc(self.pool(self.last_map).flatten(1))


def scaling_run(
    channels: int,
    config: dict[str, Any],
    seed: int,
    *,
    scale: float,
    shortcut: bool = True,
    lr_factor: float = 1.0,
    projection_lr_factor: float = 1.0,
    projection_init_factor: float = 1.0,
) -> dict[str, Any]:
    """Train a ``WideResidualStack`` for ``config["steps"]`` SGD steps; return its record.

    SGD with momentum 0.9, a constant learning rate ``config["lr"] × lr_factor`` and no weight
    decay; the residual projections (each block's linear 1×1 ``conv2d``) train at
    ``projection_lr_factor`` times that rate and start at ``projection_init_factor`` times their
    initial weights. Scaling a residual by s is exactly the same training as scale 1 with the
    projection's initial weights × s and its learning rate × s². The record holds, per step, the
    loss and the fraction of channels of the last block that are zero for every image of the
    batch ("dead"), then the validation accuracy on 1,000 images after the last step.
    """
    train.seed_everything(seed)
    model = WideResidualStack(channels, scale, config["blocks"])
    if not shortcut:
        without_shortcuts(model)
    projections = [p for block in residual_blocks(model) for p in block.conv2d.parameters()]
    with torch.no_grad():
        for p in projections:
            p.mul_(projection_init_factor)
    ids = {id(p) for p in projections}
    lr = config["lr"] * lr_factor
    groups = [
        {"params": [p for p in model.parameters() if id(p) not in ids], "lr": lr},
        {"params": projections, "lr": lr * projection_lr_factor},
    ]
    opt = torch.optim.SGD(groups, lr=lr, momentum=0.9)
    loader, _ = data.loaders(batch_size=config["batch_size"], seed=seed)
    losses, dead = [], []
    model.train()
    for _, (images, labels) in zip(range(config["steps"]), loader):
        loss = F.cross_entropy(model(images), labels)
        losses.append(loss.item() if torch.isfinite(loss) else float("inf"))
        dead.append(dead_fraction(model.last_map))
        if not torch.isfinite(loss):
            break  # diverged: the record ends here
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return {
        "loss": [round(v, 4) for v in losses],
        "dead": [round(v, 4) for v in dead],
        "max_loss": round(max(losses), 4),
        "max_loss_step": losses.index(max(losses)),
        "dead_at_end": round(sum(dead[-5:]) / len(dead[-5:]), 4),
        "val_acc": _accuracy(model, _probe_loader(1_000)),
    }


def dead_fraction(feature_map: Tensor) -> float:
    """Return the fraction of channels of an N×C×H×W map that are zero for every image and place."""
    return (feature_map.detach().amax(dim=(0, 2, 3)) <= 0).float().mean().item()
