"""A module's layers with weights, in the order its forward pass uses them, and how to run it.

Shared by the module checker (``_modules``) and its diagnosis (``_diagnosis``).
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..inference import kept_state
from ._check import StudentError, students_code
from ._values import tensor

__all__ = [
    "ATOL",
    "RTOL",
    "Layer",
    "Pairs",
    "forward_layers",
    "own_state",
    "run_both",
    "stateful_leaves",
]

#: Tolerances of every output comparison (the outputs are O(1)).
RTOL, ATOL = 1e-4, 1e-5


@dataclass(frozen=True)
class Layer:
    """A leaf module with weights or statistics, and its name inside its network."""

    name: str
    module: nn.Module

    @property
    def kind(self) -> str:
        """The layer's type, e.g. "Conv2d" (subclasses and lazy versions included)."""
        for cls in (nn.Conv2d, nn.BatchNorm2d, nn.Linear):
            if isinstance(self.module, cls):
                return cls.__name__
        return type(self.module).__name__

    @property
    def signature(self) -> tuple:
        """What must agree for two layers to take the same weights: kind, tensors and shapes."""
        return self.kind, tuple((name, tuple(t.shape)) for name, t in own_state(self.module))

    def describe(self) -> str:
        """Return e.g. "`branch2.0.conv` (Conv2d 8→4, 1×1 kernel)"."""
        m = self.module
        if isinstance(m, nn.Conv2d):
            (kh, kw), channels = m.kernel_size, f"{m.in_channels}→{m.out_channels}"
            detail = f"Conv2d {channels}, {kh}×{kw} kernel"
            detail += ", with bias" if m.bias is not None else ""
        elif isinstance(m, nn.BatchNorm2d):
            detail = f"BatchNorm2d over {m.num_features} channels"
            detail += "" if m.affine else ", affine=False"
            detail += "" if m.track_running_stats else ", track_running_stats=False"
        elif isinstance(m, nn.Linear):
            detail = f"Linear {m.in_features}→{m.out_features}"
        else:
            shapes = ", ".join(f"{n} {tuple(t.shape)}" for n, t in own_state(m))
            detail = f"{self.kind} with {shapes}"
        return f"`{self.name}` ({detail})"


#: (student's layer, reference's layer) pairs given the same weights
Pairs = list[tuple[Layer, Layer]]


def forward_layers(
    module: nn.Module, x: Tensor, student: bool = False
) -> tuple[list[Layer], Tensor]:
    """Run ``module`` on ``x`` in eval mode; return its layers with weights in the order of use.

    A layer used twice counts once, at its first use. ``student=True`` tags errors as the student's.
    """
    names = {m: name for name, m in module.named_modules()}
    order: list[nn.Module] = []

    def record(layer: nn.Module, _inputs: object) -> None:
        if layer not in order:
            order.append(layer)

    handles = [m.register_forward_pre_hook(record) for m in stateful_leaves(module)]
    try:
        with kept_state(module), torch.no_grad(), students_code() if student else ExitStack():
            module.eval()
            output = module(x)
    except StudentError as err:
        if "Sizes of tensors must match" in str(err.error):
            err.hint = (
                "(torch.cat needs maps of the same height and width: check that every branch "
                "keeps the input's size, with the padding of each convolution and pool.)"
            )
        raise
    finally:
        for handle in handles:
            handle.remove()
    output = tensor(output, "one tensor from forward")
    return [Layer(names[m], m) for m in order], output


def run_both(
    mine: nn.Module, reference: nn.Module, x: Tensor, train: bool
) -> tuple[Tensor, Tensor]:
    """Outputs of both modules in the given mode; running statistics are left as they were."""
    with kept_state(reference), kept_state(mine), torch.no_grad():
        reference.train(train)
        expected = reference(x)
        with students_code():
            mine.train(train)
            got = mine(x)
    return tensor(got, "one tensor from forward"), expected


def own_state(module: nn.Module) -> list[tuple[str, Tensor]]:
    """A module's own parameters and buffers (not its children's), sorted by name."""
    state = dict(module.named_parameters(recurse=False))
    state.update(module.named_buffers(recurse=False))
    return sorted(((n, t) for n, t in state.items() if t is not None), key=lambda item: item[0])


def stateful_leaves(module: nn.Module) -> list[nn.Module]:
    """Modules without children that hold parameters or buffers: where weights get matched."""
    return [m for m in module.modules() if not list(m.children()) and own_state(m)]


