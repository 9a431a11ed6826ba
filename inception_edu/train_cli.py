"""Train any network of the course with a paper's recipe: on a laptop CPU, or on many GPUs.

    python -m inception_edu.train_cli --data fashion-mnist --model googlenet_small --steps 2
    torchrun --nproc_per_node 8 -m inception_edu.train_cli --data imagenet/ --model inception_v3

``--data`` is ``fashion-mnist`` (the shipped data) or a folder in ImageFolder layout
(``DIR/train/<class>/<image>``, and ``DIR/val/...`` for evaluation). ``--recipe`` picks the
hyper-parameters of a paper (``inception_edu.recipes``); each of them is also a flag. The
learning rate follows the global batch: lr = base lr × global batch / base batch.

Under ``torchrun`` every process trains a DistributedDataParallel replica on its share of each
batch. Everything random is drawn from seeds derived from ``--seed``: a sample's augmentation
from (epoch, sample index), dropout from (process rank, step). So the batches are the same for any
number of processes with the same global batch, and ``--resume`` continues a run exactly where
its checkpoint left it, without replaying the data already seen.

The output folder holds ``config.json``, ``log.csv`` (step, epoch, loss, accuracy, lr),
``eval.csv``, ``metrics.json``, the latest ``checkpoint.pt`` (its sha256 in
``checkpoint.pt.sha256``, checked by ``--resume``; a run killed at any moment leaves one that
resumes) and the final ``final.pt`` (plus ``final_ema.pt`` with weight averaging), all readable
by ``inception_edu.checkpoints``.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import math
import os
import platform
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler, Subset
from tqdm.auto import tqdm

from inception_edu import checkpoints, data
from inception_edu.cli import whole_number as _whole
from inception_edu.inference import main_logits
from inception_edu.models import MODEL_NAMES, create_model
from inception_edu.models.torchvision_weights import IMAGENET_MEAN, IMAGENET_STD
from inception_edu.recipes import RECIPES, Recipe, default_recipe, input_size, lr_factor, scaled_lr
from inception_edu.train import InceptionLoss, parameter_groups

__all__ = [
    "TrainCliError",
    "UnreadableImageWarning",
    "build_parser",
    "eval_transform",
    "main",
    "run",
    "train_transform",
]

# Grayscale folders: the mean of ImageNet's three channel statistics.
GRAY_MEAN = (0.449,)
GRAY_STD = (0.226,)
AUGMENTATIONS = ("inception", "light", "none")

# Settings a resumed run must share with its checkpoint: they decide which batches come next and
# what a step does. The others (--epochs, --steps, --out, logging, workers, …) may change.
MUST_MATCH = (
    "model", "model_arguments", "classes", "train_images", "image_size", "channels", "augment",
    "color_jitter", "optimizer", "base_lr", "base_batch", "momentum", "rmsprop_decay", "eps",
    "weight_decay", "lr_decay", "decay_epochs", "warmup_epochs", "label_smoothing", "aux_weight",
    "clip_grad_norm", "ema_decay", "global_batch", "steps_per_epoch", "seed", "dtype",
)  # fmt: skip
LOG_COLUMNS = ("step", "epoch", "loss", "accuracy", "lr")
EVAL_COLUMNS = ("step", "epoch", "loss", "accuracy", "ema_loss", "ema_accuracy", "images")
# Domains of the derived seeds, so that sample seeds and step seeds never coincide.
_SAMPLE_SEED, _STEP_SEED = 0, 1


class TrainCliError(ValueError):
    """A command line, data folder or checkpoint that cannot be used; the message says why."""


class UnreadableImageWarning(UserWarning):
    """An image file failed to decode and was skipped."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return its exit status (2 after a TrainCliError, else 0)."""
    try:
        run(argv)
    except TrainCliError as err:
        world, rank = int(os.environ.get("WORLD_SIZE", "1")), os.environ.get("RANK", "0")
        print(f"{f'[rank {rank}] ' if world > 1 else ''}error: {err}", file=sys.stderr)
        return 2
    return 0


