"""Which exercises a notebook has, with their checkers and points.

The checkers' registry ``inception_edu.exercises.EXERCISES`` (id → checker name, points, title)
is the source; for a notebook it does not know (a teacher's own notebook, a test's), the exercise
cells of a tagged master notebook stand in, worth the points in their metadata (1 by default).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from nbformat import NotebookNode

from .cells import META_KEY, check_calls, exercise_cells, exercise_number

_NUMBERED = re.compile(r"(\d{2})(?!\d)")


@dataclass(frozen=True)
class Exercise:
    """One exercise: its id ("01.3"), the checker that grades it, its points and title."""

    id: str
    checker: str
    points: float = 1.0
    title: str = ""


def registry() -> dict[str, Exercise]:
    """Return the checkers' registry as ``{id: Exercise}``."""
    # Imported when needed: the checkers import torch, which takes seconds.
    from inception_edu.exercises import EXERCISES

    return {
        ex_id: Exercise(ex_id, entry.checker, float(entry.points), entry.title)
        for ex_id, entry in EXERCISES.items()
    }


def notebook_number(name: str) -> str | None:
    """Return the two-digit course number a file name starts with ("01_naive…" → "01"), or None."""
    match = _NUMBERED.match(Path(name).name)
    return match.group(1) if match else None


def expected_exercises(number: str, master: NotebookNode | None = None) -> list[Exercise]:
    """Return the exercises of notebook ``number``, from the registry or else ``master``'s tags.

    An empty list means neither knows the notebook.
    """
    known = [ex for ex_id, ex in registry().items() if ex_id.startswith(f"{number}.")]
    if not known and master is not None:
        known = [_from_cell(master.cells[index], ex_id) for index, ex_id in exercise_cells(master)]
    return sorted(known, key=lambda ex: exercise_number(ex.id))


def _from_cell(cell: NotebookNode, ex_id: str) -> Exercise:
    calls = check_calls(cell.source)
    points = cell.metadata[META_KEY].get("points", 1.0)
    return Exercise(ex_id, calls[0].checker if calls else "", float(points))
