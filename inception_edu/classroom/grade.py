"""Grade submitted notebooks: run each one headless and turn the checkers' verdicts into rows.

Layout: ``SUBMISSIONS/<student>/<notebook>.ipynb`` (deeper folders are searched too, so
nbgrader's ``submitted/<student>/<assignment>/<notebook>.ipynb`` works as it is). The folder name
is the student. A file belongs to the notebook whose exercise ids its cells carry, else to the
number its name starts with (``01_…``). If a student handed in several files for one notebook,
the newest readable one counts (by modification time, then name); the others get a "superseded"
note.

Nothing a submission does stops the grading: every problem becomes a row. ``jobs`` notebooks run
side by side, each kernel with its share of the cores; the gradebook's rows come out in the same
order whatever ``jobs`` is.
"""

from __future__ import annotations

import os
import sys
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from .catalog import Exercise, expected_exercises, notebook_number
from .cells import exercise_cells, exercise_id
from .execute import Run, run_notebook
from .gradebook import Row
from .verdicts import Verdict, verdicts_in


@dataclass(frozen=True)
class Submission:
    """One submitted file, read (or not) and assigned to a course notebook (or not)."""

    student: str
    path: Path
    relative: str
    nb: NotebookNode | None
    problem: str  # why the file could not be read; empty if it was
    number: str | None
    mtime: float