def run(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Train as the command line ``argv`` asks; return the final metrics (as in metrics.json)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.command = ["python", "-m", "inception_edu.train_cli", *argv]
    env = _start_distributed(args.cpu)
    try:
        return _train(args, env)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def build_parser() -> argparse.ArgumentParser:
    """Return the command line's parser; a recipe flag left out keeps the recipe's value."""
    parser = argparse.ArgumentParser(
        prog="python -m inception_edu.train_cli",
        description=(
            "Train an Inception network with a paper's recipe, in one process or under torchrun. "
            "The learning rate is scaled linearly with the global batch: "
            "lr = --lr × (--batch-size × processes) / --base-batch."
        ),
        epilog=_recipes_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    # fmt: off
    what = parser.add_argument_group("what to train")
    what.add_argument("--data", required=True, help="'fashion-mnist', or a folder with train/ "
                      "(and val/) in ImageFolder layout: DIR/train/<class>/<image>")
    what.add_argument("--model", required=True, choices=MODEL_NAMES, metavar="NAME",
                      help=f"one of {', '.join(MODEL_NAMES)}")
    what.add_argument("--model-arg", action="append", default=[], metavar="KEY=VALUE",
                      help="create_model argument, VALUE in JSON (aux_logits=true); repeatable")
    what.add_argument("--recipe", choices=sorted(RECIPES), help="hyper-parameter preset "
                      "(default: the recipe of the model's paper)")
    what.add_argument("--out", type=Path, help="output folder (default: runs/<model>)")
    what.add_argument("--resume", type=Path, metavar="CHECKPOINT", help="continue the run saved "
                      "in CHECKPOINT: give the run's command again, plus this flag")

    recipe = parser.add_argument_group("recipe (each flag replaces the recipe's value)")
    for flag, parse, text in _RECIPE_FLAGS:
        dest = "base_lr" if flag == "--lr" else None  # the recipe's lr, before scaling
        metavar = flag[2:].upper().replace("-", "_")
        recipe.add_argument(flag, dest=dest, type=parse, help=text, metavar=metavar)
    recipe.add_argument("--optimizer", choices=("sgd", "rmsprop"))

    images = parser.add_argument_group("images")
    images.add_argument("--image-size", type=_whole(1), help="training crop side (default: 224 "
                        "googlenet, 299 the other full-size models, 28 *_small)")
    images.add_argument("--augment", choices=AUGMENTATIONS, default="inception", help="inception "
                        "(default): crops of 8%%-100%% of the area with aspect 3:4-4:3 and flips "
                        "(GoogLeNet §6); light: shifts of 1/14 and flips; none")
    images.add_argument("--color-jitter", type=_at_least(0), default=0.0, help="photometric "
                        "distortion, brightness, contrast, saturation ± this (0 = off)")
    images.add_argument("--grayscale", action="store_true", help="read folder images as 1 channel")

    how = parser.add_argument_group("how to run")
    how.add_argument("--steps", type=_whole(1), help="stop after this many optimizer steps in all "
                     "(--steps 2: a dry run)")
    how.add_argument("--checkpoint-every", type=_whole(1), default=1000, help="steps between "
                     "checkpoints (default 1000)")
    how.add_argument("--log-every", type=_whole(1), default=50, help="steps per log.csv row "
                     "(default 50)")
    how.add_argument("--eval-images", type=_whole(1), help="evaluate on the first N images only "
                     "(default: all; e.g. a quick look at a 50,000-image val/)")
    how.add_argument("--seed", type=_whole(0), default=0)
    how.add_argument("--workers", type=_whole(0), help="data-loading processes per training "
                     "process (default: CPUs / processes on the node, at most 8)")
    how.add_argument("--amp", choices=("auto", "none", "bf16", "fp16"), default="auto",
                     help="mixed precision on GPUs (auto: bf16 where supported, else fp16; none "
                     "on the CPU)")
    how.add_argument("--dtype", choices=("float32", "float64"), default="float32",
                     help="float64 for numerical checks (runs agree to rounding); slower")
    how.add_argument("--sync-bn", action="store_true", help="BatchNorm statistics over the global "
                     "batch (GPUs only)")
    how.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=True,
                     help="channels-last memory layout (default: on)")
    how.add_argument("--cpu", action="store_true", help="train on the CPU even if there are GPUs")
    how.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    how.add_argument("--tensorboard", action="store_true", help="also write TensorBoard scalars "
                     "(needs the tensorboard package)")
    # fmt: on
    return parser


def train_transform(
    size: int,
    mean: Sequence[float],
    std: Sequence[float],
    augment: str = "inception",
    color_jitter: float = 0.0,
) -> Callable[[Any], Tensor]:
    """Return the training transform (torchvision.transforms.v2) to ``size``×``size`` images.

    "inception" crops 8%-100% of the image area with an aspect ratio of 3:4-4:3 and resizes the
    crop (GoogLeNet §6, torchvision's RandomResizedCrop defaults), "light" shifts by up to 1/14
    of the side (the notebooks' augmentation), "none" only resizes; all but "none" flip
    horizontally. ``color_jitter`` > 0 adds random brightness, contrast and saturation changes,
    the photometric distortions that GoogLeNet §6 found useful against overfitting.
    """
    from torchvision.transforms import v2

    steps: list[Callable] = [v2.ToImage(), v2.ToDtype(torch.float32, scale=True)]
    if augment == "inception":
        steps.append(v2.RandomResizedCrop(size, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)))
    elif augment == "light":
        steps += [v2.Resize(size), v2.CenterCrop(size)]
        steps.append(v2.RandomCrop(size, padding=max(1, round(size / 14))))
    elif augment == "none":
        steps += [v2.Resize(size), v2.CenterCrop(size)]
    else:
        raise ValueError(f"augment must be one of {', '.join(AUGMENTATIONS)}, got {augment!r}")
    if augment != "none":
        steps.append(v2.RandomHorizontalFlip())
    if color_jitter > 0:
        steps.append(v2.ColorJitter(color_jitter, color_jitter, color_jitter))
    steps.append(v2.Normalize(list(mean), list(std)))
    return v2.Compose(steps)


def eval_transform(
    size: int, mean: Sequence[float], std: Sequence[float], crop_fraction: float = 0.875
) -> Callable[[Any], Tensor]:
    """Return the evaluation transform: resize to ``size / crop_fraction``, centre crop, normalize.

    A 0.875 crop (256 → 224, 342 → 299: torchvision's evaluation sizes) matches the zoom of the
    random-resized training crops; 1.0 suits models trained without them.
    """
    from torchvision.transforms import v2

    return v2.Compose([
        v2.ToImage(),
        v2.ToDtype(torch.float32, scale=True),
        v2.Resize(round(size / crop_fraction)),
        v2.CenterCrop(size),
        v2.Normalize(list(mean), list(std)),
    ])  # fmt: skip


# --- the run ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Env:
    rank: int
    world: int
    local_world: int
    device: torch.device


@dataclass
class _Parts:
    """Everything a training step touches."""

    module: nn.Module  # the network itself: saved, evaluated, averaged
    model: nn.Module  # what a step calls: the DDP wrapper, or the module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    criterion: InceptionLoss
    ema: torch.optim.swa_utils.AveragedModel | None
    scaler: torch.amp.GradScaler | None
    autocast: Callable[[], contextlib.AbstractContextManager]
    dtype: torch.dtype
    channels_last: bool


def _train(args: argparse.Namespace, env: _Env) -> dict[str, Any]:
    out = args.out or Path("runs") / args.model
    _check_flags(args, out, env)
    recipe = _recipe(args)
    train_set, eval_set, info = _datasets(args, env)
    config = _config(args, recipe, info, env)
    parts = _build(args, recipe, config, env)
    step, skipped = 0, 0
    if args.resume is not None:
        step, skipped = _resume(args.resume, parts, config, env)
    resumed_at = step if args.resume is not None else None
    logger = _Logger(out, config, env, resumed_at, args.tensorboard)
    # The checkpoint holds the count over all ranks: carry it on one rank only.
    loop = _Loop(args, config, parts, env, logger, out, skipped if env.rank == 0 else 0)
    return loop.run(train_set, eval_set, step)


