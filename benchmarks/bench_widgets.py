"""Print how long notebook 07's explorers take to answer a control, in Python and in a browser.

    python benchmarks/bench_widgets.py [--repeats 5] [--threads 1] [--baseline HEAD] [--epochs 0]
    python benchmarks/bench_widgets.py --browser [--changes 6] [--think 1.0] [--baseline HEAD]
                                      [--baseline-steps 16]

Python side: the explorers of notebook 07 (``inception_v3_small``, 100 test images, Integrated
Gradients with ``--steps``) at the dpi the notebooks' setup cell sets. An update is what moving a
control costs the kernel: the explorer's redraw, PNG included. "cold" updates compute and draw;
"seen before" ones come back to a choice; "next, drawn ahead" ones move a control one notch
after the explorer drew ahead, as it does while the kernel is idle. With ``--baseline REV``, the
explorers.py of that git revision runs the same updates, interleaved with the current one, and
its figures are rendered as the inline backend renders a displayed figure (cropped to their
tight bounding box). Times are wall-clock and CPU time of this process: on a machine shared with
other jobs the wall-clock time includes waiting for a core, and with one torch thread the CPU
time is what the update takes on an idle core. The completeness of Integrated Gradients is
printed too: the gap between the sum of the attributions and the change of the logit.

Browser side (``--browser``): notebook 07's three explorer cells run in JupyterLab in headless
Chromium (``browser/lab_driver.py``; the network untrained, which changes what the figures show,
not their cost), and every control of every explorer is changed ``--changes`` times, ``--think``
seconds apart; a change is timed from the browser's event to the new figure decoded in the page.
With ``--baseline REV`` the same run is made first with that revision's library (both with
Integrated Gradients' default, 64 steps; ``--baseline-steps 16`` gives the baseline the 16 steps
notebook 07 once used). The goal is 150 ms per update.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import matplotlib
import torch
from torch import nn
from torch.utils.data import Subset

from inception_edu import data, explorers
from inception_edu.attributions import blank_baseline, integrated_gradients, predict
from inception_edu.models import create_model

ROOT = Path(__file__).resolve().parent.parent
GOAL_MS = 150
MODEL = "inception_v3_small"  # notebook 07's network
Times = list[tuple[float, float]]  # (wall-clock ms, CPU ms) of each update


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (Python side)")
    parser.add_argument("--steps", type=int, default=64, help="Integrated Gradients' steps")
    parser.add_argument("--epochs", type=int, default=0, help="train the model first (0: random)")
    parser.add_argument("--baseline", help="a git revision whose explorers.py to compare with")
    parser.add_argument("--browser", action="store_true", help="time the notebook in Chromium")
    parser.add_argument("--changes", type=int, default=6, help="browser: changes per control")
    parser.add_argument("--think", type=float, default=1.0, help="browser: seconds between")
    parser.add_argument(
        "--baseline-steps", type=int, default=None, help="browser: the baseline's IG steps"
    )
    args = parser.parse_args()
    print(_machine())
    if args.browser:
        browser_side(args.baseline, args.changes, args.think, args.baseline_steps)
    else:
        python_side(args)


# --- Python side ---------------------------------------------------------------------------------


def python_side(args: argparse.Namespace) -> None:
    """Time every kind of update of the three explorers; print one table."""
    matplotlib.use("Agg")
    matplotlib.rcParams["figure.dpi"] = setup_cell_dpi()
    torch.set_num_threads(args.threads)
    model = notebook_model(args.epochs)
    test = data.fashion_mnist("test", transform=data.test_transform())
    versions = {"now": explorers}
    if args.baseline:
        versions = {args.baseline: baseline_module(args.baseline), **versions}
    rows: dict[tuple[str, str], dict[str, Times]] = {}
    for scenario in (receptive_field_updates, activation_updates, attribution_updates):
        for version, module in versions.items():
            for widget, what, times in scenario(module, model, test, args):
                rows.setdefault((widget, what), {})[version] = times
    print(
        f"{MODEL} ({args.epochs} epochs of training), {torch.get_num_threads()} torch thread(s), "
        f"figures at {matplotlib.rcParams['figure.dpi']:.0f} dpi, Integrated Gradients with "
        f"{args.steps} steps; goal {GOAL_MS} ms per update, judged on CPU time\n"
    )
    print(_table(rows, list(versions)))
    print()
    print(completeness(model, test, [16, args.steps]))


def notebook_model(epochs: int) -> nn.Module:
    """Return notebook 07's network, trained as the notebook trains it for ``epochs`` epochs."""
    from inception_edu import train

    train.seed_everything(0)
    model = create_model(MODEL)
    if epochs:
        train_loader, val_loader = data.loaders(batch_size=64)
        train.fit(model, train_loader, val_loader, epochs=epochs, lr=0.1, seed=0, progress=False)
    return model.eval()


