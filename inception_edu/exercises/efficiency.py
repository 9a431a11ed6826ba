"""Checkers for the exercises of notebook 09 (efficiency: FLOPs are not latency)."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, fx, nn

from .. import cost
from ..deploy import count_kernels, fuse
from ..models import BasicConv2d
from ..models.inception_v4 import InceptionV4C
from ._check import Mistake, Verdict, fixed_seed, run_check, student, students_code
from ._values import number, statement_letters

__all__ = [
    "PAIR_INPUT",
    "PAIR_STATEMENTS",
    "check_bn_folding",
    "check_equal_macs_prediction",
    "check_fusion_opportunity",
    "equal_macs_pair",
    "pair_facts",
]

# --- 09.1 · two modules with the same MACs --------------------------------------------------------

#: The shape of one input of the two modules (batch 1): a 17×17 feature map with 64 channels.
PAIR_INPUT = (1, 64, 17, 17)


class WideConv(nn.Module):
    """Module A: one 3×3 convolution 64 → 64 (with BatchNorm and ReLU)."""

    def __init__(self, channels: int = 64) -> None:
        super().__init__()
        self.conv = BasicConv2d(channels, channels, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(x)


class FourBranches(nn.Module):
    """Module B: an Inception-style module with the same multiply-adds as ``WideConv``.

    1×1 → 32; 1×1 → 48 then 3×3 → 64; 3×3 average pooling then 1×1 → 64; concatenated (160
    channels). Per output pixel: 64·32 + 64·48 + 48·64·9 + 64·64 = 36,864 = 64·64·9 MACs.
    """

    def __init__(self, channels: int = 64) -> None:
        super().__init__()
        self.branch1x1 = BasicConv2d(channels, 32, 1)
        self.branch3x3 = nn.Sequential(
            BasicConv2d(channels, 48, 1), BasicConv2d(48, 64, 3, padding=1)
        )
        self.branch_pool = nn.Sequential(
            nn.AvgPool2d(3, stride=1, padding=1), BasicConv2d(channels, 64, 1)
        )

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([self.branch1x1(x), self.branch3x3(x), self.branch_pool(x)], 1)


def equal_macs_pair() -> tuple[nn.Module, nn.Module]:
    """Return modules A (one 3×3 conv) and B (four narrow branches), in eval mode, equal MACs."""
    with fixed_seed(9):
        return WideConv().eval(), FourBranches().eval()


@dataclass(frozen=True)
class PairFacts:
    """What can be counted about a module without a stopwatch."""

    macs: int
    kernels: int
    bytes_moved: int
    conv_weights: int


def pair_facts(module: nn.Module, x: Tensor) -> PairFacts:
    """Return the MACs, kernels, bytes read and written by its kernels, and conv weights."""
    return PairFacts(
        macs=cost.count(module, tuple(x.shape[1:])).macs,
        kernels=count_kernels(module),
        bytes_moved=_bytes_moved(module, x),
        conv_weights=sum(m.weight.numel() for m in module.modules() if isinstance(m, nn.Conv2d)),
    )


class _Traffic(fx.Interpreter):
    """Run a graph and add up the bytes every computing node reads and writes."""

    VIEWS = frozenset({"getitem", "split", "flatten", "view", "reshape"})

    def __init__(self, graph_module: fx.GraphModule) -> None:
        super().__init__(graph_module)
        self.moved = 0

    def run_node(self, n: fx.Node) -> Any:
        args, _ = self.fetch_args_kwargs_from_env(n)
        result = super().run_node(n)
        name = getattr(n.target, "__name__", str(n.target))
        if n.op in ("call_module", "call_function", "call_method") and name not in self.VIEWS:
            tensors = [*_flatten(args), result]
            if n.op == "call_module":
                tensors += list(self.module.get_submodule(n.target).parameters())
            self.moved += sum(
                t.numel() * t.element_size() for t in _flatten(tensors) if isinstance(t, Tensor)
            )
        return result


def _flatten(items: Iterable[Any]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        out += _flatten(item) if isinstance(item, (list, tuple)) else [item]
    return out


def _bytes_moved(module: nn.Module, x: Tensor) -> int:
    traffic = _Traffic(fx.symbolic_trace(module))
    with torch.no_grad():
        traffic.run(x)
    return traffic.moved


@dataclass(frozen=True)
class PairStatement:
    """A claim about modules A and B, and how the counted facts decide it."""

    text: str
    holds: Callable[[PairFacts, PairFacts], tuple[bool, str]]  # (A, B) -> (holds, in words)


def _same_macs(a: PairFacts, b: PairFacts) -> tuple[bool, str]:
    return a.macs == b.macs, f"A does {a.macs:,} multiply-adds, B {b.macs:,}"


def _more_kernels(a: PairFacts, b: PairFacts) -> tuple[bool, str]:
    return (
        b.kernels > a.kernels,
        f"A runs {a.kernels} kernels, B {b.kernels}: each of B's does a fraction of the work, "
        "and each pays the same fixed cost to start, spread over the threads and finish",
    )


def _more_bytes(a: PairFacts, b: PairFacts) -> tuple[bool, str]:
    return (
        b.bytes_moved > a.bytes_moved,
        f"A's kernels read and write {a.bytes_moved / 1e6:.2f} MB, "
        f"B's {b.bytes_moved / 1e6:.2f} MB (counted kernel by kernel: inputs, outputs and weights)",
    )


def _fewer_weights(a: PairFacts, b: PairFacts) -> tuple[bool, str]:
    return (
        a.conv_weights < b.conv_weights,
        f"A's convolution has {a.conv_weights:,} weights, B's four have {b.conv_weights:,}: at "
        "one resolution and stride 1, a convolution's MACs are its weights times the pixels, so "
        "equal MACs mean equal weights",
    )


PAIR_STATEMENTS: dict[str, PairStatement] = {
    "a": PairStatement("A and B do the same number of multiply-adds per image.", _same_macs),
    "b": PairStatement(
        "B runs more kernels than A (convolutions, BatchNorms, ReLUs, the pooling and the "
        "concatenation), and every kernel has a fixed cost however little work it does.",
        _more_kernels,
    ),
    "c": PairStatement(
        "B's kernels read and write more bytes than A's: every branch reads its input and "
        "writes its output, and the concatenation copies all the branches' outputs once more.",
        _more_bytes,
    ),
    "d": PairStatement(
        "B's pooling and concatenation do no multiply-adds, so they take no time.",
        lambda a, b: (
            False,
            "an operation without MACs still reads and writes a whole feature map, and memory "
            "traffic takes time",
        ),
    ),
    "e": PairStatement(
        "B's 1×1 convolutions do the least work per output value, so they are the cheapest "
        "convolutions per multiply-add and make B faster.",
        lambda a, b: (
            False,
            "a 1×1 convolution reads the same input and writes the same output as a 3×3 for a "
            "ninth of the multiply-adds: it does the FEWEST MACs per byte moved, so its MACs are "
            "the most expensive ones",
        ),
    ),
    "f": PairStatement("A's convolution has fewer weights than B's convolutions.", _fewer_weights),
}


def check_equal_macs_prediction(answer: object) -> Verdict:
    """Check the prediction for ``equal_macs_pair()`` at batch 1: which module is faster, and why.

    ``answer`` (or what it returns, if it is a function) is a mapping with "faster" ("A" or "B")
    and "reasons" (the letters of ``PAIR_STATEMENTS`` that hold and explain it), or the pair
    ``(faster, reasons)``. The statements are decided on counts the checker makes on the two
    modules (MACs, kernels, bytes moved, weights), not on a stopwatch.
    """

    def check() -> str:
        value = student(answer)() if callable(answer) else answer
        faster, reasons = _prediction(value)
        a, b = equal_macs_pair()
        x = torch.randn(PAIR_INPUT)
        facts_a, facts_b = pair_facts(a, x), pair_facts(b, x)
        verdicts = {k: s.holds(facts_a, facts_b) for k, s in PAIR_STATEMENTS.items()}
        expected = "A" if facts_a.kernels < facts_b.kernels else "B"
        if faster != expected:
            raise Mistake(
                f"at equal multiply-adds, the module with fewer, larger kernels and less memory "
                f"traffic wins: {verdicts['b'][1]}; {verdicts['c'][1]}. Predict {expected}."
            )
        right = {k for k, (holds, _) in verdicts.items() if holds}
        for letter in sorted(reasons - right):
            raise Mistake(f"statement {letter} does not hold: {verdicts[letter][1]}.")
        for letter in sorted(right - reasons):
            raise Mistake(
                f"statement {letter} holds and is part of the reason, and you left it out: "
                f"{verdicts[letter][1]}."
            )
        return (
            f"{expected} is faster: same MACs, but {verdicts['b'][1]}; and "
            f"{verdicts['c'][1]}. Measure it in the next cell."
        )

    return run_check("09.1", check)


def _prediction(value: object) -> tuple[str, set[str]]:
    if isinstance(value, Mapping):
        keys = {str(k).strip().lower(): v for k, v in value.items()}
        if "faster" not in keys or "reasons" not in keys:
            raise Mistake('give a dict with the keys "faster" and "reasons".')
        faster, reasons = keys["faster"], keys["reasons"]
    elif isinstance(value, (tuple, list)) and len(value) == 2:
        faster, reasons = value
    else:
        raise Mistake(
            'give {"faster": "A" or "B", "reasons": the letters, e.g. "ab"}, '
            f"not {type(value).__name__}."
        )
    if not isinstance(faster, str) or faster.strip().upper().removeprefix("MODULE ") not in (
        "A",
        "B",
    ):
        raise Mistake(f'"faster" is "A" or "B", not {faster!r}.')
    choice = faster.strip().upper().removeprefix("MODULE ")
    return choice, statement_letters(reasons, PAIR_STATEMENTS)



# --- 09.2 · fold a BatchNorm by hand --------------------------------------------------------------

#: (in, out, kernel, stride, padding, groups, conv bias): the cases the folding is checked on.
_FOLD_CASES: tuple[tuple[int, int, int, int, int, int, bool], ...] = (
    (6, 6, 3, 1, 1, 1, False),  # square, so that scaling the wrong axis still runs
    (5, 7, 1, 1, 0, 1, True),  # a conv with its own bias
    (4, 8, 3, 2, 0, 2, True),  # stride 2, two groups
)


def _fold_case(case: tuple[int, int, int, int, int, int, bool]) -> tuple[nn.Conv2d, nn.BatchNorm2d]:
    cin, cout, k, stride, padding, groups, bias = case
    conv = nn.Conv2d(cin, cout, k, stride=stride, padding=padding, groups=groups, bias=bias)
    bn = nn.BatchNorm2d(cout, eps=1e-3)
    with torch.no_grad():
        # Small variances (eps matters), non-zero means, negative scales: every slip shows.
        bn.running_var.uniform_(0.0005, 0.01)
        bn.running_mean.uniform_(-2.0, 2.0)
        bn.weight.uniform_(-2.0, 2.0)
        bn.bias.uniform_(-1.0, 1.0)
        if conv.bias is not None:
            conv.bias.uniform_(-1.0, 1.0)
    return conv.eval(), bn.eval()


def _fold_variants(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> dict[str, tuple[Tensor, Tensor]]:
    """(weight, bias) of the usual wrong foldings, keyed by their feedback."""
    w = conv.weight.detach().double()
    b = conv.bias.detach().double() if conv.bias is not None else torch.zeros(w.shape[0]).double()
    mean, var = bn.running_mean.double(), bn.running_var.double()
    gamma, beta = bn.weight.detach().double(), bn.bias.detach().double()
    s = gamma / torch.sqrt(var + bn.eps)
    out = lambda v: v.reshape(-1, 1, 1, 1)  # noqa: E731
    variants = {
        "your scale leaves out eps: BatchNorm divides by sqrt(running_var + eps), and with "
        "small variances eps matters.": (
            w * out(gamma / var.sqrt()),
            beta + (b - mean) * gamma / var.sqrt(),
        ),
        "you divide by running_var + eps; BatchNorm divides by its square root, the standard "
        "deviation.": (w * out(gamma / (var + bn.eps)), beta + (b - mean) * gamma / (var + bn.eps)),
        "your bias leaves out the convolution's own bias: it passes through the BatchNorm too, "
        "so it is shifted by the mean and scaled like the rest: b' = β + (b − μ)·γ/σ.": (
            w * out(s),
            beta - mean * s,
        ),
        "your bias subtracts the mean without scaling it: BatchNorm computes γ·(y − μ)/σ + β, so "
        "the mean is scaled by γ/σ too.": (w * out(s), beta + b * s - mean),
        "your weight is scaled but your bias is BatchNorm's β alone: the mean (and the "
        "convolution's bias) must be folded into it.": (w * out(s), beta.clone()),
    }
    if w.shape[0] == w.shape[1]:  # scaling the wrong axis only runs for a square weight
        variants[
            "the scale γ/σ belongs to the OUTPUT channels (dimension 0 of the weight): you "
            "scaled the input channels."
        ] = (w * s.reshape(1, -1, 1, 1), beta + (b - mean) * s)
    return variants


def check_bn_folding(fold_batch_norm: Callable[[nn.Conv2d, nn.BatchNorm2d], nn.Module]) -> Verdict:
    """Check ``fold_batch_norm(conv, bn)``: one ``nn.Conv2d`` computing ``bn(conv(x))`` in eval
    mode, compared with the pair and with ``inception_edu.deploy.fuse``; the pair stays as it was.
    """

    def check() -> str:
        answer = student(fold_batch_norm)
        for i, case in enumerate(_FOLD_CASES, 1):
            with fixed_seed(90 + i):
                conv, bn = _fold_case(case)
                x = torch.randn(2, case[0], 9, 9)
            _check_fold(answer, conv, bn, x, f"case {i} ({_describe(case)})")
        return (
            "one convolution with W' = W·γ/√(σ² + ε) per output channel and "
            "b' = β + (b − μ)·γ/√(σ² + ε) computes the pair's outputs, as fuse() does: one "
            "kernel and one pass over the feature map instead of two."
        )

    return run_check("09.2", check)


def _describe(case: tuple[int, int, int, int, int, int, bool]) -> str:
    cin, cout, k, stride, padding, groups, bias = case
    extra = (", stride 2" if stride == 2 else "") + (f", {groups} groups" if groups > 1 else "")
    return f"{k}×{k} conv {cin}→{cout}{extra}, {'with' if bias else 'no'} conv bias"


def _check_fold(
    answer: Callable[..., Any], conv: nn.Conv2d, bn: nn.BatchNorm2d, x: Tensor, where: str
) -> None:
    pair = nn.Sequential(conv, bn).eval()
    before = copy.deepcopy(pair.state_dict())
    with torch.no_grad():
        expected = pair(x)
        library = fuse(pair, channels_last=False)(x)
    # The checker's own yardstick: fuse() must agree with the pair, or the fault is ours.
    assert torch.allclose(library, expected, rtol=1e-4, atol=1e-4), "fuse() disagrees"
    folded = answer(conv, bn)
    after = pair.state_dict()
    changed = [k for k in {*before, *after} if k not in before or k not in after]
    changed += [k for k, v in after.items() if k in before and not torch.equal(v, before[k])]
    if changed:
        raise Mistake(
            f"{where}: your function changed the original layers ({changed[0]}). Build a new "
            "convolution (copy.deepcopy, or nn.Conv2d with the same geometry); fuse() leaves the "
            "model it is given untouched."
        )
    if isinstance(folded, nn.Sequential) or not isinstance(folded, nn.Conv2d):
        raise Mistake(
            f"{where}: return one nn.Conv2d, not {type(folded).__name__}: the point of folding is "
            "that one kernel does the work of two."
        )
    if tuple(folded.weight.shape) != tuple(conv.weight.shape):
        raise Mistake(
            f"{where}: your convolution's weight has shape {tuple(folded.weight.shape)}, the "
            f"original's {tuple(conv.weight.shape)}: folding changes values, not shapes."
        )
    if folded.bias is None:
        raise Mistake(
            f"{where}: your convolution has no bias. BatchNorm shifts every channel "
            "(β − μ·γ/σ): the folded convolution needs a bias even where the original had none."
        )
    with students_code(), torch.no_grad():
        got = folded.eval()(x.to(folded.weight.dtype)).double()
    if got.shape == expected.shape and _close(got, expected):
        return
    with torch.no_grad():
        for feedback, (w, b) in _fold_variants(conv, bn).items():
            wrong = nn.functional.conv2d(
                x.double(), w, b, conv.stride, conv.padding, conv.dilation, conv.groups
            )
            if got.shape == wrong.shape and _close(got, wrong) and not _close(wrong, expected):
                raise Mistake(f"{where}: {feedback}")
    if got.shape != expected.shape:
        raise Mistake(
            f"{where}: your convolution's output has shape {tuple(got.shape)}, the pair's "
            f"{tuple(expected.shape)}: keep the stride, padding and groups of the original."
        )
    diff = float((got - expected.double()).abs().max())
    raise Mistake(
        f"{where}: your convolution's outputs differ from bn(conv(x)) by up to {diff:.3g} "
        "(and fuse()'s agree with the pair). Per output channel: W' = W·γ/√(σ² + ε), "
        "b' = β + (b − μ)·γ/√(σ² + ε)."
    )


def _close(got: Tensor, expected: Tensor) -> bool:
    return torch.allclose(got.double(), expected.double(), rtol=1e-4, atol=1e-4)


# --- 09.3 · the fusion opportunity in an Inception-v4 block ---------------------------------------

_FUSION_KEYS = ("merged", "apart", "kernels_saved")


def check_fusion_opportunity(answer: object) -> Verdict:
    """Check the fusion plan of ``InceptionV4C``: which convolutions ``fuse`` merges ("merged",
    groups of names), which read the same tensor but stay apart ("apart"), and how many kernels
    merging saves ("kernels_saved").

    ``answer`` (or what it returns, if it is a function) is a mapping with those keys; names are
    the block's attribute paths (``"branch0"``, ``"branch3.1"``; a trailing ``".conv"`` is fine).
    The truth is read from the block's ``torch.fx`` graph and from ``fuse`` itself.
    """

    def check() -> str:
        value = student(answer)() if callable(answer) else answer
        merged, apart, saved = _plan(value)
        truth = _fusion_truth()
        _judge_groups(merged, truth["merged"], truth, "merged")
        _judge_groups(apart, truth["apart"], truth, "apart")
        _judge_saved(saved, truth)
        return (
            f"fuse() stacks the three 1×1 convolutions that read the block's input into one "
            f"({truth['merged_width']} output channels) and one ReLU: "
            f"{truth['kernels_saved']} kernels fewer. The 1×3 and 3×1 pairs read one tensor too, "
            "but their windows differ, so one weight tensor cannot hold both."
        )

    return run_check("09.3", check)


def _plan(value: object) -> tuple[list[frozenset[str]], list[frozenset[str]], Any]:
    if not isinstance(value, Mapping):
        raise Mistake(
            'give a dict with the keys "merged", "apart" and "kernels_saved", not '
            f"{type(value).__name__}."
        )
    keys = {re.sub(r"[\s\-]+", "_", str(k).strip().lower()): v for k, v in value.items()}
    missing = [k for k in _FUSION_KEYS if k not in keys]
    if missing:
        raise Mistake(f'your dict has no key "{missing[0]}" (keys: {", ".join(_FUSION_KEYS)}).')
    return _groups(keys["merged"], "merged"), _groups(keys["apart"], "apart"), keys["kernels_saved"]


def _groups(value: object, key: str) -> list[frozenset[str]]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise Mistake(
            f'"{key}" is a list of groups, each a set of names, e.g. [{{"branch0", "branch1_0"}}].'
        )
    groups = []
    with students_code():
        items = list(value)
    for group in items:
        if isinstance(group, str) or not isinstance(group, Iterable):
            raise Mistake(
                f'"{key}" is a list of groups (sets of names), and {group!r} is not a group: '
                'write [{"a", "b"}], not ["a", "b"].'
            )
        names = frozenset(_conv_name(n) for n in group)
        groups.append(names)
    return groups


def _conv_name(name: object) -> str:
    if not isinstance(name, str):
        raise Mistake(f"name the convolutions by their attribute paths (strings), not {name!r}.")
    known = _fusion_truth()["names"]
    clean = name.strip().removeprefix("self.").removesuffix(".conv")
    if clean not in known:
        raise Mistake(
            f"InceptionV4C has no convolution {name!r}: its convolutions are "
            f"{', '.join(sorted(known))}."
        )
    return clean


_TRUTH: dict[str, Any] = {}


def _fusion_truth() -> dict[str, Any]:
    """Read the block's sibling convolutions off its graph, and what fuse() does with them."""
    if _TRUTH:
        return _TRUTH
    with fixed_seed(0):
        block = InceptionV4C(width=0.25).eval()
    graph_module = fx.symbolic_trace(block)
    conv_of = {
        n: n.target.removesuffix(".conv")
        for n in graph_module.graph.nodes
        if n.op == "call_module" and isinstance(graph_module.get_submodule(n.target), nn.Conv2d)
    }
    siblings = [
        frozenset(conv_of[u] for u in node.users if u in conv_of)
        for node in graph_module.graph.nodes
    ]
    siblings = [group for group in siblings if len(group) > 1]
    fused = fuse(block)
    merged_modules = [
        (name, m) for name, m in fused.graph_module.named_modules()
        if isinstance(m, nn.Conv2d) and "+" in name
    ]  # fmt: skip
    # fuse() names a merged conv after the convs it stacks; map the names back to the block's paths.
    merged = [
        frozenset(_path(n, set(conv_of.values())) for n in name.split("+"))
        for name, _ in merged_modules
    ]
    _TRUTH.update(
        names=set(conv_of.values()),
        siblings=siblings,
        merged=merged,
        apart=[g for g in siblings if g not in merged],
        merged_width=sum(m.out_channels for _, m in merged_modules) * 4,  # width 0.25 → full
        kernels_saved=count_kernels(fuse(block, horizontal=False)) - count_kernels(fused),
        batch_norms_folded=count_kernels(block) - count_kernels(fuse(block, horizontal=False)),
        convs_saved=sum(len(g) - 1 for g in merged),
        pool_conv=next(n for n in conv_of.values() if n.startswith("branch3")),
    )
    return _TRUTH


