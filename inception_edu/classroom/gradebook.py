"""The gradebook: one CSV row per student, notebook and exercise, and a feedback page per student.

Every expected exercise of a graded notebook gets a row, whatever happened, so that each student's
``max_points`` add up to the same total. Rows with an empty ``exercise`` are notes about the whole
file (it timed out, raised, could not be read, was superseded); they carry no points.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import astuple, dataclass, fields
from pathlib import Path


@dataclass(frozen=True)
class Row:
    """One line of the gradebook."""

    student: str
    notebook: str
    exercise: str
    passed: bool | None  # None on a note about the whole file
    points: float
    max_points: float
    status: str
    message: str
    file: str  # the submitted file, relative to the submissions folder


COLUMNS = [f.name for f in fields(Row)]


def write_csv(rows: list[Row], path: Path) -> None:
    """Write the gradebook, with a header line of ``COLUMNS``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow(["" if value is None else _number(value) for value in astuple(row)])


def read_csv(path: Path) -> list[dict[str, str]]:
    """Read a gradebook back as one dict per row (values as the CSV holds them)."""
    with path.open(newline="", encoding="utf-8") as source:
        return list(csv.DictReader(source))


def write_feedback(rows: list[Row], folder: Path) -> list[Path]:
    """Write ``<student>.md`` for every student in ``rows``; return the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    by_student: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        by_student[row.student or "(no student folder)"].append(row)
    written = []
    for student, own in sorted(by_student.items()):
        path = folder / f"{student}.md"
        path.write_text(feedback_page(student, own), encoding="utf-8")
        written.append(path)
    return written


def feedback_page(student: str, rows: list[Row]) -> str:
    """Return one student's feedback as Markdown: per notebook, notes, then a table of exercises."""
    lines = [f"# Feedback for {student}", ""]
    by_notebook: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        by_notebook[row.notebook].append(row)
    for notebook, own in by_notebook.items():
        graded = [r for r in own if r.exercise]
        got, total = sum(r.points for r in graded), sum(r.max_points for r in graded)
        lines += [f"## {notebook}: {_number(got)} / {_number(total)} points", ""]
        lines += [f"- **{r.status}** ({r.file}): {r.message}" for r in own if not r.exercise]
        if graded:
            lines += ["", "| exercise | status | points | feedback |", "| --- | --- | --- | --- |"]
            lines += [
                f"| {r.exercise} | {r.status} | {_number(r.points)} / {_number(r.max_points)} "
                f"| {_cell(r.message)} |"
                for r in graded
            ]
        lines.append("")
    return "\n".join(lines)


def _number(value: object) -> object:
    """Show 3.0 as 3 (points are whole numbers far more often than not)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _cell(text: str) -> str:
    """Make text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")
