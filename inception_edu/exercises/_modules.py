"""Comparing the student's module with the reference: same weights, same outputs, or a diagnosis.

1. The reference gets random BatchNorm statistics and affine parameters (negative scales too) and
   random biases: with fresh BatchNorms (mean 0, variance 1, scale 1, shift 0) a misplaced ReLU
   commutes with the BatchNorm and goes unseen. The test inputs have negative values.
2. The layers with weights (convolutions, BatchNorms, …) are matched by kind and shape, in the
   order the forward pass uses them, never by attribute name or declaration order; then the
   reference's weights and statistics are loaded into the student's layers.
3. The outputs are compared in eval mode and in train mode.
4. A difference is diagnosed (``_diagnosis``).
"""

from __future__ import annotations

import difflib
import itertools
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence

import torch
from torch import Tensor, nn

from ._check import Mistake, fixed_seed, n_params
from ._diagnosis import Branches, Variant, diagnose_module, variant_outputs
from ._layers import ATOL, RTOL, Layer, Pairs, forward_layers, own_state, run_both, stateful_leaves
from ._values import tensors_close

__all__ = ["Branches", "Variant", "compare_modules"]

# The largest BatchNorm eps accepted as "the same layer": PyTorch's default is 1e-5, the library's
# (TensorFlow's) 1e-3; both train alike, so neither is a mistake.
_MAX_EPS = 1e-3
# Other matchings of same-shaped layers tried when the first one gives other outputs (a student
# may run two identical 1×1 convolutions in the other order): 5! is plenty for these blocks.
_MAX_MATCHINGS = 120


def compare_modules(
    mine: nn.Module,
    reference: nn.Module,
    x: Tensor,
    *,
    variants: Sequence[Variant] = (),
    branches: Branches | None = None,
    shape_hint: Callable[[tuple[int, ...]], str | None] | None = None,
    widths_hint: str = "",
) -> str:
    """Check ``mine`` against ``reference`` on ``x``; return praise or raise a diagnosed Mistake.

    ``shape_hint`` turns a wrong output shape into advice (None: the generic message);
    ``widths_hint`` is added when the layers do not match the reference's.
    """
    _randomize(reference)
    ref_layers, expected = forward_layers(reference, x)
    mine_layers, got = forward_layers(mine, x, student=True)
    if got.shape != expected.shape:
        hint = shape_hint(tuple(got.shape)) if shape_hint else None
        raise Mistake(
            hint
            or f"for an input of shape {tuple(x.shape)} the output should have shape "
            f"{tuple(expected.shape)}, yours has {tuple(got.shape)}."
        )
    _check_all_used(mine, mine_layers)
    groups = _match(mine_layers, ref_layers, mine, reference, widths_hint)
    library_eps = {m: m.eps for m in reference.modules() if isinstance(m, nn.BatchNorm2d)}
    pairs = _load_agreeing_matching(mine, reference, x, groups, variants, branches)
    got, expected = run_both(mine, reference, x, train=True)
    if not tensors_close(got, expected, RTOL, ATOL):
        raise diagnose_module(mine, reference, x, True, got, expected, pairs, variants, branches)
    praise = (
        f"same output shape {tuple(expected.shape)}, same {n_params(reference):,} parameters, "
        "same outputs in eval and in train mode."
    )
    return " ".join([praise, *_eps_notes(pairs, library_eps)])


# --- matching ------------------------------------------------------------------------------------


def _units(layers: list[Layer]) -> list[tuple[Layer, ...]]:
    """Group each layer with the BatchNorm right after it: a conv and its BN go together."""
    units: list[tuple[Layer, ...]] = []
    for layer in layers:
        if units and layer.kind == "BatchNorm2d" and units[-1][-1].kind != "BatchNorm2d":
            units[-1] = (*units[-1], layer)
        else:
            units.append((layer,))
    return units


Group = tuple[list[tuple[Layer, ...]], list[tuple[Layer, ...]]]  # same-signature (mine, reference)


