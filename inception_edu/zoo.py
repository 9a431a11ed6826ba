"""The course's trained checkpoints: every small network, several seeds, one recipe, a manifest.

A notebook that needs a trained network, where training is not the lesson, loads one (its sha256
is checked against the manifest before the file is read)::

    from inception_edu import zoo

    model = zoo.load_trained("inception_v3_small", seed=0)   # an nn.Module in eval mode
    entry = zoo.entry("inception_v3_small", seed=0)          # what the manifest says about it
    entry["test_accuracy"], entry["command"]                 # its accuracy, how to make it again
    zoo.available()                                          # [("naive_small", {}, 0), …]

``SEEDS`` lists what is shipped: seeds 0, 1 and 2 of every network of ``FAMILY``.

The files live in ``data/checkpoints/`` with ``manifest.json`` beside them. For each file the
manifest gives its sha256, the ``create_model`` name and arguments, the seed, the exact command
that trains it again, the training time, the validation and test accuracy (and the number of test
images it classifies correctly) and the library versions it was made with.

Every checkpoint is trained the same way, with ``RECIPE``: the trainer's default (SGD with Nesterov
momentum, one-cycle learning rate, weight decay 5e-4, batch 128) but with the decay on every
parameter, BatchNorm's and biases too (``decay_norm_and_bias=True``, as all recorded runs) on a
class-balanced 5,000-image sample of the training split, for 2 epochs at lr 0.1, without
augmentation (so the networks never saw a shifted or mirrored image: what test-time crops and
mirrors do to them is measured, not assumed); the validation split is evaluated after training and
the test set once, for the manifest. Make them all again with
``make checkpoints`` (``python -m inception_edu.zoo make``), one with
``python -m inception_edu.zoo train inception_v3_small --seed 0``. A run on another machine or
thread count gives slightly different weights (floating-point sums in another order), so compare
accuracies, not hashes, across machines.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from . import checkpoints, data, train
from .models import create_model

__all__ = [
    "FAMILY",
    "MANIFEST",
    "RECIPE",
    "SEEDS",
    "ZooError",
    "available",
    "entry",
    "file_name",
    "load_manifest",
    "load_trained",
    "main",
    "parse_runs",
    "accuracy_on_test_set",
    "train_one",
]

#: The small networks of the course, in the order the papers introduced them.
FAMILY: tuple[str, ...] = (
    "naive_small",
    "googlenet_small",
    "inception_v3_small",
    "inception_v4_small",
    "inception_resnet_v1_small",
    "inception_resnet_v2_small",
)
#: The seeds each network is trained with: three of every network, so that notebook 08 shows a
#: spread over seeds and can average same-architecture ensembles of each.
SEEDS: dict[str, tuple[int, ...]] = {name: (0, 1, 2) for name in FAMILY}
#: The one training recipe of every checkpoint (``data.loaders`` and ``train.fit`` arguments).
RECIPE: dict[str, Any] = {
    "train_size": 5_000,
    "epochs": 2,
    "lr": 0.1,
    "batch_size": 128,
    "augment": False,
}
MANIFEST = "manifest.json"
FORMAT = "inception_edu.zoo/1"


class ZooError(LookupError):
    """A checkpoint the manifest does not list, or a manifest that cannot be read."""


def folder() -> Path:
    """Return the folder of the shipped checkpoints (``data/checkpoints`` in the repository)."""
    return data.shipped_path("checkpoints")


def file_name(name: str, seed: int, arguments: dict[str, Any] | None = None) -> str:
    """Return the file name of a checkpoint: ``googlenet_small-s0.pt``, ``…_width0.25-s0.pt``."""
    tag = "".join(f"_{key}{value}" for key, value in sorted((arguments or {}).items()))
    return f"{name}{tag}-s{seed}.pt"


def load_manifest(path: str | os.PathLike | None = None) -> dict[str, Any]:
    """Return the manifest (``data/checkpoints/manifest.json`` unless ``path`` is given)."""
    path = Path(path) if path is not None else folder() / MANIFEST
    if not path.is_file():
        raise ZooError(
            f"no checkpoint manifest at {path}: restore data/checkpoints/ from the repository "
            "(git checkout -- data/checkpoints) or make them again with `make checkpoints`."
        )
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ZooError(f"{path.name} is not valid JSON ({err}): restore it from git.") from None
    if manifest.get("format") != FORMAT:
        raise ZooError(f"{path.name} is not a checkpoint manifest of format {FORMAT}.")
    return manifest


def available(manifest: dict[str, Any] | None = None) -> list[tuple[str, dict[str, Any], int]]:
    """Return (model name, create_model arguments, seed) of every checkpoint the manifest lists."""
    manifest = manifest if manifest is not None else load_manifest()
    return [
        (e["model"], dict(e["arguments"]), e["seed"]) for e in manifest["checkpoints"].values()
    ]


def entry(
    name: str, seed: int = 0, arguments: dict[str, Any] | None = None, *, manifest=None
) -> dict[str, Any]:
    """Return the manifest's entry of ``name`` trained with ``seed`` (and ``arguments``)."""
    manifest = manifest if manifest is not None else load_manifest()
    key = file_name(name, seed, arguments)
    if key not in manifest["checkpoints"]:
        listed = sorted(manifest["checkpoints"])
        raise ZooError(
            f"no shipped checkpoint {key} ({name}, seed {seed}"
            f"{', ' + str(arguments) if arguments else ''}). The manifest lists: "
            f"{', '.join(listed)}."
        )
    return {"file": key, **manifest["checkpoints"][key]}


