"""Fashion-MNIST, offline: the sample shipped in data/, or the full set found on this machine.

``fashion_mnist("train")`` gives the shipped class-balanced sample of 30,000 training images and
``fashion_mnist("test")`` the full official 10,000-image test set (shipped too). Ask for
``source="full"`` to get the 60,000 training images from a folder you name, ``$INCEPTION_EDU_DATA``,
Debian's ``dataset-fashion-mnist`` package or torchvision's folder layout. Every file is checked
(sha256 and IDX header) before use, so a corrupt or truncated file raises an error naming it.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Subset

__all__ = [
    "CLASSES",
    "FASHION_MNIST",
    "MEAN",
    "STD",
    "DataFileError",
    "DatasetInfo",
    "FashionMNIST",
    "balanced_subset",
    "denormalize",
    "fashion_mnist",
    "imagenet_info",
    "loaders",
    "shipped_path",
    "test_transform",
    "train_transform",
    "validation_indices",
]

CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
# Pixel mean and standard deviation of the 60,000 official training images, scaled to [0, 1].
MEAN = 0.2860
STD = 0.3530


@dataclass(frozen=True)
class DatasetInfo:
    """How a dataset's images were normalised (per-channel mean and std) and its class names.

    What drawing an image, a blank baseline and a labelled prediction need to know of the data; the
    "looking inside" functions take one (Fashion-MNIST's by default).
    """

    mean: tuple[float, ...]
    std: tuple[float, ...]
    classes: tuple[str, ...]

    def denormalize(self, x: torch.Tensor) -> torch.Tensor:
        """Return normalized C×H×W (or N×C×H×W) images back in [0, 1] pixel scale."""
        mean, std = self._per_channel(x)
        return (x * std + mean).clamp(0, 1)

    def blank(self, like: torch.Tensor) -> torch.Tensor:
        """Return an image shaped like ``like``, every pixel black (0) before normalization."""
        mean, std = self._per_channel(like)
        return (torch.zeros_like(like) - mean) / std

    def class_name(self, index: int) -> str:
        """Return the name of class ``index`` (its number if the dataset has no such class)."""
        return self.classes[index] if 0 <= index < len(self.classes) else str(index)

    def _per_channel(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        channels = x.shape[-3] if x.dim() >= 3 else 1
        if len(self.mean) != channels or len(self.std) != channels:
            raise ValueError(
                f"these images have {channels} channels but the dataset info gives "
                f"{len(self.mean)} means and {len(self.std)} stds: pass the DatasetInfo of the "
                "data the model was trained on (e.g. data.imagenet_info() for ImageNet models)"
            )
        shape = (channels, 1, 1) if x.dim() >= 3 else ()  # an H×W image: one channel, no axis
        return x.new_tensor(self.mean).view(shape), x.new_tensor(self.std).view(shape)


#: Fashion-MNIST: one channel, normalized with ``MEAN`` and ``STD``, ten classes.
FASHION_MNIST = DatasetInfo(mean=(MEAN,), std=(STD,), classes=CLASSES)


def imagenet_info() -> DatasetInfo:
    """Return ImageNet's DatasetInfo: torchvision's mean/std and its 1000 class names."""
    from torchvision.models import Inception_V3_Weights

    from .models.torchvision_weights import IMAGENET_MEAN, IMAGENET_STD

    categories = Inception_V3_Weights.IMAGENET1K_V1.meta["categories"]
    return DatasetInfo(mean=IMAGENET_MEAN, std=IMAGENET_STD, classes=tuple(categories))


DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"
ENV_VAR = "INCEPTION_EDU_DATA"

#: The splits ``fashion_mnist`` gives: "val" is carved from the training file, "trainval" is all
#: of it (train + val).
SPLITS = ("train", "val", "trainval", "test")
#: Validation images per class, taken from the end of each class in the training file.
VAL_PER_CLASS = 500

SAMPLE_FILES = {
    "train": ("train-sample-images-idx3-ubyte.gz", "train-sample-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
FULL_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
# sha256 of the shipped files, as listed in data/README.md.
SHIPPED_SHA256 = {
    "train-sample-images-idx3-ubyte.gz": (
        "68e6b749b6b2b451b5eba2d473705fecf6a37bd425070f239b8a0c4fc249b565"
    ),
    "train-sample-labels-idx1-ubyte.gz": (
        "5806386529297932b82b59f45a6e43e3c189526231c9e5e57e6c6970e151b657"
    ),
    "t10k-images-idx3-ubyte.gz": "78cb45a589ec14266eab4ac0cb2e9e10a4c076ae2d337fe86383d761bff83f32",
    "t10k-labels-idx1-ubyte.gz": "ae04cd950ab214637dd08f56319057c2ae10cbb660f742681f426479e3d51363",
}
# sha256 of the uncompressed official files: the same whichever way they were compressed.
FULL_CONTENT_SHA256 = {
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}

_HOW_TO_GET = (
    "To get the full set: install Debian's package (apt-get install dataset-fashion-mnist), "
    f"or point ${ENV_VAR} or root= at a folder holding the four IDX files, "
    "or call with download=True to fetch it through torchvision."
)


class DataFileError(ValueError):
    """A data file exists but is corrupt, truncated or not the file it should be."""


class FashionMNIST(Dataset):
    """Fashion-MNIST images as 1×28×28 float tensors in [0, 1], with integer labels."""

    classes = CLASSES

    def __init__(
        self,
        images: torch.Tensor,
        targets: torch.Tensor,
        split: str,
        origin: str,
        transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        self.images = images  # uint8, N×28×28, as stored in the IDX file
        self.targets = targets  # int64, N
        self.split = split
        self.origin = origin
        self.transform = transform
        self._pixels = images.unsqueeze(1).float().div_(255.0)

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        x = self._pixels[index]
        # A copy, not a view: a kept image must not keep all N images' memory alive.
        x = self.transform(x) if self.transform is not None else x.clone()
        return x, int(self.targets[index])

    def __repr__(self) -> str:
        return f"FashionMNIST(split={self.split!r}, {len(self):,} images, {self.origin})"


def fashion_mnist(
    split: str = "train",
    source: str = "sample",
    root: str | os.PathLike | None = None,
    download: bool = False,
    transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> FashionMNIST:
    """Return the Fashion-MNIST ``split`` as a Dataset of 1×28×28 tensors.

    ``split`` is "train", "val" (validation: make every choice on it), "trainval" (both: the whole
    training file) or "test" (the official test set: report on it, once). The validation split is
    carved from the training file, fixed and class-balanced: the last ``VAL_PER_CLASS`` (500)
    images of each class in file order; "train" is the rest.

    ``source="sample"`` (default) reads the files shipped in data/ (30,000 training images: 25,000
    train + 5,000 val; the full 10,000 test images); ``source="full"`` looks for the official
    60,000/10,000 files (55,000 train + 5,000 val) in ``root``, ``$INCEPTION_EDU_DATA``, Debian's
    package and torchvision's layout, and downloads them through torchvision only when
    ``download=True``.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(map(repr, SPLITS))}, got {split!r}")
    file_split = "test" if split == "test" else "train"
    if root is not None and not Path(root).is_dir():
        raise FileNotFoundError(
            f"root={str(root)!r} is not a folder: give the folder that holds the Fashion-MNIST "
            "files, or leave root out to use the shipped sample (source='sample') or the usual "
            "places of the full set (source='full')."
        )
    if source == "sample":
        folder = Path(root) if root is not None else shipped_path("fashion_mnist")
        names = SAMPLE_FILES[file_split]
        paths = [_shipped_file(folder, name, shipped=root is None) for name in names]
        origin = "shipped" if root is None else f"from {Path(root).name}/"
        origin += " official test set" if split == "test" else " class-balanced sample"
    elif source == "full":
        paths = [find_full_file(name, root, download) for name in FULL_FILES[file_split]]
        origin = "full official set"
    else:
        raise ValueError(f"source must be 'sample' or 'full', got {source!r}")

    images = _read_idx(paths[0], ndim=3)
    labels = _read_idx(paths[1], ndim=1)
    if source == "full":
        for path, array in ((paths[0], images), (paths[1], labels)):
            _check_full_content(path, array)
    if len(images) != len(labels) or images.shape[1:] != (28, 28):
        raise DataFileError(
            f"{paths[0].name} holds {images.shape} images but {paths[1].name} holds {len(labels)} "
            "labels; expected N×28×28 images and N labels. Restore both files."
        )
    if labels.max() > 9:
        raise DataFileError(f"{paths[1].name} holds label {labels.max()}; Fashion-MNIST has 0–9.")
    images, targets = torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64))
    if split in ("train", "val"):
        keep = validation_indices(targets)
        if split == "train":
            keep = torch.ones(len(targets), dtype=torch.bool).index_fill_(0, keep, False)
        images, targets = images[keep], targets[keep]
    return FashionMNIST(images, targets, split, origin, transform)