def _match(
    mine: list[Layer], ref: list[Layer], mine_module: nn.Module, ref_module: nn.Module, hint: str
) -> list[Group]:
    """Group the student's and the reference's layers by signature, each in order of use."""
    for split in (_units, lambda layers: [(layer,) for layer in layers]):
        mine_units, ref_units = split(mine), split(ref)
        key = lambda unit: tuple(layer.signature for layer in unit)  # noqa: E731
        if Counter(map(key, mine_units)) == Counter(map(key, ref_units)):
            by_key: dict[tuple, Group] = defaultdict(lambda: ([], []))
            for unit in mine_units:
                by_key[key(unit)][0].append(unit)
            for unit in ref_units:
                by_key[key(unit)][1].append(unit)
            return list(by_key.values())
    raise Mistake(_mismatch_message(mine, ref, mine_module, ref_module, hint))


def _mismatch_message(
    mine: list[Layer], ref: list[Layer], mine_module: nn.Module, ref_module: nn.Module, hint: str
) -> str:
    """Name the reference's layers missing from the student's module, and the extra ones."""
    missing, extra = _differences(mine, ref)
    counts = (
        f"your module has {n_params(mine_module):,} parameters, the reference "
        f"{n_params(ref_module):,}"
    )
    if not any(layer.kind == "BatchNorm2d" for layer in mine) and any(
        layer.kind == "BatchNorm2d" for layer in ref
    ):
        return (
            f"{counts}: yours has no BatchNorm. Every convolution is followed by a BatchNorm and "
            "a ReLU (BasicConv2d: conv → BN → ReLU). " + hint
        ).strip()
    biased = [
        layer
        for layer in extra
        if isinstance(layer.module, nn.Conv2d) and layer.module.bias is not None
    ]
    if biased and any(
        isinstance(layer.module, nn.Conv2d) and layer.module.bias is None for layer in missing
    ):
        return (
            f"{counts}: your convolutions have a bias, e.g. {biased[0].describe()}. Followed by a "
            "BatchNorm, a convolution needs none (BatchNorm's shift does that job): "
            "nn.Conv2d(..., bias=False), as in BasicConv2d."
        )
    parts = [counts + "."]
    if missing:
        parts.append(
            f"The reference's {_listing(missing)} {_verb(missing)} no counterpart in yours."
        )
    if extra:
        parts.append(f"Your {_listing(extra)} {_verb(extra)} none in the reference.")
    if not missing and not extra:
        parts.append("Your layers have the reference's shapes, but not in the same arrangement.")
    if hint:
        parts.append(hint)
    return " ".join(parts)


def _differences(mine: list[Layer], ref: list[Layer]) -> tuple[list[Layer], list[Layer]]:
    """(reference layers missing from the student's, the student's extra layers).

    Aligning the two forward orders finds *where* they differ (the layers of one branch); when the
    orders differ too much for that, layers are matched by signature only.
    """
    missing, extra = _excess(ref, mine), _excess(mine, ref)
    aligned = difflib.SequenceMatcher(
        a=[layer.signature for layer in mine], b=[layer.signature for layer in ref], autojunk=False
    )
    aligned_missing, aligned_extra = [], []
    for tag, i1, i2, j1, j2 in aligned.get_opcodes():
        if tag != "equal":
            aligned_extra += mine[i1:i2]
            aligned_missing += ref[j1:j2]
    if len(aligned_missing) == len(missing) and len(aligned_extra) == len(extra):
        return aligned_missing, aligned_extra
    return missing, extra


def _excess(these: list[Layer], those: list[Layer]) -> list[Layer]:
    """The layers of ``these`` whose signature occurs more often than in ``those``."""
    left = Counter(layer.signature for layer in those)
    excess = []
    for layer in these:
        if left[layer.signature]:
            left[layer.signature] -= 1
        else:
            excess.append(layer)
    return excess


def _listing(layers: list[Layer], most: int = 3) -> str:
    shown = ", ".join(layer.describe() for layer in layers[:most])
    return shown + (f" and {len(layers) - most} more" if len(layers) > most else "")


def _verb(layers: list[Layer]) -> str:
    return "has" if len(layers) == 1 else "have"


def _check_all_used(mine: nn.Module, used: list[Layer]) -> None:
    """A layer that forward never runs is a slip worth naming (its weights count as parameters)."""
    seen = {layer.module for layer in used}
    leaves = stateful_leaves(mine)
    idle = [
        Layer(name, m)
        for name, m in mine.named_modules()
        if m in leaves and m not in seen and list(m.parameters(recurse=False))
    ]
    if idle:
        raise Mistake(
            f"your {_listing(idle)} {'is' if len(idle) == 1 else 'are'} created in __init__ but "
            "never used by forward."
        )


