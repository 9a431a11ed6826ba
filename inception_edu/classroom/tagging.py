"""Mark a course notebook's exercise and setup cells, recognising each exercise by its check call.

Two sources name an exercise cell, and they must agree where both speak: the registry (which id
has this checker) and the notebook's own text (the ``**k.**`` that precedes the cell, with the
notebook's number from its file name). Anything ambiguous is an error: grading must never guess.
"""

from __future__ import annotations

import ast
import re

from nbformat import NotebookNode

from .catalog import Exercise, notebook_number, registry
from .cells import EXERCISE_TAG, META_KEY, SETUP_TAG, check_calls, exercise_number, parse_cell

_EXERCISE_HEADING = re.compile(r"^\*\*(\d+)\.", re.MULTILINE)


class TaggingError(Exception):
    """A notebook whose exercises cannot all be identified."""


def tag_notebook(nb: NotebookNode, filename: str) -> list[str]:
    """Mark ``nb``'s exercise and setup cells in place (metadata only) and return the exercise ids.

    Marks found on other cells are removed, so tagging again after an edit gives the same result as
    tagging a fresh copy.
    """
    number = notebook_number(filename)
    if number is None:
        raise TaggingError(f"{filename}: the name must start with the notebook's number, e.g. 01_")
    ids = identify_exercises(nb, number, filename)
    setup = set(setup_cells(nb, min(ids), filename)) if ids else set()
    for index, cell in enumerate(nb.cells):
        _mark(cell, ids.get(index), index in setup)
    return [ids[i] for i in sorted(ids)]


def identify_exercises(nb: NotebookNode, number: str, filename: str) -> dict[int, str]:
    """Return ``{cell index: exercise id}`` for every code cell with a check call."""
    known = {ex.checker: ex for ex in registry().values() if ex.id.startswith(f"{number}.")}
    ids: dict[int, str] = {}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        calls = check_calls(cell.source)
        if len(calls) > 1:
            names = ", ".join(call.checker for call in calls)
            raise TaggingError(f"{filename}, cell {index}: one check call per cell, found {names}")
        if calls:
            where, heading = f"{filename}, cell {index}", _heading_number(nb, index)
            ids[index] = _reconcile(calls[0].checker, known, number, heading, where)
    _check_complete(ids, known, filename)
    return ids


def setup_cells(nb: NotebookNode, first_exercise: int, filename: str) -> list[int]:
    """Return the code cells from the top down to the one that provides the first checker.

    That cell imports the checker (``from inception_edu.exercises import check_…``) or defines it.
    """
    checker = check_calls(nb.cells[first_exercise].source)[0].checker
    code = [i for i, cell in enumerate(nb.cells[:first_exercise]) if cell.cell_type == "code"]
    for position, index in enumerate(code):
        if checker in _top_level_names(nb.cells[index].source):
            return code[: position + 1]
    raise TaggingError(f"{filename}: no cell before the first exercise imports {checker}")


def _top_level_names(source: str) -> set[str]:
    """The names a cell imports or defines at its top level."""
    parsed = parse_cell(source)
    names: set[str] = set()
    for node in parsed[0].body if parsed else []:
        if isinstance(node, ast.Import | ast.ImportFrom):
            names |= {alias.asname or alias.name for alias in node.names}
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
    return names


def _heading_number(nb: NotebookNode, index: int) -> int | None:
    """Return k of the last ``**k.**`` in the markdown since the code cell before ``index``."""
    text = []
    for cell in reversed(nb.cells[:index]):
        if cell.cell_type == "code":
            break
        text.insert(0, cell.source)
    numbers = _EXERCISE_HEADING.findall("\n".join(text))
    return int(numbers[-1]) if numbers else None


def _reconcile(
    checker: str, known: dict[str, Exercise], number: str, heading: int | None, where: str
) -> str:
    """Return the id both sources agree on, or raise if they disagree or neither knows."""
    from_text = f"{number}.{heading}" if heading is not None else None
    from_registry = known[checker].id if checker in known else None
    if from_registry and from_text and from_registry != from_text:
        raise TaggingError(
            f"{where}: the registry says {checker} is exercise {from_registry}, "
            f"the notebook numbers it {from_text}"
        )
    if known and not from_registry:
        raise TaggingError(f"{where}: {checker} is not registered for notebook {number}")
    ex_id = from_registry or from_text
    if ex_id is None:
        raise TaggingError(f"{where}: no **k.** heading before the {checker} call numbers it")
    return ex_id


def _check_complete(ids: dict[int, str], known: dict[str, Exercise], filename: str) -> None:
    """Raise if two cells got one id, or a registered exercise has no cell."""
    seen: dict[str, int] = {}
    for index, ex_id in ids.items():
        if ex_id in seen:
            raise TaggingError(f"{filename}: cells {seen[ex_id]} and {index} are both {ex_id}")
        seen[ex_id] = index
    missing = sorted({ex.id for ex in known.values()} - set(seen), key=exercise_number)
    if missing:
        raise TaggingError(f"{filename}: no cell calls the checker of {', '.join(missing)}")


def _mark(cell: NotebookNode, ex_id: str | None, setup: bool) -> None:
    """Set or clear the exercise id, the exercise tag and the setup tag of one cell."""
    meta = cell.setdefault("metadata", {})
    ours = dict(meta.get(META_KEY, {}))
    if ex_id is None:
        ours.pop("exercise", None)
    else:
        ours["exercise"] = ex_id
    if ours:
        meta[META_KEY] = ours
    else:
        meta.pop(META_KEY, None)
    tags = [t for t in meta.get("tags", []) if t not in (EXERCISE_TAG, SETUP_TAG)]
    tags += [EXERCISE_TAG] * (ex_id is not None) + [SETUP_TAG] * setup
    if tags:
        meta["tags"] = tags
    else:
        meta.pop("tags", None)
