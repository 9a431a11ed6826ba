"""What every checker shares: verdicts, the registry of exercises, and whose fault an error is.

The checkers of each notebook are tested in ``test_exercises_<module>.py``: each such file lists
its reference solutions (``REFERENCE``), correct answers in unusual forms (``UNUSUAL``) and typical
wrong answers with the feedback they must get (``WRONG``); the last test here checks that every
checker has enough of each.
"""

import importlib
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

import inception_edu.exercises.naive as naive_checkers
from inception_edu import exercises as ex
from inception_edu.exercises import EXERCISES, VERDICT_MIME, Verdict
from inception_edu.exercises.registry import exercise_of

import exercise_solutions as sol

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
CHECKER_TESTS = (
    "test_exercises_naive",
    "test_exercises_googlenet",
    "test_exercises_factorization",
    "test_exercises_inception_v3",
    "test_exercises_label_smoothing",
    "test_exercises_residual",
    "test_exercises_looking_inside",
    "test_exercises_family",
    "test_exercises_efficiency",
)


def not_done(*args):
    raise NotImplementedError


# --- verdicts ------------------------------------------------------------------------------------


def test_a_verdict_is_a_bool_with_the_payload_fields(capsys):
    verdict = ex.check_conv_macs(sol.conv_macs)
    out = capsys.readouterr().out
    assert verdict and verdict.passed and verdict.status == "passed"
    assert out == verdict.line + "\n" and out.startswith("✓ conv_macs: ")
    payload = verdict.payload()
    assert payload == {
        "exercise": "01.2",
        "passed": True,
        "points": 1.0,
        "max_points": 1.0,
        "status": "passed",
        "message": verdict.message,
    }
    assert json.loads(json.dumps(payload)) == payload
    verdict._ipython_display_()  # returned as a cell's value, it must not print a second time
    assert capsys.readouterr().out == ""


def test_a_wrong_answer_scores_no_points(capsys):
    verdict = ex.check_conv_macs(lambda *a: 1)
    assert not verdict and verdict.status == "failed" and verdict.points == 0.0
    assert capsys.readouterr().out.startswith("✗ conv_macs: ")


def test_verdict_rejects_an_unknown_status():
    with pytest.raises(ValueError, match="status must be one of"):
        Verdict("01.1", "naive_out_channels", "maybe", "?", 1.0)


