"""The command line: ``python -m inception_edu.experiments list | run NAME… | run-all``."""

from __future__ import annotations

import argparse
import sys

from . import registry


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m inception_edu.experiments",
        description="Run the course's seeded experiments; record their results in data/results/.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="list the experiments, their notebook and config")
    run = commands.add_parser("run", help="run experiments and write their results files")
    run.add_argument("names", nargs="+", metavar="NAME")
    run.add_argument(
        "--seeds",
        default=None,
        help="a count N (seeds 0..N-1) or a list: 0,3,7 (default: the experiment's own count)",
    )
    run_all = commands.add_parser("run-all", help="run every experiment (make experiments)")
    run_all.add_argument("--seeds", default=None, help="override each experiment's seed count")
    args = parser.parse_args(argv)

    if args.command == "list":
        for exp in sorted(registry.EXPERIMENTS.values(), key=lambda e: (e.notebook, e.name)):
            print(f"{exp.notebook}  {exp.name:<28} {exp.description}")
        return 0
    names = args.names if args.command == "run" else sorted(registry.EXPERIMENTS)
    unknown = [n for n in names if n not in registry.EXPERIMENTS]
    if unknown:
        print(f"unknown experiments: {', '.join(unknown)}; see `list`", file=sys.stderr)
        return 2
    for name in names:
        spec = args.seeds or str(registry.EXPERIMENTS[name].config.get("seeds", 3))
        try:
            seeds = _seeds(spec)
        except ValueError:
            print(f"--seeds takes a count (5) or a list (0,3,7), got {spec!r}", file=sys.stderr)
            return 2
        registry.record(name, seeds)
    return 0


def _seeds(spec: str) -> list[int]:
    if "," in spec:
        return [int(s) for s in spec.split(",")]
    n = int(spec)
    if n < 1:
        raise ValueError(spec)
    return list(range(n))


if __name__ == "__main__":
    raise SystemExit(main())
