"""Build any network of the course by name: ``create_model("inception_v3_small")``."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any

from torch import nn

from .googlenet import googlenet, googlenet_small
from .inception_resnet import (
    inception_resnet_v1,
    inception_resnet_v1_small,
    inception_resnet_v2,
    inception_resnet_v2_small,
)
from .inception_v3 import inception_v3, inception_v3_small
from .inception_v4 import inception_v4, inception_v4_small
from .naive import naive_small

__all__ = ["MODEL_NAMES", "check_model_name", "create_model"]

_FACTORIES: dict[str, Callable[..., nn.Module]] = {
    "googlenet": googlenet,
    "googlenet_small": googlenet_small,
    "inception_v3": inception_v3,
    "inception_v3_small": inception_v3_small,
    "inception_v4": inception_v4,
    "inception_v4_small": inception_v4_small,
    "inception_resnet_v1": inception_resnet_v1,
    "inception_resnet_v1_small": inception_resnet_v1_small,
    "inception_resnet_v2": inception_resnet_v2,
    "inception_resnet_v2_small": inception_resnet_v2_small,
    "naive_small": naive_small,
}

#: Every name ``create_model`` accepts; ``*_small`` are the 1×28×28, 10-class configurations.
MODEL_NAMES: tuple[str, ...] = tuple(_FACTORIES)


def create_model(name: str, **kwargs: Any) -> nn.Module:
    """Return the network called ``name`` (one of ``MODEL_NAMES``), built with ``kwargs``.

    The model remembers how it was made (``model.model_name``, ``model.model_kwargs``), so that
    ``checkpoints.save(model, path)`` can store what rebuilds it.
    """
    check_model_name(name)
    model = _FACTORIES[name](**kwargs)
    model.model_name = name
    model.model_kwargs = dict(kwargs)
    return model


def check_model_name(name: object) -> str:
    """Return ``name`` if ``create_model`` knows it; else raise a ValueError listing the names."""
    if name not in _FACTORIES:
        close = difflib.get_close_matches(str(name), MODEL_NAMES, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(
            f"unknown model name {name!r}.{hint} Valid names: {', '.join(MODEL_NAMES)}"
        )
    return name
