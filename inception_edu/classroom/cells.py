"""How an exercise cell is marked in a notebook, and how to find it again.

An exercise cell carries its id in ``metadata["inception_edu"]["exercise"]`` (e.g. ``"01.3"``)
and the tag ``"exercise"``; the cells a notebook needs before its exercises can run (the Colab
install and the imports) carry the tag ``"setup"``. Grading goes by these ids, never by position.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from IPython.core.inputtransformer2 import TransformerManager
from nbformat import NotebookNode

META_KEY = "inception_edu"
EXERCISE_TAG = "exercise"
SETUP_TAG = "setup"


@dataclass(frozen=True)
class CheckCall:
    """A top-level ``check_*(...)`` call in a cell: the checker's name and the call as written."""

    checker: str
    source: str


def exercise_id(cell: NotebookNode) -> str | None:
    """Return the exercise id stored in ``cell``'s metadata, or None if it is not an exercise."""
    meta = cell.get("metadata", {}).get(META_KEY)
    value = meta.get("exercise") if isinstance(meta, dict) else None
    return value if isinstance(value, str) else None


def exercise_cells(nb: NotebookNode) -> list[tuple[int, str]]:
    """Return ``(index, exercise id)`` of every code cell marked as an exercise, in order."""
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and (ex_id := exercise_id(cell)) is not None:
            found.append((index, ex_id))
    return found


def setup_indices(nb: NotebookNode) -> list[int]:
    """Return the indices of the code cells tagged as setup."""
    cells = enumerate(nb.cells)
    return [i for i, cell in cells if cell.cell_type == "code" and has_tag(cell, SETUP_TAG)]


def has_tag(cell: NotebookNode, tag: str) -> bool:
    """Return whether ``cell`` carries ``tag``."""
    return tag in cell.get("metadata", {}).get("tags", [])


def parse_cell(source: str) -> tuple[ast.Module, str] | None:
    """Return a code cell's syntax tree and its Python text, or None if it is not valid Python.

    IPython syntax (``!cmd``, ``%magic``) is translated first, so any runnable cell can be read.
    """
    python = TransformerManager().transform_cell(source)
    try:
        return ast.parse(python), python
    except SyntaxError:
        return None


def check_calls(source: str) -> list[CheckCall]:
    """Return every top-level ``check_*(...)`` statement in a code cell's source, in order."""
    parsed = parse_cell(source)
    if parsed is None:
        return []
    tree, python = parsed
    calls = []
    for node in tree.body:
        call = node.value if isinstance(node, ast.Expr) else None
        if (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Name)
            and call.func.id.startswith("check_")
        ):
            calls.append(CheckCall(call.func.id, ast.get_source_segment(python, call) or ""))
    return calls


def exercise_number(ex_id: str) -> tuple[int, int]:
    """Sort key of an exercise id: ``"01.10"`` comes after ``"01.9"``."""
    notebook, _, k = ex_id.partition(".")
    return int(notebook), int(k)