def receptive_field_updates(module: ModuleType, model, test, args) -> list:
    erf_images = torch.stack([test[i][0] for i in range(16)])
    rf, build = built(lambda: module.receptive_field_explorer(model, test[2][0],
                                                             erf_images=erf_images))  # fmt: skip
    grid = rf.controls["row"].max + 1
    units = [{"row": i % grid, "col": (3 * i + 1) % grid} for i in range(3 * args.repeats)]
    rows = [
        ("receptive field", "build", build),
        ("receptive field", "unit, cold", updates(rf, units)),
        ("receptive field", "unit, seen before", updates(rf, units)),
        ("receptive field", "layer, cold", updates(rf, [{"layer": n} for n in other_layers(rf)])),
    ]
    module_name = rf.update(layer=other_layers(rf)[-1]).values["layer"]
    branches = [{"branch": b} for b in rf.controls["branch"].options[1:]]
    rows.append(("receptive field", f"branch of {module_name}", updates(rf, branches)))
    rows.append(("receptive field", "next unit, drawn ahead", next_moves(rf, "col", args)))
    return rows


def other_layers(explorer) -> list[str]:
    """Return the layers but the stem and the one on show: each is a first visit."""
    current = explorer.values["layer"]
    return [n for n in list(explorer.controls["layer"].options)[1:] if n != current]


def activation_updates(module: ModuleType, model, test, args) -> list:
    image = test[2][0]
    act, build = built(lambda: module.activation_explorer(model, image, test, limit=1000))
    channels = [{"channel": c} for c in range(0, act.controls["channel"].max, 5)][: args.repeats]
    rows = [
        ("activations", "build (1,000 images)", build),
        ("activations", "channel (overview), cold", updates(act, channels)),
    ]
    act.update(view="one channel")
    rows.append(("activations", "channel (one channel), cold", updates(act, channels)))
    rows.append(("activations", "channel, seen before", updates(act, channels)))
    layers = [{"layer": n} for n in other_layers(act)]
    rows.append(("activations", "layer, cold", updates(act, layers)))
    rows.append(("activations", "next channel, drawn ahead", next_moves(act, "channel", args)))
    return rows


def attribution_updates(module: ModuleType, model, test, args) -> list:
    images = Subset(test, range(100))
    att, build = built(lambda: module.attribution_explorer(model, images, n_steps=args.steps))
    fresh = [{"index": i} for i in range(1, 1 + args.repeats)]
    rows = [
        ("attributions", "build", build),
        ("attributions", "image, 4 methods, cold", updates(att, fresh)),
        ("attributions", "image, 4 methods, seen before", updates(att, fresh)),
    ]
    methods = ("integrated_gradients", "saliency", "gradcam", "occlusion")
    for k, method in enumerate(methods):
        att.update(method=method)
        one = [{"index": 20 + 10 * k + i} for i in range(args.repeats)]
        rows.append(("attributions", f"image, {method} only, cold", updates(att, one)))
    att.update(index=1, method="all")
    switch = [{"method": m} for m in (*methods, "all")]
    rows.append(("attributions", "method, seen before", updates(att, switch)))
    att.update(method="gradcam")
    modules = [{"module": m} for m in att.controls["module"].options[1:5]]
    rows.append(("attributions", "branch chart (IG), cold", updates(att, modules)))
    rows.append(("attributions", "branch chart, seen before", updates(att, modules)))
    att.update(module=explorers.NONE, method="all")
    rows.append(("attributions", "next image, drawn ahead", next_moves(att, "index", args)))
    return rows


