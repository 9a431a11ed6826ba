"""The checkers' verdicts, read from a notebook's outputs as the MIME payloads the checkers display.

A checker shows the student a ``text/plain`` line and, beside it, a machine-readable payload under
``VERDICT_MIME``. Grading reads only the payload: the ✓ text is for people.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from nbformat import NotebookNode

from ..exercises.verdict import STATUSES, VERDICT_MIME

_OUTPUT_TYPES = ("display_data", "execute_result", "update_display_data")


@dataclass(frozen=True)
class Verdict:
    """One checker's verdict on one exercise."""

    exercise: str
    passed: bool
    points: float
    max_points: float
    status: str
    message: str

    @classmethod
    def from_payload(cls, payload: Any) -> Verdict | None:
        """Return the verdict in a MIME payload, or None if the payload is not a well-formed one."""
        if isinstance(payload, str):  # JSON kept as text by some front ends
            try:
                payload = json.loads(payload)
            except json.JSONDecodeError:
                return None
        if not isinstance(payload, dict):
            return None
        try:
            verdict = cls(
                exercise=payload["exercise"],
                passed=payload["passed"],
                points=float(payload["points"]),
                max_points=float(payload["max_points"]),
                status=payload["status"],
                message=payload["message"],
            )
        except (KeyError, TypeError, ValueError):
            return None
        well_typed = isinstance(verdict.exercise, str) and isinstance(verdict.passed, bool)
        return verdict if well_typed and verdict.status in STATUSES else None


def verdicts_in(cell: NotebookNode) -> list[Verdict]:
    """Return the well-formed verdicts among a cell's outputs, in the order they were shown."""
    found = []
    for output in cell.get("outputs", []):
        if output.get("output_type") in _OUTPUT_TYPES and VERDICT_MIME in output.get("data", {}):
            verdict = Verdict.from_payload(output["data"][VERDICT_MIME])
            if verdict is not None:
                found.append(verdict)
    return found
