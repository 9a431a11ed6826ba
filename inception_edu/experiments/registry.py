"""Named, seeded experiments and their recorded results.

An experiment is a function of a config and a seed that trains something and returns its metrics:

    @experiment("naive_vs_single", notebook="01", config={"epochs": 2, "train_size": 5000})
    def naive_vs_single(config: dict, seed: int) -> dict: ...

``python -m inception_edu.experiments run NAME --seeds 5`` runs seeds 0–4 and writes every
seed's metrics, with where and how they were made (command, commit, library versions, date, CPU),
to ``data/results/NAME.json``. A notebook loads that file, runs one seed live, and checks that the
live run lands inside the recorded distribution: the conclusion rests on the recorded seeds, and
the live run proves that the code in front of the reader still produces them.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "EXPERIMENTS",
    "Experiment",
    "Results",
    "experiment",
    "load",
    "record",
    "results_path",
]

SCHEMA = "inception_edu.results/1"

#: Every registered experiment, by name.
EXPERIMENTS: dict[str, Experiment] = {}

Metrics = dict[str, Any]


@dataclass(frozen=True)
class Experiment:
    """A named experiment: ``function(config, seed)`` returns a dict of metrics."""

    name: str
    notebook: str
    config: dict[str, Any]
    function: Callable[[dict[str, Any], int], Metrics]
    description: str = ""

    def run(self, seed: int) -> Metrics:
        """Return the metrics of one seeded run with the registered config."""
        return self.function(dict(self.config), seed)


def experiment(
    name: str, *, notebook: str, config: dict[str, Any]
) -> Callable[[Callable[[dict[str, Any], int], Metrics]], Callable[[dict[str, Any], int], Metrics]]:
    """Register the decorated ``function(config, seed) -> metrics`` as experiment ``name``."""

    def register(function: Callable[[dict[str, Any], int], Metrics]):
        if name in EXPERIMENTS:
            raise ValueError(f"two experiments are called {name!r}")
        json.dumps(config)  # a config must be plain data: it is written to the results file
        doc = (function.__doc__ or "").strip().splitlines()
        summary = doc[0] if doc else ""
        EXPERIMENTS[name] = Experiment(name, notebook, dict(config), function, summary)
        return function

    return register


def get(name: str) -> Experiment:
    """Return the experiment called ``name``; raise a KeyError listing the names if none."""
    if name not in EXPERIMENTS:
        raise KeyError(
            f"no experiment called {name!r}; registered: {', '.join(sorted(EXPERIMENTS)) or 'none'}"
        )
    return EXPERIMENTS[name]


def results_path(name: str) -> Path:
    """Return the path of experiment ``name``'s results file (data/results/NAME.json)."""
    from ..data import shipped_path

    return shipped_path("results", f"{name}.json")


@dataclass
class Results:
    """The recorded runs of one experiment: per-seed metrics, with their provenance."""

    experiment: str
    config: dict[str, Any]
    command: str
    provenance: dict[str, Any]
    runs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def seeds(self) -> list[int]:
        return [run["seed"] for run in self.runs]

    def values(self, metric: str) -> list[Any]:
        """Return ``metric`` of every recorded run, in seed order."""
        missing = [run["seed"] for run in self.runs if metric not in run["metrics"]]
        if missing:
            known = sorted(self.runs[0]["metrics"]) if self.runs else []
            raise KeyError(f"no metric {metric!r} in seeds {missing}; metrics: {', '.join(known)}")
        return [run["metrics"][metric] for run in self.runs]

    def summary(self, metric: str) -> tuple[float, float, float]:
        """Return (median, min, max) of a numeric ``metric`` over the seeds."""
        values = self.values(metric)
        diverged = [seed for seed, v in zip(self.seeds, values) if v is None]
        if diverged:
            # A diverged run has no value: a range that left it out would hide the divergence.
            raise ValueError(
                f"{metric!r} has no value in seeds {diverged} (those runs diverged), so it has no "
                f"median or range; test those seeds apart, or summarize a metric where all finished"
            )
        values = [float(v) for v in values]
        return statistics.median(values), min(values), max(values)

    def check_live(self, live: Metrics, metric: str, tolerance: float) -> str:
        """Assert that a live run's ``metric`` lies within the recorded range ± ``tolerance``.

        Returns a stable one-line description to print. The tolerance covers what differs between
        machines (thread counts and CPU kernels change floating point sums), not between seeds.
        """
        _, low, high = self.summary(metric)
        value = float(live[metric])
        if not low - tolerance <= value <= high + tolerance:
            raise AssertionError(
                f"the live run's {metric} = {value:.4f} is outside the recorded seeds' range "
                f"[{low:.4f}, {high:.4f}] ± {tolerance}: the code no longer reproduces "
                f"{self.experiment!r}. Rerun: {self.command}"
            )
        return (
            f"live run: {metric} inside the {len(self.runs)} recorded seeds' range "
            f"(± {tolerance})"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "experiment": self.experiment,
            "config": self.config,
            "command": self.command,
            "provenance": self.provenance,
            "runs": self.runs,
        }


