"""Eval forward time of our Inception-v3 against torchvision's, on the same batch, in one process.

Both networks hold the same weights and run in channels_last memory format; the repeats are
interleaved (and alternate which network goes first), so that a busy machine slows both alike.
Prints a table and the ratio ours / torchvision; it asserts nothing about time.

    python benchmarks/bench_forward.py [--batch 8] [--repeats 10] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch
import torchvision

from inception_edu.models import inception_v3


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    torch.manual_seed(0)
    reference = torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=False)
    ours = inception_v3(aux_logits=False)
    ours.load_state_dict(reference.state_dict(), strict=True)
    models = {"inception_edu": ours, "torchvision": reference}
    for model in models.values():
        model.eval().to(memory_format=torch.channels_last)
    x = torch.randn(args.batch, 3, 299, 299).to(memory_format=torch.channels_last)

    seconds: dict[str, list[float]] = {name: [] for name in models}
    with torch.no_grad():
        outputs = {name: model(x) for name, model in models.items()}  # warm-up, and a sanity check
        for repeat in range(args.repeats):
            order = list(models) if repeat % 2 == 0 else list(reversed(models))
            for name in order:
                start = time.perf_counter()
                models[name](x)
                seconds[name].append(time.perf_counter() - start)

    diff = (outputs["inception_edu"] - outputs["torchvision"]).abs().max().item()
    print(
        f"Inception-v3 eval forward, batch {args.batch}×3×299×299, channels_last, "
        f"{args.threads} threads, {args.repeats} interleaved repeats, torch {torch.__version__}, "
        f"load average {os.getloadavg()[0]:.2f}; max |Δ output| = {diff:.1e}"
    )
    print(f"{'model':<15} {'median ms':>10} {'min ms':>10} {'images/s':>10}")
    for name, times in seconds.items():
        median = statistics.median(times)
        print(
            f"{name:<15} {1e3 * median:>10.1f} {1e3 * min(times):>10.1f} "
            f"{args.batch / median:>10.1f}"
        )
    ratio_median = statistics.median(seconds["inception_edu"]) / statistics.median(
        seconds["torchvision"]
    )
    ratio_min = min(seconds["inception_edu"]) / min(seconds["torchvision"])
    print(f"ratio inception_edu / torchvision: {ratio_median:.3f} (median), {ratio_min:.3f} (min)")


if __name__ == "__main__":
    main()
