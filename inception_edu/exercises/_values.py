"""Reading the student's values fairly, and naming the wrong formula a table of answers follows.

Any numeric form of a correct answer is accepted: a Python int or float, a NumPy scalar, a
one-element tensor of any dtype. A value is compared within what its dtype can represent, so a
float16 answer is not failed for rounding that float16 cannot avoid.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from ._check import Mistake, students_code

__all__ = [
    "Number",
    "agree",
    "attached_loss",
    "close",
    "diagnose",
    "fmt",
    "number",
    "statement_letters",
    "tensor",
    "tensors_close",
]


@dataclass(frozen=True)
class Number:
    """A student's number as a float, with the relative precision of the type it came in."""

    value: float
    precision: float = 0.0  # machine epsilon of a floating dtype, 0 for exact types


def number(value: object, what: str = "a number") -> Number:
    """Return ``value`` as a ``Number``, or raise a Mistake saying what to return instead."""
    if isinstance(value, bool):  # a bool is an int to Python, never a count or a rate
        raise Mistake(f"return {what}, not a bool ({value}).")
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise Mistake(f"return {what}, not a tensor of shape {tuple(value.shape)}.")
        value = value.detach()
        eps = torch.finfo(value.dtype).eps if value.is_floating_point() else 0.0
        return Number(float(value.reshape(())), eps)
    if isinstance(value, numbers.Integral):
        return Number(float(value))
    if isinstance(value, numbers.Real):
        return Number(float(value), _float_eps(value))
    raise Mistake(f"return {what}, got {type(value).__name__}.")


def close(got: Number, expected: float, rel: float = 0.0, abs_tol: float = 0.0) -> bool:
    """Whether ``got`` equals ``expected`` within the tolerance or the precision of its type."""
    # Four ulps cover one rounding per operation of a short formula in the student's dtype.
    tol = max(abs_tol, rel * abs(expected), 4 * got.precision * abs(expected))
    return abs(got.value - expected) <= tol


def agree(
    got: Sequence[Number], expected: Sequence[float], same: Callable[[Number, float], bool] = close
) -> bool:
    """Whether every answer of a table is the expected one."""
    return all(same(g, e) for g, e in zip(got, expected, strict=True))


def tensor(value: object, what: str = "a tensor") -> Tensor:
    """Return the student's tensor detached, or raise a Mistake if it is not one."""
    if not isinstance(value, Tensor):
        raise Mistake(f"return {what}, not a {type(value).__name__}.")
    return value.detach()


def tensors_close(got: Tensor, expected: Tensor, rtol: float = 1e-5, atol: float = 1e-6) -> bool:
    """Compare in float64 within ``rtol``/``atol`` or the precision of ``got``'s dtype."""
    if got.shape != expected.shape:
        return False
    if got.is_floating_point():
        rtol = max(rtol, 4 * torch.finfo(got.dtype).eps)
        scale = float(expected.abs().max()) if expected.numel() else 0.0
        atol = max(atol, 4 * torch.finfo(got.dtype).eps * scale)
    return torch.allclose(got.double(), expected.double(), rtol=rtol, atol=atol)


def attached_loss(value: object) -> Tensor:
    """The student's loss as a 0-dim tensor still attached to the logits, or a Mistake."""
    if not isinstance(value, Tensor):
        raise Mistake(
            f"return the loss as a tensor, not a {type(value).__name__}: training calls "
            ".backward() on it."
        )
    if value.dim() != 0:
        raise Mistake(
            "return the loss as a 0-dimensional tensor (one number for the batch), not a tensor "
            f"of shape {tuple(value.shape)}."
        )
    if not value.requires_grad:
        raise Mistake(
            f"your loss ({fmt(float(value))}) is cut off from the logits: no gradient would flow "
            "back. Compute it with torch operations, without .item(), float() or torch.tensor(...)."
        )
    return value


def fmt(value: float) -> str:
    """Format a number for feedback: integers with thousands separators, others with 6 digits."""
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:.6g}"


def diagnose(
    got: Sequence[Number],
    expected: Sequence[float],
    cases: Sequence[str],
    variants: dict[str, Sequence[float]],
    same: Callable[[Number, float], bool] = close,
    hint: str = "",
) -> Mistake:
    """Return the Mistake for a table of answers that is not the expected one.

    ``variants`` maps feedback to the values a known wrong formula gives on every case; the first
    formula that the student's answers follow on *every* case is named (one case can agree with
    several formulas by accident). Otherwise the first differing case is shown, then ``hint``.
    """
    first = next(i for i, (g, e) in enumerate(zip(got, expected, strict=True)) if not same(g, e))
    example = (
        f"({cases[first]}: expected {fmt(expected[first])}, you gave {fmt(got[first].value)}.)"
    )
    for feedback, values in variants.items():
        if agree(got, values, same):
            return Mistake(f"{feedback} {example}")
    shown = f"{cases[first]}: expected {fmt(expected[first])}, you gave {fmt(got[first].value)}."
    return Mistake(f"{shown} {hint}".strip())


def _float_eps(value: numbers.Real) -> float:
    # NumPy floats carry their dtype (np.float16 is coarse); other reals are at least float64.
    dtype = getattr(value, "dtype", None)
    if getattr(dtype, "kind", "") == "f":
        import numpy as np

        return float(np.finfo(dtype).eps)
    return float(torch.finfo(torch.float64).eps)


def statement_letters(value: object, statements: Iterable[str]) -> set[str]:
    """The student's chosen statements ("ab", "a, b" or {"a", "b"}) as lowercase letters.

    Raises a Mistake for anything else, or for a letter that names none of ``statements``.
    """
    if isinstance(value, str):
        items = [c for c in value if not (c.isspace() or c in ",;")]
    elif isinstance(value, Iterable):
        with students_code():
            items = list(value)
        if not all(isinstance(item, str) for item in items):
            raise Mistake('give the letters of the statements, e.g. "ab" or {"a", "b"}.')
    else:
        raise Mistake(f"give the letters of the statements as a string or a set, got {value!r}.")
    letters = {item.strip().lower() for item in items}
    known = list(statements)
    unknown = sorted(letters - set(known))
    if unknown:
        raise Mistake(f"there is no statement {unknown[0]!r}: choose among {', '.join(known)}.")
    return letters