def _path(name: str, known: set[str]) -> str:
    for candidate in (name, name.replace("_", ".")):
        if candidate in known:
            return candidate
    raise AssertionError(f"fuse() named a merged convolution {name!r}, not a path of the block")


def _judge_groups(
    got: list[frozenset[str]], expected: list[frozenset[str]], truth: dict[str, Any], key: str
) -> None:
    if sorted(map(sorted, got)) == sorted(map(sorted, expected)):
        return
    everything = set().union(*got) if got else set()
    pool = truth["pool_conv"]
    if key == "merged" and pool in everything:
        raise Mistake(
            f"{pool} cannot join the merged convolution: it reads the average-pooled tensor, not "
            "the block's input. Only convolutions that read the very same tensor can be stacked."
        )
    if key == "merged" and any(g in truth["apart"] for g in got):
        pair = next(g for g in got if g in truth["apart"])
        raise Mistake(
            f"{' and '.join(sorted(pair))} read the same tensor, but one slides a 1×3 window "
            "and the other a 3×1: one weight tensor cannot hold both (padding both to 3×3 would "
            "add multiply-adds). fuse() merges only convolutions of the same geometry."
        )
    if key == "apart" and any(g in truth["merged"] for g in got):
        raise Mistake(
            "the 1×1 convolutions that read the block's input have the same geometry: fuse() "
            'merges them, so they belong in "merged", not in "apart".'
        )
    for group in got:
        if not any(group <= s for s in truth["siblings"]):
            raise Mistake(
                f'the group {sorted(group)} in "{key}" does not read one tensor: only '
                "convolutions whose input is the same node of the graph are siblings."
            )
    missing = [g for g in expected if g not in got]
    if missing:
        what = "fuse() merges" if key == "merged" else "read one tensor but stay apart"
        raise Mistake(f'"{key}" misses a group: {sorted(missing[0])} ({what}).')
    raise Mistake(f'"{key}": your groups {[sorted(g) for g in got]} are not the right ones.')


def _judge_saved(value: object, truth: dict[str, Any]) -> None:
    saved = number(value, "the number of kernels saved (an int)").value
    expected = truth["kernels_saved"]
    if saved == expected:
        return
    convs = truth["convs_saved"]
    hints = {
        convs: "the convolutions are not the only kernels that merge: each of the merged convs "
        "was followed by its own ReLU, and one ReLU on the merged output replaces them.",
        expected - 1: "splitting the merged output into the branches' pieces launches no "
        "kernel: torch.split returns views.",
        expected + truth["batch_norms_folded"]: "count only what merging saves: the BatchNorms "
        "disappear with folding (fuse(block, horizontal=False)), before any merging.",
        expected + 2: "the 1×3 and 3×1 pairs are not merged: they save nothing.",
    }
    if saved in hints:
        raise Mistake(f"kernels_saved: {hints[saved]} (you said {saved:g}.)")
    raise Mistake(
        f"kernels_saved: you said {saved:g}. Count the kernels before merging (convolutions, "
        "ReLUs, pooling, concatenations; BatchNorms already folded) and after."
    )