def validation_indices(targets: torch.Tensor) -> torch.Tensor:
    """Return the indices of the validation images among a training file's ``targets``: the last
    ``VAL_PER_CLASS`` of each class, in file order (sorted)."""
    picked = [torch.nonzero(targets == c).flatten()[-VAL_PER_CLASS:] for c in range(len(CLASSES))]
    if any(len(p) < VAL_PER_CLASS for p in picked):
        raise DataFileError(
            f"the training file has fewer than {VAL_PER_CLASS} images of some class: it cannot "
            "give the validation split. Restore the shipped files."
        )
    return torch.cat(picked).sort().values


def train_transform(augment: bool = False) -> Callable[[torch.Tensor], torch.Tensor]:
    """Return the training transform: normalization, with shift-and-flip augmentation if asked."""
    from torchvision.transforms import v2

    steps = [v2.RandomCrop(28, padding=2), v2.RandomHorizontalFlip()] if augment else []
    return v2.Compose([*steps, v2.Normalize([MEAN], [STD])])


def test_transform() -> Callable[[torch.Tensor], torch.Tensor]:
    """Return the evaluation transform: normalization only."""
    from torchvision.transforms import v2

    return v2.Normalize([MEAN], [STD])


def loaders(
    batch_size: int = 128,
    source: str = "sample",
    root: str | os.PathLike | None = None,
    augment: bool = False,
    train_size: int | None = None,
    seed: int = 0,
    download: bool = False,
    eval_split: str = "val",
    drop_last: bool = True,
) -> tuple[DataLoader, DataLoader]:
    """Return (train, evaluation) DataLoaders, normalized; the training one shuffled with ``seed``.

    The evaluation loader reads ``eval_split``: "val" (default) while you make choices, "test" for
    the number you report. ``train_size`` keeps a class-balanced subset of that many training
    images (a multiple of 10). ``drop_last`` drops the training batch left over at the end of an
    epoch, whose few images would give BatchNorm noisy statistics.
    """
    if eval_split not in ("val", "test"):
        raise ValueError(f"eval_split must be 'val' or 'test', got {eval_split!r}")
    train = fashion_mnist("train", source, root, download, transform=train_transform(augment))
    evaluation = fashion_mnist(eval_split, source, root, download, transform=test_transform())
    train_set = train if train_size is None else balanced_subset(train, train_size, seed)
    shuffle_rng = torch.Generator().manual_seed(seed)
    train_loader = DataLoader(
        train_set, batch_size=batch_size, shuffle=True, generator=shuffle_rng, drop_last=drop_last
    )
    return train_loader, DataLoader(evaluation, batch_size=512)


