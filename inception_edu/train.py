"""Train and evaluate classifiers, Inception's auxiliary heads included, with progress bars.

``fit`` runs the default recipe, which trains the course's small models well on a CPU: SGD with
Nesterov momentum, a one-cycle learning rate and weight decay, with the channels-last memory layout
(10-35 % faster than the default layout for every small model of the course on a 2-core CPU, see
``benchmarks/bench_train.py``).
Networks with auxiliary heads return a tuple in train mode; ``InceptionLoss`` weighs the extra
heads into the loss, so you never have to pass that tuple to a plain criterion yourself.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

__all__ = ["History", "InceptionLoss", "Metrics", "evaluate", "fit", "main_logits", "seed_everything"]

SCHEDULES = ("onecycle", "cosine", "exponential", "constant")


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and torch so that model init, shuffling and dropout repeat exactly."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@dataclass
class Metrics:
    """Mean loss and accuracy over ``n`` examples."""

    loss: float
    accuracy: float
    n: int


@dataclass
class History:
    """Per-epoch loss and accuracy (train and validation), learning rate and speed."""

    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    images_per_second: list[float] = field(default_factory=list)

    @property
    def epochs(self) -> int:
        return len(self.train_loss)

    def plot(self, title: str | None = None):
        """Return a matplotlib figure of loss and accuracy per epoch, train and validation."""
        import matplotlib.pyplot as plt

        fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.2))
        epochs = range(1, self.epochs + 1)
        ax_loss.plot(epochs, self.train_loss, "o-", label="train")
        ax_acc.plot(epochs, self.train_acc, "o-", label="train")
        if self.val_loss:
            ax_loss.plot(epochs, self.val_loss, "s--", label="validation")
            ax_acc.plot(epochs, self.val_acc, "s--", label="validation")
        for ax, name in ((ax_loss, "loss"), (ax_acc, "accuracy")):
            ax.set_xlabel("epoch")
            ax.set_ylabel(name)
            ax.grid(alpha=0.3)
            ax.legend()
        if title is None and self.val_acc:
            title = f"Validation accuracy {self.val_acc[-1]:.1%} after {self.epochs} epochs"
        if title:
            fig.suptitle(title)
        fig.tight_layout()
        return fig

    def __repr__(self) -> str:
        if not self.epochs:
            return "History(no epochs)"
        val = f", val_acc={self.val_acc[-1]:.4f}" if self.val_acc else ""
        return f"History({self.epochs} epochs, train_acc={self.train_acc[-1]:.4f}{val})"


class InceptionLoss(nn.Module):
    """Cross-entropy on the main logits plus ``aux_weight`` × cross-entropy on each auxiliary head.

    Accepts a plain tensor (eval mode, or a network without aux heads) or the tuple / named tuple
    that GoogLeNet and Inception-v3 return in train mode (main logits first). GoogLeNet's paper
    weighs its two auxiliary losses by 0.3.
    """

    def __init__(self, aux_weight: float | Sequence[float] = 0.3, label_smoothing: float = 0.0) -> None:
        super().__init__()
        self.aux_weight = aux_weight
        self.label_smoothing = label_smoothing

    def forward(self, output, target: torch.Tensor) -> torch.Tensor:
        logits, aux = _split(output)
        loss = F.cross_entropy(logits, target, label_smoothing=self.label_smoothing)
        weights = self._weights(len(aux))
        for w, a in zip(weights, aux):
            loss = loss + w * F.cross_entropy(a, target, label_smoothing=self.label_smoothing)
        return loss

    def _weights(self, n: int) -> list[float]:
        if isinstance(self.aux_weight, (int, float)):
            return [float(self.aux_weight)] * n
        weights = list(self.aux_weight)
        if len(weights) != n:
            raise ValueError(f"aux_weight has {len(weights)} entries but the model returned {n} aux outputs")
        return weights


def main_logits(output) -> torch.Tensor:
    """Return the main logits of a model output, whether a tensor or an (aux) tuple."""
    return _split(output)[0]


def fit(
    model: nn.Module,
    train_loader: DataLoader,
    val_loader: DataLoader | None = None,
    *,
    epochs: int = 5,
    lr: float = 0.1,
    optimizer: str | Callable[..., torch.optim.Optimizer] = "sgd",
    weight_decay: float = 5e-4,
    schedule: str = "onecycle",
    label_smoothing: float = 0.0,
    aux_weight: float | Sequence[float] = 0.3,
    clip_grad_norm: float | None = None,
    channels_last: bool = True,
    seed: int | None = 0,
    progress: bool = True,
) -> History:
    """Train ``model`` for ``epochs`` and return its History; evaluates on ``val_loader`` each epoch.

    ``optimizer`` is "sgd" (Nesterov momentum 0.9), "adamw", "rmsprop" (the Inception-v3 paper's
    settings: decay 0.9, eps 1.0) or a function ``params -> Optimizer``. ``schedule`` is one of
    "onecycle", "cosine", "exponential" (×0.94 every 2 epochs, as in Inception-v3) or "constant".
    ``seed`` fixes shuffling, augmentation and dropout (seed the model's init yourself with
    ``seed_everything`` before building it).
    """
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    if not 0.0 <= label_smoothing < 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
    if seed is not None:
        seed_everything(seed)
        if getattr(train_loader, "generator", None) is not None:
            train_loader.generator.manual_seed(seed)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    device = _device(model)
    opt = _optimizer(optimizer, model, lr, weight_decay)
    steps_per_epoch = len(train_loader)
    scheduler = _scheduler(schedule, opt, lr, epochs, steps_per_epoch)
    criterion = InceptionLoss(aux_weight, label_smoothing)
    history = History()

    for _ in _bar(range(epochs), "epochs", progress, leave=True):
        model.train()
        start = time.perf_counter()
        total_loss, correct, seen = 0.0, 0, 0
        for x, y in _bar(train_loader, "train", progress):
            x, y = _to(x, device, channels_last), y.to(device)
            output = model(x)
            loss = criterion(output, y)
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"loss became {loss.item()} after {history.epochs} epochs: training diverged. "
                    "Lower lr, or set clip_grad_norm."
                )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if clip_grad_norm is not None:
                nn.utils.clip_grad_norm_(model.parameters(), clip_grad_norm)
            opt.step()
            scheduler.step()
            total_loss += loss.item() * len(y)
            correct += (main_logits(output).argmax(1) == y).sum().item()
            seen += len(y)
        seconds = time.perf_counter() - start
        history.train_loss.append(total_loss / seen)
        history.train_acc.append(correct / seen)
        history.lr.append(opt.param_groups[0]["lr"])
        history.seconds.append(seconds)
        history.images_per_second.append(seen / seconds)
        if val_loader is not None:
            metrics = evaluate(model, val_loader, channels_last=channels_last, progress=progress)
            history.val_loss.append(metrics.loss)
            history.val_acc.append(metrics.accuracy)
    return history


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: DataLoader,
    *,
    channels_last: bool = True,
    progress: bool = False,
) -> Metrics:
    """Return the mean cross-entropy and accuracy of ``model`` (in eval mode) over ``loader``."""
    was_training = model.training
    model.eval()
    device = _device(model)
    total_loss, correct, seen = 0.0, 0, 0
    try:
        for x, y in _bar(loader, "evaluate", progress):
            x, y = _to(x, device, channels_last), y.to(device)
            logits = main_logits(model(x))
            total_loss += F.cross_entropy(logits, y, reduction="sum").item()
            correct += (logits.argmax(1) == y).sum().item()
            seen += len(y)
    finally:
        model.train(was_training)
    if seen == 0:
        raise ValueError("evaluate got an empty loader: there is nothing to evaluate on")
    return Metrics(loss=total_loss / seen, accuracy=correct / seen, n=seen)


def _split(output) -> tuple[torch.Tensor, list[torch.Tensor]]:
    if isinstance(output, torch.Tensor):
        return output, []
    if isinstance(output, (tuple, list)) and output and isinstance(output[0], torch.Tensor):
        return output[0], [a for a in output[1:] if a is not None]
    raise TypeError(
        f"expected a logits tensor or a (logits, aux, ...) tuple from the model, got {type(output).__name__}"
    )


def _device(model: nn.Module) -> torch.device:
    return next((p.device for p in model.parameters()), torch.device("cpu"))


def _bar(iterable: Iterable, desc: str, progress: bool, leave: bool = False) -> Iterable:
    # Redraw at most once a second: every redraw of a notebook bar is a message to the front end, and
    # a flood of them (tens per second over a minute of training) overflows the kernel's output
    # queue, which drops messages; test runners such as nbval then time out waiting for them.
    return tqdm(iterable, desc=desc, leave=leave, disable=not progress, mininterval=1.0)


def _to(x: torch.Tensor, device: torch.device, channels_last: bool) -> torch.Tensor:
    x = x.to(device)
    return x.contiguous(memory_format=torch.channels_last) if channels_last and x.dim() == 4 else x


def _optimizer(choice, model: nn.Module, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if callable(choice):
        return choice(params)
    if choice == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, nesterov=True, weight_decay=weight_decay)
    if choice == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    if choice == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, alpha=0.9, eps=1.0, weight_decay=weight_decay)
    raise ValueError(f"optimizer must be 'sgd', 'adamw', 'rmsprop' or a callable, got {choice!r}")


def _scheduler(name: str, opt: torch.optim.Optimizer, lr: float, epochs: int, steps_per_epoch: int):
    sched = torch.optim.lr_scheduler
    total = epochs * steps_per_epoch
    if name == "onecycle":
        return sched.OneCycleLR(opt, max_lr=lr, total_steps=total, pct_start=0.25)
    if name == "cosine":
        return sched.CosineAnnealingLR(opt, T_max=total)
    if name == "exponential":
        # Inception-v3: lr × 0.94 every two epochs, applied smoothly per step.
        return sched.ExponentialLR(opt, gamma=math.pow(0.94, 1.0 / (2 * steps_per_epoch)))
    if name == "constant":
        return sched.LambdaLR(opt, lambda step: 1.0)
    raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, got {name!r}")
