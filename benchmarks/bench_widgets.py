"""Print how long each explorer widget takes to build and to update, on a small model and this CPU.

    python benchmarks/bench_widgets.py [--model googlenet_small] [--repeats 7] [--threads 1]

An update is what moving a control costs: the explorer's redraw (cached work reused, new work
done) plus rendering the figures it drew to PNG, as the notebook's inline backend does (100 dpi,
bbox_inches="tight"). "cold" updates need new model passes (a new image or target for the
attribution explorer); "warm" ones find them cached. The goal is 150 ms per update.

Two times are printed: wall-clock, and the CPU time of this process. On a machine shared with
other jobs the wall-clock time is inflated by waiting for a core; with one thread, the CPU time is
what the update takes on an idle core.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import time
from collections.abc import Callable

import matplotlib
import torch
from torch import nn

from inception_edu import data
from inception_edu.explorers import (
    Explorer,
    activation_explorer,
    attribution_explorer,
    receptive_field_explorer,
)
from inception_edu.models import create_model

GOAL_MS = 150


def small_model(name: str) -> nn.Module:
    torch.manual_seed(0)
    return create_model(name).eval()


def render(explorer: Explorer) -> None:
    # Only what the update drew: an output whose figure did not change is not sent again.
    for fig in explorer.drawn:
        fig.savefig(io.BytesIO(), format="png", dpi=100, bbox_inches="tight")


def timed(step: Callable[[], Explorer]) -> tuple[float, float]:
    """Return the (wall-clock, CPU) milliseconds of ``step`` and of rendering what it drew."""
    wall, cpu = time.perf_counter(), time.process_time()
    render(step())
    return 1000 * (time.perf_counter() - wall), 1000 * (time.process_time() - cpu)


def time_updates(explorer: Explorer, changes: list[dict], repeats: int) -> list[tuple]:
    """Apply the changes in turn, ``repeats`` times over; return each update's milliseconds."""
    return [
        timed(lambda c=change: explorer.update(**c)) for _ in range(repeats) for change in changes
    ]


def built(make: Callable[[], Explorer]) -> tuple[Explorer, list[tuple[float, float]]]:
    """Return the explorer ``make`` builds and the (wall-clock, CPU) milliseconds it took."""
    wall, cpu = time.perf_counter(), time.process_time()
    explorer = make()
    render(explorer)
    return explorer, [(1000 * (time.perf_counter() - wall), 1000 * (time.process_time() - cpu))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="googlenet_small")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    matplotlib.use("Agg")
    torch.set_num_threads(args.threads)
    name, model = args.model, small_model(args.model)
    test = data.fashion_mnist("test", transform=data.test_transform())
    image = test[0][0]
    rows: list[tuple[str, str, list[tuple[float, float]]]] = []

    rf, seconds = built(lambda: receptive_field_explorer(model, image))
    rows.append(("receptive field", "build", seconds))
    layers = rf.controls["layer"].options
    grid = rf.controls["row"].max + 1
    # Every unit a new one: each update measures its effective field (a backward pass).
    units = [{"row": i % grid, "col": (3 * i + 1) % grid} for i in range(4 * args.repeats)]
    rows.append(("receptive field", "unit (new ERF)", time_updates(rf, units, 1)))
    layer_changes = [{"layer": n} for n in layers[:4]]
    rows.append(("receptive field", "layer", time_updates(rf, layer_changes, 2)))
    module = rf.update(layer=layers[-2]).values["layer"]
    branches = [{"branch": b} for b in rf.controls["branch"].options]
    rows.append(("receptive field", f"branch of {module}", time_updates(rf, branches, 2)))

    act, seconds = built(lambda: activation_explorer(model, image, test, limit=2000))
    rows.append(("activations", "build (2,000 images)", seconds))
    channels = [{"channel": c} for c in range(0, act.controls["channel"].max, 7)][:6]
    rows.append(("activations", "channel (overview)", time_updates(act, channels, args.repeats)))
    act.update(view="one channel")
    rows.append(("activations", "channel (one channel)", time_updates(act, channels, args.repeats)))
    act_layers = [{"layer": n} for n in act.controls["layer"].options[:6]]
    rows.append(("activations", "layer", time_updates(act, act_layers, 2)))

    att, seconds = built(lambda: attribution_explorer(model, test))
    rows.append(("attributions", "build", seconds))
    images = [{"index": i} for i in range(1, 1 + args.repeats)]
    rows.append(("attributions", "image, 4 methods, cold", time_updates(att, images, 1)))
    rows.append(("attributions", "image, 4 methods, warm", time_updates(att, images, 1)))
    methods = ("integrated_gradients", "saliency", "gradcam", "occlusion")
    for k, method in enumerate(methods):
        # One method shown, a new image each time: only that method's attribution is computed.
        fresh = [{"method": method, "index": 100 + 10 * k + i} for i in range(args.repeats)]
        rows.append(("attributions", f"image, {method} only, cold", time_updates(att, fresh, 1)))
    att.update(index=1)
    switch = [{"method": m} for m in methods]
    rows.append(("attributions", "method, warm", time_updates(att, switch, args.repeats)))
    att.update(method="gradcam")
    modules = att.controls["module"].options[1:]
    branch_cold = [{"module": m} for m in modules[:4]]
    rows.append(("attributions", "branch chart (IG), cold", time_updates(att, branch_cold, 1)))
    rows.append(("attributions", "branch chart, warm", time_updates(att, branch_cold, 2)))

    print(
        f"{name}, {torch.get_num_threads()} torch thread(s), load average "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores; "
        f"goal {GOAL_MS} ms per update, judged on CPU time\n"
    )
    header = ("widget", "update", "wall ms", "CPU ms", "max wall", "n", "goal")
    lines = [header] + [_cells(widget, what, ms) for widget, what, ms in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for i, line in enumerate(lines):
        cells = [c.ljust(w) if j < 2 else c.rjust(w) for j, (c, w) in enumerate(zip(line, widths))]
        print("  ".join(cells).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))


def _cells(widget: str, what: str, ms: list[tuple[float, float]]) -> tuple[str, ...]:
    wall = statistics.median(w for w, _ in ms)
    cpu = statistics.median(c for _, c in ms)
    goal = "" if what.startswith("build") else ("ok" if cpu <= GOAL_MS else "over")
    worst = max(w for w, _ in ms)
    return (widget, what, f"{wall:.0f}", f"{cpu:.0f}", f"{worst:.0f}", str(len(ms)), goal)


if __name__ == "__main__":
    main()
