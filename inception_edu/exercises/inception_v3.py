"""Checkers for the exercises of notebook 04 (Inception-v3)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ..models.inception_v3 import InceptionV3A, InceptionV3Aux, inception_v3
from ._check import Mistake, Verdict, compare_modules, fixed_seed, n_params, run_check

__all__ = [
    "MIXED_BLOCKS",
    "check_aux_head_params",
    "check_inception_v3a",
    "check_paper_learning_rate",
    "check_v3_shapes",
    "mixed_shapes",
]

#: The Inception blocks of Inception-v3, in order (torchvision's names).
MIXED_BLOCKS = (
    "Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b",
    "Mixed_6c", "Mixed_6d", "Mixed_6e", "Mixed_7a", "Mixed_7b", "Mixed_7c",
)  # fmt: skip


def mixed_shapes(size: int = 299) -> dict[str, tuple[int, int, int]]:
    """Return the (C, H, W) output of every Mixed block of ``inception_v3()`` on a size×size image.

    Runs on the meta device: shapes only, no memory and no arithmetic.
    """
    shapes: dict[str, tuple[int, int, int]] = {}

    def recorder(name: str):
        def hook(module, inputs, output):
            shapes[name] = tuple(output.shape[1:])

        return hook

    with torch.device("meta"):
        model = inception_v3(aux_logits=False).eval()
        for name in MIXED_BLOCKS:
            getattr(model, name).register_forward_hook(recorder(name))
        model(torch.zeros(1, 3, size, size))
    return shapes


def check_v3_shapes(
    shapes: dict[str, tuple[int, int, int]] | Callable[[], dict[str, tuple[int, int, int]]],
) -> Verdict:
    """Check the output (C, H, W) of each Mixed block for a 3×299×299 input.

    ``shapes`` is a dict mapping block names to shapes, or a function returning one.
    """

    def check() -> str:
        answer = shapes() if callable(shapes) else shapes
        if not isinstance(answer, dict):
            raise Mistake(f"give a dict of block name → (C, H, W), got {type(answer).__name__}.")
        expected = mixed_shapes(299)
        missing = [name for name in MIXED_BLOCKS if name not in answer]
        if missing:
            raise Mistake(f"give one (C, H, W) entry per block; missing: {', '.join(missing)}.")
        for name in MIXED_BLOCKS:
            got, want = tuple(answer[name]), expected[name]
            if got == want:
                continue
            if len(got) != 3:
                raise Mistake(f"{name}: give (channels, height, width), got {got}.")
            if got[0] == want[0]:
                raise Mistake(
                    f"{name}: the grid is {want[1]}×{want[2]}, not {got[1]}×{got[2]}. The ImageNet "
                    "network's reductions are unpadded: a 3×3 window with stride 2 takes a d×d "
                    "grid to (d − 3) // 2 + 1."
                )
            if name in ("Mixed_6a", "Mixed_7a") and got[0] < want[0]:
                raise Mistake(
                    f"{name}: {got[0]} channels is too few. A grid reduction's max-pool branch "
                    "passes every input channel on, concatenated with the conv branches."
                )
            if name in ("Mixed_7b", "Mixed_7c") and got[0] == want[0] - 768:
                raise Mistake(
                    f"{name}: the 1×3 and 3×1 convolutions of Fig. 7 run side by side and are "
                    "concatenated, 384 channels each, in both of the block's split branches."
                )
            raise Mistake(f"{name}: expected {want}, got {got}.")
        return "35×35 → 17×17 → 8×8 while the channels grow 256 → 768 → 2048."

    return run_check("Inception-v3 shapes", check)


def check_inception_v3a(module_class: type[nn.Module]) -> Verdict:
    """Check a class built as ``module_class(in_channels, pool_features)``: the 35×35 block."""

    def check() -> str:
        with fixed_seed(0):
            mine = module_class(24, 8)
            reference = InceptionV3A(24, pool_features=8)
            x = torch.randn(2, 24, 7, 7)
        if any(isinstance(m, nn.MaxPool2d) for m in mine.modules()):
            raise Mistake(
                "the pool branch of Inception-v3's blocks uses average pooling: "
                "nn.AvgPool2d(3, stride=1, padding=1), then a 1×1 convolution."
            )
        kernels = {m.kernel_size for m in mine.modules() if isinstance(m, nn.Conv2d)}
        if (5, 5) not in kernels:
            raise Mistake(
                "no 5×5 convolution: that is the paper's Fig. 5, but the released network (and "
                "torchvision, and this library) keeps a 1×1 (48) → 5×5 (64) branch beside the "
                "two stacked 3×3s. Build the released block."
            )
        n_mine, n_ref = n_params(mine), n_params(reference)
        if n_mine != n_ref:
            raise Mistake(
                f"your block has {n_mine:,} parameters, the reference {n_ref:,}. Branch widths: "
                "1×1: 64; 1×1 48 → 5×5 64; 1×1 64 → 3×3 96 → 3×3 96; avg-pool → 1×1 "
                "pool_features."
            )
        try:
            return compare_modules(mine, reference, x)
        except Mistake as mistake:
            raise Mistake(
                f"{mistake} The branch order is 1×1, 5×5, double 3×3, pool (create the layers "
                "in that order)."
            ) from None

    return run_check("InceptionV3A", check)


def check_aux_head_params(aux_head_params: Callable[[int, int], int]) -> Verdict:
    """Check ``aux_head_params(in_channels, num_classes)``: parameters of ``InceptionV3Aux``."""

    def check() -> str:
        bn = 2 * (128 + 768)  # scale and shift of the two BatchNorms
        for in_channels, num_classes in ((768, 1000), (96, 10), (768, 10)):
            expected = n_params(InceptionV3Aux(in_channels, num_classes))
            got = aux_head_params(in_channels, num_classes)
            if got == expected:
                continue
            case = f"for in_channels={in_channels}, num_classes={num_classes} you gave {got:,}"
            if got == expected - bn:
                raise Mistake(
                    f"{case}: {bn:,} short. Each BasicConv2d ends in a BatchNorm with a scale and "
                    "a shift per channel (the BN of 'BN-auxiliary')."
                )
            if got == expected + 128 + 768:
                raise Mistake(
                    f"{case}: BasicConv2d's convolutions have no bias (BatchNorm's shift does that "
                    "job), so do not count 128 + 768 biases."
                )
            if got == expected - num_classes:
                raise Mistake(f"{case}: the final linear layer has a bias per class too.")
            if got == expected + bn:
                raise Mistake(
                    f"{case}: count BatchNorm's learned scale and shift only; its running mean "
                    "and variance are buffers, not parameters."
                )
            raise Mistake(f"{case}, expected {expected:,} parameters.")
        return (
            "1×1 conv to 128, 5×5 conv to 768 (the head's 'fully connected' layer), BN after "
            "both, then a linear classifier."
        )

    return run_check("aux head parameters", check)


def check_paper_learning_rate(learning_rate: Callable[[int], float]) -> Verdict:
    """Check ``learning_rate(epoch)``: the paper's 0.045, decayed by 0.94 every two epochs."""

    def check() -> str:
        for epoch in (0, 1, 2, 3, 10, 99):
            expected = 0.045 * 0.94 ** (epoch // 2)
            got = learning_rate(epoch)
            if abs(got - expected) < 1e-12:
                continue
            if abs(got - 0.045 * 0.94**epoch) < 1e-12:
                raise Mistake(
                    f"at epoch {epoch} you gave {got:.6f}: that decays every epoch, the paper "
                    "every two."
                )
            if abs(got - 0.045 * 0.94 ** (epoch / 2)) < 1e-12:
                raise Mistake(
                    f"at epoch {epoch} you gave {got:.6f}: a smooth decay (what train.fit's "
                    "'exponential' schedule does, step by step). The paper's rate drops in "
                    "stairs: 0.94 ** (epoch // 2)."
                )
            raise Mistake(f"at epoch {epoch} expected {expected:.6f}, got {got}.")
        return "0.045 × 0.94^(epoch // 2): by epoch 100 the rate is about 1/20 of where it started."

    return run_check("paper learning rate", check)