class _Loop:
    """The training loop: steps, logging, evaluation and checkpoints."""

    def __init__(
        self, args: argparse.Namespace, config: dict[str, Any], parts: _Parts, env: _Env,
        logger: _Logger, out: Path, skipped: int,
    ) -> None:  # fmt: skip
        self.args, self.config, self.parts, self.env = args, config, parts, env
        self.logger, self.out = logger, out
        self.skipped = skipped  # training images that failed to decode, on this rank
        self.sums = torch.zeros(3, dtype=torch.float64, device=env.device)  # loss·n, correct, n
        self.lr = 0.0  # the learning rate of the last step
        self.last_train: dict[str, Any] = {}
        self.last_eval: dict[str, Any] = {}

    def run(self, train_set: _Samples, eval_set: _Samples | None, step: int) -> dict[str, Any]:
        """Train from ``step`` to the configured total; return the final metrics."""
        config, env = self.config, self.env
        spe, total, batch = config["steps_per_epoch"], config["total_steps"], config["batch_size"]
        shuffled = DistributedSampler(
            train_set, env.world, env.rank, shuffle=True, seed=config["seed"], drop_last=True
        )
        sampler = _SkippingSampler(shuffled)
        loader = _loader(train_set, batch, sampler, self.args.workers, env)
        start, start_step = time.perf_counter(), step
        while step < total:
            epoch, done = divmod(step, spe)
            train_set.epoch = epoch
            sampler.set_epoch(epoch, skip=done * batch)  # a resumed epoch skips the seen batches
            step = self._epoch(loader, epoch, done, min(spe, total - epoch * spe))
            if step % spe == 0 or step == total:
                self._evaluate(eval_set, step)
            if step % self.args.checkpoint_every == 0 and step < total:
                self._latest_checkpoint(step)
        seconds = time.perf_counter() - start
        return self._finish(step, seconds, (step - start_step) * config["global_batch"])

    def _epoch(self, loader: DataLoader, epoch: int, done: int, end: int) -> int:
        """Run batches ``done`` to ``end`` of ``epoch``; return the step count after them."""
        step = epoch * self.config["steps_per_epoch"] + done
        bar = tqdm(
            total=end, initial=done, desc=f"epoch {epoch + 1}/{self.config['epochs']}",
            disable=self.env.rank != 0 or not self.args.progress, mininterval=1.0, leave=False,
        )  # fmt: skip
        with bar:
            for position, (x, y, bad) in enumerate(loader, start=done):
                self.skipped += _warn_unreadable(bad)
                if len(y) == 0:
                    raise TrainCliError(
                        f"every image of a batch failed to decode, e.g. {bad[0].path} "
                        f"({bad[0].reason}): check that the data folder is readable."
                    )
                self._step(x, y, step)
                step, last = step + 1, position + 1 == end
                bar.update()
                if step % self.args.log_every == 0 or last:
                    self._log(step, bar)
                if last:
                    break
                if step % self.args.checkpoint_every == 0:
                    self._latest_checkpoint(step)
        return step

    def _step(self, x: Tensor, y: Tensor, step: int) -> None:
        p, env = self.parts, self.env
        # Dropout draws from a seed of (rank, step): a resumed run draws what the first run did.
        _reseed(_seed(_STEP_SEED, self.config["seed"], env.rank, step), env.device)
        x, y = _to_device(x, p, env.device), y.to(env.device, non_blocking=True)
        with p.autocast():
            output = p.model(x)
            loss = p.criterion(output, y)
        p.optimizer.zero_grad(set_to_none=True)
        if p.scaler is not None:
            p.scaler.scale(loss).backward()
            p.scaler.unscale_(p.optimizer)  # clip the true gradients, not the scaled ones
        else:
            loss.backward()
        if self.config["clip_grad_norm"] is not None:
            nn.utils.clip_grad_norm_(p.module.parameters(), self.config["clip_grad_norm"])
        self.lr = p.optimizer.param_groups[0]["lr"]
        if p.scaler is not None:
            p.scaler.step(p.optimizer)
            p.scaler.update()
        else:
            p.optimizer.step()
        p.scheduler.step()
        if p.ema is not None:
            p.ema.update_parameters(p.module)
        correct = (main_logits(output).argmax(1) == y).sum().double()
        n = correct.new_tensor(len(y))
        self.sums += torch.stack([loss.detach().double() * n, correct, n])

    def _log(self, step: int, bar: tqdm) -> None:
        # Sums over all ranks: the global batch's loss, as a single process would compute it.
        loss_sum, correct, n = _all_sum(self.sums).tolist()
        self.sums.zero_()
        loss, lr = loss_sum / n, self.lr
        if not math.isfinite(loss):
            raise FloatingPointError(
                f"the training loss became {loss} at step {step}: training diverged. Lower --lr, "
                "add --warmup-epochs, or set --clip-grad-norm."
            )
        self.last_train = {"step": step, "loss": loss, "accuracy": correct / n}
        epoch = step / self.config["steps_per_epoch"]
        self.logger.train_row(step=step, epoch=epoch, loss=loss, accuracy=correct / n, lr=lr)
        bar.set_postfix(loss=f"{loss:.4f}", lr=f"{lr:.3g}", refresh=False)

    def _evaluate(self, eval_set: _Samples | None, step: int) -> None:
        if eval_set is None:
            return
        p, env = self.parts, self.env
        share = _rank_share(eval_set, env)
        loader = _loader(share, 2 * self.config["batch_size"], None, self.args.workers, env)
        result = {"step": step, "epoch": step / self.config["steps_per_epoch"]}
        result.update(self._metrics(p.module, loader))
        if p.ema is not None:
            ema = self._metrics(p.ema.module, loader)
            result.update(ema_loss=ema["loss"], ema_accuracy=ema["accuracy"])
        self.last_eval = result
        self.logger.eval_row(**result)

    def _metrics(self, module: nn.Module, loader: DataLoader) -> dict[str, Any]:
        """Return the loss and accuracy of ``module`` on all ranks' shares of the eval set."""
        p, env = self.parts, self.env
        _broadcast_buffers(module)  # every rank evaluates rank 0's BatchNorm statistics
        sums = torch.zeros(4, dtype=torch.float64, device=env.device)  # loss, correct, n, skipped
        module.eval()
        with torch.no_grad():
            for x, y, bad in loader:
                sums[3] += _warn_unreadable(bad)
                if len(y) == 0:
                    continue
                x, y = _to_device(x, p, env.device), y.to(env.device)
                with p.autocast():
                    logits = main_logits(module(x)).float()
                sums[0] += F.cross_entropy(logits, y, reduction="sum").double()
                sums[1] += (logits.argmax(1) == y).sum().double()
                sums[2] += len(y)
        module.train()
        loss_sum, correct, n, skipped = _all_sum(sums).tolist()
        if n == 0:
            raise TrainCliError("no evaluation image could be decoded: check the val/ folder.")
        images, skipped = int(n), int(skipped)
        return {"loss": loss_sum / n, "accuracy": correct / n, "images": images, "skipped": skipped}

    def _skipped_total(self) -> int:
        count = torch.tensor(float(self.skipped), dtype=torch.float64, device=self.env.device)
        return int(_all_sum(count).item())

    def _latest_checkpoint(self, step: int) -> None:
        """Save ``checkpoint.pt`` for ``--resume``, with its sha256 beside it.

        The new pair is written in full (``checkpoint.pt.next`` and its pending sha256) before
        either replaces the old one, so a run killed between any two writes still leaves a
        ``checkpoint.pt`` that one of the two sha256 files vouches for.
        """
        path = self.out / "checkpoint.pt"
        following = path.with_name(path.name + ".next")
        digest = self._checkpoint(following, step)
        if digest is None:
            return
        _write_digest(_pending_digest_path(path), path, digest)
        os.replace(following, path)
        os.replace(_pending_digest_path(path), _digest_path(path))

    def _checkpoint(self, path: Path, step: int) -> str | None:
        """Save the run at ``step`` (rank 0 writes); return the file's sha256 on rank 0."""
        state = _training_state(self.parts, self.config, step, self._skipped_total())
        if self.env.rank != 0:
            return None
        model, arguments = self.config["model"], self.config["model_arguments"]
        return checkpoints.save(
            self.parts.module, path, name=model, arguments=arguments, extra=state
        )

    def _finish(self, step: int, seconds: float, images: int) -> dict[str, Any]:
        p, config = self.parts, self.config
        differences = _max_rank_difference(p.module) if self.env.world > 1 else None
        digest = self._checkpoint(self.out / "final.pt", step)
        ema_digest = None
        if p.ema is not None and self.env.rank == 0:
            model, arguments = config["model"], config["model_arguments"]
            path = self.out / "final_ema.pt"
            ema_digest = checkpoints.save(p.ema.module, path, name=model, arguments=arguments)
        metrics = {
            "step": step,
            "epoch": step / config["steps_per_epoch"],
            "train": self.last_train or None,
            "eval": self.last_eval or None,
            "eval_split": config["eval_split"],
            "skipped_train_images": self._skipped_total(),
            "max_parameter_difference_between_ranks": differences,
            "world_size": self.env.world,
            "global_batch": config["global_batch"],
            "lr": config["lr"],
            "seconds": seconds,
            "images_per_second": images / seconds if seconds > 0 else None,
            "final_sha256": digest,
            "final_ema_sha256": ema_digest,
        }
        self.logger.finish(metrics)
        return metrics


