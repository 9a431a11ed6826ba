"""Execute course notebooks top to bottom, in place, and store them clean for static viewers.

    python scripts/run_notebooks.py notebooks/01_naive_inception.ipynb [...] [--timeout 900]

Each notebook runs in a fresh kernel of this environment, with its own folder as the working
directory (as JupyterLab and nbval run it). Before it is written back, what only a live front end
can use is removed: saved widget state (``metadata.widgets``), widget views among the outputs
(their text, e.g. a finished progress bar, stays) and per-cell execution timestamps. The script
prints each notebook's run time and its kernel's peak memory; it stops at the first cell that
raises, leaving the file unchanged.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def main() -> int:
    """Run the notebooks named on the command line; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--timeout", type=int, default=900, help="seconds per cell")
    args = parser.parse_args()
    for path in args.notebooks:
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(
            nb,
            timeout=args.timeout,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent.resolve())}},
        )
        start = time.perf_counter()
        # One kernel context, cells run one by one: nesting client.execute() inside
        # setup_kernel() let both contexts clean the kernel up, and the second one failed.
        with client.setup_kernel():
            info = client.wait_for_reply(client.kc.kernel_info())
            nb.metadata["language_info"] = info["content"]["language_info"]
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index)
            peak = _peak_memory_mb(client)
        seconds = time.perf_counter() - start
        clean(nb)
        nbformat.write(nb, path)
        memory = f", kernel peak memory {peak:,.0f} MB" if peak else ""
        print(f"{path}: {seconds:.0f} s{memory}", flush=True)
    return 0


def clean(nb: nbformat.NotebookNode) -> None:
    """Remove widget state, widget views and execution timestamps from ``nb``, in place."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type != "code":
            continue
        kept = []
        for output in cell.outputs:
            data = output.get("data")
            if data is not None:
                data.pop(WIDGET_VIEW, None)
                if not any(str(v).strip() for v in data.values()):
                    continue  # a widget without text, or a finished transient bar: shows nothing
            kept.append(output)
        cell.outputs = kept


def _peak_memory_mb(client: NotebookClient) -> float | None:
    """Return the kernel process's peak resident memory (VmHWM) in MB, on Linux."""
    pid = getattr(getattr(client.km, "provisioner", None), "pid", None)
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, TypeError):
        return None
    return None


if __name__ == "__main__":
    sys.exit(main())