@dataclass(frozen=True)
class Options:
    """How to grade: the notebook to grade (all if None), masters, time limit, kernel, and how
    many notebooks run at once."""

    notebook: str | None = None
    masters: Path | None = None
    timeout: float = 600.0
    kernel_name: str = "python3"
    jobs: int = 1

    def __post_init__(self) -> None:
        if self.jobs < 1:
            raise ValueError(f"jobs must be at least 1 (notebooks run at once), got {self.jobs}")

    def kernel_threads(self) -> int | None:
        """Return the compute threads each kernel gets: None (all cores) when one runs at a time."""
        return None if self.jobs == 1 else max(1, (os.cpu_count() or 1) // self.jobs)


def grade_folder(
    root: Path, options: Options, progress: Callable[[str], None] = lambda line: None
) -> list[Row]:
    """Grade every submission under ``root`` and return the gradebook rows."""
    masters = load_masters(options.masters)
    subs = [read_submission(path, root) for path in _notebook_files(root)]
    students = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    rows = [_note(s, "", "misplaced", _MISPLACED) for s in subs if not s.student]
    groups: dict[tuple[str, str], list[Submission]] = defaultdict(list)
    for sub in subs:
        if sub.student and (options.notebook is None or sub.number == options.notebook):
            # Files of unknown notebooks are not versions of one another: each stands alone.
            groups[sub.student, sub.number or f"?{sub.relative}"].append(sub)
    # One task per student and notebook, in gradebook order; the kernels do the work, so threads
    # are enough to run several at once.
    tasks: list[Callable[[], list[Row]]] = []
    for student in students:
        keys = sorted(key for key in groups if key[0] == student)
        if options.notebook is not None and not keys:
            tasks.append(lambda student=student: _not_submitted(student, options.notebook, masters))
        for key in keys:
            tasks.append(lambda group=groups[key]: _grade_group(group, masters, options, progress))
    with ThreadPoolExecutor(max_workers=options.jobs) as pool:
        for task_rows in pool.map(lambda task: task(), tasks):
            rows += task_rows
    return rows


def read_submission(path: Path, root: Path) -> Submission:
    """Read one submitted file; a file that is not a notebook is kept, with the reason."""
    relative = path.relative_to(root)
    student = relative.parts[0] if len(relative.parts) > 1 else ""
    nb, problem, number = None, "", notebook_number(path.name)
    try:
        # Not validated: a notebook with a stray key or a missing field still runs, and is graded.
        nb = nbformat.read(path, as_version=4)
        number = _number_of(nb) or number
    except Exception as err:  # noqa: BLE001 - any unreadable file is a row, never a crash
        nb, problem = None, f"not a readable notebook ({type(err).__name__}: {_first_line(err)})"
    return Submission(student, path, str(relative), nb, problem, number, _mtime(path))


def load_masters(folder: Path | None) -> dict[str, tuple[str, NotebookNode]]:
    """Return ``{number: (name, notebook)}`` for the course notebooks in ``folder``."""
    if folder is None or not folder.is_dir():
        return {}
    masters = {}
    for path in sorted(folder.glob("*.ipynb")):
        if (number := notebook_number(path.name)) is not None:
            masters[number] = (path.stem, nbformat.read(path, as_version=4))
    return masters


def grade_submission(
    sub: Submission, expected: list[Exercise], name: str, options: Options
) -> list[Row]:
    """Run one readable submission and return its notes and one row per expected exercise."""
    assert sub.nb is not None
    run = run_notebook(
        sub.nb,
        sub.path.parent,
        timeout=options.timeout,
        kernel_name=options.kernel_name,
        threads=options.kernel_threads(),
    )
    rows = [_note(sub, name, run.stop_reason, run.error)] if run.stop_reason else []
    verdicts = _verdicts_by_exercise(sub.nb, run)
    cells: dict[str, list[int]] = defaultdict(list)
    for index, ex_id in exercise_cells(sub.nb):
        cells[ex_id].append(index)
    for ex in expected:
        rows.append(_exercise_row(sub, name, ex, verdicts.get(ex.id, []), cells[ex.id], run))
    return rows


def _grade_group(
    group: list[Submission],
    masters: dict[str, tuple[str, NotebookNode]],
    options: Options,
    progress: Callable[[str], None],
) -> list[Row]:
    """Grade the one file of ``group`` that counts; note the others."""
    counted = max(group, key=lambda s: (s.nb is not None, s.mtime, s.relative))
    number = counted.number
    name, master = masters.get(number, (number, None)) if number else (counted.path.stem, None)
    rows = [
        _note(s, name, "superseded", f"not graded: {counted.relative} counts ({_WHY_NEWER})")
        for s in sorted(group, key=lambda s: s.relative)
        if s is not counted
    ]
    expected = expected_exercises(number, master) if number else []
    if not expected:
        why = f"no exercises are known for notebook {number!r}" if number else _UNKNOWN
        progress(f"{counted.relative}: unknown notebook")
        return rows + [_note(counted, name, "unknown notebook", why)]
    if counted.nb is None:
        return rows + _ungraded(counted, name, expected, "unreadable", counted.problem, progress)
    try:
        graded = grade_submission(counted, expected, name, options)
    except Exception as err:  # noqa: BLE001 - whatever a file does, the grading goes on
        why = f"the file could not be run ({type(err).__name__}: {_first_line(err)})"
        return rows + _ungraded(counted, name, expected, "unrunnable", why, progress)
    got, total = sum(r.points for r in graded if r.exercise), sum(e.points for e in expected)
    progress(f"{counted.relative}: {_number(got)} / {_number(total)} points")
    return rows + graded


def _ungraded(
    sub: Submission,
    name: str,
    expected: list[Exercise],
    status: str,
    why: str,
    progress: Callable[[str], None],
) -> list[Row]:
    """A note saying why ``sub`` could not be graded, and a row of no points per exercise."""
    progress(f"{sub.relative}: {status}")
    rows = [_row(sub, name, ex, None, status, why) for ex in expected]
    return [_note(sub, name, status, why), *rows]


def _verdicts_by_exercise(nb: NotebookNode, run: Run) -> dict[str, list[Verdict]]:
    """Every verdict shown during the run in the cell of the exercise it names, by exercise, in
    execution order. A verdict shown anywhere else (e.g. a payload displayed by hand in a cell
    of its own) does not count."""
    found: dict[str, list[Verdict]] = defaultdict(list)
    for index in run.executed + ([run.stopped_at] if run.stopped_at is not None else []):
        own = exercise_id(nb.cells[index])
        for verdict in verdicts_in(nb.cells[index]):
            if verdict.exercise == own:
                found[verdict.exercise].append(verdict)
    return found


def _exercise_row(
    sub: Submission, name: str, ex: Exercise, verdicts: list[Verdict], cells: list[int], run: Run
) -> Row:
    """The row of one exercise: its best verdict, or why there is none."""
    if verdicts:
        # max() keeps the first of equals; reversed, so that among equal verdicts the last counts.
        best = max(reversed(verdicts), key=lambda v: (v.points, v.passed))
        message = best.message
        if len(verdicts) > 1:
            message += f" (checked {len(verdicts)} times; the best result counts)"
        return _row(sub, name, ex, best, best.status, message)
    why = run.error
    stopped = f" (the run also stopped: {why})" if run.stop_reason else ""
    if not cells:
        return _row(sub, name, ex, None, "missing", _MISSING.format(id=ex.id) + stopped)
    if run.stopped_at in cells:
        return _row(sub, name, ex, None, "error", f"this exercise's cell stopped the run: {why}")
    if any(index in run.executed for index in cells):
        return _row(sub, name, ex, None, "no verdict", _NO_VERDICT.format(checker=ex.checker))
    return _row(sub, name, ex, None, "not reached", f"the run stopped before this exercise: {why}")


def _row(
    sub: Submission, name: str, ex: Exercise, verdict: Verdict | None, status: str, message: str
) -> Row:
    passed = verdict.passed if verdict else False
    # Never more than the master gives the exercise, whatever a payload claims.
    points = min(max(verdict.points, 0.0), ex.points) if verdict else 0.0
    return Row(sub.student, name, ex.id, passed, points, ex.points, status, message, sub.relative)


def _note(sub: Submission, name: str, status: str, message: str) -> Row:
    return Row(sub.student, name, "", None, 0.0, 0.0, status, message, sub.relative)


def _not_submitted(
    student: str, number: str, masters: dict[str, tuple[str, NotebookNode]]
) -> list[Row]:
    """Rows for a student who handed in nothing for the notebook being graded."""
    name, master = masters.get(number, (number, None))
    nobody = Submission(student, Path(), "", None, "", number, 0.0)
    return [
        _row(nobody, name, ex, None, "not submitted", "no file for this notebook")
        for ex in expected_exercises(number, master)
    ] or [_note(nobody, name, "not submitted", "no file for this notebook")]


def _notebook_files(root: Path) -> list[Path]:
    """Every ``*.ipynb`` under ``root``, skipping Jupyter's checkpoints and hidden folders."""
    if not root.is_dir():
        raise FileNotFoundError(f"no submissions folder at {root}")
    return sorted(
        p for p in root.rglob("*.ipynb")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )  # fmt: skip


def _number_of(nb: NotebookNode) -> str | None:
    """The course number that a notebook's exercise ids agree on, if they do."""
    numbers = {ex_id.partition(".")[0] for _, ex_id in exercise_cells(nb)}
    return numbers.pop() if len(numbers) == 1 else None


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _first_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return lines[0][:200] if lines else ""


def _number(value: float) -> str:
    return f"{value:g}"


def progress_to_stderr(line: str) -> None:
    """Print one progress line where it does not mix with the gradebook."""
    print(line, file=sys.stderr, flush=True)


_MISPLACED = "not in a student folder: expected SUBMISSIONS/<student>/<notebook>.ipynb"
_UNKNOWN = "neither its exercise cells nor its name (NN_….ipynb) say which notebook it is"
_WHY_NEWER = "a student's newest readable file for a notebook is the one graded"
_MISSING = (
    "no cell is marked as exercise {id}: it was deleted, or pasted without its metadata, "
    "and no check for it ran"
)
_NO_VERDICT = "the cell ran but showed no verdict: keep the {checker}(...) line at the cell's end"