# --- configuration ------------------------------------------------------------------------------


def _recipe(args: argparse.Namespace) -> Recipe:
    base = RECIPES[args.recipe or default_recipe(args.model)]
    given = {k: getattr(args, k) for k in asdict(base) if k not in ("name", "source")}
    recipe = base.with_overrides(**given)
    # A flag of 0 switches clipping and weight averaging off.
    return replace(recipe, clip_grad_norm=recipe.clip_grad_norm or None,
                   ema_decay=recipe.ema_decay or None)  # fmt: skip


def _check_flags(args: argparse.Namespace, out: Path, env: _Env) -> None:
    """Raise a TrainCliError for flags that cannot work, before any data is read."""
    if args.resume is None and (out / "config.json").exists():
        raise TrainCliError(
            f"{out} already holds a run (config.json). Continue it with --resume "
            f"{out / 'checkpoint.pt'}, or choose another --out."
        )
    if args.resume is not None and not args.resume.is_file():
        raise TrainCliError(f"--resume {args.resume}: no such file. Give a run's checkpoint.pt.")
    if args.tensorboard:
        try:
            import torch.utils.tensorboard  # noqa: F401
        except ImportError:
            raise TrainCliError(
                "--tensorboard needs the tensorboard package (pip install tensorboard); log.csv "
                "and eval.csv hold the same numbers without it."
            ) from None
    if env.device.type != "cuda" and args.amp in ("bf16", "fp16"):
        raise TrainCliError(
            f"--amp {args.amp} needs a GPU (mixed precision pays off on tensor cores); on the "
            "CPU leave --amp at its default."
        )
    if env.device.type != "cuda" and args.sync_bn:
        raise TrainCliError(
            "--sync-bn needs GPUs: torch's SyncBatchNorm does not run on the CPU. Leave it out "
            "(each process then normalises with the statistics of its own share of the batch)."
        )
    if args.dtype == "float64" and env.device.type == "cuda" and args.amp != "none":
        raise TrainCliError("--dtype float64 is for exact checks: add --amp none.")


class _DataInfo(NamedTuple):
    classes: list[str]
    channels: int
    train_images: int
    eval_images: int
    eval_split: str | None
    image_size: int


def _datasets(args: argparse.Namespace, env: _Env) -> tuple[_Samples, _Samples | None, _DataInfo]:
    size = args.image_size or input_size(args.model)
    if args.data == "fashion-mnist":
        # Evaluated on the validation split carved from the training file: the test set stays
        # untouched until a final, reported evaluation.
        train, evaluation = data.fashion_mnist("train"), data.fashion_mnist("val")
        classes, channels, split = list(data.CLASSES), 1, "val"
        mean, std = (data.MEAN,), (data.STD,)
        if size > 28 and env.rank == 0:
            print(
                f"note: the 28 px Fashion-MNIST images are upsampled to {size} px.", file=sys.stderr
            )
    else:
        train, evaluation, classes = _image_folders(Path(args.data), args.grayscale)
        channels, split = (1 if args.grayscale else 3), ("val" if evaluation is not None else None)
        mean, std = (GRAY_MEAN, GRAY_STD) if args.grayscale else (IMAGENET_MEAN, IMAGENET_STD)
        if evaluation is None and env.rank == 0:
            print(f"note: {args.data} has no val/ folder: no evaluation.", file=sys.stderr)
    augment = train_transform(size, mean, std, args.augment, args.color_jitter)
    train_set = _Samples(train, augment, args.seed)
    eval_set = None
    if evaluation is not None:
        crop = 0.875 if args.augment == "inception" else 1.0
        if args.eval_images is not None and args.eval_images < len(evaluation):
            evaluation = Subset(evaluation, range(args.eval_images))
        eval_set = _Samples(evaluation, eval_transform(size, mean, std, crop), seed=None)
    evaluated = 0 if eval_set is None else len(eval_set)
    info = _DataInfo(classes, channels, len(train_set), evaluated, split, size)
    return train_set, eval_set, info


