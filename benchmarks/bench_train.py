"""Print training throughput (images/s) of the course's small models, and import times.

    python benchmarks/bench_train.py [--images 10000] [--threads N]

Throughput is measured with the trainer's default recipe (SGD, one-cycle) on the
shipped Fashion-MNIST sample, batch 128, one pass over ``--images`` images after a short warm-up.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

import torch
from torch import nn

from inception_edu import cost, data, train


def tiny_cnn(width: int = 16) -> nn.Module:
    """The 5-conv CNN of notebook 00."""

    def conv_bn_relu(c_in: int, c_out: int) -> nn.Module:
        return nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()
        )

    return nn.Sequential(
        conv_bn_relu(1, width), nn.MaxPool2d(2),
        conv_bn_relu(width, 2 * width), conv_bn_relu(2 * width, 2 * width), nn.MaxPool2d(2),
        conv_bn_relu(2 * width, 4 * width), conv_bn_relu(4 * width, 4 * width),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4 * width, 10),
    )  # fmt: skip


def small_models() -> dict[str, nn.Module]:
    models = {"tiny_cnn (notebook 00)": tiny_cnn()}
    try:
        from inception_edu.models import MODEL_NAMES, create_model
    except ImportError:
        return models
    for name in MODEL_NAMES:
        if name.endswith("_small"):
            models[name] = create_model(name)
    return models


def throughput(model: nn.Module, images: int, channels_last: bool) -> float:
    loader, _ = data.loaders(batch_size=128, train_size=images)
    warmup, _ = data.loaders(batch_size=128, train_size=1_280)
    train.fit(model, warmup, epochs=1, progress=False, channels_last=channels_last)
    history = train.fit(model, loader, epochs=1, progress=False, channels_last=channels_last)
    return history.images_per_second[0]


def import_seconds(statement: str, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", statement], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    print(
        f"torch {torch.__version__}, {args.threads} threads, batch 128, "
        f"{args.images:,} images per run\n"
    )
    print(
        "train img/s in the contiguous layout (NCHW) and in channels_last "
        "(NHWC, the trainer's default)\n"
    )
    print(
        f"{'model':<28} {'params':>10} {'MACs':>10} {'NCHW img/s':>11} {'NHWC img/s':>11} "
        f"{'s / 10k (NHWC)':>15}"
    )
    # A fresh copy of each model per layout, so that neither run starts from the other's training.
    for (name, model), fresh in zip(small_models().items(), small_models().values()):
        c = cost.count(model, (1, 28, 28))
        nchw = throughput(model, args.images, channels_last=False)
        nhwc = throughput(fresh, args.images, channels_last=True)
        print(
            f"{name:<28} {c.params:>10,} {cost.format_count(c.macs):>10} "
            f"{nchw:>11,.0f} {nhwc:>11,.0f} {10_000 / nhwc:>15.1f}"
        )

    print("\nimport time (fresh interpreter, median of 5, includes starting Python):")
    for statement in (
        "pass",
        "import inception_edu",
        "import torch",
        "from inception_edu import cost, data, train",
    ):
        print(f"  {statement:<46} {import_seconds(statement):6.2f} s")


if __name__ == "__main__":
    main()
