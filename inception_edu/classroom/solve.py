"""Solve a notebook: put the reference solutions into its exercise cells, run it, read verdicts.

A solved run proves that each exercise can be solved as posed. With ``exercises_only`` only the
cells tagged ``setup`` and the exercise cells run: an exercise whose solution needs anything else
from the notebook then fails, as it should, rather than passing on state it was not given.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from .cells import exercise_cells, setup_indices
from .execute import Run, run_notebook
from .solutions import insert_solutions
from .verdicts import verdicts_in


class SolveError(Exception):
    """A notebook that cannot be solved at all (untagged, no setup cells)."""


@dataclass
class Solved:
    """The outcome for one notebook: where the solved copy is, and what went wrong (if anything)."""

    notebook: str
    output: Path
    exercises: list[str]
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0


def solve_notebook(
    path: Path,
    out_dir: Path,
    solutions: dict[str, str],
    *,
    execute: bool = True,
    exercises_only: bool = False,
    timeout: float = 1800.0,
    kernel_name: str = "python3",
) -> Solved:
    """Write the solved copy of ``path`` into ``out_dir``, run it unless ``execute`` is false."""
    start = time.monotonic()
    nb = nbformat.read(path, as_version=4)
    ids = insert_solutions(nb, solutions)
    if not ids:
        raise SolveError(f"{path.name}: no exercise cell is tagged (run scripts/tag_exercises.py)")
    solved = Solved(path.stem, out_dir / path.name, ids)
    if execute:
        cells = _cells_to_run(nb, path.name) if exercises_only else None
        run = run_notebook(nb, path.parent, cells, timeout=timeout, kernel_name=kernel_name)
        solved.problems = _problems(nb, run)
    out_dir.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, solved.output)
    solved.seconds = time.monotonic() - start
    return solved


def _cells_to_run(nb: NotebookNode, name: str) -> list[int]:
    """The setup cells, then the exercise cells, in notebook order."""
    setup = setup_indices(nb)
    if not setup:
        raise SolveError(f"{name}: no cell is tagged setup: the exercises cannot run on their own")
    return sorted(set(setup) | {index for index, _ in exercise_cells(nb)})


def _problems(nb: NotebookNode, run: Run) -> list[str]:
    """Every reason the solved run is not a clean pass, one line each."""
    problems = [run.error] if run.stop_reason else []
    for index, ex_id in exercise_cells(nb):
        if not run.reached(index):
            problems.append(f"{ex_id}: not reached")
            continue
        verdicts = verdicts_in(nb.cells[index])
        own = [v for v in verdicts if v.exercise == ex_id]
        if own and not own[-1].passed:
            problems.append(f"{ex_id}: {own[-1].status}: {own[-1].message}")
        elif not own and verdicts:
            others = ", ".join(v.exercise for v in verdicts)
            problems.append(f"{ex_id}: the cell's checker reports exercise {others} instead")
        elif not own and index in run.executed:
            problems.append(f"{ex_id}: the cell ran but displayed no verdict")
        elif not own:
            problems.append(f"{ex_id}: its cell stopped the run")
    return problems