def _image_folders(root: Path, grayscale: bool) -> tuple[Dataset, Dataset | None, list[str]]:
    from torchvision.datasets import ImageFolder

    layout = "DIR/train/<class>/<image> (and DIR/val/<class>/<image> to evaluate)"
    if not root.is_dir():
        raise TrainCliError(
            f"--data {root}: no such folder. Give a folder laid out as {layout}, or "
            "--data fashion-mnist."
        )
    if not (root / "train").is_dir():
        raise TrainCliError(f"--data {root} has no train/ folder. Lay it out as {layout}.")
    loader = partial(_open_image, mode="L" if grayscale else "RGB")
    folders = {}
    for split in ("train", "val"):
        if (root / split).is_dir():
            try:
                folders[split] = ImageFolder(str(root / split), loader=loader)
            except FileNotFoundError as err:  # no class folder, or a class folder without images
                raise TrainCliError(
                    f"{root / split}: {err}. Lay the data out as {layout}."
                ) from None
    train, val = folders["train"], folders.get("val")
    if len(train.classes) < 2:
        raise TrainCliError(
            f"{root / 'train'} has one class folder ({train.classes[0]}), and a classifier needs "
            f"at least two. Lay the data out as {layout}, one folder per class."
        )
    if val is not None and val.classes != train.classes:
        raise TrainCliError(
            f"{root / 'val'} has the classes {val.classes} but {root / 'train'} has "
            f"{train.classes}: both need the same class folders."
        )
    return train, val, list(train.classes)


def _config(args: argparse.Namespace, recipe: Recipe, info: _DataInfo, env: _Env) -> dict[str, Any]:
    """Return every setting of the run in plain JSON types (for config.json and checkpoints)."""
    global_batch = recipe.batch_size * env.world
    steps_per_epoch = info.train_images // env.world // recipe.batch_size
    if steps_per_epoch < 1:
        raise TrainCliError(
            f"the training set has {info.train_images} images, fewer than one global batch of "
            f"{global_batch} ({env.world} processes × --batch-size {recipe.batch_size}). Lower "
            "--batch-size or add images."
        )
    total = recipe.epochs * steps_per_epoch
    values = asdict(recipe)
    values["recipe"], values["recipe_source"] = values.pop("name"), values.pop("source")
    config = {
        "model": args.model,
        "model_arguments": _model_arguments(args, info),
        **values,
        "lr": scaled_lr(recipe.base_lr, global_batch, recipe.base_batch),
        "global_batch": global_batch,
        "world_size": env.world,
        "steps_per_epoch": steps_per_epoch,
        "total_steps": total if args.steps is None else min(args.steps, total),
        "data": str(args.data),
        "classes": info.classes,
        "channels": info.channels,
        "train_images": info.train_images,
        "eval_images": info.eval_images,
        "eval_split": info.eval_split,
        "image_size": info.image_size,
        "augment": args.augment,
        "color_jitter": args.color_jitter,
        "seed": args.seed,
        "amp": _amp(args.amp, env.device),
        "dtype": args.dtype,
        "sync_bn": args.sync_bn,
        "channels_last": args.channels_last,
        "device": env.device.type,
        "command": args.command,
        "versions": {
            "python": platform.python_version(),
            "torch": str(torch.__version__),
            "torchvision": _torchvision_version(),
        },
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    # Plain JSON types only: checkpoints.read loads the config back with weights_only=True, which
    # refuses any other class (even torch's version string).
    return json.loads(json.dumps(config))


def _model_arguments(args: argparse.Namespace, info: _DataInfo) -> dict[str, Any]:
    given = {}
    for item in args.model_arg:
        key, sep, text = item.partition("=")
        if not sep or not key.isidentifier():
            raise TrainCliError(f"--model-arg {item!r}: expected KEY=VALUE, e.g. aux_logits=true")
        try:
            given[key] = json.loads(text)
        except json.JSONDecodeError:
            given[key] = text  # a bare word is a string: stem_type=small
    fixed = {"num_classes": len(info.classes), "in_channels": info.channels}
    for key, value in fixed.items():
        if key in given and given[key] != value:
            raise TrainCliError(
                f"--model-arg {key}={given[key]} contradicts the data ({key} = {value}). Leave "
                "it out: it is set from the data."
            )
    return {**fixed, **given}


# --- building the model and its optimizer --------------------------------------------------------


def _build(args: argparse.Namespace, recipe: Recipe, config: dict[str, Any], env: _Env) -> _Parts:
    torch.manual_seed(config["seed"])  # the same initial weights in every process
    try:
        module = create_model(config["model"], **config["model_arguments"])
    except (TypeError, ValueError) as err:
        raise TrainCliError(f"--model-arg: create_model({config['model']!r}) says: {err}") from None
    _check_image_size(module, config)
    if args.sync_bn:
        module = nn.SyncBatchNorm.convert_sync_batchnorm(module)
    dtype = getattr(torch, config["dtype"])
    module.to(env.device, dtype)
    if args.channels_last:
        module.to(memory_format=torch.channels_last)
    model = module
    if dist.is_initialized():
        ids = [env.device.index] if env.device.type == "cuda" else None
        model = nn.parallel.DistributedDataParallel(module, device_ids=ids)
    optimizer = _optimizer(module, recipe, config["lr"])
    spe = config["steps_per_epoch"]
    schedule = partial(
        lr_factor, decay_steps=round(recipe.decay_epochs * spe), lr_decay=recipe.lr_decay,
        warmup_steps=round(recipe.warmup_epochs * spe),
    )  # fmt: skip
    ema = None
    if recipe.ema_decay is not None:
        average = torch.optim.swa_utils.get_ema_multi_avg_fn(recipe.ema_decay)
        ema = torch.optim.swa_utils.AveragedModel(module, multi_avg_fn=average, use_buffers=True)
    amp = {"none": None, "bf16": torch.bfloat16, "fp16": torch.float16}[config["amp"]]
    autocast = partial(torch.autocast, env.device.type, amp) if amp else contextlib.nullcontext
    return _Parts(
        module=module,
        model=model,
        optimizer=optimizer,
        scheduler=torch.optim.lr_scheduler.LambdaLR(optimizer, schedule),
        criterion=InceptionLoss(recipe.aux_weight, recipe.label_smoothing),
        ema=ema,
        scaler=torch.amp.GradScaler("cuda") if amp is torch.float16 else None,
        autocast=autocast,
        dtype=dtype,
        channels_last=args.channels_last,
    )


def _check_image_size(module: nn.Module, config: dict[str, Any]) -> None:
    limits, size, name = module.input_limits, config["image_size"], config["model"]
    least = limits.min_size_train
    if size < least:
        why = " (its auxiliary head needs a larger map)" if least > limits.min_size else ""
        raise TrainCliError(
            f"{name} needs training images of at least {least}×{least} pixels{why}, but they "
            f"would be {size}×{size}. Use --image-size {input_size(name)} (its design size; "
            "smaller images are upsampled), or a *_small model for 28 px images."
        )
    one = limits.min_size_batch_one
    if config["batch_size"] == 1 and (one is None or size < one):
        raise TrainCliError(
            f"--batch-size 1 leaves a BatchNorm of {name} a single value per channel at {size} px: "
            "use --batch-size 2 or more."
        )


def _optimizer(module: nn.Module, recipe: Recipe, lr: float) -> torch.optim.Optimizer:
    # Weight decay on weights only, not on biases and BatchNorm scales and shifts, as Caffe's
    # GoogLeNet (decay_mult 0 on biases) and TensorFlow-slim (a regularizer on weights) do.
    groups = parameter_groups(module, recipe.weight_decay, decay_norm_and_bias=False)
    if recipe.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=recipe.momentum)
    alpha, eps, momentum = recipe.rmsprop_decay, recipe.eps, recipe.momentum
    return torch.optim.RMSprop(groups, lr=lr, alpha=alpha, eps=eps, momentum=momentum)