def balanced_subset(dataset: FashionMNIST, size: int, seed: int = 0) -> Subset:
    """Return a Subset with ``size // 10`` images of each class, chosen with ``seed``."""
    per_class, rest = divmod(size, len(CLASSES))
    counts = torch.bincount(dataset.targets, minlength=len(CLASSES))
    if rest or per_class < 1 or per_class > int(counts.min()):
        raise ValueError(
            f"size must be a positive multiple of 10 up to {10 * int(counts.min()):,} for this "
            f"dataset, got {size}"
        )
    rng = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(dataset), generator=rng)
    picked = [order[dataset.targets[order] == c][:per_class] for c in range(len(CLASSES))]
    return Subset(dataset, torch.cat(picked).sort().values.tolist())


def denormalize(x: torch.Tensor) -> torch.Tensor:
    """Return normalized Fashion-MNIST images back in [0, 1] pixel scale, for display."""
    return FASHION_MNIST.denormalize(x)


def shipped_path(*parts: str) -> Path:
    """Return the path of a file or folder shipped with the course, e.g. ``("fashion_mnist",)``.

    The repository keeps them in data/; an installed wheel carries them inside the package (as
    ``inception_edu/shipped``), so that a non-editable ``pip install`` finds them too.
    """
    package = Path(__file__).resolve().parent
    for base in (package / "shipped", package.parent / "data"):
        if base.is_dir():
            return base.joinpath(*parts)
    raise FileNotFoundError(
        f"the course's shipped data is missing: neither {package / 'shipped'} (an installed "
        f"package) nor {package.parent / 'data'} (the repository) exists. Reinstall the course, "
        "or run it from a clone of the repository."
    )


