"""Checkers for the notebooks' exercises.

Each ``check_*`` publishes a verdict (a line for the student and, in a notebook, the same as JSON
under ``VERDICT_MIME``) and returns it as a ``Verdict``, true or false like a bool. ``EXERCISES``
lists every checked exercise by its course-wide id ("01.2": notebook 01, exercise 2).

The checkers are imported on first use, so that a grading tool can read ``EXERCISES`` and
``VERDICT_MIME`` without importing torch.
"""

from __future__ import annotations

import importlib
from typing import Any

from .registry import EXERCISES, Exercise
from .verdict import VERDICT_MIME, Verdict

# The module holding each notebook's checkers.
_MODULES = {
    1: "naive",
    2: "googlenet",
    3: "factorization",
    4: "inception_v3",
    5: "label_smoothing",
    6: "residual",
    7: "looking_inside",
    8: "family",
    9: "efficiency",
}
_CHECKERS = {exercise.checker: _MODULES[exercise.notebook] for exercise in EXERCISES.values()}

__all__ = ["EXERCISES", "VERDICT_MIME", "Exercise", "Verdict", *sorted(_CHECKERS)]


def __getattr__(name: str) -> Any:
    """Import a checker's module when the checker is first asked for (PEP 562)."""
    if name not in _CHECKERS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    checker = getattr(importlib.import_module(f".{_CHECKERS[name]}", __name__), name)
    globals()[name] = checker
    return checker


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
