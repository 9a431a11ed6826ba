"""The reference solutions in solutions/, loaded for the checkers' tests (one copy of each answer).

``load("06")`` runs solutions/06_*.py without its check calls (the top-level ``check_…(…)`` lines
that the notebook cells end with) and returns its names as a namespace.
"""

from __future__ import annotations

import ast
from pathlib import Path
from types import SimpleNamespace

SOLUTIONS = Path(__file__).resolve().parent.parent / "solutions"


def load(notebook: str) -> SimpleNamespace:
    """Return the names defined by the reference solutions of notebook ``notebook`` ("06")."""
    (path,) = SOLUTIONS.glob(f"{notebook}_*.py")
    tree = ast.parse(path.read_text(), filename=str(path))
    tree.body = [node for node in tree.body if not _is_check_call(node)]
    namespace: dict = {"__name__": f"solutions_{notebook}"}
    exec(compile(tree, str(path), "exec"), namespace)  # noqa: S102 - the course's own files
    return SimpleNamespace(**namespace)


def _is_check_call(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Name)
        and node.value.func.id.startswith("check_")
    )
