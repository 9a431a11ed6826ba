"""Look at what a layer computes: its feature maps for an image, and the images a channel likes.

Layers are addressed by module name, as ``model.named_modules()`` spells it: nested modules join
with dots ("inception4a", "inception4a.branch2", "Mixed_7c.branch3x3dbl_3a"). Activations are
captured with forward hooks that are always removed again, in eval mode, without gradients.
``named_layer`` (an unknown name gets the close matches and the valid names) is shared with the
other "looking inside" modules. Figures take the dataset's ``DatasetInfo`` (Fashion-MNIST's by
default) to draw images in their real colours and name classes.
"""

from __future__ import annotations

import difflib
import math
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset, Subset

from .data import FASHION_MNIST, DatasetInfo
from .inference import check_image, eval_mode

__all__ = [
    "UnknownLayerError",
    "capture",
    "channel_means",
    "display_image",
    "layer_names",
    "layer_output",
    "main_layers",
    "named_layer",
    "plot_feature_maps",
    "plot_top_images",
    "top_images",
]


class UnknownLayerError(KeyError):
    """A layer name that is not a module of the model; the message lists close matches and names."""

    def __str__(self) -> str:
        # KeyError would show the message in quotes, with its newlines escaped.
        return str(self.args[0]) if self.args else ""


def layer_names(model: nn.Module) -> list[str]:
    """Return the names of every layer (sub-module) of ``model``, in definition order."""
    return [name for name, _ in model.named_modules() if name]


def main_layers(model: nn.Module) -> list[str]:
    """Return the model's top-level layers in definition order, containers (Sequential) opened once.

    Inception-ResNet's ``repeat`` (a Sequential of blocks) gives "repeat.0", "repeat.1", ...
    """
    names = []
    for name, child in model.named_children():
        if isinstance(child, (nn.Sequential, nn.ModuleList)):
            names.extend(f"{name}.{sub}" for sub, _ in child.named_children())
        else:
            names.append(name)
    return names


def named_layer(model: nn.Module, name: str) -> nn.Module:
    """Return the sub-module called ``name``; raise UnknownLayerError listing the names if none."""
    modules = dict(model.named_modules())
    if isinstance(name, str) and name and name in modules:
        return modules[name]
    raise UnknownLayerError(_unknown_layer_message(model, name, layer_names(model)))


def layer_output(model: nn.Module, layer: str, x: Tensor) -> Tensor:
    """Return the output of ``layer`` for the batch ``x``; the forward pass stops at that layer.

    Gradients flow (wrap the call in ``torch.no_grad()`` if you need none); the mode is the model's.
    """
    module = named_layer(model, layer)
    captured: list[Tensor] = []

    def hook(_module: nn.Module, _inputs, output) -> None:
        captured.append(output if isinstance(output, Tensor) else None)
        raise _Stop

    handle = module.register_forward_hook(hook)
    try:
        model(x)
    except _Stop:
        pass
    finally:
        handle.remove()
    if not captured or captured[0] is None:
        raise ValueError(
            f"layer {layer!r} did not produce a tensor in the forward pass (auxiliary heads, for "
            "instance, only run in train mode): choose a layer on the main path."
        )
    return captured[0]


@torch.no_grad()
def capture(
    model: nn.Module, image: Tensor, layers: Iterable[str] | None = None
) -> dict[str, Tensor]:
    """Return {layer name: C×H×W feature map} for one image, for every layer with a 4-D output.

    ``layers`` restricts the capture to those. Layers appear in the order they ran; a layer called
    twice keeps its first output.
    """
    x = check_image(model, image)
    names = layer_names(model) if layers is None else list(layers)
    modules = {name: named_layer(model, name) for name in names}
    outputs: dict[str, Tensor] = {}

    def hook_for(name: str):
        def hook(_module: nn.Module, _inputs, output) -> None:
            out = output if isinstance(output, Tensor) else None
            if name not in outputs and out is not None and out.dim() == 4:
                # A copy: torchvision's in-place ReLUs would otherwise change BatchNorm's output.
                outputs[name] = out[0].detach().clone()

        return hook

    handles = [m.register_forward_hook(hook_for(name)) for name, m in modules.items()]
    try:
        with eval_mode(model):
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    missing = [name for name in names if name not in outputs]
    if layers is not None and missing:
        raise ValueError(
            f"layers {', '.join(map(repr, missing))} gave no 4-D feature map for this image (they "
            "did not run, or their output is flat, like a Linear layer's)"
        )
    return outputs