def _training_state(parts: _Parts, config: dict[str, Any], step: int, skipped: int) -> dict:
    """Return what ``--resume`` needs besides the weights, in plain values and tensors."""
    # No RNG state: every random draw comes from a seed derived from (seed, epoch, index) or
    # (seed, rank, step), so the step count is all a resumed run needs to draw the same numbers.
    return {
        "step": step,
        "epoch": step // config["steps_per_epoch"],
        "optimizer": parts.optimizer.state_dict(),
        "scheduler": parts.scheduler.state_dict(),
        "ema": None if parts.ema is None else parts.ema.state_dict(),
        "scaler": None if parts.scaler is None else parts.scaler.state_dict(),
        "skipped_train_images": skipped,
        "config": {k: v for k, v in config.items() if k != "command"},
    }


def _digest_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _pending_digest_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256.next")


def _write_digest(target: Path, path: Path, digest: str) -> None:
    """Write ``path``'s sha256 to ``target`` as ``sha256sum`` does (``sha256sum -c`` reads it)."""
    _write_text(target, f"{digest}  {path.name}\n")


def _expected_digest(path: Path) -> str | None:
    """The sha256 that ``path`` must have: the one written beside it or, when a run was killed
    between replacing the checkpoint and its sha256, the pending one that the new file matches."""
    recorded, pending = (
        p.read_text().split()[0] if p.is_file() else None
        for p in (_digest_path(path), _pending_digest_path(path))
    )
    if pending is not None and path.is_file() and checkpoints.file_sha256(path) == pending:
        return pending
    return recorded if recorded is not None else pending


def _resume(path: Path, parts: _Parts, config: dict[str, Any], env: _Env) -> tuple[int, int]:
    """Load the run saved in ``path`` (checked against the sha256 written beside it, if there is
    one); return its step and its count of skipped images."""
    try:
        saved = checkpoints.read(path, sha256=_expected_digest(path))
    except checkpoints.CheckpointError as err:
        raise TrainCliError(f"--resume {path}: {err}") from None
    if saved.name != config["model"] or saved.arguments != config["model_arguments"]:
        raise TrainCliError(
            f"--resume {path} holds a {saved.name} built with {saved.arguments}, but this run "
            f"trains a {config['model']} built with {config['model_arguments']}. Resume with the "
            "command that made the checkpoint, or start a new run without --resume."
        )
    state = saved.extra
    if "config" not in state or "optimizer" not in state:
        raise TrainCliError(
            f"--resume {path} holds weights but no training state: it was not written by "
            "train_cli. Start a new run."
        )
    changed = [
        f"{key}: {state['config'].get(key)!r} in the checkpoint, {config.get(key)!r} now"
        for key in MUST_MATCH
        if state["config"].get(key) != config.get(key)
    ]
    if changed:
        raise TrainCliError(
            f"--resume {path} cannot continue exactly with these settings ({'; '.join(changed)}). "
            "Use the settings of the checkpoint's run (its config.json), or start a new run."
        )
    parts.module.load_state_dict(saved.state_dict)
    parts.optimizer.load_state_dict(state["optimizer"])
    parts.scheduler.load_state_dict(state["scheduler"])
    if parts.ema is not None:
        parts.ema.load_state_dict(state["ema"])
    if parts.scaler is not None and state["scaler"] is not None:
        parts.scaler.load_state_dict(state["scaler"])
    if env.rank == 0:
        print(f"resumed {path} at step {state['step']}", file=sys.stderr)
    return int(state["step"]), int(state["skipped_train_images"])


# --- data plumbing ------------------------------------------------------------------------------


class _Unreadable(NamedTuple):
    path: str
    reason: str


