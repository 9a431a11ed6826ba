"""What to tell a student whose module gives other outputs than the reference's.

First the known wrong variants (outputs of wrong modules built from the reference's own layers),
then the first layer with weights whose output differs, then the first differing output channel
and the branch it belongs to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import torch
from torch import Tensor, nn

from ..inference import kept_state
from ._check import Mistake
from ._layers import ATOL, RTOL, Pairs, forward_layers, run_both
from ._values import tensors_close

__all__ = ["Branches", "Variant", "diagnose_module", "variant_outputs"]

#: A wrong variant: yields (feedback, output of the wrong module) from the reference's layers.
Variant = Callable[[nn.Module, Tensor], Iterator[tuple[str, Tensor]]]
#: The reference's branches, in concatenation order: (label, output) for an input.
Branches = Callable[[nn.Module, Tensor], list[tuple[str, Tensor]]]


def diagnose_module(
    mine: nn.Module,
    reference: nn.Module,
    x: Tensor,
    train: bool,
    got: Tensor,
    expected: Tensor,
    pairs: Pairs,
    variants: Sequence[Variant],
    branches: Branches | None,
) -> Mistake:
    """Name the known wrong variant the output matches, else the first differing layer/channel."""
    for feedback, wrong in variant_outputs(reference, x, variants, train):
        if tensors_close(got, wrong, RTOL, ATOL):
            return Mistake(feedback)
    mode = (
        "in train mode (BatchNorm normalizing with the batch's own statistics)"
        if train
        else "in eval mode (BatchNorm using its running statistics)"
    )
    diff = float((got.double() - expected.double()).abs().max())
    start = f"with the reference's weights loaded, {mode}, your output differs by up to {diff:.3g}"
    layer = _first_differing_layer(mine, reference, x, train, pairs)
    if layer is not None:
        return Mistake(f"{start}. {layer}")
    return Mistake(
        f"{start}. {_first_differing_channel(reference, x, train, got, expected, branches)}"
    )


def variant_outputs(
    reference: nn.Module, x: Tensor, variants: Sequence[Variant], train: bool
) -> list[tuple[str, Tensor]]:
    """(feedback, output) of every wrong variant, in the given mode."""
    with kept_state(reference), torch.no_grad():
        reference.train(train)
        return [item for variant in variants for item in variant(reference, x)]


def _first_differing_layer(
    mine: nn.Module, reference: nn.Module, x: Tensor, train: bool, pairs: Pairs
) -> str | None:
    """Describe the first matched layer (in the reference's order) whose output differs, if any."""
    outputs: dict[nn.Module, Tensor] = {}

    def keep(layer: nn.Module, _inputs: object, output: object) -> None:
        if isinstance(output, Tensor):
            # A copy: an in-place ReLU after the layer would overwrite the output it returned.
            outputs.setdefault(layer, output.detach().clone())

    handles = [layer.module.register_forward_hook(keep) for pair in pairs for layer in pair]
    try:
        run_both(mine, reference, x, train)
    finally:
        for handle in handles:
            handle.remove()
    by_reference = {ref.module: mine_layer for mine_layer, ref in pairs}
    for ref in forward_layers(reference, x)[0]:
        mine_layer = by_reference[ref.module]
        a, b = outputs.get(mine_layer.module), outputs.get(ref.module)
        if a is None or b is None:
            continue
        if a.shape != b.shape:
            return (
                f"The first layer whose output differs is your {mine_layer.describe()}, which "
                f"holds the weights of the reference's `{ref.name}`: its output has shape "
                f"{tuple(a.shape)}, the reference's {tuple(b.shape)}. Check its padding and stride."
            )
        if not tensors_close(a, b, RTOL, ATOL):
            return (
                f"The first layer whose output differs is your {mine_layer.describe()}, which "
                f"holds the weights of the reference's `{ref.name}`: check what goes into it (the "
                "layers and activations before it) and its settings."
            )
    return None


def _first_differing_channel(
    reference: nn.Module,
    x: Tensor,
    train: bool,
    got: Tensor,
    expected: Tensor,
    branches: Branches | None,
) -> str:
    """Say where in the output the difference starts: which channel, and which branch if known."""
    after = (
        "Every layer with weights computes the same as the reference's, so the difference comes "
        "from what happens around them: activations, pooling, the order of concatenation, the sum."
    )
    if got.dim() < 2:
        return after
    bad = (got.double() - expected.double()).abs().flatten(2).amax(-1).amax(0) > ATOL
    channel = int(bad.nonzero()[0]) if bad.any() else 0
    if branches is None:
        return f"{after} The first differing output channel is {channel}."
    with kept_state(reference), torch.no_grad():
        reference.train(train)
        start = 0
        for label, output in branches(reference, x):
            stop = start + output.shape[1]
            if start <= channel < stop:
                return (
                    f"{after} The first differing output channel is {channel}, in the "
                    f"{label} branch (channels {start}–{stop - 1} of the reference's output)."
                )
            start = stop
    return f"{after} The first differing output channel is {channel}."
