"""Evaluate the way the papers did: multi-crop testing, ensembles, and measured latency.

    probs = multi_crop(model, images, "10-crop")    # N×K softmax averaged over 10 views
    team = ensemble([model_a, model_b, model_c])    # an nn.Module: average of the softmaxes
    latency(model, (1, 28, 28), batch=64).per_image  # seconds per image, median of the repeats

GoogLeNet (arXiv 1409.4842 §7) classified each test image from 144 crops (4 scales × 3 squares ×
6 crops × 2 mirrors) and averaged the softmax outputs; Inception-v3 and Inception-v4 report
multi-crop and ensemble results too. ``CropScheme`` describes the scaled-down version used on
28×28 images: pad the image with black, take crops at the centre and the corners, optionally
mirror each one. A scheme costs one forward pass per view: its ``views`` is its cost multiplier.

``ensemble(models)`` averages the members' softmax outputs; its forward returns the *logarithm*
of that average, so that it behaves like any classifier: ``argmax`` gives its prediction, a
softmax gives back the average, and ``train.evaluate`` / ``train.collect_logits`` /
``calibration`` take it as they are.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .data import FASHION_MNIST, DatasetInfo
from .inference import device_of, eval_mode, main_logits

__all__ = [
    "POSITIONS",
    "SCHEMES",
    "CropScheme",
    "Ensemble",
    "Latency",
    "crops",
    "ensemble",
    "get_scheme",
    "latency",
    "multi_crop",
    "sample",
    "view_indices",
]

#: Where a crop can sit in the padded image.
POSITIONS = ("center", "top-left", "top-right", "bottom-left", "bottom-right")


@dataclass(frozen=True)
class CropScheme:
    """How to cut test views out of an image: pad, crop at ``positions``, mirror if asked.

    The image is padded with ``padding`` black pixels on every side; each crop is ``crop`` pixels
    square (None: the image's own size, so the centre crop is the image itself) and is resized
    back to the image's size when smaller, as GoogLeNet resized its crops to 224 pixels.
    """

    name: str
    positions: tuple[str, ...] = ("center",)
    mirror: bool = False
    padding: int = 2
    crop: int | None = None

    def __post_init__(self) -> None:
        unknown = [p for p in self.positions if p not in POSITIONS]
        if unknown or not self.positions:
            raise ValueError(
                f"scheme {self.name!r}: positions must be a non-empty tuple of {POSITIONS}, "
                f"got {self.positions}"
            )
        if self.padding < 0:
            raise ValueError(f"scheme {self.name!r}: padding must be ≥ 0, got {self.padding}")
        if self.crop is not None and self.crop < 1:
            raise ValueError(f"scheme {self.name!r}: crop must be ≥ 1 pixel, got {self.crop}")

    @property
    def views(self) -> int:
        """Return the number of views, i.e. forward passes per image: the cost multiplier."""
        return len(self.positions) * (2 if self.mirror else 1)

    def view_names(self) -> list[str]:
        """Return a label per view, in the order ``crops`` returns them."""
        names = list(self.positions)
        return names + [f"{p}, mirrored" for p in names] if self.mirror else names


#: The named schemes: the image alone, with its mirror image, five crops (centre and corners of
#: the image padded by 2 pixels: the shifts the training augmentation makes), and those five
#: with their mirror images.
SCHEMES: dict[str, CropScheme] = {
    s.name: s
    for s in (
        CropScheme("center"),
        CropScheme("mirror", mirror=True),
        CropScheme("5-crop", positions=POSITIONS),
        CropScheme("10-crop", positions=POSITIONS, mirror=True),
    )
}


def get_scheme(scheme: str | CropScheme) -> CropScheme:
    """Return the named scheme (one of ``SCHEMES``), or ``scheme`` itself if it is a CropScheme."""
    if isinstance(scheme, CropScheme):
        return scheme
    if scheme not in SCHEMES:
        raise ValueError(
            f"unknown crop scheme {scheme!r}: use one of {', '.join(map(repr, SCHEMES))} or a "
            "CropScheme(...)"
        )
    return SCHEMES[scheme]


def view_indices(scheme: str | CropScheme, within: str | CropScheme = "10-crop") -> list[int]:
    """Return where the views of ``scheme`` sit among the views of ``within``.

    Every view of "center", "mirror" and "5-crop" is also a view of "10-crop": compute the ten
    views once (``multi_crop(..., per_view=True)``) and average any subset of them.
    """
    wanted, outer = get_scheme(scheme), get_scheme(within)
    names = outer.view_names()
    same_cut = (wanted.padding, wanted.crop) == (outer.padding, outer.crop)
    missing = [n for n in wanted.view_names() if n not in names]
    if missing or not same_cut:
        raise ValueError(
            f"scheme {wanted.name!r} is not a subset of {outer.name!r}"
            f"{' (views ' + ', '.join(missing) + ')' if missing else ' (other padding or crop)'}"
        )
    return [names.index(n) for n in wanted.view_names()]


def sample(split: str = "test", size: int = 2000, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Return a class-balanced sample of a Fashion-MNIST split: (N×1×28×28 normalized images,
    N labels), ``size // 10`` of each class chosen with ``seed`` (see ``data.balanced_subset``)."""
    from .data import balanced_subset, fashion_mnist, test_transform

    dataset = fashion_mnist(split, transform=test_transform())
    indices = balanced_subset(dataset, size, seed).indices
    images = torch.stack([dataset[i][0] for i in indices])
    return images, dataset.targets[indices].clone()


def crops(
    images: Tensor, scheme: str | CropScheme, info: DatasetInfo = FASHION_MNIST
) -> Tensor:
    """Return the views of N×C×H×W normalized ``images`` as a V×N×C×H×W tensor.

    Padding is black in the images' normalization (``info``), what the training augmentation
    (``data.train_transform(augment=True)``) pads with. Views come in ``scheme.view_names()``
    order.
    """
    s = get_scheme(scheme)
    if images.dim() != 4:
        raise ValueError(
            f"crops takes a batch of images N×C×H×W, got shape {tuple(images.shape)}; add a batch "
            "axis with images.unsqueeze(0)"
        )
    n, c, h, w = images.shape
    size = s.crop if s.crop is not None else min(h, w)
    p = s.padding
    if size > min(h, w) + 2 * p:
        raise ValueError(
            f"scheme {s.name!r}: a {size}×{size} crop is larger than the padded image "
            f"({h + 2 * p}×{w + 2 * p} = {h}×{w} plus {p} pixels on each side): use a smaller "
            "crop or more padding"
        )
    padded = info.blank(images.new_empty(1, c, h + 2 * p, w + 2 * p)).repeat(n, 1, 1, 1)
    padded[:, :, p : p + h, p : p + w] = images
    views = [_cut(padded, position, size, (h, w)) for position in s.positions]
    if s.mirror:
        views += [v.flip(-1) for v in views]
    return torch.stack(views)


@torch.no_grad()
def multi_crop(
    model: nn.Module,
    images: Tensor,
    scheme: str | CropScheme = "10-crop",
    *,
    info: DatasetInfo = FASHION_MNIST,
    batch_size: int = 1000,
    per_view: bool = False,
) -> Tensor:
    """Return the softmax of ``model`` (in eval mode) averaged over the views of ``scheme``.

    ``images`` are N×C×H×W and normalized as the model was trained. The result is N×K
    probabilities, or with ``per_view=True`` the V×N×K probabilities of every view (their mean
    over the first axis is the averaged result). The cost is ``scheme.views`` forward passes per
    image; ``batch_size`` images are cut into views at a time to bound memory.
    """
    s = get_scheme(scheme)
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    device = device_of(model)
    chunks = []
    with eval_mode(model):
        for start in range(0, len(images), batch_size):
            views = crops(images[start : start + batch_size], s, info).to(device)
            probs = [main_logits(model(v)).float().softmax(dim=1).cpu() for v in views]
            chunks.append(torch.stack(probs))
    if not chunks:
        raise ValueError("multi_crop got no images (a batch of 0)")
    probs = torch.cat(chunks, dim=1)
    return probs if per_view else probs.mean(dim=0)


class Ensemble(nn.Module):
    """Average the softmax outputs of several classifiers.

    ``forward`` returns log(mean of the members' softmax): the logarithm keeps the ensemble a
    classifier like its members (argmax predicts, softmax gives back the average, cross-entropy is
    the ensemble's log-loss). Its cost is the sum of its members' costs (``cost.count`` counts
    them all).
    """

    def __init__(self, models: Iterable[nn.Module]) -> None:
        super().__init__()
        members = list(models)
        if not members:
            raise ValueError(
                "an ensemble needs at least one model: got an empty list (check the filter or "
                "the loop that built the list)"
            )
        not_modules = [type(m).__name__ for m in members if not isinstance(m, nn.Module)]
        if not_modules:
            raise TypeError(f"ensemble members must be nn.Modules, got {', '.join(not_modules)}")
        classes = [getattr(m, "num_classes", None) for m in members]
        known = {k for k in classes if isinstance(k, int)}
        if len(known) > 1:
            raise ValueError(_class_mismatch(members, classes))
        self.members = nn.ModuleList(members)

    @property
    def num_classes(self) -> int | None:
        """Return the members' number of classes, if they declare one."""
        return getattr(self.members[0], "num_classes", None)

    def forward(self, x: Tensor) -> Tensor:
        probs = [main_logits(m(x)).float().softmax(dim=1) for m in self.members]
        shapes = {tuple(p.shape) for p in probs}
        if len(shapes) > 1:
            raise ValueError(_class_mismatch(self.members, [p.shape[1] for p in probs]))
        # Average in probability space, then back to log space (floor avoids log 0 = -inf).
        return torch.stack(probs).mean(dim=0).clamp_min(1e-12).log()


def ensemble(models: Iterable[nn.Module]) -> Ensemble:
    """Return an ``Ensemble`` (an nn.Module in eval mode) that averages the models' softmax."""
    return Ensemble(models).eval()


@dataclass(frozen=True)
class Latency:
    """Measured forward times of one batch: every repeat, in seconds."""

    batch: int
    times: tuple[float, ...]

    @property
    def seconds(self) -> float:
        """Median seconds per batch (the median resists the pauses of a busy machine)."""
        return statistics.median(self.times)

    @property
    def per_image(self) -> float:
        """Median seconds per image."""
        return self.seconds / self.batch

    @property
    def images_per_second(self) -> float:
        """Images per second at the median."""
        return self.batch / self.seconds

    def __str__(self) -> str:
        return (
            f"batch {self.batch}: {1e3 * self.seconds:.2f} ms per batch, "
            f"{1e3 * self.per_image:.3f} ms per image (median of {len(self.times)})"
        )


@torch.no_grad()
def latency(
    model: nn.Module,
    input_shape: Sequence[int] = (1, 28, 28),
    batch: int = 1,
    *,
    repeats: int = 10,
    warmup: int = 2,
) -> Latency:
    """Time ``model``'s forward pass (eval mode, no gradients) on ``batch`` random images.

    ``input_shape`` is one image's C×H×W. ``warmup`` untimed passes come first (memory
    allocation, kernel selection); then ``repeats`` timed passes. Times are wall-clock on the
    model's device with the current torch threads: state the machine when you quote them.
    """
    shape = tuple(int(d) for d in input_shape)
    if len(shape) != 3:
        raise ValueError(
            f"input_shape is one image's (C, H, W), got {shape}; give the batch size as batch="
        )
    if batch < 1 or repeats < 1 or warmup < 0:
        raise ValueError(
            f"need batch ≥ 1, repeats ≥ 1 and warmup ≥ 0, got {batch}, {repeats}, {warmup}"
        )
    x = torch.randn(batch, *shape, device=device_of(model))
    times = []
    with eval_mode(model):
        for i in range(warmup + repeats):
            start = time.perf_counter()
            model(x)
            if i >= warmup:
                times.append(time.perf_counter() - start)
    return Latency(batch, tuple(times))


# --- helpers -------------------------------------------------------------------------------------


def _cut(padded: Tensor, position: str, size: int, out: tuple[int, int]) -> Tensor:
    """Cut a size×size crop at ``position`` of the padded batch, resized to ``out`` if smaller."""
    height, width = padded.shape[-2:]
    top = {"center": (height - size) // 2, "top-left": 0, "top-right": 0}.get(
        position, height - size
    )
    left = {"center": (width - size) // 2, "top-left": 0, "bottom-left": 0}.get(
        position, width - size
    )
    view = padded[..., top : top + size, left : left + size]
    if (size, size) != out:
        view = F.interpolate(view, size=out, mode="bilinear", align_corners=False)
    return view.contiguous()


def _class_mismatch(members: Sequence[nn.Module], classes: Sequence[int | None]) -> str:
    listed = ", ".join(
        f"{getattr(m, 'model_name', type(m).__name__)}: {k}" for m, k in zip(members, classes)
    )
    return (
        f"ensemble members must predict the same classes, but their class counts differ "
        f"({listed}): averaging their softmax outputs would mix different labels"
    )