def load(name: str) -> Results:
    """Return the recorded results of experiment ``name``, checked against its current config."""
    path = results_path(name)
    if not path.is_file():
        raise FileNotFoundError(
            f"no recorded results for {name!r} at {path}: run "
            f"`python -m inception_edu.experiments run {name}` (or `make experiments`)"
        )
    try:
        raw = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON ({err}): regenerate it") from None
    results = _from_json(raw, path)
    current = get(name).config
    if results.config != current:
        raise ValueError(
            f"{path.name} was recorded with config {results.config}, but the experiment's config "
            f"is now {current}: the results no longer describe the code. Rerun: {results.command}"
        )
    return results


def record(
    name: str,
    seeds: Sequence[int],
    *,
    progress: Callable[[str], None] = print,
    path: Path | None = None,
) -> Results:
    """Run experiment ``name`` for each seed and write the results file; return the results."""
    exp = get(name)
    command = f"python -m inception_edu.experiments run {name} --seeds {_seed_spec(seeds)}"
    results = Results(name, dict(exp.config), command, provenance())
    for seed in seeds:
        start = time.perf_counter()
        metrics = exp.run(seed)
        seconds = time.perf_counter() - start
        results.runs.append({"seed": seed, "seconds": round(seconds, 1), "metrics": metrics})
        progress(f"{name} seed {seed}: {_brief(metrics)} ({seconds:.0f} s)")
    target = path or results_path(name)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(results.to_json(), indent=1) + "\n")
    return results


def provenance() -> dict[str, Any]:
    """Return where and how results are being made: commit, versions, date, CPU, threads."""
    import numpy
    import torch
    import torchvision

    from .. import __version__

    return {
        # The arguments without the interpreter's path, which would name this machine's folders.
        "argv": " ".join(shlex.quote(a) for a in [Path(sys.argv[0]).name, *sys.argv[1:]]),
        "commit": _commit(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "numpy": numpy.__version__,
        "inception_edu": __version__,
        "cpu": _cpu_name(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "platform": platform.platform(),
    }


def _from_json(raw: Any, path: Path) -> Results:
    keys = {"schema", "experiment", "config", "command", "provenance", "runs"}
    if not isinstance(raw, dict) or raw.get("schema") != SCHEMA or not keys <= set(raw):
        raise ValueError(f"{path} is not a results file of schema {SCHEMA}: regenerate it")
    for run in raw["runs"]:
        if not {"seed", "seconds", "metrics"} <= set(run) or not isinstance(run["metrics"], dict):
            raise ValueError(f"{path} has a run without seed, seconds and metrics: regenerate it")
    return Results(raw["experiment"], raw["config"], raw["command"], raw["provenance"], raw["runs"])


def _seed_spec(seeds: Sequence[int]) -> str:
    seeds = list(seeds)
    if seeds == list(range(len(seeds))):
        return str(len(seeds))
    return ",".join(map(str, seeds))


def _brief(metrics: Metrics) -> str:
    numbers = {k: v for k, v in metrics.items() if isinstance(v, (int, float))}
    return ", ".join(f"{k}={v:.4g}" for k, v in list(numbers.items())[:6])


def _commit() -> str | None:
    root = Path(__file__).resolve().parents[2]
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True
        )
    except OSError:
        return None
    if out.returncode != 0:
        return None
    # Results files written by earlier recordings are outputs, not code that shapes this one.
    changed = ["status", "--porcelain", "--untracked-files=no", "--", ".", ":!data/results"]
    dirty = subprocess.run(
        ["git", "-C", str(root), *changed], capture_output=True, text=True
    ).stdout.strip()
    return out.stdout.strip() + ("+uncommitted changes" if dirty else "")


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
