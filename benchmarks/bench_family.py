"""Multiply-adds against CPU latency for every network of the course, eval mode, untrained weights.

    python benchmarks/bench_family.py [--models NAME …] [--threads N] [--repeats 5]

For each network: parameters and MACs per image (``inception_edu.cost``), and the median time per
image (``inception_edu.evaluate.latency``, the helper notebook 08 times the family with) at two
batch sizes: 1 and 64 for the 1×28×28 ``*_small`` networks, 1 and 16 for the full-size ones at
their own input size (224 for GoogLeNet, 299 for the others). The last column, MACs per second at
the larger batch, is what the multiply-add count alone would assume to be the same for all.
Weights do not change the time of a dense network, so no checkpoint is needed.
"""

from __future__ import annotations

import argparse
import os
import platform

import torch

from inception_edu import cost
from inception_edu.evaluate import latency
from inception_edu.inference import input_channels
from inception_edu.models import MODEL_NAMES, create_model
from inception_edu.recipes import input_size


def main() -> None:
    """Print one row per network."""
    args = parse_args()
    torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}; {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, {args.threads} threads; eval, no_grad, contiguous; median of "
        f"{args.repeats} timed passes after 2 untimed; load average {os.getloadavg()[0]:.2f}"
    )
    header = ("network", "input", "params", "MACs/image", "batch", "ms/image", "batch", "ms/image")
    print("{:<27} {:>11} {:>11} {:>11} {:>6} {:>9} {:>6} {:>9} {:>10}".format(*header, "GMAC/s"))
    for name in args.models:
        row(name, args.repeats)


def parse_args() -> argparse.Namespace:
    """Return the command-line arguments."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=MODEL_NAMES, default=list(MODEL_NAMES))
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if args.threads < 1 or args.repeats < 1:
        parser.error("--threads and --repeats must be at least 1")
    return args


def row(name: str, repeats: int) -> None:
    """Count and time network ``name`` and print its row."""
    torch.manual_seed(0)
    model = create_model(name).eval()
    side = input_size(name)
    shape = (input_channels(model), side, side)
    counted = cost.count(model, shape)
    small, large = latency(model, shape, 1, repeats=repeats), latency(
        model, shape, 64 if name.endswith("_small") else 16, repeats=repeats
    )
    print(
        f"{name:<27} {'×'.join(map(str, shape)):>11} {counted.params:>11,} "
        f"{counted.macs / 1e6:>10.1f}M {small.batch:>6} {1e3 * small.per_image:>9.2f} "
        f"{large.batch:>6} {1e3 * large.per_image:>9.2f} "
        f"{counted.macs / large.per_image / 1e9:>10.1f}"
    )


if __name__ == "__main__":
    main()
