"""Print the wall time each small model needs to reach a test accuracy (default 88.3 %).

    python benchmarks/bench_time_to_accuracy.py [--target 0.883] [--max-epochs 3] [--source auto]

Each model is trained with the trainer's default recipe (SGD Nesterov, lr 0.1 one-cycle, weight
decay 5e-4, batch 128, seed 0) on the training split. One-cycle anneals the rate to zero at the end
of the run, so the accuracy of a longer run part-way through says little; instead the script trains
a fresh model for 1, 2, ... epochs and stops at the first budget whose final accuracy on the 10,000
test images reaches the target. The time reported is that run's wall time, training plus the one
final evaluation.

``--source auto`` trains on the full set's 55,000-image training split when the full set is on this
machine (see ``inception_edu.data``) and on the shipped sample's 25,000 otherwise.
"""

from __future__ import annotations

import argparse
import time

import torch

from inception_edu import cost, data, train
from inception_edu.models import MODEL_NAMES, create_model


def pick_source(source: str) -> str:
    if source != "auto":
        return source
    try:
        data.fashion_mnist("train", "full")
    except data.DataFileError:
        return "sample"
    return "full"


def run(name: str, epochs: int, source: str) -> tuple[float, float]:
    """Train a fresh ``name`` for ``epochs``; return (test accuracy, wall seconds)."""
    train_loader, test_loader = data.loaders(batch_size=128, source=source, eval_split="test")
    train.seed_everything(0)
    model = create_model(name)
    start = time.perf_counter()
    train.fit(model, train_loader, epochs=epochs, seed=0, progress=False)
    accuracy = train.evaluate(model, test_loader).accuracy
    return accuracy, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--target", type=float, default=0.883)
    parser.add_argument("--max-epochs", type=int, default=3)
    parser.add_argument("--source", choices=("auto", "full", "sample"), default="auto")
    parser.add_argument(
        "--models", nargs="*", default=[n for n in MODEL_NAMES if n.endswith("_small")]
    )
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    source = pick_source(args.source)
    train_images = len(data.fashion_mnist("train", source))

    print(
        f"torch {torch.__version__}, {args.threads} threads; "
        f"training split: {source} ({train_images:,} images)"
    )
    print(
        f"target: {args.target:.1%} on the 10,000 test images; "
        f"budgets of 1..{args.max_epochs} epochs\n"
    )
    print(
        f"{'model':<28} {'params':>9} {'MACs':>8} {'epochs':>7} {'accuracy':>9} "
        f"{'seconds':>8}  runs"
    )
    for name in args.models:
        c = cost.count(create_model(name), (1, 28, 28))
        tried = []
        for epochs in range(1, args.max_epochs + 1):
            accuracy, seconds = run(name, epochs, source)
            tried.append(f"{epochs}:{accuracy:.4f}/{seconds:.0f}s")
            if accuracy >= args.target:
                break
        reached = accuracy >= args.target
        print(
            f"{name:<28} {c.params:>9,} {cost.format_count(c.macs):>8} "
            f"{epochs if reached else '-':>7}"
            f" {accuracy:>9.4f} {seconds if reached else float('nan'):>8.1f}  {' '.join(tried)}",
            flush=True,
        )


if __name__ == "__main__":
    main()
