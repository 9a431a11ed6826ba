"""Drive a notebook's explorers in a real browser: JupyterLab, headless Chromium and Playwright.

    python browser/lab_driver.py [notebooks/07_looking_inside.ipynb] [--changes 4] [--think 1.0]

``run_explorers`` copies the notebook to a temporary folder (the committed file is never touched),
starts JupyterLab from this environment on a free local port (no token, no browser, its settings
in that folder: the notebook's ``windowingMode`` is "none", so every cell is in the page), opens
the notebook in Debian's Chromium through Playwright, runs all cells, then moves every control of
every explorer (each dropdown, slider and toggle) a few times and times each change: from the
browser's change event (``change``, ``keydown`` or ``click``) to the moment the explorer's new
figure is decoded in the page. A change is made only once the previous one has settled and
``think`` seconds have passed, the pace of a person looking at each figure.

``browser/test_notebook_07.py`` asserts on the result and ``benchmarks/bench_widgets.py`` prints
it; run as a script, this file prints the latency table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "07_looking_inside.ipynb"
EXPLORER_CALLS = ("receptive_field_explorer(", "activation_explorer(", "attribution_explorer(")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# Lab settings that keep the run self-contained: every cell attached to the page, and no
# look-ups on the internet (news, extension manager) that this closed network would refuse.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/extensionmanager-extension/plugin": {"enabled": False},
}
WATCHER = (Path(__file__).with_name("watch_figures.js")).read_text()


class Unavailable(RuntimeError):
    """Chromium or Playwright is missing: the browser check cannot run here."""


@dataclass
class Change:
    """One timed change of one control."""

    explorer: int
    control: str
    kind: str  # "dropdown", "slider" or "toggle"
    value: str  # the value chosen, as the control shows it
    ms: float | None  # None: the figure did not change
    error: str = ""


@dataclass
class Report:
    """What a run found: errors, explorers seen, and every timed change."""

    notebook: str
    seconds_to_run: float
    errors: list[str]
    unexecuted: list[int]
    expected_explorers: int
    rendered_explorers: list[bool]
    changes: list[Change] = field(default_factory=list)
    skipped_controls: list[str] = field(default_factory=list)

    def per_control(self) -> dict[tuple[int, str], list[Change]]:
        """Return {(explorer, control): its changes}, in the order they were made."""
        grouped: dict[tuple[int, str], list[Change]] = {}
        for change in self.changes:
            grouped.setdefault((change.explorer, change.control), []).append(change)
        return grouped

    def table(self) -> str:
        """Return the latency table: per control, the median and worst milliseconds."""
        lines = [f"{'explorer':<9}{'control':<16}{'kind':<10}{'n':>3}{'median ms':>11}{'worst':>8}"]
        for (explorer, control), changes in self.per_control().items():
            times = [c.ms for c in changes if c.ms is not None]
            median = f"{statistics.median(times):.0f}" if times else "-"
            worst = f"{max(times):.0f}" if times else "-"
            missed = len(changes) - len(times)
            note = f"  {missed} without a new figure" if missed else ""
            lines.append(
                f"{explorer:<9}{control:<16}{changes[0].kind:<10}{len(changes):>3}"
                f"{median:>11}{worst:>8}{note}"
            )
        every = [c.ms for c in self.changes if c.ms is not None]
        if every:
            lines.append(
                f"all controls: median {statistics.median(every):.0f} ms, "
                f"worst {max(every):.0f} ms over {len(every)} changes"
            )
        return "\n".join(lines)


def check_available() -> str:
    """Return Chromium's path; raise Unavailable (saying what to install) if it cannot run."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise Unavailable("no Chromium on PATH (Debian: apt-get install -y chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as err:
        raise Unavailable(
            f"Playwright's Python package is missing ({err}): pip install playwright"
        ) from err
    return chromium


def run_explorers(
    notebook: Path = NOTEBOOK,
    *,
    changes: int = 4,
    think: float = 1.0,
    python_path: str | None = None,
    edits: Sequence[tuple[str, str]] = (),
    run_timeout: float = 5400.0,
    screenshot: Path | None = None,
) -> Report:
    """Run ``notebook`` in JupyterLab in headless Chromium, move its explorers' controls, time them.

    ``changes`` changes are made per control; ``python_path`` is put first on the kernel's
    PYTHONPATH (to measure another copy of the library); ``edits`` are (old, new) replacements
    made in the copy's code cells (each old text must be there). Raises Unavailable without
    Chromium or Playwright.
    """
    chromium = check_available()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="lab-driver-") as tmp:
        folder = Path(tmp)
        (folder / "work").mkdir()
        copy = folder / "work" / notebook.name
        _copy_with_edits(notebook, copy, edits)
        explorer_cells = _explorer_cells(copy)
        with _jupyterlab(folder, python_path) as url, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.set_default_timeout(120_000)
                report = _run_notebook(page, url, copy.name, explorer_cells, run_timeout)
                if not report.errors and all(report.rendered_explorers):
                    for i in range(len(explorer_cells)):
                        _exercise(page, i, changes, think, report)
                if screenshot is not None:
                    page.screenshot(path=str(screenshot), full_page=True)
            finally:
                browser.close()
    return report


