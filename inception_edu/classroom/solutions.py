"""The reference solutions, kept in ``solutions/`` so that they never ship inside a notebook.

One Python file per notebook; each ``# %% exercise NN.k`` line opens a section that is the exact
source of exercise NN.k's solved cell (the answer, then the cell's check call). A section ends at
the next ``# %%`` line. Anything before the first section (docstring, imports) is there for readers
and linters only.
"""

from __future__ import annotations

import re
from pathlib import Path

from nbformat import NotebookNode

from .cells import check_calls, exercise_cells

_SECTION = re.compile(r"^# %% exercise (\d{2}\.\d+)\s*$")
_ANY_MARKER = "# %%"


class SolutionError(Exception):
    """A missing, duplicated or mismatched reference solution."""


def read_solutions(folder: Path) -> dict[str, str]:
    """Return ``{exercise id: solved cell source}`` from every ``*.py`` file in ``folder``."""
    if not folder.is_dir():
        raise SolutionError(f"no solutions folder at {folder}")
    found: dict[str, str] = {}
    for path in sorted(folder.glob("*.py")):
        for ex_id, source in parse_solutions(path.read_text(encoding="utf-8")).items():
            if ex_id in found:
                raise SolutionError(f"exercise {ex_id} has two solutions (the second in {path})")
            found[ex_id] = source
    return found


def parse_solutions(text: str) -> dict[str, str]:
    """Return the sections of one solutions file as ``{exercise id: source}``."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if match := _SECTION.match(line):
            if match.group(1) in sections:
                raise SolutionError(f"exercise {match.group(1)} has two sections")
            current = sections[match.group(1)] = []
        elif line.startswith(_ANY_MARKER):
            current = None
        elif current is not None:
            current.append(line)
    return {ex_id: "\n".join(lines).strip("\n") for ex_id, lines in sections.items()}


def insert_solutions(nb: NotebookNode, solutions: dict[str, str]) -> list[str]:
    """Replace every exercise cell's source by its solution, in place; return the exercise ids.

    The replaced cells lose their outputs, which belonged to the unsolved cell.

    A solution must call the same checker as the cell it replaces: a solution filed under the wrong
    id would otherwise pass its own checker and prove nothing about the exercise.
    """
    ids = []
    for index, ex_id in exercise_cells(nb):
        cell = nb.cells[index]
        if ex_id not in solutions:
            raise SolutionError(f"no solution for exercise {ex_id} (cell {index})")
        posed = [call.checker for call in check_calls(cell.source)]
        solved = [call.checker for call in check_calls(solutions[ex_id])]
        if posed != solved:
            raise SolutionError(
                f"exercise {ex_id}: the cell calls {posed or 'no checker'}, "
                f"its solution calls {solved or 'no checker'}"
            )
        cell.source = solutions[ex_id]
        cell.outputs, cell.execution_count = [], None  # they showed the unsolved cell's verdict
        ids.append(ex_id)
    return ids