@torch.no_grad()
def channel_means(
    model: nn.Module,
    dataset: Dataset | DataLoader | Tensor,
    layers: Sequence[str],
    limit: int = 2000,
    batch_size: int = 250,
) -> dict[str, Tensor]:
    """Return {layer: N×C tensor}: each channel's mean activation on the first ``limit`` images.

    ``dataset`` is a Dataset of (image, label) pairs, a DataLoader (its ``.dataset`` is read in
    order) or an N×C×H×W tensor, normalized like the model's training data.
    """
    modules = {name: named_layer(model, name) for name in layers}
    means: dict[str, list[Tensor]] = {name: [] for name in layers}

    def hook_for(name: str):
        def hook(_module: nn.Module, _inputs, output) -> None:
            out = output if isinstance(output, Tensor) else None
            if out is not None and out.dim() == 4 and len(means[name]) < batches_seen:
                means[name].append(out.mean((2, 3)).cpu())

        return hook

    handles = [m.register_forward_hook(hook_for(name)) for name, m in modules.items()]
    batches_seen = 0
    try:
        with eval_mode(model):
            for images in _batches(dataset, limit, batch_size):
                batches_seen += 1
                model(check_image(model, images, batch=True))
    finally:
        for handle in handles:
            handle.remove()
    if batches_seen == 0:
        raise ValueError("the dataset is empty: there are no images to rank")
    flat = [name for name, chunks in means.items() if len(chunks) != batches_seen]
    if flat:
        raise ValueError(
            f"layers {', '.join(map(repr, flat))} gave no 4-D feature map: choose convolutional "
            "layers or modules"
        )
    return {name: torch.cat(chunks) for name, chunks in means.items()}