# What PIL raises for a file that is not an image or is cut short (UnidentifiedImageError is an
# OSError; some decoders raise SyntaxError, ValueError or EOFError on corrupt data).
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError)


class _Samples(Dataset):
    """(image, label) pairs from ``source``; with a ``seed``, each transformed with its own seed.

    Seeding each sample by (seed, epoch, index), rather than drawing from one generator per
    process, makes its augmentation independent of the process or worker that loads it and of the
    batches before it. A file that fails to decode comes back as an ``_Unreadable``.
    """

    def __init__(self, source: Dataset, transform: Callable, seed: int | None) -> None:
        self.source, self.transform, self.seed = source, transform, seed
        self.epoch = 0  # set before each epoch's DataLoader iterator (and its workers) starts

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index: int) -> tuple[Tensor, int] | _Unreadable:
        try:
            image, label = self.source[index]
        except _DECODE_ERRORS as err:
            return _Unreadable(_file_of(self.source, index), f"{type(err).__name__}: {err}")
        if self.seed is None:
            return self.transform(image).as_subclass(Tensor), label
        with torch.random.fork_rng(devices=[]):
            _reseed(_seed(_SAMPLE_SEED, self.seed, self.epoch, index), torch.device("cpu"))
            return self.transform(image).as_subclass(Tensor), label


def _file_of(source: Dataset, index: int) -> str:
    """Return the file behind item ``index`` of an ImageFolder (or a Subset of one)."""
    while isinstance(source, Subset):
        source, index = source.dataset, source.indices[index]
    samples = getattr(source, "samples", None)
    return samples[index][0] if samples else f"item {index}"


def _open_image(path: str, mode: str):
    from PIL import Image

    with open(path, "rb") as f:
        return Image.open(f).convert(mode)  # convert() decodes: a corrupt file fails here


def _collate(batch: list) -> tuple[Tensor, Tensor, list[_Unreadable]]:
    from torch.utils.data import default_collate

    bad = [item for item in batch if isinstance(item, _Unreadable)]
    good = [item for item in batch if not isinstance(item, _Unreadable)]
    if not good:
        return torch.empty(0), torch.empty(0, dtype=torch.long), bad
    x, y = default_collate(good)
    return x, y, bad


def _warn_unreadable(bad: list[_Unreadable]) -> int:
    """Warn about each file that failed to decode; return how many there were."""
    for item in bad:
        warnings.warn(
            f"skipped {item.path}: it does not decode as an image ({item.reason}). Replace or "
            "delete the file; the run goes on without it.",
            UnreadableImageWarning,
            stacklevel=3,
        )
    return len(bad)


class _SkippingSampler(Sampler):
    """A DistributedSampler that can start an epoch after its first ``skip`` indices (resume)."""

    def __init__(self, sampler: DistributedSampler) -> None:
        self.sampler, self.skip = sampler, 0

    def set_epoch(self, epoch: int, skip: int = 0) -> None:
        self.sampler.set_epoch(epoch)
        self.skip = skip

    def __iter__(self) -> Iterator[int]:
        indices = iter(self.sampler)
        for _ in range(self.skip):
            next(indices, None)
        return indices

    def __len__(self) -> int:
        return len(self.sampler) - self.skip


def _rank_share(dataset: Dataset, env: _Env) -> Subset:
    # Every image exactly once over all ranks (a DistributedSampler would pad with repeats).
    return Subset(dataset, list(range(env.rank, len(dataset), env.world)))


def _loader(
    dataset: Dataset, batch_size: int, sampler: Sampler | None, workers: int | None, env: _Env
) -> DataLoader:
    if workers is None:
        workers = min(8, (os.cpu_count() or 1) // env.local_world)
    return DataLoader(
        dataset, batch_size=batch_size, sampler=sampler, num_workers=workers, collate_fn=_collate,
        drop_last=sampler is not None, pin_memory=env.device.type == "cuda",
    )  # fmt: skip


def _to_device(x: Tensor, parts: _Parts, device: torch.device) -> Tensor:
    x = x.to(device, parts.dtype, non_blocking=True)
    return x.contiguous(memory_format=torch.channels_last) if parts.channels_last else x


def _seed(*keys: int) -> int:
    """Return a 64-bit seed mixed from ``keys``: nearby keys give unrelated streams."""
    return int(np.random.SeedSequence(list(keys)).generate_state(1, dtype=np.uint64)[0])


def _reseed(seed: int, device: torch.device) -> None:
    # torch.manual_seed also seeds CUDA, and without CUDA records a stack trace per call (~5 ms):
    # seed the CPU generator alone unless the GPU draws random numbers too.
    if device.type == "cuda":
        torch.manual_seed(seed)
    else:
        torch.default_generator.manual_seed(seed)


# --- distributed helpers ------------------------------------------------------------------------


def _start_distributed(cpu: bool) -> _Env:
    world, rank = int(os.environ.get("WORLD_SIZE", "1")), int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    cuda = torch.cuda.is_available() and not cpu
    device = torch.device("cuda", local_rank) if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)
    if "WORLD_SIZE" in os.environ and not dist.is_initialized():  # started by torchrun
        dist.init_process_group("nccl" if cuda else "gloo")
    return _Env(rank, world, local_world, device)


def _all_sum(x: Tensor) -> Tensor:
    if dist.is_initialized():
        x = x.clone()
        dist.all_reduce(x)
    return x


def _broadcast_buffers(module: nn.Module) -> None:
    if dist.is_initialized():
        for buffer in module.buffers():
            dist.broadcast(buffer, 0)


def _max_rank_difference(module: nn.Module) -> float:
    """Return the largest difference between any rank's parameters and rank 0's (0.0: in sync)."""
    largest = torch.zeros((), dtype=torch.float64, device=next(module.parameters()).device)
    for parameter in module.parameters():  # one tensor at a time: no copy of the whole model
        reference = parameter.detach().clone()
        dist.broadcast(reference, 0)
        largest = torch.maximum(largest, (parameter.detach() - reference).abs().max().double())
    dist.all_reduce(largest, op=dist.ReduceOp.MAX)
    return largest.item()


# --- output files -------------------------------------------------------------------------------


