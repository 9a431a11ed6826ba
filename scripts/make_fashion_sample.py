"""Rebuild the Fashion-MNIST files shipped in data/fashion_mnist/ from the full data set.

The training sample is class-balanced: the same number of images of each class, chosen by a
seeded permutation and then kept in their original order. The test set is written unchanged in
content. The gzip files are written with a zero timestamp so that a rebuild is identical byte for
byte.

    apt-get install dataset-fashion-mnist      # the full set, in /usr/share/datasets/fashion-mnist
    python scripts/make_fashion_sample.py      # rewrites data/fashion_mnist/, prints sha256 sums
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
from pathlib import Path

import numpy as np

from inception_edu import data

PER_CLASS = 3000
SEED = 20170825  # the day Fashion-MNIST was published; any fixed number would do


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--full", type=Path, default=Path(data.DEBIAN_DIR), help="folder of the full set"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=data.shipped_path("fashion_mnist"),
        help="where to write the files",
    )
    parser.add_argument("--per-class", type=int, default=PER_CLASS)
    args = parser.parse_args()

    train = data.fashion_mnist("trainval", source="full", root=args.full)
    labels = train.targets.numpy()
    keep = np.sort(np.concatenate([_pick(labels, c, args.per_class) for c in range(10)]))

    args.out.mkdir(parents=True, exist_ok=True)
    images = train.images.numpy()[keep]
    _write_idx(args.out / data.SAMPLE_FILES["train"][0], images)
    _write_idx(args.out / data.SAMPLE_FILES["train"][1], labels[keep].astype(np.uint8))
    test = data.fashion_mnist("test", source="full", root=args.full)
    _write_idx(args.out / data.SAMPLE_FILES["test"][0], test.images.numpy())
    _write_idx(args.out / data.SAMPLE_FILES["test"][1], test.targets.numpy().astype(np.uint8))

    for path in sorted(args.out.glob("*.gz")):
        print(
            f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.name}  "
            f"{path.stat().st_size:,} bytes"
        )


def _pick(labels: np.ndarray, cls: int, n: int) -> np.ndarray:
    candidates = np.flatnonzero(labels == cls)
    rng = np.random.default_rng(SEED + cls)
    return np.sort(rng.permutation(candidates)[:n])


def _write_idx(path: Path, array: np.ndarray) -> None:
    """Write an IDX file (ubyte) as gzip with no name and no timestamp in its header."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape
    )
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        gz.write(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


if __name__ == "__main__":
    main()
