"""A checker's verdict: one line for the student, and the same facts as data for programs.

In a notebook, ``publish`` shows the line as ``text/plain`` and attaches the verdict as JSON under
``VERDICT_MIME`` in the same output, so that a grading tool can read the executed notebook without
parsing the human text. Outside IPython it prints the line only.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["STATUSES", "VERDICT_MIME", "Status", "Verdict", "publish"]

#: The MIME type of the machine-readable verdict in a cell's output.
VERDICT_MIME = "application/vnd.inception-edu.verdict+json"

Status = Literal["passed", "failed", "not attempted", "checker error"]
STATUSES: tuple[Status, ...] = ("passed", "failed", "not attempted", "checker error")

# The first character of the human line, per status.
_MARKS = {"passed": "✓", "failed": "✗", "not attempted": "…", "checker error": "⚠"}


@dataclass(frozen=True)
class Verdict:
    """The outcome of one ``check_*`` call; true or false like a bool, silent in a notebook."""

    exercise: str  # the course-wide id, "NN.k"
    title: str  # the short name shown in the line
    status: Status
    message: str  # the feedback, without the mark and the title
    max_points: float

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")

    @property
    def passed(self) -> bool:
        """Whether the answer was accepted."""
        return self.status == "passed"

    @property
    def points(self) -> float:
        """All the points for an accepted answer, none otherwise."""
        return self.max_points if self.passed else 0.0

    @property
    def line(self) -> str:
        """The line the student reads, e.g. "✓ conv_macs: one multiply-add per weight…"."""
        return f"{_MARKS[self.status]} {self.title}: {self.message}"

    def payload(self) -> dict[str, Any]:
        """Return the JSON object published under ``VERDICT_MIME``."""
        return {
            "exercise": self.exercise,
            "passed": self.passed,
            "points": float(self.points),
            "max_points": float(self.max_points),
            "status": self.status,
            "message": self.message,
        }

    def __bool__(self) -> bool:
        return self.passed

    def _ipython_display_(self) -> None:
        # The verdict was already published when the check ran; showing it again as the cell's
        # result would print it twice.
        pass


def publish(verdict: Verdict) -> None:
    """Show the verdict: a rich output with both MIME types in IPython, a printed line elsewhere."""
    shell = _ipython_shell()
    if shell is None:
        print(verdict.line)
        return
    from IPython.display import display

    display({"text/plain": verdict.line, VERDICT_MIME: verdict.payload()}, raw=True)


def _ipython_shell() -> Any:
    # A program that never imported IPython cannot be running inside it: do not import it for them.
    ipython = sys.modules.get("IPython")
    return None if ipython is None else ipython.get_ipython()
