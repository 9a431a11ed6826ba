"""Save a trained model and load it back safely: sha256-checked, tensors only (``weights_only``).

    digest = checkpoints.save(model, "v3_small.pt")    # a model from create_model names itself
    model = checkpoints.load("v3_small.pt", sha256=digest)  # rebuilds it, loads the weights

A checkpoint holds the model's state dict, the ``create_model`` name and keyword arguments that
rebuild its architecture, and optionally ``extra`` training state (optimizer, scheduler, step…).
Give ``load`` the sha256 that ``save`` returned (or that a course file lists) and a corrupt,
truncated or swapped file is refused instead of loading wrong weights.
"""

from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

__all__ = ["Checkpoint", "CheckpointError", "file_sha256", "load", "read", "save"]

FORMAT = "inception_edu.checkpoint/1"


class CheckpointError(ValueError):
    """A checkpoint file that cannot be trusted or does not fit the model."""


@dataclass
class Checkpoint:
    """The contents of a checkpoint file."""

    #: The ``create_model`` name that rebuilds the architecture, or None.
    name: str | None
    #: The keyword arguments for ``create_model(name, **arguments)``.
    arguments: dict[str, Any]
    state_dict: dict[str, torch.Tensor]
    #: Anything else saved with the weights (plain Python values and tensors only).
    extra: dict[str, Any] = field(default_factory=dict)


def file_sha256(path: str | os.PathLike) -> str:
    """Return the hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def save(
    model: nn.Module,
    path: str | os.PathLike,
    *,
    name: str | None = None,
    arguments: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
    verify: bool = True,
) -> str:
    """Write ``model``'s weights, what rebuilds it, and ``extra`` to ``path``; return its sha256.

    ``name`` and ``arguments`` are the ``create_model`` call that builds the same architecture;
    a model made by ``create_model`` knows both (``arguments`` then defaults to the ones it was
    built with, with ``num_classes`` following any ``reset_classifier``). The named architecture is
    built and compared with ``model`` before anything is written: a mismatch is refused
    (``verify=False`` skips that, e.g. for frequent checkpoints of a large model already checked
    once). ``extra`` may hold tensors and plain Python values (dicts, lists, tuples, str, int,
    float, bool, None): what ``load`` can read back without running code. Pass the returned sha256
    to ``load`` to be sure you load exactly this file.
    """
    name, arguments = _recipe(model, name, arguments)
    _check_plain(arguments, "arguments")
    _check_plain(extra or {}, "extra")
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    if name is not None and verify:
        _check_recipe(name, arguments, state)
    payload = {
        "format": FORMAT,
        "model": name,
        "arguments": arguments,
        "state_dict": state,
        "extra": dict(extra or {}),
    }
    path = Path(path)
    tmp = path.with_name(path.name + ".partial")
    torch.save(payload, tmp)
    os.replace(tmp, path)  # a crash mid-write leaves the previous file, never half a file
    return file_sha256(path)


def read(path: str | os.PathLike, *, sha256: str | None = None) -> Checkpoint:
    """Return the contents of a checkpoint written by ``save``, checking its sha256 if given."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"No checkpoint at {path}: check the path, or save one with checkpoints.save."
        )
    if sha256 is not None:
        actual = file_sha256(path)
        if actual != sha256.lower():
            raise CheckpointError(
                f"{path.name} has sha256 {actual}, but {sha256} was expected: the file is "
                "corrupt, truncated or a different checkpoint. Save or copy it again; do not use "
                "it as it is."
            )
    raw = _read(path)
    return Checkpoint(
        name=raw["model"],
        arguments=dict(raw.get("arguments") or {}),
        state_dict=raw["state_dict"],
        extra=dict(raw.get("extra") or {}),
    )


