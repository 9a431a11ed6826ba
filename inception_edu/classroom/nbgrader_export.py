"""Export a course notebook as an nbgrader master notebook.

Each exercise cell gets its reference solution between ``### BEGIN SOLUTION`` and ``### END
SOLUTION`` (only the lines the student must write: signatures and the check call stay visible),
and is followed by a locked, autograded cell that asserts the checker's verdict. ``nbgrader
generate_assignment`` then strips the solutions; ``nbgrader autograde`` scores the asserts.
"""

from __future__ import annotations

import ast
import copy
import difflib
import re

from nbformat import NotebookNode
from nbformat.v4 import new_code_cell

from .catalog import expected_exercises
from .cells import check_calls, exercise_cells
from .solutions import SolutionError

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
# What nbgrader's ClearSolutions puts in place of a solution region (its default python stub).
STUDENT_STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
_POSED_STUB = re.compile(r"^\s*raise NotImplementedError(\(\))?\s*(#.*)?$")
SCHEMA_VERSION = 3


def export_notebook(nb: NotebookNode, solutions: dict[str, str]) -> NotebookNode:
    """Return the nbgrader master of a tagged course notebook (``nb`` itself is not changed)."""
    master = copy.deepcopy(nb)
    found = exercise_cells(master)
    if not found:
        raise SolutionError("no exercise cell is tagged (run scripts/tag_exercises.py)")
    number = found[0][1].partition(".")[0]
    points = {ex.id: ex.points for ex in expected_exercises(number, master)}
    exercise_at = dict(found)
    cells = []
    for index, cell in enumerate(master.cells):
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cells.append(cell)
        if (ex_id := exercise_at.get(index)) is not None:
            cells.append(_export_exercise(cell, ex_id, solutions, points.get(ex_id, 1.0)))
    master.cells = cells
    return master


def mark_solution(posed: str, solution: str) -> str:
    """Return ``solution`` with every line the student must write wrapped in solution markers.

    A solution that keeps every line of the posed cell except ``raise NotImplementedError``
    (signatures, hints, the check call) is marked where it adds lines: the student then starts
    from exactly the cell the course notebook shows, and the master, markers aside, is exactly the
    solution. A solution that rewrites posed lines (a find-the-bug exercise) cannot be marked that
    way, because nbgrader would replace the code to be fixed by its stub. If the posed stub is
    followed by more code of its block (code to be edited), the posed lines stay
    as they are and the solution's own lines follow them, marked, before the check call, so the
    fixed definitions replace the given ones when the cell runs.
    """
    given, solved = posed.splitlines(), solution.splitlines()
    # A stub followed by more code of its block poses code to be edited; a stub that ends its
    # block stands for the body (and there a rewritten signature is a mistake).
    if _poses_code_to_edit(given):
        return _mark_after_posed(given, solved)
    return _mark_additions(given, solved)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _poses_code_to_edit(given: list[str]) -> bool:
    """Whether a ``raise NotImplementedError`` line is followed by code of the same block."""
    for i, line in enumerate(given):
        if _POSED_STUB.match(line):
            rest = [later for later in given[i + 1 :] if later.strip()]
            if rest and _indent(rest[0]) >= _indent(line):
                return True
    return False


def _mark_additions(given: list[str], solved: list[str]) -> str:
    lines: list[str] = []
    matcher = difflib.SequenceMatcher(None, given, solved, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            lines += solved[j1:j2]
            continue
        rewritten = [line for line in given[i1:i2] if line.strip() and not _POSED_STUB.match(line)]
        if rewritten:
            raise SolutionError(
                f"the solution rewrites {rewritten[0].strip()!r}: keep every line of the exercise "
                "cell except `raise NotImplementedError`, and add the answer around them"
            )
        written = solved[j1:j2]
        if any(line.strip() for line in written):
            indent = re.match(r"\s*", next(line for line in written if line.strip())).group(0)
            lines += [indent + BEGIN, *written, indent + END]
        else:
            lines += written
    return "\n".join(lines)


def _mark_after_posed(given: list[str], solved: list[str]) -> str:
    """The posed lines without the stub, then the solution's lines, marked, then the check call."""
    shared = 0  # the unindented lines both end with: the check call
    while (
        shared < min(len(given), len(solved))
        and given[-1 - shared] == solved[-1 - shared]
        and not given[-1 - shared][:1].isspace()
    ):
        shared += 1
    if shared == 0:
        raise SolutionError("the solution must end with the exercise cell's check call")
    posed = [line for line in given[: len(given) - shared] if not _POSED_STUB.match(line)]
    answer = solved[: len(solved) - shared]
    return "\n".join([*posed, BEGIN, *answer, END, *solved[len(solved) - shared :]])


def student_view(master_source: str) -> str:
    """Return what nbgrader's ``generate_assignment`` leaves of a marked cell."""
    lines, inside = [], False
    for line in master_source.splitlines():
        if BEGIN in line:
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            lines += [indent + stub for stub in STUDENT_STUB]
        elif END in line:
            inside = False
        elif not inside:
            lines.append(line)
    return "\n".join(lines)


def _export_exercise(
    cell: NotebookNode, ex_id: str, solutions: dict[str, str], points: float
) -> NotebookNode:
    """Mark the solution in the exercise cell, in place, and return its autograded test cell."""
    if ex_id not in solutions:
        raise SolutionError(f"no solution for exercise {ex_id}")
    calls = check_calls(cell.source)
    if len(calls) != 1:
        raise SolutionError(f"exercise {ex_id}: the cell needs exactly one check call to grade")
    try:
        marked = mark_solution(cell.source, solutions[ex_id])
    except SolutionError as err:
        raise SolutionError(f"exercise {ex_id}: {err}") from None
    _student_cell_parses(ex_id, marked)
    grade_id = "exercise_" + ex_id.replace(".", "_")
    cell.source = marked
    cell.metadata["nbgrader"] = _nbgrader_meta(grade_id, solution=True)
    message = f"exercise {ex_id} does not pass its checker yet: see the checker's message above"
    source = f"# Autograded: exercise {ex_id} must pass its checker.\nassert {calls[0].source}, "
    test = new_code_cell(source + repr(message))
    test.metadata["nbgrader"] = _nbgrader_meta(f"{grade_id}_check", grade=True, points=points)
    return test


def _student_cell_parses(ex_id: str, marked: str) -> None:
    """Raise unless the cell nbgrader leaves the student is valid Python."""
    try:
        ast.parse(student_view(marked))
    except SyntaxError as err:
        raise SolutionError(f"exercise {ex_id}: the student's cell would not parse: {err}") from err


def _nbgrader_meta(
    grade_id: str, *, solution: bool = False, grade: bool = False, points: float = 0.0
) -> dict:
    """nbgrader's cell metadata: answer cells are editable, test cells locked and worth points."""
    meta = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": not solution,
        "schema_version": SCHEMA_VERSION,
        "solution": solution,
        "task": False,
    }
    if grade:
        meta["points"] = points
    return meta
