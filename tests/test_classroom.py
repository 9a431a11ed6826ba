"""The teacher's tools: tagging, solving, grading and nbgrader export (inception_edu.classroom).

Most tests use a toy course notebook, "91_toy", whose setup cell defines two checkers that publish
verdicts exactly as the library's do; its kernels start in about a second. The course notebooks are
tagged and exported for real, and solved with only their setup and exercise cells executed
(``--exercises-only``): proof that every exercise is solvable as posed, without the minutes of
training that the full notebooks take.
"""

from __future__ import annotations

import ast
import copy
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from inception_edu.classroom import catalog
from inception_edu.classroom.__main__ import main
from inception_edu.classroom.cells import (
    EXERCISE_TAG,
    META_KEY,
    SETUP_TAG,
    exercise_cells,
    setup_indices,
)
from inception_edu.classroom.execute import run_notebook
from inception_edu.classroom.gradebook import COLUMNS, read_csv
from inception_edu.classroom.nbgrader_export import (
    BEGIN,
    END,
    export_notebook,
    mark_solution,
    student_view,
)
from inception_edu.classroom.solutions import SolutionError, insert_solutions, read_solutions
from inception_edu.classroom.tagging import TaggingError, tag_notebook
from inception_edu.classroom.verdicts import VERDICT_MIME, verdicts_in

REPO = Path(__file__).resolve().parents[1]


def _course() -> list[Path]:
    """The committed notebooks that have registered exercises (what lands, not what is on disk)."""
    tracked = subprocess.run(
        ["git", "ls-files", "notebooks/*.ipynb"], cwd=REPO, capture_output=True, text=True
    ).stdout.split()
    numbers = {exercise_id[:2] for exercise_id in catalog.registry()}
    return sorted(REPO / name for name in tracked if Path(name).name[:2] in numbers)


COURSE = _course()

# The toy course notebook: its setup defines checkers that publish verdicts as the library's do.
TOY_SETUP = '''from IPython.display import display


def _check(exercise, answer, args, expected):
    try:
        ok = answer(*args) == expected
        status, message = ("passed", "right") if ok else ("failed", f"got {answer(*args)!r}")
    except NotImplementedError:
        ok, status, message = False, "not attempted", "not attempted yet"
    except Exception as err:
        ok, status, message = False, "failed", f"your code raised {type(err).__name__}: {err}"
    payload = {"exercise": exercise, "passed": ok, "points": float(ok), "max_points": 1.0,
               "status": status, "message": message}
    mime = "application/vnd.inception-edu.verdict+json"
    display({"text/plain": ("✓ " if ok else "✗ ") + message, mime: payload}, raw=True)
    return ok


def check_double(answer):
    return _check("91.1", answer, (3,), 6)


def check_square(answer):
    return _check("91.2", answer, (4,), 16)'''
DOUBLE_POSED = "def double(x):\n    raise NotImplementedError\n\n\ncheck_double(double)"
SQUARE_POSED = "def square(x):\n    raise NotImplementedError\n\n\ncheck_square(square)"
DOUBLE = "def double(x):\n    return 2 * x\n\n\ncheck_double(double)"
SQUARE = "def square(x):\n    return x * x\n\n\ncheck_square(square)"
SQUARE_WRONG = "def square(x):\n    return 2 * x\n\n\ncheck_square(square)"
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}
TOY_SOLUTIONS = f"# %% exercise 91.1\n{DOUBLE}\n\n# %% exercise 91.2\n{SQUARE}\n"


def toy_notebook(double: str = DOUBLE_POSED, square: str = SQUARE_POSED) -> nbformat.NotebookNode:
    """The toy course notebook, tagged, with the given exercise cells."""
    nb = new_notebook(
        cells=[
            new_markdown_cell("# 91 · Toy"),
            new_code_cell(TOY_SETUP),
            new_code_cell("FACTOR = 2  # defined outside the setup"),
            new_markdown_cell("## Exercises\n\n**1.** Double a number."),
            new_code_cell(double),
            new_markdown_cell("**2.** Square a number."),
            new_code_cell(square),
            new_markdown_cell("**3. (open)** Think."),
        ]
    )
    nb.metadata["kernelspec"] = KERNELSPEC
    assert tag_notebook(nb, "91_toy.ipynb") == ["91.1", "91.2"]
    return nb