def find_full_file(
    name: str, root: str | os.PathLike | None = None, download: bool = False
) -> Path:
    """Return the path of the official file ``name`` (.gz or not), searching the usual places."""
    looked = []
    for folder in _full_folders(root):
        for candidate in (folder / name, folder / f"{name}.gz"):
            looked.append(candidate)
            if candidate.is_file():
                return candidate
    if download:
        target = Path(root or os.environ.get(ENV_VAR) or Path.home() / ".cache" / "inception_edu")
        from torchvision.datasets import FashionMNIST as TorchvisionFashionMNIST

        TorchvisionFashionMNIST(str(target), download=True)
        return find_full_file(name, target, download=False)
    places = "\n  ".join(str(p) for p in looked)
    raise FileNotFoundError(
        f"Fashion-MNIST file {name} not found. Looked in:\n  {places}\n{_HOW_TO_GET}"
    )


def _full_folders(root: str | os.PathLike | None) -> list[Path]:
    if root is not None:
        bases = [Path(root)]
    else:
        bases = [Path(p) for p in (os.environ.get(ENV_VAR), DEBIAN_DIR) if p]
    # torchvision's own layout puts the files in <root>/FashionMNIST/raw/.
    return [folder for base in bases for folder in (base, base / "FashionMNIST" / "raw")]


def _shipped_file(folder: Path, name: str, shipped: bool) -> Path:
    path = folder / name
    restore = (
        "restore it with `git checkout -- data/` (or reinstall the course), or rebuild it with "
        "`python scripts/make_fashion_sample.py` (needs the full set)"
    )
    if not path.is_file():
        if not shipped:
            raise FileNotFoundError(
                f"{name} is not in {folder}: a folder given as root must hold the sample's files "
                f"({', '.join(n for pair in SAMPLE_FILES.values() for n in pair)})."
            )
        raise FileNotFoundError(
            f"Shipped Fashion-MNIST file {path} is missing: {restore}. " + _HOW_TO_GET
        )
    actual = hashlib.sha256(path.read_bytes()).hexdigest()
    expected = SHIPPED_SHA256.get(name)
    if actual != expected:
        raise DataFileError(
            f"{path.name} does not match its sha256 (expected {expected}, got {actual}): the file "
            f"is corrupt or was changed. {restore[0].upper()}{restore[1:]}."
        )
    return path


def _read_idx(path: Path, ndim: int) -> np.ndarray:
    """Return the array stored in an IDX file of unsigned bytes, gzip-compressed or not."""
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as err:
        raise DataFileError(
            f"{path.name} cannot be read ({err}): the file is corrupt or truncated."
        ) from err
    if len(raw) < 4 or raw[:3] != b"\x00\x00\x08" or raw[3] != ndim:
        raise DataFileError(
            f"{path.name} is not an IDX file of {ndim}-D unsigned bytes (bad header)."
        )
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    expected = 4 + 4 * ndim + int(np.prod(dims))
    if len(raw) != expected:
        raise DataFileError(
            f"{path.name} holds {len(raw):,} bytes but its header announces {expected:,}: the "
            "file is "
            "truncated or corrupt."
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def _check_full_content(path: Path, array: np.ndarray) -> None:
    name = path.name.removesuffix(".gz")
    header = bytes([0, 0, 8, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    actual = hashlib.sha256(header + array.tobytes()).hexdigest()
    if actual != FULL_CONTENT_SHA256[name]:
        raise DataFileError(
            f"{path} is a readable IDX file but not the official {name} (sha256 {actual}). "
            "Replace it with the official file. " + _HOW_TO_GET
        )