class _Logger:
    """Rank 0's output files: config.json, log.csv, eval.csv, metrics.json (and TensorBoard)."""

    def __init__(
        self, out: Path, config: dict, env: _Env, resumed_at: int | None, tensorboard: bool
    ) -> None:
        self.active, self.out, self.writer = env.rank == 0, out, None
        if not self.active:
            return
        out.mkdir(parents=True, exist_ok=True)
        _write_json(out / "config.json", config)
        for name, columns in (("log.csv", LOG_COLUMNS), ("eval.csv", EVAL_COLUMNS)):
            _start_csv(out / name, columns, keep_until=resumed_at)
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter  # _check_flags made sure it exists

            self.writer = SummaryWriter(str(out / "tensorboard"), purge_step=resumed_at)

    def train_row(self, **row: Any) -> None:
        self._row("log.csv", LOG_COLUMNS, row, "train")

    def eval_row(self, **row: Any) -> None:
        self._row("eval.csv", EVAL_COLUMNS, row, "eval")
        if self.active:
            ema = f", EMA {row['ema_accuracy']:.2%}" if "ema_accuracy" in row else ""
            tqdm.write(
                f"step {row['step']}: eval loss {row['loss']:.4f}, "
                f"accuracy {row['accuracy']:.2%}{ema}"
            )

    def finish(self, metrics: dict[str, Any]) -> None:
        if self.active:
            _write_json(self.out / "metrics.json", metrics)
            if self.writer is not None:
                self.writer.close()

    def _row(self, name: str, columns: tuple[str, ...], row: dict[str, Any], tag: str) -> None:
        if not self.active:
            return
        with open(self.out / name, "a", newline="") as f:
            csv.writer(f).writerow([_cell(row.get(column)) for column in columns])
        if self.writer is not None:
            for key in ("loss", "accuracy", "lr", "ema_loss", "ema_accuracy"):
                if key in row:
                    self.writer.add_scalar(f"{tag}/{key}", row[key], row["step"])


def _start_csv(path: Path, columns: tuple[str, ...], keep_until: int | None) -> None:
    """Start ``path`` with its header; when resuming, keep its rows up to step ``keep_until``."""
    rows = []
    if keep_until is not None and path.exists():
        with open(path, newline="") as f:
            rows = [row for row in list(csv.reader(f))[1:] if row and int(row[0]) <= keep_until]
    tmp = path.with_name(path.name + ".partial")
    with open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        writer.writerows(rows)
    os.replace(tmp, path)  # the rows a killed run logged after its last checkpoint go at once


def _cell(value: Any) -> str:
    # repr keeps every digit of a float, so that two runs' logs can be compared exactly.
    return "" if value is None else repr(value) if isinstance(value, float) else str(value)


def _write_json(path: Path, value: Any) -> None:
    _write_text(path, json.dumps(value, indent=2) + "\n")


def _write_text(path: Path, text: str) -> None:
    """Write ``path`` whole or not at all: a run killed mid-write leaves the previous file."""
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text(text)
    os.replace(tmp, path)


# --- small helpers ------------------------------------------------------------------------------


def _amp(choice: str, device: torch.device) -> str:
    if choice != "auto":
        return choice
    if device.type != "cuda":
        return "none"
    return "bf16" if torch.cuda.is_bf16_supported() else "fp16"


def _torchvision_version() -> str:
    import torchvision

    return str(torchvision.__version__)


def _recipes_help() -> str:
    lines = ["recipes (each value is also a flag):"]
    for r in RECIPES.values():
        lines.append(
            f"  {r.name}: {r.optimizer}, lr {r.base_lr:g} per {r.base_batch} images, "
            f"×{r.lr_decay:g} every {r.decay_epochs:g} epochs, {r.epochs} epochs, batch "
            f"{r.batch_size} per process"
        )
        lines.append(f"    source: {r.source}")
    return "\n".join(lines)


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _at_least(least: float, *, strictly: bool = False) -> Callable[[str], float]:
    def parse(text: str) -> float:
        value = _number(text)
        if value < least or (strictly and value == least):
            bound = f"> {least:g}" if strictly else f"≥ {least:g}"
            raise argparse.ArgumentTypeError(f"expected a number {bound}, got {value:g}")
        return value

    return parse


def _between(low: float, high: float, *, open_low: bool, open_high: bool) -> Callable[[str], float]:
    interval = f"{'(' if open_low else '['}{low:g}, {high:g}{')' if open_high else ']'}"

    def parse(text: str) -> float:
        value = _number(text)
        below = value <= low if open_low else value < low
        above = value >= high if open_high else value > high
        if below or above:
            raise argparse.ArgumentTypeError(f"expected a number in {interval}, got {value:g}")
        return value

    return parse


_FRACTION = _between(0, 1, open_low=False, open_high=True)
# The recipe's fields as flags: (flag, parser, help). Left out, a flag keeps the recipe's value.
_RECIPE_FLAGS = (
    ("--epochs", _whole(1), None),
    ("--batch-size", _whole(1), "images per process; the global batch is this × processes"),
    ("--lr", _at_least(0, strictly=True), "learning rate for a global batch of --base-batch"),
    ("--base-batch", _whole(1), "the global batch that --lr is meant for"),
    ("--momentum", _at_least(0), None),
    ("--rmsprop-decay", _FRACTION, "RMSProp's decay of the mean squared gradient"),
    ("--eps", _at_least(0, strictly=True), "RMSProp's ε"),
    ("--weight-decay", _at_least(0), "L2 penalty on weights (not on biases and BatchNorm)"),
    ("--lr-decay", _between(0, 1, open_low=True, open_high=False), "lr factor per --decay-epochs"),
    ("--decay-epochs", _at_least(0, strictly=True), "epochs between lr decays"),
    ("--warmup-epochs", _at_least(0), "linear warm-up (advised for large global batches)"),
    ("--label-smoothing", _FRACTION, None),
    ("--aux-weight", _at_least(0), "weight of each auxiliary head's loss"),
    ("--clip-grad-norm", _at_least(0), "clip the gradients' global L2 norm to this (0 = off)"),
    ("--ema-decay", _FRACTION, "moving average of the weights, decay per step (0 = off)"),
)


if __name__ == "__main__":
    sys.exit(main())