def write(nb: nbformat.NotebookNode, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def toy_solutions(folder: Path, text: str = TOY_SOLUTIONS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "91_toy.py").write_text(text)
    return folder


def stored_verdict(exercise: str, status: str = "passed") -> dict:
    """An output showing a verdict, as a notebook saved after a run holds it."""
    passed = status == "passed"
    payload = {"exercise": exercise, "passed": passed, "points": float(passed), "max_points": 1.0,
               "status": status, "message": "right" if passed else "no"}  # fmt: skip
    return nbformat.v4.new_output("display_data", data={"text/plain": "✓", VERDICT_MIME: payload})


@pytest.fixture(scope="module")
def tagged_course(tmp_path_factory) -> list[Path]:
    """Copies of the course notebooks 01-07, tagged by the script."""
    # Loud rather than vacuous: with no notebooks, every loop over them would pass.
    assert COURSE, "no committed notebook with exercises"
    folder = tmp_path_factory.mktemp("course")
    copies = []
    for path in COURSE:
        copies.append(folder / path.name)
        copies[-1].write_bytes(path.read_bytes())
    assert run_tag_script([str(p) for p in copies]) == 0
    return copies


def run_tag_script(argv: list[str]) -> int:
    script = REPO / "scripts" / "tag_exercises.py"
    spec = importlib.util.spec_from_file_location("tag_exercises", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main(argv)


# Tagging ------------------------------------------------------------------------------------------


def test_tagging_marks_every_registered_exercise_and_the_setup(tagged_course):
    registered = catalog.registry()
    assert len(registered) >= 25, "the checkers' registry should list the course's exercises"
    for path in tagged_course:
        nb = nbformat.read(path, as_version=4)
        number = path.name[:2]
        ids = [ex_id for _, ex_id in exercise_cells(nb)]
        assert ids == sorted(i for i in registered if i.startswith(number + ".")), path.name
        for index, ex_id in exercise_cells(nb):
            cell = nb.cells[index]
            assert EXERCISE_TAG in cell.metadata["tags"]
            assert f"{registered[ex_id].checker}(" in cell.source  # the registry's checker
        setup = setup_indices(nb)
        assert "from inception_edu.exercises import" in nb.cells[setup[-1]].source
        assert setup == [i for i in range(setup[-1] + 1) if nb.cells[i].cell_type == "code"]


def test_tagging_changes_only_metadata_and_is_idempotent(tagged_course):
    for path in tagged_course:
        original = json.loads((REPO / "notebooks" / path.name).read_text())
        tagged = json.loads(path.read_text())
        assert tagged["metadata"] == original["metadata"]
        for before, after in zip(original["cells"], tagged["cells"], strict=True):
            assert {k: v for k, v in before.items() if k != "metadata"} == {
                k: v for k, v in after.items() if k != "metadata"
            }
            # The committed notebooks may be tagged already; any other metadata is left alone.
            assert {k: v for k, v in before["metadata"].items() if k not in (META_KEY, "tags")} == {
                k: v for k, v in after["metadata"].items() if k not in (META_KEY, "tags")
            }
    before = [p.read_bytes() for p in tagged_course]
    assert run_tag_script([str(p) for p in tagged_course]) == 0
    assert [p.read_bytes() for p in tagged_course] == before


def test_tagging_fails_loudly_and_writes_nothing(tagged_course, tmp_path, capsys):
    nb = nbformat.read(tagged_course[0], as_version=4)  # notebook 01
    [(third, _)] = [(i, ex) for i, ex in exercise_cells(nb) if ex == "01.3"]

    deleted = copy.deepcopy(nb)
    del deleted.cells[third]
    with pytest.raises(TaggingError, match="no cell calls the checker of 01.3"):
        tag_notebook(deleted, "01_naive_inception.ipynb")

    renumbered = copy.deepcopy(nb)  # the heading before the conv_macs exercise now says 3
    heading = renumbered.cells[third - 3]
    heading.source = heading.source.replace("**2.**", "**3.**")
    with pytest.raises(TaggingError, match="check_conv_macs is exercise 01.2, the notebook num"):
        tag_notebook(renumbered, "01_naive_inception.ipynb")

    doubled = copy.deepcopy(nb)
    doubled.cells[third].source += "\ncheck_conv_macs(conv_macs)"
    with pytest.raises(TaggingError, match="one check call per cell"):
        tag_notebook(doubled, "01_naive_inception.ipynb")

    unnumbered = toy_notebook()
    unnumbered.cells[5].source = "Square a number."
    with pytest.raises(TaggingError, match="no \\*\\*k.\\*\\* heading before the check_square"):
        tag_notebook(unnumbered, "91_toy.ipynb")

    good, bad = write(toy_notebook(), tmp_path / "91_toy.ipynb"), tmp_path / "01_broken.ipynb"
    write(deleted, bad)
    untouched = [good.read_bytes(), bad.read_bytes()]
    assert run_tag_script([str(good), str(bad)]) == 1
    assert "01_broken.ipynb: no cell calls the checker of 01.3" in capsys.readouterr().err
    assert [good.read_bytes(), bad.read_bytes()] == untouched


# Solutions ----------------------------------------------------------------------------------------


def test_every_course_exercise_has_one_solution_calling_its_checker(tagged_course):
    solutions = read_solutions(REPO / "solutions")
    assert sorted(solutions) == sorted(catalog.registry())
    for path in tagged_course:
        nb = nbformat.read(path, as_version=4)
        ids = insert_solutions(nb, solutions)  # raises if a solution calls another checker
        assert all("NotImplementedError" not in nb.cells[i].source for i, _ in exercise_cells(nb))
        assert ids == [ex_id for _, ex_id in exercise_cells(nb)]


def bound_names(source: str) -> set[str]:
    """The names that a cell's top-level imports bind."""
    from IPython.core.inputtransformer2 import TransformerManager

    names = set()
    for node in ast.parse(TransformerManager().transform_cell(source)).body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    return names


def test_each_solutions_file_imports_no_more_than_its_notebook_setup(tagged_course):
    # The preamble lets ruff resolve names; a name the setup lacks would hide a solution that
    # raises NameError in the notebook.
    for path in tagged_course:
        text = (REPO / "solutions" / f"{path.stem}.py").read_text()
        preamble = text[: re.search("^# %% exercise", text, re.MULTILINE).start()]
        nb = nbformat.read(path, as_version=4)
        setup = set().union(*(bound_names(nb.cells[i].source) for i in setup_indices(nb)))
        assert bound_names(preamble) <= setup, path.name


def test_a_solution_filed_under_the_wrong_id_is_refused():
    nb = toy_notebook()
    with pytest.raises(SolutionError, match="91.1: the cell calls \\['check_double'\\], its sol"):
        insert_solutions(nb, {"91.1": SQUARE, "91.2": DOUBLE})
    with pytest.raises(SolutionError, match="no solution for exercise 91.2"):
        insert_solutions(nb, {"91.1": DOUBLE})


# Solve --------------------------------------------------------------------------------------------


def test_solve_runs_the_solved_notebook_and_reports_each_failure(tmp_path, capsys):
    notebook = write(toy_notebook(), tmp_path / "course" / "91_toy.ipynb")
    good = toy_solutions(tmp_path / "good")
    solve = ["solve", str(notebook), "--solutions"]
    assert main([*solve, str(good), "--out", str(tmp_path / "out")]) == 0
    solved = nbformat.read(tmp_path / "out" / "91_toy.ipynb", as_version=4)
    verdicts = [v for cell in solved.cells for v in verdicts_in(cell)]
    assert [(v.exercise, v.status) for v in verdicts] == [("91.1", "passed"), ("91.2", "passed")]
    assert nbformat.read(notebook, as_version=4).cells[4].source == DOUBLE_POSED  # left as it was

    wrong = toy_solutions(tmp_path / "wrong", TOY_SOLUTIONS.replace(SQUARE, SQUARE_WRONG))
    capsys.readouterr()
    assert main([*solve, str(wrong), "--out", str(tmp_path / "o2")]) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and "✗ 91.2: failed: got 8" in out
    assert "91.1" not in out.split("FAILED")[1]  # only the failing exercise is listed

    raising = SQUARE.replace("\ncheck_square", "\nundefined_name\ncheck_square")
    crash = toy_solutions(tmp_path / "crash", TOY_SOLUTIONS.replace(SQUARE, raising))
    assert main([*solve, str(crash), "--out", str(tmp_path / "o3")]) == 1
    out = capsys.readouterr().out
    assert "✗ cell 7 (`def square(x):`) raised NameError: name 'undefined_name'" in out
    assert "✗ 91.2: its cell stopped the run" in out


def test_solve_exercises_only_fails_a_solution_that_needs_a_skipped_cell(tmp_path, capsys):
    notebook = write(toy_notebook(), tmp_path / "course" / "91_toy.ipynb")
    needs_factor = toy_solutions(
        tmp_path / "sol", TOY_SOLUTIONS.replace("return 2 * x", "return FACTOR * x")
    )
    args = ["solve", str(notebook), "--out", str(tmp_path), "--solutions", str(needs_factor)]
    assert main(args) == 0  # the whole notebook defines FACTOR before the exercise
    capsys.readouterr()
    assert main([*args, "--exercises-only"]) == 1  # the setup alone does not
    assert "✗ 91.1: failed: your code raised NameError: name 'FACTOR' is not defined" in (
        capsys.readouterr().out
    )


def test_solve_without_execution_and_its_errors(tmp_path, capsys):
    posed = toy_notebook()
    for index, ex_id in exercise_cells(posed):  # as saved after running the unsolved cells
        posed.cells[index].outputs = [stored_verdict(ex_id, "not attempted")]
    posed.cells[2].outputs = [nbformat.v4.new_output("stream", text="kept")]
    notebook = write(posed, tmp_path / "course" / "91_toy.ipynb")
    sol = str(toy_solutions(tmp_path / "sol"))
    out = tmp_path / "out"
    solve = ["solve", str(notebook), "--out", str(out), "--solutions"]
    assert main([*solve, sol, "--no-execute"]) == 0
    solved = nbformat.read(out / "91_toy.ipynb", as_version=4)
    assert [solved.cells[i].source for i, _ in exercise_cells(solved)] == [DOUBLE, SQUARE]
    assert [cell.get("outputs") for cell in solved.cells if cell.cell_type == "code"] == [
        [], posed.cells[2].outputs, [], []
    ]  # the solved cells lost their stale verdicts; the others keep their outputs

    missing = str(toy_solutions(tmp_path / "half", f"# %% exercise 91.1\n{DOUBLE}\n"))
    assert main([*solve, missing]) == 2
    assert "no solution for exercise 91.2" in capsys.readouterr().err

    untagged = toy_notebook()
    for cell in untagged.cells:
        cell.metadata = {}
    write(untagged, notebook)
    assert main([*solve, sol]) == 2
    assert "no exercise cell is tagged" in capsys.readouterr().err


def test_every_course_exercise_is_solvable_from_the_setup_cells_alone(tagged_course, tmp_path):
    # Each notebook runs its setup cells and its exercise cells only, one kernel at a time.
    args = ["solve", *map(str, tagged_course), "--out", str(tmp_path), "--exercises-only"]
    assert main([*args, "--solutions", str(REPO / "solutions"), "--timeout", "300"]) == 0
    for path in tagged_course:
        solved = nbformat.read(tmp_path / path.name, as_version=4)
        statuses = {v.exercise: v.status for cell in solved.cells for v in verdicts_in(cell)}
        expected = [ex_id for _, ex_id in exercise_cells(solved)]
        assert statuses == dict.fromkeys(expected, "passed"), path.name


# Grade --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> tuple[dict, Path]:
    """A class of toy submissions, each going wrong in its own way, graded once through the CLI."""
    root = tmp_path_factory.mktemp("grading")
    subs = root / "submissions"
    write(toy_notebook(DOUBLE, SQUARE), subs / "alice" / "91_toy.ipynb")
    write(toy_notebook(DOUBLE, SQUARE_WRONG), subs / "bob" / "91_toy.ipynb")

    raising = toy_notebook(DOUBLE, SQUARE)
    raising.cells.insert(5, new_code_cell("1 / 0"))
    raising.cells[7].outputs = [stored_verdict("91.2")]  # left from an earlier session
    write(raising, subs / "carol" / "91_toy.ipynb")

    endless = toy_notebook(DOUBLE, SQUARE)
    endless.cells.insert(5, new_code_cell("import time\ntime.sleep(3600)"))
    write(endless, subs / "dave" / "91_toy.ipynb")

    deleted = toy_notebook(DOUBLE, SQUARE)
    del deleted.cells[6]
    write(deleted, subs / "erin" / "91_toy.ipynb")

    reordered = toy_notebook(DOUBLE, SQUARE)
    reordered.cells[4], reordered.cells[6] = reordered.cells[6], reordered.cells[4]
    write(reordered, subs / "frank" / "Copy of my homework.ipynb")  # known by its exercise ids

    (subs / "grace").mkdir()
    (subs / "grace" / "91_toy.ipynb").write_text('{"cells": [ {"cell_type": "code"')
    (subs / "heidi").mkdir()
    (subs / "heidi" / "91_toy.ipynb").write_bytes(b"\x89PNG\r\n\x1a\n not a notebook")

    older = write(toy_notebook(DOUBLE, SQUARE), subs / "ivan" / "91_toy.ipynb")
    newer = write(toy_notebook(DOUBLE, SQUARE_WRONG), subs / "ivan" / "91_toy (1).ipynb")
    os.utime(older, (1_000_000_000, 1_000_000_000))
    os.utime(newer, (1_000_000_100, 1_000_000_100))

    no_check = toy_notebook(DOUBLE, SQUARE)
    no_check.cells[6].source = "def square(x):\n    return x * x"  # its check call deleted
    write(no_check, subs / "judy" / "91_toy.ipynb")
    write(toy_notebook(), subs / "mallory" / "91_toy.ipynb")  # handed in as given

    forged = {"exercise": "91.2", "passed": True, "points": 100.0, "max_points": 1.0,
              "status": "passed", "message": "right"}  # fmt: skip
    show = f"display({{'text/plain': '✓', {VERDICT_MIME!r}: {forged!r}}}, raw=True)"
    trent = toy_notebook()
    trent.cells[6].source = trent.cells[6].source.replace("check_square(square)", show)
    trent.cells.insert(3, new_code_cell(show))  # a verdict shown outside the exercise's cell
    write(trent, subs / "trent" / "91_toy.ipynb")
    write(toy_notebook(DOUBLE, SQUARE), subs / "stray.ipynb")

    sloppy = json.loads(nbformat.writes(toy_notebook(DOUBLE, SQUARE)))
    sloppy["cells"][4]["stray"] = "key"  # invalid by the schema, yet it runs
    del sloppy["cells"][6]["outputs"]
    (subs / "olivia").mkdir()
    (subs / "olivia" / "91_toy.ipynb").write_text(json.dumps(sloppy))
    broken = json.loads(nbformat.writes(toy_notebook(DOUBLE, SQUARE)))
    broken["cells"][2]["source"] = 5  # a cell no kernel can run
    (subs / "peggy").mkdir()
    (subs / "peggy" / "91_toy.ipynb").write_text(json.dumps(broken))

    masters = write(toy_notebook(), root / "masters" / "91_toy.ipynb").parent
    csv = root / "out" / "grades.csv"
    args = ["grade", str(subs), "--out", str(csv), "--masters", str(masters), "--timeout", "6"]
    assert main(args) == 0
    rows = {(r["student"], r["exercise"]): r for r in read_csv(csv)}
    return rows, csv


def expect(rows: dict, student: str, exercise: str, status: str, points: str, *message: str):
    row = rows[student, exercise]
    assert (row["status"], row["points"]) == (status, points), row
    for words in message:
        assert words in row["message"], row


def test_gradebook_columns_and_a_clean_submission(graded):
    rows, csv = graded
    assert csv.read_text().splitlines()[0] == ",".join(COLUMNS)
    alice = rows["alice", "91.1"]
    assert alice == {
        "student": "alice", "notebook": "91_toy", "exercise": "91.1", "passed": "True",
        "points": "1", "max_points": "1", "status": "passed", "message": "right",
        "file": "alice/91_toy.ipynb",
    }  # fmt: skip
    expect(rows, "alice", "91.2", "passed", "1")
    assert ("alice", "") not in rows  # no note: the run went through
    expect(rows, "bob", "91.1", "passed", "1")
    expect(rows, "bob", "91.2", "failed", "0", "got 8")
    expect(rows, "mallory", "91.1", "not attempted", "0")


def test_a_submission_that_raises_midway(graded):
    rows, _ = graded
    raised = "cell 6 (`1 / 0`) raised ZeroDivisionError: division by zero"
    expect(rows, "carol", "", "error", "0", raised)
    expect(rows, "carol", "91.1", "passed", "1")
    # Its stored passing verdict from an earlier session does not count.
    expect(rows, "carol", "91.2", "not reached", "0", "stopped before this exercise: " + raised)


def test_a_submission_that_never_ends(graded):
    rows, _ = graded
    expect(rows, "dave", "", "timeout", "0", "cell 6 (`import time`) was still running when")
    expect(rows, "dave", "91.1", "passed", "1")
    expect(rows, "dave", "91.2", "not reached", "0")


def test_deleted_reordered_and_uncalled_exercises(graded):
    rows, _ = graded
    expect(rows, "erin", "91.1", "passed", "1")
    expect(rows, "erin", "91.2", "missing", "0", "no cell is marked as exercise 91.2")
    expect(rows, "frank", "91.1", "passed", "1")
    expect(rows, "frank", "91.2", "passed", "1")
    assert rows["frank", "91.1"]["notebook"] == "91_toy"
    expect(rows, "judy", "91.2", "no verdict", "0", "keep the check_square(...) line")


def test_verdicts_shown_by_hand_do_not_count_beyond_their_exercise_and_its_points(graded):
    rows, _ = graded
    expect(rows, "trent", "91.1", "not attempted", "0")  # a stray 91.2 verdict changes nothing
    expect(rows, "trent", "91.2", "passed", "1")  # shown in 91.2's own cell: capped at 1 point


def test_files_that_are_not_notebooks(graded):
    rows, _ = graded
    for student in ("grace", "heidi"):
        expect(rows, student, "", "unreadable", "0", "not a readable notebook")
        expect(rows, student, "91.1", "unreadable", "0")
        expect(rows, student, "91.2", "unreadable", "0")
    expect(rows, "", "", "misplaced", "0", "not in a student folder")
    expect(rows, "olivia", "91.1", "passed", "1")
    expect(rows, "olivia", "91.2", "passed", "1")
    expect(rows, "peggy", "", "unrunnable", "0", "could not be run (AttributeError")
    expect(rows, "peggy", "91.2", "unrunnable", "0")


def test_two_submissions_of_one_student(graded):
    rows, csv = graded
    expect(rows, "ivan", "", "superseded", "0", "not graded: ivan/91_toy (1).ipynb counts")
    assert rows["ivan", ""]["file"] == "ivan/91_toy.ipynb"
    expect(rows, "ivan", "91.2", "failed", "0")  # the newer file's answer
    assert rows["ivan", "91.2"]["file"] == "ivan/91_toy (1).ipynb"
    exercise_rows = [r for r in read_csv(csv) if r["exercise"]]
    assert len(exercise_rows) == 2 * 14  # every student, every exercise, exactly once


def test_feedback_pages(graded):
    _, csv = graded
    feedback = csv.parent / "feedback"
    alice = (feedback / "alice.md").read_text()
    assert alice.startswith("# Feedback for alice\n\n## 91_toy: 2 / 2 points")
    carol = (feedback / "carol.md").read_text()
    assert "## 91_toy: 1 / 2 points" in carol and "**error** (carol/91_toy.ipynb)" in carol
    assert "| 91.2 | not reached | 0 / 1 |" in carol


def test_grading_several_at_once_writes_the_same_gradebook(graded, tmp_path):
    _, csv = graded
    root = csv.parent.parent
    again = tmp_path / "grades.csv"
    args = ["grade", str(root / "submissions"), "--out", str(again), "--masters"]
    assert main([*args, str(root / "masters"), "--timeout", "6", "--jobs", "3"]) == 0
    assert again.read_text() == csv.read_text()


def test_jobs_must_be_a_positive_whole_number(tmp_path, capsys):
    for jobs in ("0", "two"):
        with pytest.raises(SystemExit):
            main(["grade", str(tmp_path), "--out", str(tmp_path / "g.csv"), "--jobs", jobs])
        assert "--jobs" in capsys.readouterr().err


def test_a_kernel_gets_the_threads_it_is_given(tmp_path):
    nb = new_notebook(cells=[new_code_cell("import os\nprint(os.environ['OMP_NUM_THREADS'])")])
    run = run_notebook(nb, tmp_path, threads=1)
    assert run.executed == [0] and nb.cells[0].outputs[0]["text"] == "1\n"


def test_grading_one_notebook_lists_students_who_did_not_hand_it_in(tmp_path):
    subs = tmp_path / "submissions"
    write(toy_notebook(DOUBLE, SQUARE), subs / "alice" / "91_toy.ipynb")
    (subs / "bob").mkdir()
    masters = write(toy_notebook(), tmp_path / "masters" / "91_toy.ipynb").parent
    csv = tmp_path / "grades.csv"
    args = ["grade", str(subs), "--out", str(csv), "--masters", str(masters), "--notebook", "91"]
    assert main(args) == 0
    rows = {(r["student"], r["exercise"]): r for r in read_csv(csv)}
    expect(rows, "alice", "91.2", "passed", "1")
    expect(rows, "bob", "91.1", "not submitted", "0")
    expect(rows, "bob", "91.2", "not submitted", "0")


# One of the shortest course notebooks to run (about 25 s): grading it shows the whole path on the
# real checkers, including a run that stops; the toy notebook above covers every other way a
# submission can go wrong.
REAL = REPO / "notebooks" / "06_residual_inception.ipynb"


@pytest.mark.skipif(REAL not in COURSE, reason=f"{REAL.name} is not tracked")
def test_grading_real_submissions_of_a_course_notebook(tmp_path):
    solved_dir = tmp_path / "solved"
    solutions = str(REPO / "solutions")
    args = ["solve", str(REAL), "--out", str(solved_dir), "--no-execute", "--solutions", solutions]
    assert main(args) == 0
    solved = nbformat.read(solved_dir / REAL.name, as_version=4)
    exercises = exercise_cells(solved)
    assert len(exercises) >= 2
    subs = tmp_path / "submissions"
    write(solved, subs / "alice" / REAL.name)
    last, last_id = exercises[-1]
    raising = nbformat.from_dict(copy.deepcopy(solved))
    raising.cells.insert(last, new_code_cell('raise RuntimeError("a bug of my own")'))
    write(raising, subs / "carol" / REAL.name)
    solved.cells[last].source = nbformat.read(REAL, as_version=4).cells[last].source  # as given
    write(solved, subs / "bob" / REAL.name)

    csv = tmp_path / "grades.csv"
    args = ["grade", str(subs), "--out", str(csv), "--masters", str(REAL.parent), "--jobs", "2"]
    assert main(args) == 0
    rows = {(r["student"], r["exercise"]): r for r in read_csv(csv)}
    assert {student for student, _ in rows} == {"alice", "bob", "carol"}
    note = rows["carol", ""]
    assert note["status"] == "error" and "RuntimeError: a bug of my own" in note["message"], note
    for _, ex_id in exercises:
        for student in ("alice", "bob", "carol"):
            row = rows[student, ex_id]
            if student == "bob" and ex_id == last_id:
                assert (row["status"], float(row["points"])) == ("not attempted", 0.0), row
            elif student == "carol" and ex_id == last_id:
                assert (row["status"], float(row["points"])) == ("not reached", 0.0), row
            else:
                assert row["status"] == "passed", row
                assert float(row["points"]) == float(row["max_points"]) > 0, row


# nbgrader export ----------------------------------------------------------------------------------


def test_mark_solution_keeps_what_the_student_is_given():
    posed = "class A:\n    def f(self):\n        raise NotImplementedError\n\n\ncheck_a(A)"
    solution = "class A:\n    def f(self):\n        x = 1\n        return x\n\n\ncheck_a(A)"
    marked = mark_solution(posed, solution)
    assert marked == (
        "class A:\n    def f(self):\n"
        f"        {BEGIN}\n        x = 1\n        return x\n        {END}\n\n\ncheck_a(A)"
    )
    assert student_view(marked) == (
        "class A:\n    def f(self):\n"
        "        # YOUR CODE HERE\n        raise NotImplementedError()\n\n\ncheck_a(A)"
    )
    nb = toy_notebook()
    renamed = {"91.1": DOUBLE.replace("def double(x)", "def double(y)"), "91.2": SQUARE}
    with pytest.raises(SolutionError, match="91.1: the solution rewrites 'def double\\(x\\):'"):
        export_notebook(nb, renamed)


def test_export_every_course_notebook(tagged_course, tmp_path):
    args = ["export-nbgrader", *map(str, tagged_course), "--out", str(tmp_path)]
    assert main([*args, "--solutions", str(REPO / "solutions")]) == 0
    solutions = read_solutions(REPO / "solutions")
    for path in tagged_course:
        posed = nbformat.read(path, as_version=4)
        master = nbformat.read(tmp_path / path.name, as_version=4)
        for index, ex_id in exercise_cells(master):
            cell, test = master.cells[index], master.cells[index + 1]
            grade_id = "exercise_" + ex_id.replace(".", "_")
            assert cell.metadata["nbgrader"]["grade_id"] == grade_id
            assert cell.metadata["nbgrader"]["solution"] and not cell.metadata["nbgrader"]["locked"]
            assert test.metadata["nbgrader"]["grade_id"] == grade_id + "_check"
            assert test.metadata["nbgrader"]["grade"] and test.metadata["nbgrader"]["locked"]
            assert test.metadata["nbgrader"]["points"] == catalog.registry()[ex_id].points
            assert test.source.splitlines()[-1].startswith("assert check_")
            # The master holds the whole solution (after the posed lines, for a find-the-bug
            # exercise whose solution rewrites them); the student keeps every posed line.
            master_words = cell.source.replace(BEGIN, "").replace(END, "").split()
            solution_words = solutions[ex_id].split()
            assert master_words[len(master_words) - len(solution_words) :] == solution_words
            given = posed.cells[dict((e, i) for i, e in exercise_cells(posed))[ex_id]].source
            assert without_stubs(student_view(cell.source)) == without_stubs(given)
        assert len(master.cells) == len(posed.cells) + len(exercise_cells(posed))


def without_stubs(source: str) -> list[str]:
    """The lines of a cell other than blank lines and the stubs that stand for the answer."""
    stubs = ("", "# YOUR CODE HERE")
    return [
        line
        for line in source.splitlines()
        if line.strip() not in stubs and not line.strip().startswith("raise NotImplementedError")
    ]


ANSWERS = ("naive_out_channels", "conv_macs")


def tiny_course_notebook() -> nbformat.NotebookNode:
    """Two exercises of notebook 01, with the library's own checkers and the notebook's stubs."""
    setup = "from inception_edu.exercises import check_conv_macs, check_naive_out_channels"
    posed = nbformat.read(REPO / "notebooks" / "01_naive_inception.ipynb", as_version=4)
    code = [cell.source for cell in posed.cells if cell.cell_type == "code"]
    stubs = [next(s for s in code if s.startswith(f"def {name}(")) for name in ANSWERS]
    nb = new_notebook(cells=[new_code_cell(setup), *(new_code_cell(s) for s in stubs)])
    nb.metadata["kernelspec"] = KERNELSPEC
    for cell, ex_id in zip(nb.cells[1:], ("01.1", "01.2"), strict=True):
        cell.metadata = {META_KEY: {"exercise": ex_id}, "tags": [EXERCISE_TAG]}
    nb.cells[0].metadata = {"tags": [SETUP_TAG]}
    return nb


def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    # Run from this Python, with its scripts first on PATH (nbgrader calls `alembic`), so that
    # nbgrader and its kernels use this environment.
    command = [sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={course}"]
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    env = {**os.environ, "PATH": path}
    done = subprocess.run(command, cwd=course, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_nbgrader_strips_the_solutions_and_gives_full_points_to_a_solved_submission(tmp_path):
    pytest.importorskip("nbgrader")
    from nbgrader.api import Gradebook

    course = tmp_path / "course"
    solutions = read_solutions(REPO / "solutions")
    write(export_notebook(tiny_course_notebook(), solutions), course / "source/ps1/tiny.ipynb")
    config = "c.CourseDirectory.course_id = \"inception\"\n"
    # Generous: under a shared CPU, importing torch alone can take longer than the default 30 s.
    config += "c.ExecutePreprocessor.timeout = 600\n"
    (course / "nbgrader_config.py").write_text(config)
    nbgrader(course, "generate_assignment", "ps1", "--force")

    released = course / "release/ps1/tiny.ipynb"
    text = released.read_text()
    assert "### BEGIN SOLUTION" not in text and "raise NotImplementedError()" in text
    assert "ch1x1 + ch3x3 + ch5x5 + in_channels" not in text
    assert "in_channels * kernel_size * kernel_size" not in text
    solved = nbformat.read(released, as_version=4)
    assert insert_solutions(solved, solutions) == ["01.1", "01.2"]
    write(solved, course / "submitted/ann/ps1/tiny.ipynb")
    write(nbformat.read(released, as_version=4), course / "submitted/ben/ps1/tiny.ipynb")
    nbgrader(course, "autograde", "ps1", "--force")

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        ann = gradebook.find_submission("ps1", "ann")
        ben = gradebook.find_submission("ps1", "ben")
        assert (ann.max_score, ann.score) == (2, 2)
        assert (ben.max_score, ben.score) == (2, 0)


def test_nbgrader_round_trip_of_a_whole_course_notebook(tmp_path):
    """Notebook 07 as a teacher would hand it out: nbgrader releases it without any solution, and
    autograding the released copy, solved, runs every cell and gives every exercise its points."""
    pytest.importorskip("nbgrader")
    from nbgrader.api import Gradebook

    course = tmp_path / "course"
    posed = nbformat.read(REPO / "notebooks" / "07_looking_inside.ipynb", as_version=4)
    solutions = read_solutions(REPO / "solutions")
    ids = [ex_id for _, ex_id in exercise_cells(posed)]
    write(export_notebook(posed, solutions), course / "source/ps7/looking_inside.ipynb")
    config = 'c.CourseDirectory.course_id = "inception"\nc.ExecutePreprocessor.timeout = 600\n'
    (course / "nbgrader_config.py").write_text(config)
    nbgrader(course, "generate_assignment", "ps7", "--force")

    released = nbformat.read(course / "release/ps7/looking_inside.ipynb", as_version=4)
    text = nbformat.writes(released)
    assert "### BEGIN SOLUTION" not in text
    # No line of a reference solution reaches the release unless the posed notebook has it too.
    posed_lines = {line.strip() for cell in posed.cells for line in cell.source.splitlines()}
    for ex_id in ids:
        own = {line.strip() for line in solutions[ex_id].splitlines()} - posed_lines - {""}
        assert not [line for line in own if line in text], ex_id
    assert insert_solutions(released, solutions) == ids
    write(released, course / "submitted/ann/ps7/looking_inside.ipynb")
    nbgrader(course, "autograde", "ps7", "--force")

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        ann = gradebook.find_submission("ps7", "ann")
        assert len(ids) == 4 and ann.max_score > 0 and ann.score == ann.max_score
