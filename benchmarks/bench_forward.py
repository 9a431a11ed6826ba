"""Eval forward time of our networks, eager and in deploy mode, against torchvision's and timm's.

For each network the reference implementation (torchvision's ``inception_v3`` and ``googlenet``,
timm's ``inception_v4``) and ours hold the same weights: the reference's default initialisation
with BatchNorm statistics measured on a random batch, so that activations and outputs have
realistic sizes (with the default running statistics the outputs are little more than the
classifier's bias, and any two implementations agree trivially). Ours loads the reference's state
dict with ``strict=True``.

Routes, each timed on the same channels_last batch:

- ``reference``: the reference network, eager, channels_last weights (the baseline);
- ``eager``: ours, eager, channels_last;
- ``fused``: ``inception_edu.deploy.fuse`` (BatchNorm folded, sibling 1×1 convs merged), eager;
- ``compiled``: ours through ``torch.compile`` with Inductor's freezing (``compile_frozen``);
- ``compiled+fused``: the fused network through the same compiler.

``--extra`` adds routes that are measured for comparison: ``fused (BN only)`` (no merging),
``reference compiled``, ``TorchScript`` (``torch.jit.trace`` → ``freeze`` →
``optimize_for_inference``) and ``fx+mkldnn`` (``torch.fx.experimental.optimization.
optimize_for_inference``).

Repeats are interleaved, alternating the order of the routes, so that a busy machine slows all of
them alike; the first call of each route (for compiled routes: the compilation) is not timed, and
its time is printed separately. Speed-up = reference time / route time (> 1: faster). The
"float32 noise" column is how far the reference's own outputs move between contiguous and
channels_last layouts: rounding alone, the scale against which the other routes' max |Δ| is read.
Nothing about time is asserted.

Under each table, the **compute floor**: the network's multiply-adds (``inception_edu.cost``)
divided by this machine's matrix-multiply rate (the best of the 2048×2048 float32 products timed
between the routes' repeats, so that it sees the same load). That rate is a practical ceiling,
not a hard one: oneDNN's best convolution kernels run at about it, a few per cent above or below.
A route at the floor is as fast as float32 arithmetic of the same convolutions gets, so the
reference's time over the floor is about what any exact route can still gain here. It also
prints the share of the best route's time spent in convolutions and matrix products
(``torch.profiler``): what is left to optimise outside them.

    python benchmarks/bench_forward.py [--models inception_v3 googlenet inception_v4]
        [--batch 8 1] [--repeats 10] [--threads N] [--extra] [--no-compile]
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import statistics
import time
import warnings
from collections.abc import Callable

import timm
import torch
import torchvision
from torch import Tensor, nn

from inception_edu.cost import count
from inception_edu.deploy import compile_frozen, fuse
from inception_edu.models import googlenet, inception_v3, inception_v4

MODELS = ("inception_v3", "googlenet", "inception_v4")
REFERENCE_NAMES = {
    "inception_v3": "torchvision",
    "googlenet": "torchvision",
    "inception_v4": "timm",
}
IMAGE_SIZES = {"inception_v3": 299, "googlenet": 224, "inception_v4": 299}
Route = Callable[[Tensor], Tensor]
MATMUL = "matrix product"
MATMUL_SIZE = 2048


def main() -> None:
    """Run the benchmark and print one table per network."""
    args = parse_args()
    torch.set_num_threads(args.threads)
    # TorchScript's tracer warnings and deprecation notices would bury the table.
    for category in (UserWarning, FutureWarning, torch.jit.TracerWarning):
        warnings.filterwarnings("ignore", category=category)
    print(
        f"torch {torch.__version__}, torchvision {torchvision.__version__}, timm "
        f"{timm.__version__}; {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"{args.threads} threads; eval, channels_last, no_grad, {args.repeats} interleaved "
        f"repeats; load average at start {os.getloadavg()[0]:.2f}"
    )
    for name in args.models:
        for batch in args.batch:
            run(name, batch, args)
    print(f"load average at end {os.getloadavg()[0]:.2f}")


def parse_args() -> argparse.Namespace:
    """Return the command-line arguments."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--batch", nargs="+", type=int, default=[8, 1])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--extra", action="store_true", help="also time the comparison routes")
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile routes")
    args = parser.parse_args()
    if min(args.batch) < 1 or args.repeats < 1 or args.threads < 1:
        parser.error("--batch, --repeats and --threads must be at least 1")
    return args