def test_in_ipython_the_verdict_travels_as_json_next_to_the_text():
    """A real IPython shell (in a subprocess, to leave this one alone) captures one rich output.

    The subprocess also shows that a grading tool can read the registry without importing torch.
    """
    script = (
        "import json, sys\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "from IPython.utils.capture import capture_output\n"
        "InteractiveShell.instance()\n"
        "from inception_edu.exercises import EXERCISES\n"
        "from inception_edu.exercises.verdict import Verdict, publish\n"
        "title = EXERCISES['01.4'].title\n"
        "verdict = Verdict('01.4', title, 'failed', 'right for stride 1 only.', 1.0)\n"
        "with capture_output() as captured:\n"
        "    publish(verdict)\n"
        "outputs = [o.data for o in captured.outputs]\n"
        "torch = 'torch' in sys.modules\n"
        "print(json.dumps({'torch': torch, 'stdout': captured.stdout, 'outputs': outputs}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["torch"] is False
    assert result["stdout"] == ""  # nothing printed beside the rich output
    (data,) = result["outputs"]
    assert data == {
        "text/plain": "✗ receptive_field: right for stride 1 only.",
        VERDICT_MIME: {
            "exercise": "01.4",
            "passed": False,
            "points": 0.0,
            "max_points": 1.0,
            "status": "failed",
            "message": "right for stride 1 only.",
        },
    }


# --- whose fault ---------------------------------------------------------------------------------


def test_unattempted_exercise_is_not_an_error(capsys):
    verdict = ex.check_naive_out_channels(not_done)
    assert verdict.status == "not attempted" and verdict.points == 0.0
    assert capsys.readouterr().out.startswith("… naive_out_channels: not attempted yet")


def test_a_module_whose_forward_is_not_written_is_not_attempted():
    class HalfDone(sol.NaiveModule):
        def forward(self, x):
            raise NotImplementedError

    assert ex.check_naive_module(HalfDone).status == "not attempted"


def test_crashing_answer_is_reported_as_the_students():
    verdict = ex.check_conv_macs(lambda *a: 1 / 0)
    assert verdict.status == "failed"
    assert verdict.message.startswith("your code raised ZeroDivisionError")


def test_a_crash_inside_the_students_forward_is_theirs():
    class Crashing(sol.NaiveModule):
        def forward(self, x):
            return self.b1(x)[:, :, 99]  # IndexError

    verdict = ex.check_naive_module(Crashing)
    assert verdict.status == "failed" and "your code raised IndexError" in verdict.message


def test_a_crash_inside_the_checker_is_the_checkers(monkeypatch, capsys):
    def broken(*args):
        raise RuntimeError("the reference is broken")

    monkeypatch.setattr(naive_checkers, "NaiveInception", broken)
    verdict = ex.check_naive_out_channels(sol.naive_out_channels)
    out = capsys.readouterr().out
    assert verdict.status == "checker error" and not verdict and verdict.points == 0.0
    assert "internal error of the checker (RuntimeError: the reference is broken" in out
    assert "please report it" in out and "01.1" in out and "your code raised" not in out
    assert out.startswith("⚠ naive_out_channels: ")


def test_a_strange_value_from_the_student_is_a_mistake_not_a_checker_error():
    for answer in (lambda *a: "many", lambda *a: [1, 2], lambda *a: None, lambda *a: True):
        verdict = ex.check_conv_macs(answer)
        assert verdict.status == "failed" and "return a number of multiply-adds" in verdict.message


def test_the_course_librarys_own_answers_are_refused():
    from inception_edu.calibration import expected_calibration_error
    from inception_edu.models.naive import NaiveInception

    class Mine(NaiveInception):
        pass

    for answer, words in (
        (NaiveInception, "the course library's own `NaiveInception`: the exercise asks you"),
        (Mine, "the course library's own `NaiveInception` (it inherits from it)"),
    ):
        verdict = ex.check_naive_module(answer)
        assert verdict.status == "failed" and words in verdict.message, verdict.message
    verdict = ex.check_expected_calibration_error(expected_calibration_error)
    assert "own `expected_calibration_error`" in verdict.message


# --- the registry --------------------------------------------------------------------------------


def test_every_checker_is_registered_once():
    checkers = {name for name in ex.__all__ if name.startswith("check_")}
    registered = [exercise.checker for exercise in EXERCISES.values()]
    assert sorted(registered) == sorted(checkers)
    assert len(set(registered)) == len(registered)
    assert all(re.fullmatch(r"0[1-9]\.[1-9]", exercise_id) for exercise_id in EXERCISES)
    assert all(EXERCISES[key].id == key and EXERCISES[key].points > 0 for key in EXERCISES)
    assert exercise_of("check_conv_macs").id == "01.2"


@pytest.mark.parametrize("exercise_id", sorted(EXERCISES))
def test_each_checker_stamps_its_own_id(exercise_id, capsys):
    exercise = EXERCISES[exercise_id]
    verdict = getattr(ex, exercise.checker)(not_done)
    assert verdict.exercise == exercise_id and verdict.title == exercise.title
    assert verdict.status == "not attempted"


def test_ids_follow_the_notebooks_numbering():
    """Exercise k of notebook NN is the k-th "**k.**" item of its exercises that calls a checker."""
    found = {}
    for path in sorted(NOTEBOOKS.glob("0[1-9]_*.ipynb")):
        number = None
        for cell in json.loads(path.read_text())["cells"]:
            source = "".join(cell["source"])
            if cell["cell_type"] == "markdown":
                items = re.findall(r"^\*\*(\d+)\.", source, re.MULTILINE)
                number = items[-1] if items else number
            else:
                for checker in re.findall(r"^(check_\w+)\(", source, re.MULTILINE):
                    found[f"{path.name[:2]}.{number}"] = checker
    # A notebook leaves the tracked tree while it is rewritten; its ids are checked once it is back.
    present = {path.name[:2] for path in NOTEBOOKS.glob("0[1-9]_*.ipynb")}
    expected = {key: exercise.checker for key, exercise in EXERCISES.items() if key[:2] in present}
    assert found == expected


# --- coverage of the checkers' tests -------------------------------------------------------------


def test_every_checker_is_tested_with_references_unusual_and_wrong_answers():
    reference, unusual, wrong = Counter(), Counter(), Counter()
    for module_name in CHECKER_TESTS:
        module = importlib.import_module(module_name)
        reference.update(case.values[0].__name__ for case in module.REFERENCE)
        unusual.update(case.values[0].__name__ for case in module.UNUSUAL)
        wrong.update(case.values[0].__name__ for case in module.WRONG)
    for exercise in EXERCISES.values():
        name = exercise.checker
        assert reference[name] >= 1, f"{name}: no reference solution"
        assert unusual[name] >= 2, f"{name}: {unusual[name]} unusual correct answers"
        assert wrong[name] >= 3, f"{name}: {wrong[name]} wrong answers"