def load_trained(
    name: str, seed: int = 0, arguments: dict[str, Any] | None = None
) -> nn.Module:
    """Return the shipped ``name`` trained with ``seed``, in eval mode, its sha256 checked.

    ``arguments`` picks a variant built with other ``create_model`` arguments (e.g.
    ``{"width": 0.25}``); without it, the network's default configuration.
    """
    found = entry(name, seed, arguments)
    path = folder() / found["file"]
    if not path.is_file():
        raise FileNotFoundError(
            f"{found['file']} is listed in the manifest but missing from {folder().name}/: "
            "restore it (git checkout -- data/checkpoints) or train it again with "
            f"`{found['command']}`."
        )
    return checkpoints.load(path, sha256=found["sha256"])


def accuracy_on_test_set(model: nn.Module, batch_size: int = 1000) -> tuple[float, int]:
    """Return (accuracy, correctly classified images) of ``model`` on the 10,000 test images."""
    logits, targets = train.collect_logits(model, _test_loader(batch_size))
    correct = int((logits.argmax(1) == targets).sum())
    return correct / len(targets), correct


def _test_loader(batch_size: int):
    test = data.fashion_mnist("test", transform=data.test_transform())
    return torch.utils.data.DataLoader(test, batch_size=batch_size)


def train_one(
    name: str,
    seed: int,
    arguments: dict[str, Any] | None = None,
    out: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Train ``name`` with ``RECIPE`` and ``seed``, save it in ``out``, add it to the manifest.

    Returns the manifest entry. The validation accuracy comes from the validation split after
    the last epoch; the test set is evaluated once, after training.
    """
    arguments = dict(arguments or {})
    out = Path(out) if out is not None else folder()
    out.mkdir(parents=True, exist_ok=True)
    train.seed_everything(seed)  # the initial weights depend on the seed too
    model = create_model(name, **arguments)
    train_loader, val_loader = data.loaders(
        batch_size=RECIPE["batch_size"],
        train_size=RECIPE["train_size"],
        augment=RECIPE["augment"],
        seed=seed,
    )
    start = time.perf_counter()
    # No validation pass after every epoch: the one after training is the one the manifest keeps.
    train.fit(
        model,
        train_loader,
        epochs=RECIPE["epochs"],
        lr=RECIPE["lr"],
        seed=seed,
        decay_norm_and_bias=True,  # the shipped checkpoints were trained so; see the docstring
        progress=False,
    )
    seconds = time.perf_counter() - start
    val_accuracy = train.evaluate(model, val_loader).accuracy
    accuracy, correct = accuracy_on_test_set(model)
    path = out / file_name(name, seed, arguments)
    digest = checkpoints.save(model, path)
    command = f"python -m inception_edu.zoo train {name} --seed {seed}"
    command += "".join(f" --model-arg {k}={json.dumps(v)}" for k, v in sorted(arguments.items()))
    record = {
        "sha256": digest,
        "model": name,
        "arguments": arguments,
        "seed": seed,
        "command": command,
        "recipe": dict(RECIPE),
        "train_seconds": round(seconds, 1),
        "threads": torch.get_num_threads(),
        "val_accuracy": val_accuracy,
        "test_accuracy": accuracy,
        "test_correct": correct,
        "versions": _versions(),
    }
    _update_manifest(out / MANIFEST, path.name, record)
    return {"file": path.name, **record}


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    from . import __version__

    return {
        "inception_edu": __version__,
        "python": platform.python_version(),
        "torch": version("torch"),
        "torchvision": version("torchvision"),
        "numpy": version("numpy"),
    }


def _update_manifest(path: Path, key: str, record: dict[str, Any]) -> None:
    manifest = (
        load_manifest(path)
        if path.is_file()
        else {"format": FORMAT, "recipe": dict(RECIPE), "checkpoints": {}}
    )
    manifest["checkpoints"][key] = record
    manifest["checkpoints"] = dict(sorted(manifest["checkpoints"].items()))
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text(json.dumps(manifest, indent=1) + "\n")
    os.replace(tmp, path)  # never half a manifest


def _plan() -> list[tuple[str, dict[str, Any], int]]:
    """Every checkpoint ``make checkpoints`` trains: seed by seed, so a partial run is usable."""
    seeds = sorted({seed for chosen in SEEDS.values() for seed in chosen})
    return [(name, {}, seed) for seed in seeds for name in FAMILY if seed in SEEDS[name]]


def _parse_argument(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"--model-arg takes KEY=VALUE, got {text!r}")
    return key, json.loads(value)


def parse_runs(argv: Sequence[str] | None = None) -> list[tuple[str, dict[str, Any], int]]:
    """Return the (name, arguments, seed) runs a command line asks for (see ``main``)."""
    args = _parser().parse_args(argv)
    if args.command == "train":
        return [(args.name, dict(args.model_arg), args.seed)]
    runs = _plan()
    if args.missing:
        try:
            manifest = load_manifest(Path(args.out) / MANIFEST if args.out else None)
            done = set(manifest["checkpoints"])
        except ZooError:
            done = set()
        runs = [r for r in runs if file_name(r[0], r[2], r[1]) not in done]
    return runs


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: ``make`` trains every checkpoint, ``train NAME --seed S`` one of them."""
    out = _parser().parse_args(argv).out
    for name, arguments, seed in parse_runs(argv):
        record = train_one(name, seed, arguments, out)
        print(
            f"{record['file']}: val {record['val_accuracy']:.4f}, test "
            f"{record['test_accuracy']:.4f}, {record['train_seconds']:.0f} s",
            flush=True,
        )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m inception_edu.zoo",
        description="Train the course's checkpoints (see the inception_edu.zoo docstring).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("make", help="train every checkpoint of the course")
    make.add_argument("--missing", action="store_true", help="only those not in the manifest")
    one = commands.add_parser("train", help="train one checkpoint")
    one.add_argument("name")
    one.add_argument("--seed", type=int, default=0)
    one.add_argument(
        "--model-arg", type=_parse_argument, action="append", default=[], metavar="KEY=VALUE"
    )
    for sub in (make, one):
        sub.add_argument("--out", default=None, help="folder (default: data/checkpoints)")
    return parser


if __name__ == "__main__":
    main()
