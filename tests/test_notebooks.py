"""Static views that tell the truth: what GitHub, nbviewer and an HTML export show of a notebook.

Every committed notebook (``git ls-files``: what lands, not what is on someone's disk) must store
no widget state and no widget views (a static viewer shows them as "Loading widget..." or not at
all), no progress bar stuck at "0%|" (tqdm's widget leaves that as its text), no image wider
than a notebook column, no error output (except in a cell that says it raises), no absolute
path of the machine that ran it, and a setup cell and Colab badge pointing at the repository
named in pyproject.toml. ``scripts/run_notebooks.py`` stores notebooks this way.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import re
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
# A notebook column is about 1000 px wide (JupyterLab beside its file browser on a 1366-px laptop
# screen, or Colab): a wider PNG is shrunk by the viewer, so its extra pixels only cost bytes. The
# setup cell sets matplotlib's figure dpi to 80, so figures up to 12.5 inches wide fit.
MAX_PNG_WIDTH = 1000
# tqdm's first line, "0%|" not preceded by a digit (that would be "100%|").
ZERO_PROGRESS = re.compile(r"(?<![\d.])0%\|")
RAISES = re.compile(r"#\s*NBVAL_RAISES_EXCEPTION")
COLAB = "https://colab.research.google.com/github/"


def _repository_script():
    """Import scripts/set_repository_url.py, the one source of the setup cell and badge rules."""
    path = ROOT / "scripts" / "set_repository_url.py"
    spec = importlib.util.spec_from_file_location("set_repository_url", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


repository = _repository_script()


def committed_notebooks() -> list[Path]:
    """Return the notebooks git tracks under notebooks/ (none: an empty list)."""
    listed = subprocess.run(
        ["git", "ls-files", "notebooks/*.ipynb"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    return [ROOT / name for name in listed]


def problems(path: Path) -> list[str]:
    """Return every rule the notebook at ``path`` breaks, one line each."""
    nb = json.loads(path.read_text())
    found = []
    if "widgets" in nb.get("metadata", {}):
        found.append("stores widget state (metadata.widgets)")
    for index, cell in enumerate(nb["cells"]):
        where = f"cell {index}"
        for output in cell.get("outputs", []):
            found += [f"{where}: {p}" for p in output_problems(output, _raises(cell))]
    return found + setup_and_badge_problems(nb, path)


def output_problems(output: dict, raises: bool = False) -> list[str]:
    """Return the rules one stored output breaks; ``raises``: its cell is declared to raise."""
    found = []
    data = output.get("data", {})
    if WIDGET_VIEW in data:
        found.append("stores a widget view")
    if output.get("output_type") == "error" and not raises:
        found.append(f"error output {output.get('ename')}: {output.get('evalue')}")
    text = _text(output)
    if ZERO_PROGRESS.search(text):
        line = next(x for x in text.splitlines() if ZERO_PROGRESS.search(x))
        found.append(f"progress bar stored at 0%: {line.strip()!r}")
    found += [f"shows a path of this machine: {p}" for p in machine_paths(text)]
    png = data.get("image/png")
    if png is not None:
        width = png_width(base64.b64decode("".join(png) if isinstance(png, list) else png))
        if width > MAX_PNG_WIDTH:
            found.append(f"PNG {width} px wide, more than {MAX_PNG_WIDTH}: lower the figure size")
    return found


def png_width(png: bytes) -> int:
    """Return a PNG's width in pixels, read from its IHDR header."""
    if png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    return struct.unpack(">I", png[16:20])[0]


def machine_paths(text: str) -> list[str]:
    """Return the absolute paths of this machine (or of a user's home anywhere) in ``text``."""
    local = {str(ROOT), str(Path.home()), sys.prefix, sys.base_prefix, tempfile.gettempdir()}
    found = [p for p in sorted(local, key=len, reverse=True) if len(p) > 1 and p + "/" in text]
    homes = re.findall(r"(?:/home/|/Users/|[A-Z]:\\Users\\)[\w.-]+", text)
    return found + sorted(set(homes) - set(found))


def setup_and_badge_problems(nb: dict, path: Path) -> list[str]:
    """Return what is missing or stale in the notebook's setup cell and Colab badge."""
    found = []
    cells = [("".join(c["source"]), c["cell_type"]) for c in nb["cells"]]
    if not any(repository.SETUP_MARKER in s for s, kind in cells if kind == "code"):
        found.append(f"no setup cell (a code cell with {repository.SETUP_MARKER!r})")
    own = re.compile(
        re.escape(COLAB) + r"[^/\s]+/[^/\s]+/blob/[^/\s]+/notebooks/" + re.escape(path.name)
    )
    if not any(own.search(s) for s, kind in cells if kind == "markdown"):
        found.append(f"no Colab badge opening notebooks/{path.name}")
    if repository.update(path, repository.repository_url(), write=False):
        found.append(
            "setup cell or badge differs from pyproject's repository (or the file is not stored "
            "as nbformat writes it): run scripts/set_repository_url.py"
        )
    return found


def _raises(cell: dict) -> bool:
    tags = cell.get("metadata", {}).get("tags", [])
    return "raises-exception" in tags or bool(RAISES.search("".join(cell.get("source", ""))))