# --- JupyterLab ----------------------------------------------------------------------------------


@contextmanager
def _jupyterlab(folder: Path, python_path: str | None) -> Iterator[str]:
    """Start JupyterLab serving ``folder``/work, with its settings in ``folder``; yield its URL."""
    settings = folder / "settings"
    for plugin, values in LAB_SETTINGS.items():
        path = settings / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    port = _free_port()
    env = dict(os.environ)
    env["JUPYTER_RUNTIME_DIR"] = str(folder / "runtime")
    # The kernel must start from this environment (its kernelspec says "python").
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    if python_path:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [python_path, env.get("PYTHONPATH")]))
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--port-retries=0",
        "--ServerApp.ip=127.0.0.1", "--IdentityProvider.token=", "--ServerApp.password=",
        f"--ServerApp.root_dir={folder / 'work'}", f"--LabApp.user_settings_dir={settings}",
        f"--LabApp.workspaces_dir={folder / 'workspaces'}", "--LabApp.expose_app_in_browser=True",
    ]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # CI and containers run as root
    log = (folder / "jupyterlab.log").open("w")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_for_server(url, server, folder / "jupyterlab.log")
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_server(url: str, server: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with {server.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/api/status", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"JupyterLab did not answer within {timeout:.0f} s:\n{log.read_text()}")


# --- the notebook --------------------------------------------------------------------------------


def _copy_with_edits(source: Path, copy: Path, edits: Sequence[tuple[str, str]]) -> None:
    nb = json.loads(source.read_text())
    for old, new in edits:
        found = False
        for cell in nb["cells"]:
            text = "".join(cell["source"])
            if cell["cell_type"] == "code" and old in text:
                cell["source"] = text.replace(old, new)
                found = True
        if not found:
            raise ValueError(f"{source.name} has no code cell with {old!r} to replace")
    copy.write_text(json.dumps(nb, indent=1, ensure_ascii=False))


def _explorer_cells(path: Path) -> list[int]:
    """Return the indices of the code cells that build an explorer (imports do not count)."""
    cells = json.loads(path.read_text())["cells"]
    found = []
    for i, cell in enumerate(cells):
        source = "".join(cell["source"])
        lines = source.splitlines()
        code = "\n".join(x for x in lines if not x.lstrip().startswith(("from ", "import ")))
        if cell["cell_type"] == "code" and any(call in code for call in EXPLORER_CALLS):
            found.append(i)
    return found


def _run_notebook(page, url: str, name: str, explorer_cells: list[int], timeout: float) -> Report:
    """Open the notebook, run all its cells; return what the page shows (no changes made yet)."""
    page.goto(f"{url}/lab/tree/{name}")
    page.wait_for_function(
        "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
        " && window.jupyterapp.shell.currentWidget.sessionContext",
        timeout=180_000,
    )
    page.evaluate(WATCHER)
    start = time.perf_counter()
    page.evaluate(
        f"(cells) => window.__explorers.runAll(cells, {int(timeout * 1000)})", explorer_cells
    )
    seconds = time.perf_counter() - start
    state = page.evaluate("() => window.__explorers.state()")
    return Report(
        notebook=name,
        seconds_to_run=seconds,
        errors=state["errors"],
        unexecuted=state["unexecuted"],
        expected_explorers=len(explorer_cells),
        rendered_explorers=state["rendered"],
    )


# --- the controls --------------------------------------------------------------------------------


def _exercise(page, explorer: int, changes: int, think: float, report: Report) -> None:
    """Change every control of explorer ``explorer`` ``changes`` times, timing each change.

    Controls are moved in their order on screen and left where they end, so that a control's
    dependents (a layer's branches, a module's branch chart) have something to show. Each value
    is chosen from the control as the page shows it just before the change: a control's choices
    follow the controls before it (a new layer, new branches; a smaller grid, a shorter slider).
    """
    count = len(page.evaluate("(i) => window.__explorers.controls(i)", explorer))
    for index in range(count):
        step = 1  # a slider's direction, kept from one change to the next
        for k in range(changes):
            _settle(page, explorer, think)
            control = page.evaluate("(i) => window.__explorers.controls(i)", explorer)[index]
            name, kind = control["name"], control["kind"]
            value, step = _next(control, step)
            if value is None:
                if k == 0:
                    report.skipped_controls.append(
                        f"explorer {explorer}, {name}: nothing to change to"
                    )
                else:  # it had choices a moment ago: a control that lost them is a problem
                    report.changes.append(
                        Change(explorer, name, kind, "-", None, "no choice left to change to")
                    )
                break
            page.evaluate("(i) => window.__explorers.arm(i)", explorer)
            _act(page, explorer, index, kind, value, control)
            result = page.evaluate("() => window.__explorers.result()")
            report.changes.append(
                Change(explorer, name, kind, str(value), result["ms"], result["error"])
            )


def _next(control: dict, step: int = 1) -> tuple:
    """Return (the value to set next, the slider's direction): a value other than the current one.

    A slider steps one notch, turning back at its end. A dropdown or toggle takes the choice after
    the current one, round the list. A dropdown's first choice is left once left: in the
    explorers it is the special one (the predicted class, no module, the stem before the first
    Inception module), on which other controls have nothing to show. The value is None when the
    control has nothing to change to.
    """
    if control["kind"] == "slider":
        low, high, value = control["min"], control["max"], control["value"]
        if low == high:
            return None, step
        if not low <= value + step <= high:
            step = -step
        return value + step, step
    choices = control["choices"]
    if control["kind"] == "dropdown" and len(choices) > 2:
        choices = choices[1:]
    if choices in ([], [control["value"]]):
        return None, step
    if control["value"] in choices:
        return choices[(choices.index(control["value"]) + 1) % len(choices)], step
    return choices[0], step


def _act(page, explorer: int, index: int, kind: str, value, control: dict) -> None:
    """Set control ``index`` of the explorer to ``value`` as a person would."""
    root = page.locator(".inception-edu-explorer-root").nth(explorer)
    widget = root.locator(".inception-edu-explorer-control").nth(index)
    if kind == "dropdown":
        widget.locator("select").select_option(label=value)
    elif kind == "toggle":
        widget.locator("button").nth(control["choices"].index(value)).click()
    else:
        handle = widget.locator(".noUi-handle, .ui-slider-handle").first
        current = page.evaluate(
            "([e, c]) => window.__explorers.sliderValue(e, c)", [explorer, index]
        )
        key = "ArrowRight" if value > current else "ArrowLeft"
        for _ in range(abs(value - current)):
            handle.press(key)


def _settle(page, explorer: int, think: float) -> None:
    """Wait until the kernel is idle and the explorer is still, then ``think`` seconds more."""
    page.wait_for_function("(i) => window.__explorers.settled(i)", arg=explorer, timeout=300_000)
    if think:
        time.sleep(think)


def main() -> int:
    """Run a notebook's explorers in the browser and print the latency table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", nargs="?", type=Path, default=NOTEBOOK)
    parser.add_argument("--changes", type=int, default=4, help="changes per control")
    parser.add_argument("--think", type=float, default=1.0, help="seconds between changes")
    parser.add_argument("--python-path", help="put this first on the kernel's PYTHONPATH")
    parser.add_argument(
        "--edit", nargs=2, action="append", default=[], metavar=("OLD", "NEW"),
        help="replace OLD by NEW in the copy's code cells",
    )  # fmt: skip
    parser.add_argument("--screenshot", type=Path, help="save a full-page PNG at the end")
    args = parser.parse_args()
    try:
        report = run_explorers(
            args.notebook, changes=args.changes, think=args.think,
            python_path=args.python_path, edits=args.edit, screenshot=args.screenshot,
        )  # fmt: skip
    except Unavailable as err:
        print(f"skipped: {err}")
        return 0
    print(summary(report))
    return 0 if not problems(report) else 1


def summary(report: Report) -> str:
    """Return a readable account of a run: time, errors, explorers and the latency table."""
    lines = [
        f"{report.notebook}: all cells ran in {report.seconds_to_run:.0f} s; "
        f"{sum(report.rendered_explorers)} of {report.expected_explorers} explorers rendered",
        *(f"error: {e}" for e in report.errors),
        *(f"skipped: {s}" for s in report.skipped_controls),
        report.table(),
        *(f"problem: {p}" for p in problems(report)),
    ]
    return "\n".join(lines)


def problems(report: Report) -> list[str]:
    """Return what is wrong: errors, cells not run, explorers not drawn, changes without figure."""
    found = [f"error output: {e}" for e in report.errors]
    if report.unexecuted:
        found.append(f"cells not executed: {report.unexecuted}")
    if len(report.rendered_explorers) != report.expected_explorers:
        found.append(
            f"{report.expected_explorers} explorer cells, "
            f"{len(report.rendered_explorers)} explorers in the page"
        )
    rendered = enumerate(report.rendered_explorers)
    found += [f"explorer {i} shows no figure" for i, ok in rendered if not ok]
    for c in report.changes:
        if c.ms is None or c.error:
            what = c.error or "its figure did not change"
            found.append(f"explorer {c.explorer}, {c.control} → {c.value}: {what}")
    return found


if __name__ == "__main__":
    sys.exit(main())