def load(
    path: str | os.PathLike,
    model: nn.Module | str | None = None,
    *,
    sha256: str | None = None,
) -> nn.Module:
    """Load a checkpoint written by ``save`` and return the model, in eval mode.

    ``model`` is the module to load into, a ``create_model`` name (built with the saved
    arguments), or None to rebuild the model the checkpoint names. With ``sha256``, the file must
    have exactly that hash.
    """
    checkpoint = read(path, sha256=sha256)
    if model is None:
        if checkpoint.name is None:
            raise CheckpointError(
                f"{Path(path).name} does not name its architecture: pass the model to load it "
                "into, e.g. load(path, create_model('inception_v3_small'))."
            )
        model = checkpoint.name
    if isinstance(model, str):
        from inception_edu.models import create_model

        arguments = checkpoint.arguments if model == checkpoint.name else {}
        model = create_model(model, **arguments)  # an unknown name gets create_model's error
    _load_state(model, checkpoint.state_dict, Path(path).name, checkpoint.name)
    return model.eval()


def _recipe(
    model: nn.Module, name: str | None, arguments: dict[str, Any] | None
) -> tuple[str | None, dict[str, Any]]:
    own_name = getattr(model, "model_name", None)
    if name is None:
        name = own_name
    if arguments is None:
        arguments = dict(getattr(model, "model_kwargs", {})) if name == own_name else {}
        num_classes = getattr(model, "num_classes", None)
        if name is not None and isinstance(num_classes, int):
            arguments["num_classes"] = num_classes
    return name, dict(arguments)


def _check_recipe(name: str, arguments: dict[str, Any], state: dict[str, torch.Tensor]) -> None:
    from inception_edu.models import create_model
    from inception_edu.models.registry import check_model_name

    check_model_name(name)
    try:
        reference = create_model(name, **arguments).state_dict()
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"create_model({name!r}, **{arguments!r}) fails ({err}); pass the arguments that "
            "built this model."
        ) from err
    problems = _differences(reference, state)
    if problems:
        raise ValueError(
            f"this model is not a {name} built with {arguments or 'no arguments'} "
            f"({'; '.join(problems)}): it would not load back. Pass the name and arguments= of "
            "the create_model call that built it."
        )


_PLAIN = (str, int, float, bool, type(None))


def _check_plain(value: Any, where: str) -> None:
    """Raise a TypeError if ``value`` holds anything a ``weights_only`` load would refuse."""
    if isinstance(value, (torch.Tensor, torch.Size, torch.dtype, torch.device)):
        return
    if type(value) in _PLAIN:
        return
    if type(value) in (list, tuple):
        for i, item in enumerate(value):
            _check_plain(item, f"{where}[{i}]")
        return
    if type(value) in (dict, OrderedDict):  # state dicts are OrderedDicts
        for key, item in value.items():
            if type(key) not in _PLAIN:
                raise TypeError(f"{where} has a key of type {type(key).__name__}: use str or int")
            _check_plain(item, f"{where}[{key!r}]")
        return
    raise TypeError(
        f"{where} is a {type(value).__qualname__}, which a safe (weights_only) load cannot read "
        "back: store tensors and plain values only (e.g. str(torch.__version__), a dict for a "
        "dataclass)"
    )


def _read(path: Path) -> dict:
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unreadable file gets the same clear message
        raise CheckpointError(
            f"{path.name} is not a readable checkpoint ({type(err).__name__}: {str(err)[:200]}). "
            "Only files written by inception_edu.checkpoints.save (tensors only) can be loaded."
        ) from None
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != FORMAT:
        raise CheckpointError(
            f"{path.name} was not written by inception_edu.checkpoints.save. For a bare state "
            "dict, use model.load_state_dict(torch.load(path, weights_only=True))."
        )
    return checkpoint


def _load_state(model: nn.Module, state: dict, filename: str, saved_name: str | None) -> None:
    problems = _differences(model.state_dict(), state)
    if problems:
        saved = f" It was saved from {saved_name!r}." if saved_name else ""
        raise CheckpointError(
            f"{filename} does not fit this {type(model).__name__} ({'; '.join(problems)}).{saved} "
            "Build the same architecture (name and arguments) that was saved."
        )
    model.load_state_dict(state)


def _differences(own: dict[str, torch.Tensor], state: dict[str, torch.Tensor]) -> list[str]:
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    resized = [k for k in own if k in state and own[k].shape != state[k].shape]
    problems = []
    for label, keys in (
        ("missing", missing),
        ("unexpected", unexpected),
        ("different shape", resized),
    ):
        if keys:
            more = f" and {len(keys) - 3} more" if len(keys) > 3 else ""
            problems.append(f"{label}: {', '.join(keys[:3])}{more}")
    return problems
