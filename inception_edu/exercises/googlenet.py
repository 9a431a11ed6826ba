"""Checkers for the exercises of notebook 02 (bottlenecks and GoogLeNet)."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..cost import count
from ..inference import split_output
from ..models.googlenet import TABLE_1, Inception, googlenet_small
from ._check import Mistake, StudentError, Verdict, fixed_seed, run_check, student, students_code
from ._module_variants import (
    branch_order,
    four_branches,
    no_relu_after_bn,
    relu_before_bn,
    with_pool_branch,
    wrong_module,
)
from ._modules import compare_modules
from ._values import agree, close, diagnose, fmt, number

__all__ = [
    "check_inception_macs",
    "check_inception_module",
    "check_max_reduction",
    "check_train_step",
]

# The reference module's branches, in concatenation order, with their names in the feedback.
_BRANCHES = four_branches("pool")

# Inception modules of Table 1 with their input (channels, size): (in_channels, size, name)
_MODULES = ((192, 28, "inception3a"), (480, 14, "inception4a"), (832, 7, "inception5b"))


def check_inception_macs(inception_macs: Callable[..., int]) -> Verdict:
    """Check ``inception_macs(in_channels, size, *six_widths)``: MACs of an Inception module.

    The six widths are Table 1's: ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj.
    """

    def check() -> str:
        answer = student(inception_macs)
        got = [
            number(answer(c, size, *TABLE_1[name]), "a number of multiply-adds")
            for c, size, name in _MODULES
        ]
        expected = [_macs(c, size, TABLE_1[name]) for c, size, name in _MODULES]
        if agree(got, expected):
            return "the sum of the six convolutions' costs (with the paper's 5×5 branch)."
        per_pixel = [(c * s * s, TABLE_1[name]) for c, s, name in _MODULES]
        variants = {
            "you left out the cost of the 1×1 reductions themselves: they run on the full input "
            "width.": [
                e - (w[1] + w[3]) * n for e, (n, w) in zip(expected, per_pixel, strict=True)
            ],
            "you left out the pool branch's 1×1 projection ('pool proj').": [
                e - w[5] * n for e, (n, w) in zip(expected, per_pixel, strict=True)
            ],
            "that is the cost with a 3×3 third branch (torchvision's); the paper's has a 5×5.": [
                _macs(c, s, TABLE_1[name], branch3_kernel=3) for c, s, name in _MODULES
            ],
            "that is FLOPs (2 per multiply-add): count multiply-adds.": [2 * e for e in expected],
        }
        labels = [f"{name} on a {c}×{s}×{s} input" for c, s, name in _MODULES]
        raise diagnose(got, expected, labels, variants)

    return run_check("02.1", check)


def check_inception_module(module_class: type[nn.Module]) -> Verdict:
    """Check an Inception module class built as ``module_class(in_channels, *six_widths)``.

    The six widths are Table 1's: ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj.
    """

    def check() -> str:
        widths = (8, 4, 6, 2, 4, 4)
        with fixed_seed(0):
            mine = student(module_class)(12, *widths)
            reference = Inception(12, *widths)
            x = torch.randn(2, 12, 9, 9)
        if not any(isinstance(m, nn.Conv2d) and m.kernel_size == (5, 5) for m in mine.modules()):
            raise Mistake(
                "your module has no 5×5 convolution: the paper's module (Fig. 2b, Table 1's "
                "'#5×5') has a 1×1 → 5×5 branch; torchvision's GoogLeNet uses a 3×3 there instead."
            )
        variants = [
            relu_before_bn(),
            no_relu_after_bn(),
            branch_order(_BRANCHES),
            wrong_module(
                "your pool branch projects before it pools: Fig. 2b max-pools the input first, "
                "then the 1×1 'pool proj' convolution.",
                lambda ref, t: with_pool_branch(ref, t, ref.branch4[0](ref.branch4[1](t))),
            ),
            wrong_module(
                "your pool branch pools relu(x): the max-pool works on the module's input as it "
                "is, negative values included.",
                lambda ref, t: with_pool_branch(ref, t, ref.branch4(F.relu(t))),
            ),
            wrong_module(
                "your pool branch averages: Fig. 2b's pool branch is a 3×3 max-pool (stride 1), "
                "then the 1×1 'pool proj' convolution.",
                lambda ref, t: with_pool_branch(
                    ref, t, ref.branch4[1](F.avg_pool2d(t, 3, stride=1, padding=1))
                ),
            ),
        ]
        widths_hint = (
            "Branch widths: 1×1 → ch1x1; 1×1 → ch3x3red → 3×3 → ch3x3; 1×1 → ch5x5red → 5×5 → "
            "ch5x5; max-pool → 1×1 → pool_proj."
        )
        return compare_modules(
            mine, reference, x, variants=variants, branches=_BRANCHES, widths_hint=widths_hint
        )

    return run_check("02.2", check)


def check_train_step(train_step: Callable[..., object]) -> Verdict:
    """Check ``train_step(model, images, targets, optimizer)``: one training step of GoogLeNet.

    The step must train all three heads as the paper does (main loss + 0.3 × each auxiliary
    loss), in train mode whatever mode the model arrives in, on this batch's gradients only, and
    return the loss. The check runs two steps on a small GoogLeNet (dropout off, so that the
    steps are deterministic) that arrives in eval mode, and compares the weights afterwards with
    those of two reference steps.
    """

    def check() -> str:
        original, batches = _step_case()
        model = copy.deepcopy(original).eval()  # as after an evaluation
        optimizer = torch.optim.SGD(model.parameters(), lr=_STEP_LR)
        losses = []
        for images, targets in batches:
            try:
                with students_code():
                    losses.append(train_step(model, images.clone(), targets.clone(), optimizer))
            except StudentError as err:
                if not model.training:  # a crash in eval mode: say why the output is no tuple
                    err.hint = _EVAL_HINT
                raise
        expected_weights, expected_losses = _steps(original, batches)
        got = _update(original, model)
        if _same_update(got, _update(original, expected_weights)):
            _check_returned_loss(losses[-1], expected_losses[-1])
            return (
                "main loss + 0.3 × each auxiliary loss, in train mode, on each batch's own "
                "gradients: all three heads learn."
            )
        for feedback, options in _STEP_VARIANTS.items():
            wrong, _ = _steps(original, batches, **options)
            if _same_update(got, _update(original, wrong)):
                raise Mistake(feedback)
        if _same_update(got, torch.zeros_like(got)):
            raise Mistake(
                "your step leaves the weights as they were: call loss.backward(), then "
                "optimizer.step()."
            )
        raise Mistake(
            "after two steps your weights differ from the reference's, and not in a way we "
            "recognise. The reference: model.train(); outputs = model(images); loss = the main "
            "loss + 0.3 × each auxiliary loss (cross-entropy); zero the gradients; backward; step."
        )

    return run_check("02.3", check)


def check_max_reduction(max_reduction: Callable[[int, int, int], int]) -> Verdict:
    """Check ``max_reduction(in_channels, out_channels, kernel_size)``: the widest paying 1×1.

    A 1×1 reduction to r channels before a k×k convolution from ``in_channels`` to
    ``out_channels`` pays off when it needs fewer multiply-adds than the k×k convolution on the
    full input: C·r + k²·r·C_out < k²·C·C_out. The answer is the largest such r.
    """
    cases = ((192, 32, 5), (480, 48, 5), (192, 128, 3), (10, 10, 3), (832, 128, 5), (64, 64, 3))

    def check() -> str:
        answer = student(max_reduction)
        got = [number(answer(*case), "a number of channels") for case in cases]
        expected = [float(_break_even(*case)) for case in cases]
        if agree(got, expected):
            r = _break_even(192, 32, 5)
            return (
                f"C·r + k²·r·C_out < k²·C·C_out, i.e. r < k²·C·C_out / (C + k²·C_out). For "
                f"inception (3a)'s 5×5 branch (192 → 32) a reduction pays off up to r = {r}; the "
                "paper's 16 is far below: the reductions were chosen for the budget, not to break "
                "even."
            )
        bound = [k * k * c * o / (c + k * k * o) for c, o, k in cases]
        variants = {
            "at r = k²·C·C_out / (C + k²·C_out) both cost the same, so nothing is saved: the "
            "reduction must be strictly narrower.": [float(math.floor(b)) for b in bound],
            "you left out what the 1×1 reduction costs itself (C·r multiply-adds per position): "
            "it is not free.": [float(c - 1) for c, _, _ in cases],
            "a k×k kernel has k² weights per input channel, not k.": [
                float(math.ceil(k * c * o / (c + k * o)) - 1) for c, o, k in cases
            ],
            "that is the break-even width itself, not the largest whole number of channels "
            "below it.": bound,
            "you rounded the break-even width: the answer is the largest whole number strictly "
            "below it.": [float(round(b)) for b in bound],
            "that is one channel too many: at the break-even width rounded up, the reduction "
            "costs more than it saves.": [float(math.ceil(b)) for b in bound],
        }
        labels = [f"for in, out, k = {case}" for case in cases]
        raise diagnose(got, expected, labels, variants)

    return run_check("02.4", check)


# --- helpers -------------------------------------------------------------------------------------


def _macs(in_channels: int, size: int, widths: tuple[int, ...], branch3_kernel: int = 5) -> int:
    module = Inception(in_channels, *widths, branch3_kernel=branch3_kernel)
    return count(module, (in_channels, size, size)).macs


_EVAL_HINT = (
    "(The model arrives in eval mode, as after an evaluation; in eval mode GoogLeNet returns one "
    "tensor of logits, not the (logits, aux2, aux1) tuple. Call model.train().)"
)
# The learning rate of the checked steps: large, so that every gradient leaves a clear trace.
_STEP_LR = 0.5

# Wrong steps, as options of ``_steps``: (aux weight, train mode, zero the gradients).
_STEP_VARIANTS: dict[str, dict[str, object]] = {
    "you train the main classifier only (and keep the gradients of the step before). Add "
    "0.3 × each auxiliary loss, and zero the gradients before backward: two bugs.": {
        "aux_weight": 0.0,
        "zero": False,
    },
    "you train the main classifier only: the auxiliary heads' weights never change, and the "
    "lower layers get no gradient from them. Add 0.3 × the cross-entropy of each auxiliary "
    "output.": {"aux_weight": 0.0},
    "the gradients of the step before are added to this step's: zero them before backward "
    "(optimizer.zero_grad()), or the first step is counted twice.": {"zero": False},
    "the auxiliary losses count fully: the paper weighs each by 0.3 (§5).": {"aux_weight": 1.0},
    "your step runs the model in eval mode (it arrives so, after an evaluation): BatchNorm "
    "normalizes with its running statistics and the auxiliary heads do not run. Call "
    "model.train() first.": {"train": False},
    "you average the three losses: the main loss counts fully, each auxiliary loss 0.3.": {
        "aux_weight": 1.0,
        "scale": 1 / 3,
    },
    "you weigh the whole sum by 0.3: only the auxiliary losses are discounted.": {
        "aux_weight": 1.0,
        "scale": 0.3,
    },
}


def _step_case() -> tuple[nn.Module, list[tuple[Tensor, Tensor]]]:
    """A small GoogLeNet with aux heads and no dropout, and two batches of 6 images."""
    with fixed_seed(2):
        model = googlenet_small(aux_logits=True, dropout=0.0, dropout_aux=0.0)
        batches = [(torch.randn(6, 1, 28, 28), torch.randint(0, 10, (6,))) for _ in range(2)]
    return model, batches


def _steps(
    original: nn.Module,
    batches: list[tuple[Tensor, Tensor]],
    aux_weight: float = 0.3,
    train: bool = True,
    zero: bool = True,
    scale: float = 1.0,
) -> tuple[nn.Module, list[float]]:
    """A copy of ``original`` after one SGD step per batch, right or with one typical mistake."""
    model = copy.deepcopy(original)
    optimizer = torch.optim.SGD(model.parameters(), lr=_STEP_LR)
    losses = []
    for images, targets in batches:
        model.train(train)
        logits, aux = split_output(model(images))
        loss = F.cross_entropy(logits, targets)
        for output in aux:
            loss = loss + aux_weight * F.cross_entropy(output, targets)
        loss = scale * loss
        if zero:
            optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    return model, losses


def _update(before: nn.Module, after: nn.Module) -> Tensor:
    """Every parameter's change, as one flat vector (float64)."""
    return torch.cat(
        [
            (a.detach().double() - b.detach().double()).flatten()
            for a, b in zip(after.parameters(), before.parameters(), strict=True)
        ]
    )


def _same_update(got: Tensor, expected: Tensor) -> bool:
    # Relative to the size of the update: float32 sums in another order differ by ~1e-6.
    scale = max(float(expected.norm()), 1e-12)
    return float((got - expected).norm()) <= 1e-3 * scale


def _check_returned_loss(value: object, expected: float) -> None:
    if value is None:
        raise Mistake("your weights are right; now return the loss, for the training log.")
    got = number(value, "the loss (a tensor or a number)")
    if not close(got, expected, rel=1e-4):
        raise Mistake(
            f"your weights are right, but the step returns {fmt(got.value)}; the loss it "
            f"trained on is {fmt(expected)}: return that."
        )


def _break_even(in_channels: int, out_channels: int, kernel_size: int) -> int:
    """The largest r with C·r + k²·r·C_out < k²·C·C_out (multiply-adds per output position)."""
    k2 = kernel_size * kernel_size
    direct = in_channels * k2 * out_channels
    r = 0
    while in_channels * (r + 1) + (r + 1) * k2 * out_channels < direct:
        r += 1
    return r