def built(make: Callable) -> tuple[object, Times]:
    """Return the explorer ``make`` builds and the milliseconds it took, PNGs included."""
    wall, cpu = time.perf_counter(), time.process_time()
    explorer = make()
    _render_like_the_inline_backend(explorer)
    return explorer, [(1000 * (time.perf_counter() - wall), 1000 * (time.process_time() - cpu))]


def updates(explorer, changes: list[dict]) -> Times:
    """Apply each change in turn; return each update's milliseconds, PNGs included."""
    times = []
    for change in changes:
        wall, cpu = time.perf_counter(), time.process_time()
        explorer.update(**change)
        _render_like_the_inline_backend(explorer)
        times.append((1000 * (time.perf_counter() - wall), 1000 * (time.process_time() - cpu)))
    return times


def next_moves(explorer, control: str, args) -> Times:
    """Move ``control`` one notch at a time after the explorer drew ahead; time each move."""
    if not hasattr(explorer, "draw_ahead"):
        return []  # the baseline draws nothing ahead
    times = []
    for _ in range(args.repeats):
        explorer.draw_ahead()  # what the kernel does while idle, between two moves
        value = explorer.values[control] + 1
        if value > explorer.controls[control].max:
            value -= 2
        wall, cpu = time.perf_counter(), time.process_time()
        explorer.controls[control].value = value  # as a person moves it
        times.append((1000 * (time.perf_counter() - wall), 1000 * (time.process_time() - cpu)))
    return times


def _render_like_the_inline_backend(explorer) -> None:
    # The baseline shows figures with display(fig): the inline backend renders each one it drew
    # to PNG, cropped to its tight bounding box. The current explorer renders its PNGs itself.
    for fig in getattr(explorer, "drawn", []):
        fig.savefig(io.BytesIO(), format="png", dpi=fig.dpi, bbox_inches="tight")


