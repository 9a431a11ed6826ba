"""Run a notebook headless in a fresh kernel, in a throw-away copy of its folder, in limited time.

The run stops where "Run All" would: at the first cell that raises. It also stops when the
notebook's time is up, and then kills the kernel. Outputs (and timings) kept from an earlier
session are cleared first, so every output in the notebook afterwards was produced by this run.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from nbformat import NotebookNode

_NOT_COPIED = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", ".git")
# Kernels start one at a time (then run side by side): with jupyter_client 7 (Colab's stack), a
# grade --jobs 3 run once hung for good inside a kernel's start, in a send to the new kernel,
# while two other kernels started from other threads. Starting takes a second or two.
_STARTING = threading.Lock()


@dataclass
class Run:
    """What happened when a notebook was run."""

    executed: list[int] = field(default_factory=list)  # cells that ran to their end, in order
    stopped_at: int | None = None  # the cell that raised, timed out or killed the kernel
    stop_reason: str = ""  # "error", "timeout" or "kernel died"; empty when every cell ran
    error: str = ""  # one line saying what stopped the run
    seconds: float = 0.0

    def reached(self, index: int) -> bool:
        """Return whether cell ``index`` was started (it may have been the one that stopped)."""
        return index in self.executed or index == self.stopped_at


def run_notebook(
    nb: NotebookNode,
    folder: Path,
    cells: list[int] | None = None,
    timeout: float = 600.0,
    kernel_name: str = "python3",
    threads: int | None = None,
) -> Run:
    """Execute ``nb``'s code ``cells`` (all by default) in order, in place, and report the run.

    The kernel's working directory is a temporary copy of ``folder`` (so relative paths resolve as
    they do beside the notebook, and nothing the notebook writes lands there); ``timeout`` is the
    time for all the cells together. ``threads`` caps the kernel's compute threads (for several
    kernels side by side); by default it uses every core.
    """
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            cell.metadata.pop("execution", None)  # timings of an earlier run, if it was recorded
    indices = [i for i in (range(len(nb.cells)) if cells is None else cells)
               if nb.cells[i].cell_type == "code"]  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="inception_edu_run_") as scratch:
        workdir = Path(scratch) / (folder.name or "notebook")
        shutil.copytree(folder, workdir, ignore=_NOT_COPIED)
        client = NotebookClient(
            nb,
            kernel_name=kernel_name,  # never the submission's kernelspec: it may not exist here
            resources={"metadata": {"path": str(workdir)}},
            shutdown_kernel="immediate",  # a kernel busy at the deadline is killed, not awaited
        )
        env = None if threads is None else {**os.environ, "OMP_NUM_THREADS": str(threads)}
        return _run_cells(client, nb, indices, timeout, env)


def _run_cells(
    client: NotebookClient,
    nb: NotebookNode,
    indices: list[int],
    budget: float,
    env: dict[str, str] | None,
) -> Run:
    """Execute the cells one by one, giving each what is left of the notebook's time."""
    run = Run()
    start = time.monotonic()
    with contextlib.ExitStack() as kernel:
        with _STARTING:
            kernel.enter_context(client.setup_kernel(**({} if env is None else {"env": env})))
        for index in indices:
            left = budget - (time.monotonic() - start)
            if left <= 0:
                run.stopped_at, run.stop_reason = index, "timeout"
                run.error = f"the {budget:g} s were up before {describe_cell(nb, index)} started"
                break
            client.timeout = max(1, math.ceil(left))
            cell = describe_cell(nb, index)
            try:
                client.execute_cell(nb.cells[index], index)
            except CellTimeoutError:
                run.stopped_at, run.stop_reason = index, "timeout"
                run.error = f"{cell} was still running when the {budget:g} s were up"
                break
            except CellExecutionError as err:
                run.stopped_at, run.stop_reason = index, "error"
                run.error = f"{cell} raised {err.ename}: {_first_line(err.evalue)}"
                break
            except DeadKernelError:
                run.stopped_at, run.stop_reason = index, "kernel died"
                run.error = f"the kernel died while running {cell}"
                break
            run.executed.append(index)
    run.seconds = time.monotonic() - start
    return run


def describe_cell(nb: NotebookNode, index: int) -> str:
    """Name a cell for people: its place counted from 1, as in the notebook, and its first line."""
    first = _first_line(nb.cells[index].source)
    shown = first if len(first) <= 40 else first[:40] + "…"
    return f"cell {index + 1} (`{shown}`)"


def _first_line(text: str) -> str:
    lines = str(text).strip().splitlines()
    return lines[0] if lines else ""