def run(name: str, batch: int, args: argparse.Namespace) -> None:
    """Time every route of network ``name`` on one batch and print the table."""
    torch.manual_seed(0)
    size = IMAGE_SIZES[name]
    x = torch.randn(batch, 3, size, size).contiguous(memory_format=torch.channels_last)
    reference, ours = build_pair(name, calibration=torch.randn(8, 3, size, size))
    with torch.no_grad():
        noise = (reference(x.contiguous()) - reference_cl(reference)(x)).abs().max().item()
    routes, setup_seconds = build_routes(reference, ours, x, args)
    # The matrix product is timed between the routes, so that it sees the same load as they do.
    routes[MATMUL] = matmul_probe()
    seconds, outputs = time_routes(routes, x, args.repeats)
    matmul_seconds = seconds.pop(MATMUL)
    del routes[MATMUL], outputs[MATMUL]

    ref_label = REFERENCE_NAMES[name]
    base = seconds["reference"]
    print(
        f"\n{name}: batch {batch}×3×{size}×{size}; reference = {ref_label}; output scale "
        f"max |y| = {outputs['reference'].abs().max().item():.3f}; float32 noise "
        f"(reference contiguous vs channels_last) = {noise:.1e}"
    )
    header = (
        "route", "median ms", "min ms", "images/s", "speed-up", "(min)", "max |Δ|", "warm-up s",
    )
    print("{:<20} {:>10} {:>10} {:>9} {:>9} {:>7} {:>9} {:>10}".format(*header))
    for route, times in seconds.items():
        median = statistics.median(times)
        diff = (outputs[route] - outputs["reference"]).abs().max().item()
        print(
            f"{route:<20} {1e3 * median:>10.1f} {1e3 * min(times):>10.1f} "
            f"{batch / median:>9.2f} {statistics.median(base) / median:>8.2f}× "
            f"{min(base) / min(times):>6.2f}× {diff:>9.1e} {setup_seconds[route]:>10.1f}"
        )
    print_floor(ours, x, seconds, routes, MATMUL_SIZE**3 / min(matmul_seconds))


def matmul_probe() -> Route:
    """Return a route that ignores its input and multiplies two float32 square matrices."""
    a, b = torch.randn(MATMUL_SIZE, MATMUL_SIZE), torch.randn(MATMUL_SIZE, MATMUL_SIZE)
    return lambda _: a @ b


def print_floor(
    ours: nn.Module,
    x: Tensor,
    seconds: dict[str, list[float]],
    routes: dict[str, Route],
    peak: float,
) -> None:
    """Print the compute floor, the speed-up a route at the floor would have, the best route's
    profile."""
    macs = count(ours, tuple(x.shape)).macs
    floor = macs / peak
    fastest = {route: min(times) for route, times in seconds.items()}
    best = min(fastest, key=fastest.__getitem__)
    print(
        f"compute floor: {macs / 1e9:.2f} G multiply-adds at {peak / 1e9:.1f} GMAC/s (the best "
        f"{MATMUL_SIZE}×{MATMUL_SIZE} matrix product between the repeats) = {1e3 * floor:.1f} "
        f"ms; a route running every convolution at that rate would be "
        f"{fastest['reference'] / floor:.2f}× faster than the reference's best repeat. Best "
        f"repeats: reference {macs / fastest['reference'] / 1e9:.1f} GMAC/s, {best} "
        f"{macs / fastest[best] / 1e9:.1f} GMAC/s ({100 * floor / fastest[best]:.0f}% of the "
        f"matrix-product rate), {100 * matmul_share(routes[best], x):.0f}% of its time in "
        "convolutions and matrix products"
    )


def matmul_share(route: Route, x: Tensor) -> float:
    """Return the share of ``route``'s CPU time spent in convolution and matrix-product kernels."""
    from torch.profiler import ProfilerActivity, profile

    # Level 6 keeps the profiler's start/stop notes and its search for a GPU out of the table (read
    # when profiling first starts, so setting it here works; level 5 lets the notes through).
    os.environ.setdefault("KINETO_LOG_LEVEL", "6")
    with torch.no_grad(), profile(activities=[ProfilerActivity.CPU]) as prof:
        route(x)
    events = [e for e in prof.key_averages() if e.self_cpu_time_total > 0]
    total = sum(e.self_cpu_time_total for e in events)
    kernels = ("conv", "mkldnn", "linear", "matmul", "mm")  # "mm" also covers addmm, bmm
    heavy = sum(e.self_cpu_time_total for e in events if any(k in e.key for k in kernels))
    return heavy / total if total else 0.0