def top_images(
    model: nn.Module,
    dataset: Dataset | DataLoader | Tensor,
    layer: str,
    channel: int,
    k: int = 9,
    limit: int = 2000,
    *,
    means: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Return (indices, scores) of the ``k`` of the first ``limit`` images that excite ``channel``.

    The score is the channel's mean activation over its feature map. Pass ``means`` (the N×C
    tensor ``channel_means`` gives for ``layer``) to skip the pass over the dataset.
    """
    if means is None:
        means = channel_means(model, dataset, [layer], limit)[layer]
    _check_channel(channel, means.shape[1], layer)
    if not 1 <= k <= len(means):
        raise ValueError(f"k must be between 1 and the {len(means)} images ranked, got {k}")
    scores, indices = means[:, channel].topk(k)
    return indices, scores


def display_image(image: Tensor, info: DatasetInfo = FASHION_MNIST) -> np.ndarray:
    """Return a normalized C×H×W image as H×W (gray) or H×W×3 (colour) pixels in [0, 1], for imshow.

    ``info`` holds the mean and std the image was normalized with.
    """
    image = image.detach().cpu().float()
    if image.dim() == 4:
        image = image[0]
    pixels = info.denormalize(image)
    return pixels[0].numpy() if pixels.shape[0] == 1 else pixels.permute(1, 2, 0).numpy()


def plot_feature_maps(
    model: nn.Module,
    image: Tensor,
    layer: str,
    channel: int | None = None,
    *,
    activations: dict[str, Tensor] | None = None,
    max_channels: int = 16,
    info: DatasetInfo = FASHION_MNIST,
):
    """Return a figure of ``layer``'s feature maps for ``image``: its most active channels, or one.

    With ``channel=None`` the ``max_channels`` channels of highest mean activation are tiled on one
    colour scale; with a channel, its map is drawn alone and over the image. ``activations`` (the
    dict ``capture`` returns) avoids running the model again; ``info`` draws the image.
    """
    import matplotlib.pyplot as plt

    maps = _layer_maps(model, image, layer, activations)
    shown = display_image(image, info)
    if channel is None:
        return _plot_channel_overview(plt, shown, maps, layer, max_channels)
    _check_channel(channel, maps.shape[0], layer)
    fmap = maps[channel]
    # Fixed layouts, not "constrained": the layout engine would measure every text at each draw.
    fig, (ax_img, ax_map, ax_over) = plt.subplots(1, 3, figsize=(9.0, 3.4))
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.03, top=0.8, wspace=0.12)
    ax_img.imshow(shown, cmap="gray_r")
    ax_img.set_title("input image")
    ax_map.imshow(fmap.numpy(), cmap="viridis")  # its range is in the title: no colour bar
    ax_map.set_title(f"channel {channel}: {fmap.shape[0]}×{fmap.shape[1]} map")
    ax_over.imshow(shown, cmap="gray_r")
    ax_over.imshow(
        _upsample(fmap, shown.shape[:2]).numpy(), cmap="viridis", alpha=0.55, extent=_extent(shown)
    )
    ax_over.set_title("map stretched over the image")
    for ax in (ax_img, ax_map, ax_over):
        ax.set_xticks([])
        ax.set_yticks([])
    peak = int(fmap.argmax())
    row, col = divmod(peak, fmap.shape[1])
    fig.suptitle(
        f"{layer}, channel {channel}: strongest response at ({row}, {col}) of its map, "
        f"max {fmap.max():.3g}, mean {fmap.mean():.3g}",
        fontsize=10,
    )
    return fig


def plot_top_images(
    model: nn.Module,
    dataset: Dataset | DataLoader | Tensor,
    layer: str,
    channel: int,
    k: int = 9,
    limit: int = 2000,
    *,
    means: Tensor | None = None,
    info: DatasetInfo = FASHION_MNIST,
):
    """Return a figure of the ``k`` images (of the first ``limit``) that excite a channel most.

    Each tile names the image's index, its class (when the dataset has labels, named by ``info``)
    and its score.
    """
    import matplotlib.pyplot as plt

    indices, scores = top_images(model, dataset, layer, channel, k, limit, means=means)
    source = dataset.dataset if isinstance(dataset, DataLoader) else dataset
    images, labels = zip(*(_item(source, int(i)) for i in indices))
    ncols = min(len(images), max(3, math.ceil(math.sqrt(len(images)))))
    tiles = [torch.from_numpy(display_image(img, info)) for img in images]
    if tiles[0].dim() == 3:  # colour images: show their mean, the mosaic is one gray image
        tiles = [t.mean(-1) for t in tiles]
    # One image of tiles, not k axes: a figure with one axes draws several times faster.
    mosaic, origins = _mosaic(tiles, ncols, label_space=0.3)
    nrows = math.ceil(len(tiles) / ncols)
    height = 1.6 * nrows + 0.7
    fig, ax = plt.subplots(figsize=(1.5 * ncols, height))
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=1 - 0.7 / height)
    ax.imshow(mosaic.numpy(), cmap=_with_white_gaps("gray_r"), vmin=0, vmax=1)
    ax.axis("off")
    for (top, left), label, index, score in zip(origins, labels, indices, scores):
        name = f" {info.class_name(label)}" if label is not None else ""
        ax.text(
            left, top - 0.5, f"#{int(index)}{name}: {float(score):.3g}", fontsize=7, va="bottom"
        )
    n_ranked = len(means) if means is not None else min(limit, len(source))
    named = [info.class_name(label) for label in labels if label is not None]
    finding = ""
    if named:
        common, count = Counter(named).most_common(1)[0]
        finding = f":\n{count} of {len(named)} are {common}"
    fig.suptitle(
        f"{layer}, channel {channel}: the {len(images)} images (of {n_ranked:,}) that excite it "
        f"most{finding}",
        fontsize=10,
    )
    return fig


class _Stop(Exception):
    """Raised by a hook to end a forward pass once the wanted layer has run."""


def _unknown_layer_message(model: nn.Module, name, names: list[str]) -> str:
    close = difflib.get_close_matches(str(name), names, n=3, cutoff=0.6)
    hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
    top = [n for n in names if "." not in n]
    nested = next((n for n in names if "." in n), None)
    example = f" (e.g. {nested!r})" if nested else ""
    return (
        f"{type(model).__name__} has no layer named {name!r}.{hint} Its top-level layers are: "
        f"{', '.join(top)}. Nested layers join names with dots{example}; "
        f"layer_names(model) lists all {len(names)}."
    )


def _check_channel(channel: int, channels: int, layer: str) -> None:
    if not isinstance(channel, int) or not 0 <= channel < channels:
        raise ValueError(
            f"channel {channel!r} is out of range: {layer} has {channels} channels, "
            f"0 to {channels - 1}"
        )


def _layer_maps(
    model: nn.Module, image: Tensor, layer: str, activations: dict[str, Tensor] | None
) -> Tensor:
    if activations is not None and layer in activations:
        return activations[layer]
    named_layer(model, layer)
    return capture(model, image, [layer])[layer]


def _plot_channel_overview(plt, shown: Tensor, maps: Tensor, layer: str, max_channels: int):
    means = maps.mean((1, 2))
    order = means.argsort(descending=True)[:max_channels].tolist()
    ncols = min(len(order), 4 if len(order) <= 16 else 6)
    nrows = math.ceil(len(order) / ncols)
    mosaic, origins = _mosaic([maps[c] for c in order], ncols, label_space=0.45)
    height = 1.1 * nrows + 1.3
    fig, (ax_img, ax_maps) = plt.subplots(
        1, 2, figsize=(9.0, height), gridspec_kw={"width_ratios": (1, 2.2)}
    )
    fig.subplots_adjust(left=0.01, right=0.97, bottom=0.02, top=1 - 0.75 / height, wspace=0.05)
    ax_img.imshow(shown, cmap="gray_r")
    ax_img.set_title("image", fontsize=9)
    # One colour scale for all tiles, so that brightness compares across channels.
    im = ax_maps.imshow(mosaic.numpy(), cmap=_with_white_gaps("viridis"))
    fig.colorbar(im, ax=ax_maps, shrink=0.8, label="activation")
    for (top, left), c in zip(origins, order):
        ax_maps.text(left, top - 0.5, f"ch {c}: {means[c]:.3g}", fontsize=7, va="bottom")
    for ax in (ax_img, ax_maps):
        ax.axis("off")
    c, h, w = maps.shape
    fig.suptitle(
        f"{layer}: the {len(order)} most active of {c} channels ({h}×{w} maps, one colour "
        f"scale);\nchannel {order[0]} fires most (mean {means[order[0]]:.3g})",
        fontsize=10,
    )
    return fig


def _mosaic(tiles: Sequence[Tensor], ncols: int, label_space: float) -> tuple[Tensor, list]:
    """Return the tiles laid out in a grid (NaN between them) and each tile's (top, left) corner.

    ``label_space`` is the room left above each tile for its label, as a fraction of its height.
    """
    h, w = tiles[0].shape
    above = max(1, round(label_space * h))
    gap = max(1, round(0.1 * w))
    nrows = math.ceil(len(tiles) / ncols)
    mosaic = torch.full((nrows * (h + above), ncols * (w + gap) - gap), float("nan"))
    origins = []
    for i, tile in enumerate(tiles):
        row, col = divmod(i, ncols)
        top, left = row * (h + above) + above, col * (w + gap)
        mosaic[top : top + h, left : left + w] = tile
        origins.append((top, left))
    return mosaic, origins


def _with_white_gaps(name: str):
    import matplotlib

    return matplotlib.colormaps[name].with_extremes(bad="white")


def _upsample(fmap: Tensor, size: Sequence[int]) -> Tensor:
    return torch.nn.functional.interpolate(
        fmap[None, None], size=tuple(size), mode="bilinear", align_corners=False
    )[0, 0]


def _extent(shown: np.ndarray) -> tuple[float, float, float, float]:
    h, w = shown.shape[:2]
    return (-0.5, w - 0.5, h - 0.5, -0.5)


def _batches(dataset, limit: int, batch_size: int) -> Iterator[Tensor]:
    if isinstance(dataset, Tensor):
        for start in range(0, min(limit, len(dataset)), batch_size):
            yield dataset[start : min(start + batch_size, limit)]
        return
    source = dataset.dataset if isinstance(dataset, DataLoader) else dataset
    subset = Subset(source, range(min(limit, len(source))))
    for batch in DataLoader(subset, batch_size=batch_size):
        yield batch[0] if isinstance(batch, (tuple, list)) else batch


def _item(dataset, index: int) -> tuple[Tensor, int | None]:
    item = dataset[index]
    if isinstance(item, (tuple, list)):
        return item[0], int(item[1]) if len(item) > 1 else None
    return item, None
