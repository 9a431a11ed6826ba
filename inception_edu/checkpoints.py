"""Save a trained model and load it back safely: sha256-checked, tensors only (``weights_only=True``).

    digest = checkpoints.save(model, "v3_small.pt", name="inception_v3_small")
    model = checkpoints.load("v3_small.pt", sha256=digest)  # builds inception_v3_small, loads weights

A checkpoint is a file holding the model's state dict and, optionally, the ``create_model`` name that
rebuilds its architecture. Give ``load`` the sha256 that ``save`` returned (or that a course file
lists) and a corrupt, truncated or swapped file is refused instead of loading wrong weights.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import torch
from torch import nn

__all__ = ["CheckpointError", "file_sha256", "load", "save"]

FORMAT = "inception_edu.checkpoint/1"


class CheckpointError(ValueError):
    """A checkpoint file that cannot be trusted or does not fit the model."""


def file_sha256(path: str | os.PathLike) -> str:
    """Return the hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def save(model: nn.Module, path: str | os.PathLike, *, name: str | None = None) -> str:
    """Write ``model``'s weights (and the ``create_model`` ``name`` that rebuilds it) to ``path``.

    Returns the file's sha256: pass it to ``load`` to be sure you load exactly this file.
    """
    if name is not None:
        _check_name(name)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    torch.save({"format": FORMAT, "model": name, "state_dict": state}, path)
    return file_sha256(path)


def load(
    path: str | os.PathLike,
    model: nn.Module | str | None = None,
    *,
    sha256: str | None = None,
) -> nn.Module:
    """Load a checkpoint written by ``save`` and return the model, in eval mode.

    ``model`` is the module to load into, a ``create_model`` name, or None to rebuild the model the
    checkpoint names. With ``sha256``, the file must have exactly that hash.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No checkpoint at {path}: check the path, or save one with checkpoints.save.")
    if sha256 is not None:
        actual = file_sha256(path)
        if actual != sha256.lower():
            raise CheckpointError(
                f"{path.name} has sha256 {actual}, but {sha256} was expected: the file is corrupt, "
                "truncated or a different checkpoint. Save or copy it again; do not use it as it is."
            )
    checkpoint = _read(path)
    if model is None:
        if checkpoint["model"] is None:
            raise CheckpointError(
                f"{path.name} does not name its architecture: pass the model to load it into, "
                "e.g. load(path, create_model('inception_v3_small'))."
            )
        model = checkpoint["model"]
    if isinstance(model, str):
        from inception_edu.models import create_model

        model = create_model(model)  # an unknown name gets create_model's own clear error
    _load_state(model, checkpoint["state_dict"], path.name, checkpoint["model"])
    return model.eval()


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
            f"{path.name} was not written by inception_edu.checkpoints.save. For a bare state dict, "
            "use model.load_state_dict(torch.load(path, weights_only=True))."
        )
    return checkpoint


def _load_state(model: nn.Module, state: dict, filename: str, saved_name: str | None) -> None:
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    resized = [k for k in own if k in state and own[k].shape != state[k].shape]
    if missing or unexpected or resized:
        problems = []
        for label, keys in (("missing", missing), ("unexpected", unexpected), ("different shape", resized)):
            if keys:
                more = f" and {len(keys) - 3} more" if len(keys) > 3 else ""
                problems.append(f"{label}: {', '.join(keys[:3])}{more}")
        saved = f" It was saved from {saved_name!r}." if saved_name else ""
        raise CheckpointError(
            f"{filename} does not fit this {type(model).__name__} ({'; '.join(problems)}).{saved} "
            "Build the same architecture (name and arguments) that was saved."
        )
    model.load_state_dict(state)


def _check_name(name: str) -> None:
    from inception_edu.models import MODEL_NAMES

    if name not in MODEL_NAMES:
        raise ValueError(f"Unknown model name {name!r}; choose one of {', '.join(MODEL_NAMES)}.")