def baseline_module(revision: str) -> ModuleType:
    """Import ``inception_edu/explorers.py`` as it was at ``revision``, beside the current one."""
    source = subprocess.run(
        ["git", "show", f"{revision}:inception_edu/explorers.py"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    path = Path(tempfile.mkdtemp()) / "explorers_baseline.py"
    path.write_text(source)
    # A name inside the package, so that its relative imports find the current library.
    spec = importlib.util.spec_from_file_location("inception_edu._explorers_baseline", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def setup_cell_dpi() -> float:
    """Return the figure dpi that the notebooks' setup cell sets (scripts/set_repository_url.py)."""
    text = (ROOT / "scripts" / "set_repository_url.py").read_text()
    match = re.search(r'rcParams\["figure\.dpi"\] = (\d+)', text)
    return float(match.group(1)) if match else matplotlib.rcParamsDefault["figure.dpi"]


def completeness(model: nn.Module, test, steps: list[int], n: int = 10) -> str:
    """Return, per number of steps, how far Integrated Gradients' sum misses the logit change."""
    baseline = blank_baseline(test[0][0])
    lines = ["Integrated Gradients' completeness on the first test images (predicted class):"]
    for n_steps in steps:
        gaps = []
        for i in range(n):
            image = test[i][0]
            target = int(predict(model, image).argmax())
            with torch.no_grad():
                change = (model(image[None]) - model(baseline[None]))[0, target].item()
            attr, _ = integrated_gradients(model, image, target, n_steps=n_steps)
            gaps.append(abs(attr.sum().item() - change) / max(abs(change), 1e-12))
        lines.append(
            f"  {n_steps:>3} steps: misses the logit change by {statistics.median(gaps):.2%} "
            f"(median), {max(gaps):.2%} (worst) over {n} images"
        )
    return "\n".join(lines)


# --- browser side --------------------------------------------------------------------------------


def browser_side(
    baseline: str | None, changes: int, think: float, baseline_steps: int | None = None
) -> None:
    """Run notebook 07's explorers in Chromium (the baseline first, if any); print each table."""
    sys.path.insert(0, str(ROOT / "browser"))  # the browser test's driver, not an installed package
    from lab_driver import Unavailable, run_explorers, summary

    runs = []
    if baseline:
        folder = Path(tempfile.mkdtemp())
        archive = subprocess.run(["git", "archive", baseline], cwd=ROOT, capture_output=True,
                                 check=True).stdout  # fmt: skip
        subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
        label = "the default 64" if baseline_steps is None else str(baseline_steps)
        runs.append(
            (f"{baseline}, Integrated Gradients with {label} steps", str(folder), baseline_steps)
        )
    runs.append(("now, Integrated Gradients with the default 64 steps", None, None))
    for title, python_path, steps in runs:
        try:
            report = run_explorers(
                explorer_notebook(steps), changes=changes, think=think, python_path=python_path
            )
        except Unavailable as err:
            print(f"skipped: {err}")
            return
        print(f"\n{title} ({changes} changes per control, {think:g} s apart)\n{summary(report)}")


def explorer_notebook(steps: int | None) -> Path:
    """Write a notebook with notebook 07's three explorer cells, on an untrained network.

    Training (a minute on an idle laptop, much longer on a busy machine) changes what the figures
    show, not what drawing them costs, so the run is left out.
    """
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    n_steps = "" if steps is None else f", n_steps={steps}"
    cells = [
        f"import matplotlib\n\nmatplotlib.rcParams['figure.dpi'] = {setup_cell_dpi():.0f}",
        "import torch\nfrom IPython.display import display\nfrom torch.utils.data import Subset\n"
        "from inception_edu import data\nfrom inception_edu.explorers import activation_explorer, "
        "attribution_explorer, receptive_field_explorer\n"
        "from inception_edu.models import inception_v3_small",
        "torch.manual_seed(0)\nmodel = inception_v3_small().eval()\n"
        "test_set = data.fashion_mnist('test', transform=data.test_transform())\n"
        "image = test_set[2][0]  # the first trouser, as in notebook 07\n"
        "erf_images = torch.stack([test_set[i][0] for i in range(16)])",
        "field_explorer = receptive_field_explorer({'inception_v3_small': model}, image, "
        "erf_images=erf_images)\ndisplay(field_explorer)",
        "activations_explorer = activation_explorer(model, image, test_set, limit=1000)\n"
        "display(activations_explorer)",
        f"attributions_explorer = attribution_explorer(model, Subset(test_set, range(100))"
        f"{n_steps})\ndisplay(attributions_explorer)",
    ]
    nb = new_notebook(cells=[new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    path = Path(tempfile.mkdtemp()) / "07_explorers.ipynb"
    nbformat.write(nb, path)
    return path


def _table(rows: dict[tuple[str, str], dict[str, Times]], versions: list[str]) -> str:
    header = ["widget", "update"]
    for version in versions:
        header += [f"{version} CPU ms", f"{version} wall ms", "max wall", "n"]
    header.append("goal")
    lines = [header]
    for (widget, what), by_version in rows.items():
        cells = [widget, what]
        for version in versions:
            times = by_version.get(version, [])
            if not times:
                cells += ["-", "-", "-", "0"]
                continue
            cells += [
                f"{statistics.median(c for _, c in times):.0f}",
                f"{statistics.median(w for w, _ in times):.0f}",
                f"{max(w for w, _ in times):.0f}",
                str(len(times)),
            ]
        now = by_version.get(versions[-1], [])
        ok = now and statistics.median(c for _, c in now) <= GOAL_MS
        cells.append("" if what.startswith("build") or not now else ("ok" if ok else "over"))
        lines.append(cells)
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for i, line in enumerate(lines):
        out.append("  ".join(c.ljust(w) if j < 2 else c.rjust(w)
                             for j, (c, w) in enumerate(zip(line, widths))).rstrip())  # fmt: skip
        if i == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def _machine() -> str:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{os.cpu_count()} cores, load average {load} (other jobs share this machine)"


if __name__ == "__main__":
    main()
