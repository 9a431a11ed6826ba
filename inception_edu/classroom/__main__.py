"""Solve, grade and export the course's exercise notebooks (README, "For teachers").

    python -m inception_edu.classroom solve notebooks/0[1-7]*.ipynb --out build/solved
    python -m inception_edu.classroom grade submissions/ --out build/grades.csv
    python -m inception_edu.classroom export-nbgrader notebooks/0[1-7]*.ipynb --out source/ps1
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

from ..cli import whole_number
from . import grade as grade_module
from .catalog import notebook_number
from .grade import Options, grade_folder, progress_to_stderr
from .gradebook import write_csv, write_feedback
from .nbgrader_export import export_notebook
from .solutions import SolutionError, read_solutions
from .solve import SolveError, solve_notebook

# Exit codes: 0 all good; 1 an exercise did not pass (solve); 2 the command could not do its job.
FAILED, UNUSABLE = 1, 2


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand and return its exit code."""
    args = _parser().parse_args(argv)
    try:
        return args.command(args)
    except (SolutionError, SolveError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return UNUSABLE


def solve(args: argparse.Namespace) -> int:
    """Write a solved copy of each notebook; fail if any exercise's verdict is not a pass."""
    solutions = read_solutions(args.solutions)
    failed = False
    for path in args.notebooks:
        solved = solve_notebook(
            path,
            args.out,
            solutions,
            execute=not args.no_execute,
            exercises_only=args.exercises_only,
            timeout=args.timeout,
            kernel_name=args.kernel,
        )
        done = "written" if args.no_execute else f"all pass ({solved.seconds:.0f} s)"
        print(f"{solved.output}: {', '.join(solved.exercises)}: "
              + ("FAILED" if solved.problems else done))  # fmt: skip
        for problem in solved.problems:
            print(f"  ✗ {problem}")
        failed |= bool(solved.problems)
    return FAILED if failed else 0


def grade(args: argparse.Namespace) -> int:
    """Grade every submission; write the gradebook CSV and one feedback page per student."""
    number = None
    if args.notebook is not None:
        number = notebook_number(Path(args.notebook).name) or notebook_number(args.notebook + "_")
        if number is None:
            print(f"error: --notebook {args.notebook}: give its number or name, e.g. 01")
            return UNUSABLE
    options = Options(number, args.masters, args.timeout, args.kernel, args.jobs)
    rows = grade_folder(args.submissions, options, progress_to_stderr)
    write_csv(rows, args.out)
    feedback = args.feedback or args.out.parent / "feedback"
    pages = write_feedback(rows, feedback)
    print(f"{args.out}: {len(rows)} rows; feedback for {len(pages)} students in {feedback}")
    return 0


def export_nbgrader(args: argparse.Namespace) -> int:
    """Write an nbgrader master notebook for each notebook."""
    solutions = read_solutions(args.solutions)
    args.out.mkdir(parents=True, exist_ok=True)
    for path in args.notebooks:
        master = export_notebook(nbformat.read(path, as_version=4), solutions)
        nbformat.write(master, args.out / path.name)
        print(args.out / path.name)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m inception_edu.classroom", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    cmd = commands.add_parser("solve", help="solve notebooks with the reference solutions")
    cmd.add_argument("notebooks", nargs="+", type=Path, metavar="NOTEBOOK")
    cmd.add_argument("--out", type=Path, required=True, metavar="DIR")
    _solutions_option(cmd)
    cmd.add_argument("--no-execute", action="store_true", help="write the solved copies only")
    cmd.add_argument(
        "--exercises-only",
        action="store_true",
        help="run only the cells tagged setup and the exercises (fast; proves that each exercise "
        "is solvable from the setup alone)",
    )
    _run_options(cmd, timeout=1800)
    cmd.set_defaults(command=solve)

    cmd = commands.add_parser(
        "grade",
        help="grade SUBMISSIONS/<student>/<notebook>.ipynb files",
        description=grade_module.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cmd.add_argument("submissions", type=Path, metavar="SUBMISSIONS_DIR")
    cmd.add_argument("--out", type=Path, required=True, metavar="CSV", help="gradebook to write")
    cmd.add_argument("--feedback", type=Path, metavar="DIR", help="default: feedback/ beside CSV")
    cmd.add_argument("--notebook", metavar="NAME", help="grade only this notebook (01, 01_naive…)")
    cmd.add_argument(
        "--masters",
        type=Path,
        default=Path("notebooks"),
        metavar="DIR",
        help="tagged course notebooks: their names, and their exercises where the registry has "
        "none (default: notebooks)",
    )
    cmd.add_argument(
        "--jobs",
        type=whole_number(1),
        default=1,
        metavar="N",
        help="notebooks to run at once, each kernel with its share of the cores (default: 1)",
    )
    _run_options(cmd, timeout=600)
    cmd.set_defaults(command=grade)

    cmd = commands.add_parser("export-nbgrader", help="write nbgrader master notebooks")
    cmd.add_argument("notebooks", nargs="+", type=Path, metavar="NOTEBOOK")
    cmd.add_argument("--out", type=Path, required=True, metavar="DIR")
    _solutions_option(cmd)
    cmd.set_defaults(command=export_nbgrader)
    return parser


def _solutions_option(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument(
        "--solutions",
        type=Path,
        default=Path("solutions"),
        metavar="DIR",
        help="folder of reference solutions (default: solutions)",
    )


def _run_options(cmd: argparse.ArgumentParser, timeout: float) -> None:
    cmd.add_argument(
        "--timeout",
        type=float,
        default=timeout,
        metavar="S",
        help=f"seconds for all of a notebook's cells together (default: {timeout:g})",
    )
    cmd.add_argument("--kernel", default="python3", help="kernel to run in (default: python3)")


if __name__ == "__main__":
    sys.exit(main())