def build_pair(name: str, calibration: Tensor) -> tuple[nn.Module, nn.Module]:
    """Return the reference network and ours, in eval mode, holding the same weights."""
    if name == "inception_v3":
        reference = torchvision.models.inception_v3(
            weights=None, aux_logits=False, init_weights=False
        )
        ours = inception_v3(aux_logits=False)
    elif name == "googlenet":
        reference = torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=False)
        ours = googlenet(aux_logits=False, branch3_kernel=3)
    else:
        reference = timm.create_model("inception_v4", pretrained=False)
        ours = inception_v4()
    measure_batch_norm(reference, calibration)
    ours.load_state_dict(reference.state_dict(), strict=True)
    return reference.eval(), ours.eval()


def measure_batch_norm(model: nn.Module, images: Tensor) -> None:
    """Set every BatchNorm's running statistics to those of ``images`` (one pass, no gradients)."""
    model.eval()
    for bn in (m for m in model.modules() if isinstance(m, nn.BatchNorm2d)):
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average: after one batch, exactly its statistics
        bn.train()
    with torch.no_grad():
        model(images)
    model.eval()


def reference_cl(reference: nn.Module) -> nn.Module:
    """Return a channels_last copy of ``reference``."""
    return copy.deepcopy(reference).to(memory_format=torch.channels_last)


def build_routes(
    reference: nn.Module, ours: nn.Module, x: Tensor, args: argparse.Namespace
) -> tuple[dict[str, Route], dict[str, float]]:
    """Return the routes to time and each one's warm-up time (compilation included) in seconds."""
    ours_cl = copy.deepcopy(ours).to(memory_format=torch.channels_last)
    makers: dict[str, Callable[[], Route]] = {
        "reference": lambda: reference_cl(reference),
        "eager": lambda: ours_cl,
        "fused": lambda: fuse(ours),
    }
    if not args.no_compile:
        makers["compiled"] = lambda: compile_frozen(copy.deepcopy(ours_cl), x)
        makers["compiled+fused"] = lambda: compile_frozen(fuse(ours), x)
    if args.extra:
        makers["fused (BN only)"] = lambda: fuse(ours, horizontal=False)
        makers["TorchScript"] = lambda: torchscript(ours_cl, x)
        makers["fx+mkldnn"] = lambda: fx_mkldnn(ours)
        if not args.no_compile:
            makers["reference compiled"] = lambda: compile_frozen(reference_cl(reference), x)
    routes, seconds = {}, {}
    for route, make in makers.items():
        start = time.perf_counter()
        routes[route] = make()
        with torch.no_grad():
            routes[route](x)  # first call: allocations, oneDNN primitives; compiled already
        seconds[route] = time.perf_counter() - start
    return routes, seconds


def torchscript(model: nn.Module, x: Tensor) -> Route:
    """Return ``model`` traced by TorchScript, frozen and optimised for inference."""
    with torch.no_grad():
        traced = torch.jit.trace(copy.deepcopy(model), x, check_trace=False)
        return torch.jit.optimize_for_inference(torch.jit.freeze(traced))


def fx_mkldnn(model: nn.Module) -> Route:
    """Return torch.fx's CPU inference rewrite of ``model`` (BatchNorm folding, oneDNN layouts)."""
    from torch.fx.experimental.optimization import optimize_for_inference

    return optimize_for_inference(copy.deepcopy(model))


def time_routes(
    routes: dict[str, Route], x: Tensor, repeats: int
) -> tuple[dict[str, list[float]], dict[str, Tensor]]:
    """Return each route's forward times in seconds (interleaved repeats) and its output."""
    seconds: dict[str, list[float]] = {route: [] for route in routes}
    with torch.no_grad():
        outputs = {route: run_route(x) for route, run_route in routes.items()}
        for repeat in range(repeats):
            order = list(routes) if repeat % 2 == 0 else list(reversed(routes))
            for route in order:
                start = time.perf_counter()
                routes[route](x)
                seconds[route].append(time.perf_counter() - start)
    return seconds, outputs


if __name__ == "__main__":
    main()