def _text(output: dict) -> str:
    parts = [output.get("text", ""), *output.get("traceback", [])]
    for mime in ("text/plain", "text/html", "text/markdown"):
        parts.append(output.get("data", {}).get(mime, ""))
    return "\n".join("".join(p) if isinstance(p, list) else p for p in parts)


# --- the committed notebooks ---------------------------------------------------------------------


def test_committed_notebooks_show_the_truth_in_static_views():
    found = []
    for path in committed_notebooks():
        found += [f"{path.name}: {p}" for p in problems(path)]
    assert not found, "\n".join(found)


def test_readme_links_to_the_repository_in_pyproject():
    assert not repository.update(ROOT / "README.md", repository.repository_url(), write=False)


# --- the checker, on small notebooks that break one rule each ------------------------------------


def clean_notebook(name: str = "99_example.ipynb") -> dict:
    """A notebook that breaks no rule: badge, setup cell, a figure, a finished progress bar."""
    url = repository.repository_url()
    owner_repo = url.removeprefix("https://github.com/")
    badge = f"[![Open In Colab](badge.svg)]({COLAB}{owner_repo}/blob/main/notebooks/{name})"
    return {
        "metadata": {"kernelspec": {"name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": f"# Example\n\n{badge}"},
            {"cell_type": "code", "metadata": {}, "outputs": [],
             "source": repository.SETUP_CELL.format(url=url)},  # fmt: skip
            code_cell(
                {"output_type": "display_data", "metadata": {},
                 "data": {"image/png": png(960, 300), "text/plain": "<Figure>"}},
                {"output_type": "stream", "name": "stderr",
                 "text": "train: 100%|██████████| 195/195 [00:21<00:00]\n"},
            ),  # fmt: skip
        ],
    }


def code_cell(*outputs: dict, source: str = "x = 1") -> dict:
    return {"cell_type": "code", "metadata": {}, "source": source, "outputs": list(outputs)}


def png(width: int, height: int) -> str:
    """Return base64 PNG bytes with this width and height in the header (all a checker reads)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    raw = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + header + b"\0\0\0\0"
    return base64.b64encode(raw).decode()


def stored(nb: dict, folder: Path, name: str = "99_example.ipynb") -> Path:
    """Write ``nb`` as nbformat does (sources as lists of lines, sorted keys, indent 1)."""
    for cell in nb["cells"]:
        if isinstance(cell["source"], str):
            cell["source"] = cell["source"].splitlines(keepends=True)
    path = folder / name
    path.write_text(json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + "\n")
    return path


def test_a_clean_notebook_breaks_no_rule(tmp_path):
    assert problems(stored(clean_notebook(), tmp_path)) == []


@pytest.mark.parametrize(
    ("broken", "reason"),
    [
        ({"metadata": {"widgets": {"state": {}}}}, "stores widget state"),
        (code_cell({"output_type": "display_data", "metadata": {}, "data": {
            WIDGET_VIEW: {"model_id": "ab12"}, "text/plain": "HBox()"}}), "stores a widget view"),
        (code_cell({"output_type": "stream", "name": "stderr",
                    "text": "train:   0%|          | 0/195 [00:00<?, ?it/s]"}),
         "progress bar stored"),
        (code_cell({"output_type": "display_data", "metadata": {},
                    "data": {"image/png": png(1196, 328)}}), "PNG 1196 px wide"),
        (code_cell({"output_type": "error", "ename": "ValueError", "evalue": "bad",
                    "traceback": []}), "error output ValueError: bad"),
        (code_cell({"output_type": "stream", "name": "stdout",
                    "text": f"saved to {tempfile.gettempdir()}/tmpx1/model.pt"}), "path of this"),
        (code_cell({"output_type": "execute_result", "execution_count": 1, "metadata": {},
                    "data": {"text/plain": "'/home/ada/course/data'"}}), "/home/ada"),
        ({"setup": "%pip install git+https://github.com/someone/else"}, "differs from pyproject"),
        ({"setup": None}, "no setup cell"),
        ({"badge": "notebooks/00_start_here.ipynb"}, "no Colab badge opening"),
    ],
)  # fmt: skip
def test_a_notebook_breaking_one_rule_is_reported(broken, reason, tmp_path):
    nb = clean_notebook()
    if broken.get("cell_type") == "code":
        nb["cells"].append(broken)
    elif "metadata" in broken:
        nb["metadata"].update(broken["metadata"])
    elif "setup" in broken:
        if broken["setup"] is None:
            del nb["cells"][1]
        else:
            nb["cells"][1]["source"] += "\n" + broken["setup"]
    elif "badge" in broken:
        nb["cells"][0]["source"] = nb["cells"][0]["source"].replace(
            "notebooks/99_example.ipynb", broken["badge"]
        )
    found = problems(stored(nb, tmp_path))
    assert len(found) == 1 and reason in found[0], found


def test_an_error_in_a_cell_that_says_it_raises_is_allowed(tmp_path):
    error = {"output_type": "error", "ename": "TypeError", "evalue": "tuple", "traceback": []}
    nb = clean_notebook()
    nb["cells"].append(code_cell(error, source="# NBVAL_RAISES_EXCEPTION\ncriterion(out, y)"))
    assert problems(stored(nb, tmp_path)) == []


def test_png_width_reads_a_real_matplotlib_png():
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(12.5, 3), dpi=80)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    assert png_width(buffer.getvalue()) == 1000