# --- loading the reference's weights -------------------------------------------------------------


def _matchings(groups: list[Group]) -> Iterator[Pairs]:
    """Every way to pair same-signature units, the order-of-use pairing first."""
    ambiguous = [i for i, (units, _) in enumerate(groups) if len(units) > 1]
    choices = (itertools.permutations(range(len(groups[i][0]))) for i in ambiguous)
    for order in itertools.product(*choices):
        permuted = dict(zip(ambiguous, order, strict=True))
        yield [
            (mine_layer, ref_layer)
            for g, (mine_units, ref_units) in enumerate(groups)
            for k, mine_unit in enumerate(mine_units)
            for mine_layer, ref_layer in zip(
                mine_unit, ref_units[permuted[g][k] if g in permuted else k], strict=True
            )
        ]


def _load_agreeing_matching(
    mine: nn.Module,
    reference: nn.Module,
    x: Tensor,
    groups: list[Group],
    variants: Sequence[Variant],
    branches: Branches | None,
) -> Pairs:
    """Load the reference's weights through a matching that gives its eval outputs; return it.

    If none does, raise the Mistake of the wrong variant that some matching reproduces, or else
    the diagnosis of the first (order-of-use) matching.
    """
    wrong: list[tuple[str, Tensor]] | None = None  # the variants' outputs, computed once needed
    named: str | None = None
    matchings = list(itertools.islice(_matchings(groups), _MAX_MATCHINGS))
    for pairs in matchings:
        _load(pairs)
        got, expected = run_both(mine, reference, x, train=False)
        if tensors_close(got, expected, RTOL, ATOL):
            return pairs
        # Another matching may still give the reference's outputs: name a variant only at the end.
        wrong = variant_outputs(reference, x, variants, train=False) if wrong is None else wrong
        named = named or next((f for f, out in wrong if tensors_close(got, out, RTOL, ATOL)), None)
    if named:
        raise Mistake(named)
    _load(matchings[0])
    got, expected = run_both(mine, reference, x, train=False)
    raise diagnose_module(mine, reference, x, False, got, expected, matchings[0], (), branches)


def _load(pairs: Pairs) -> None:
    """Copy weights and statistics layer by layer; give paired BatchNorms the student's eps."""
    with torch.no_grad():
        for mine, ref in pairs:
            targets = dict(own_state(mine.module))
            for name, value in own_state(ref.module):
                targets[name].copy_(value)
            if isinstance(mine.module, nn.BatchNorm2d):
                _same_eps(mine, ref)


def _same_eps(mine: Layer, ref: Layer) -> None:
    """Let the reference use the student's BatchNorm eps if it is a sensible one."""
    eps = float(mine.module.eps)
    if not 0 < eps <= _MAX_EPS:
        raise Mistake(
            f"your BatchNorm {mine.describe()} has eps={eps:g}: eps only keeps the division "
            f"finite, use a small one: PyTorch's default 1e-5 or the library's "
            f"{ref.module.eps:g} (as in BasicConv2d)."
        )
    ref.module.eps = eps


def _eps_notes(pairs: Pairs, library_eps: dict[nn.Module, float]) -> list[str]:
    """A note for the praise when the student's BatchNorms use another eps than the library's."""
    for mine, ref in pairs:
        if ref.module in library_eps and mine.module.eps != library_eps[ref.module]:
            return [
                f"(Your BatchNorms use eps={mine.module.eps:g}, the library's BasicConv2d "
                f"eps={library_eps[ref.module]:g}, the value Google's released weights were "
                "trained with; both are right for training from scratch.)"
            ]
    return []


def _randomize(reference: nn.Module) -> None:
    """Give every BatchNorm random statistics and affine parameters, every bias a random value."""
    with fixed_seed(1234), torch.no_grad():
        for m in reference.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 1.5)
                if m.affine:
                    # Negative scales too: a ReLU commutes with a positive scale only.
                    sign = torch.randint(0, 2, m.weight.shape) * 2 - 1
                    m.weight.copy_(sign * torch.empty_like(m.weight).uniform_(0.5, 1.5))
                    m.bias.uniform_(-0.5, 0.5)
            elif isinstance(m, (nn.Conv2d, nn.Linear)) and m.bias is not None:
                m.bias.uniform_(-0.2, 0.2)
