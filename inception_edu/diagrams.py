"""Diagrams of an Inception module's branches and of a network's layout, drawn from the model.

Nothing is drawn by hand: one forward pass records which layers run, in which order and with
which output shapes, and ``receptive_field.module_branches`` traces which branches a module's
``torch.cat`` joins, in channel order. A diagram therefore shows what the code computes: change
a kernel size or a width and the figure changes with it.

``module_layout`` / ``draw_module`` give a module's branches as in Figure 2 of the GoogLeNet paper
(each convolution and pooling layer with its width and, optionally, its multiply-adds);
``network_layout`` / ``draw_network`` give a network's stages in order, with the side branches
(GoogLeNet's auxiliary classifiers) drawn off the stage whose output they read, as in Figure 3.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from .cost import count, format_count
from .inference import device_of, eval_mode, kept_state
from .models.basic import BasicConv2d
from .receptive_field import module_branches

__all__ = [
    "Box",
    "ModuleLayout",
    "NetworkLayout",
    "draw_module",
    "draw_network",
    "module_layout",
    "network_layout",
]

# Fill colours per kind of box (light tones, so that black text stays readable).
_COLORS = {
    "conv1x1": "#fde68a",
    "conv": "#93c5fd",
    "pool": "#fca5a5",
    "module": "#86efac",
    "head": "#e5e7eb",
    "aux": "#fdba74",
    "other": "#f3f4f6",
    "io": "#ffffff",
}
_POOLS = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)


@dataclass(frozen=True)
class Box:
    """One layer or stage of a diagram."""

    #: The module's name inside the model that was drawn ("branch2.1.conv", "inception3a").
    name: str
    #: What the box says: "3×3 conv, 128", "3×3/2 max pool", "inception (3a)".
    label: str
    #: "conv1x1", "conv", "pool", "module", "head", "aux" or "other": sets the colour.
    kind: str
    #: The output shape of one example: (C, H, W), or (features,) after flattening.
    shape: tuple[int, ...] | None
    #: Multiply-adds of the layer for one example (eval mode); 0 for pooling.
    macs: int = 0

    @property
    def shape_text(self) -> str:
        """The output shape as "256×28×28" (empty if unknown)."""
        return "×".join(map(str, self.shape)) if self.shape else ""


@dataclass(frozen=True)
class ModuleLayout:
    """A multi-branch module: its branches (layers in order), each branch's output channels."""

    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    branches: tuple[tuple[Box, ...], ...]
    channels: tuple[int, ...]

    @property
    def macs(self) -> int:
        """The multiply-adds of all the module's layers for one example."""
        return sum(box.macs for branch in self.branches for box in branch)


@dataclass(frozen=True)
class NetworkLayout:
    """A network's stages in forward order, and the side branches that read a stage's output."""

    input_shape: tuple[int, ...]
    main: tuple[Box, ...]
    #: Name of a main stage → the side stages that read its output (GoogLeNet's aux heads).
    side: dict[str, tuple[Box, ...]] = field(default_factory=dict)


def module_layout(module: nn.Module, input_shape: Sequence[int]) -> ModuleLayout:
    """Return the branches of a module that concatenates branches, for inputs of ``input_shape``.

    ``input_shape`` is (C, H, W). Each branch lists its convolutions and pooling layers in the
    order they run (BatchNorms and activations are left out, as in the paper's figures).
    """
    shape = tuple(int(s) for s in input_shape)
    wrapper = nn.Sequential(OrderedDict(module=module))
    concat = module_branches(wrapper, "module", shape)
    layers = _traced_layers(module, shape)
    macs = {row.name: row.macs for row in count(module, shape, depth=99).rows}
    branches = []
    for branch in concat.branches:
        prefix = branch.name.removeprefix("module.")
        boxes = tuple(
            _layer_box(name, m, out, macs.get(name, 0))
            for name, m, out in layers
            if name == prefix or name.startswith(prefix + ".")
        )
        branches.append(boxes or (Box(prefix, "(the input itself)", "other", None),))
    output = _output_shape(module, shape)
    return ModuleLayout(
        shape, output, tuple(branches), tuple(len(b.channels) for b in concat.branches)
    )


def draw_module(
    module: nn.Module,
    input_shape: Sequence[int],
    ax=None,
    title: str | None = None,
    show_macs: bool = True,
):
    """Draw the module's branches between its input and its concatenation; return the figure.

    Each branch is a column, its last layer on the top row (as in the GoogLeNet paper's Figure
    2); ``show_macs`` adds each layer's multiply-adds to its box.
    """
    import matplotlib.pyplot as plt

    layout = module_layout(module, input_shape)
    depth = max(len(branch) for branch in layout.branches)
    n = len(layout.branches)
    if ax is None:
        _, ax = plt.subplots(figsize=(2.3 * n * 0.8 + 0.5, 0.85 * (depth + 2) + 0.5))
    top = depth + 1
    width = 2.3 * n
    bottom_box = _draw_box(
        ax, width / 2, 0, 2.3 * n - 0.6, "previous layer", _shape(layout.input_shape), "io"
    )
    concat_box = _draw_box(
        ax,
        width / 2,
        top,
        2.3 * n - 0.6,
        "filter concatenation",
        _shape(layout.output_shape),
        "io",
    )
    for i, (branch, channels) in enumerate(zip(layout.branches, layout.channels)):
        x = 2.3 * i + 1.15
        previous = bottom_box
        for j, box in enumerate(branch):
            y = top - len(branch) + j
            detail = f"{format_count(box.macs)} MACs" if show_macs and box.macs else ""
            drawn = _draw_box(ax, x, y, 1.9, box.label, detail, box.kind)
            _arrow(ax, previous, drawn)
            previous = drawn
        _arrow(ax, previous, concat_box)
        ax.annotate(
            f"{channels} ch", (x + 0.08, top - 0.45), ha="left", va="center", fontsize=8,
            color="#374151",
        )  # fmt: skip
    ax.set_xlim(-0.1, width + 0.1)
    ax.set_ylim(-0.6, top + 0.6)
    ax.axis("off")
    ax.set_title(title or type(module).__name__)
    return ax.figure


def network_layout(
    model: nn.Module, input_shape: Sequence[int], expand: Sequence[str] = ()
) -> NetworkLayout:
    """Return the network's stages in forward order, with side branches (e.g. auxiliary heads).

    The stages are the model's children; those named in ``expand`` are replaced by their own
    children ("blocks" of a ``nn.Sequential``). The model runs once in train mode (so that
    auxiliary heads run too) on two zero images, inside a block that restores its running
    statistics, its mode and the random state afterwards. A stage is a side branch when the
    stage after it reads the same tensor as it does.
    """
    shape = tuple(int(s) for s in input_shape)
    stages = list(_stages(model, "", set(expand)))
    inputs: dict[str, int] = {}
    outputs: dict[str, tuple[int, ...] | None] = {}
    order: list[str] = []

    def before(name: str):
        def hook(_m: nn.Module, args: tuple) -> None:
            if name not in inputs:
                order.append(name)
                inputs[name] = id(args[0]) if args else -1

        return hook

    def after(name: str):
        def hook(_m: nn.Module, _args: tuple, out: object) -> None:
            if isinstance(out, Tensor):
                outputs.setdefault(name, tuple(out.shape[1:]))

        return hook

    handles = []
    for name, m in stages:
        handles.append(m.register_forward_pre_hook(before(name)))
        handles.append(m.register_forward_hook(after(name)))
    try:
        with kept_state(model), torch.random.fork_rng(devices=[]), torch.no_grad():
            model.train()
            model(torch.zeros((2, *shape), device=device_of(model)))
    finally:
        for handle in handles:
            handle.remove()
    macs = {row.name: row.macs for row in count(model, shape, depth=99).rows}
    modules = dict(stages)
    boxes = {
        name: _stage_box(name, modules[name], outputs.get(name), macs.get(name, 0))
        for name in order
    }
    main: list[Box] = []
    side: dict[str, list[Box]] = {}
    for i, name in enumerate(order):
        following = order[i + 1] if i + 1 < len(order) else None
        if following is not None and inputs[following] == inputs[name] and main:
            side.setdefault(main[-1].name, []).append(boxes[name])
        else:
            main.append(boxes[name])
    return NetworkLayout(shape, tuple(main), {k: tuple(v) for k, v in side.items()})


def draw_network(
    model: nn.Module,
    input_shape: Sequence[int],
    expand: Sequence[str] = (),
    ax=None,
    title: str | None = None,
):
    """Draw the network's stages left to right, side branches above; return the figure."""
    import matplotlib.pyplot as plt

    layout = network_layout(model, input_shape, expand)
    n = len(layout.main) + 1
    step = 0.78
    has_side = bool(layout.side)
    if ax is None:
        _, ax = plt.subplots(figsize=(step * n * 0.95 + 0.4, 4.6 if has_side else 2.6))
    previous = _draw_box(ax, 0, 0, 0.66, "input", _shape(layout.input_shape), "io", tall=True)
    for i, box in enumerate(layout.main, start=1):
        drawn = _draw_box(ax, i * step, 0, 0.66, box.label, box.shape_text, box.kind, tall=True)
        _arrow(ax, previous, drawn)
        previous = drawn
        for k, extra in enumerate(layout.side.get(box.name, ())):
            up = _draw_box(
                ax, i * step + k * step, 2.6, 0.66, extra.label, extra.shape_text, extra.kind,
                tall=True,
            )  # fmt: skip
            _arrow(ax, drawn, up)
    ax.set_xlim(-0.5, step * n)
    ax.set_ylim(-1.1, 3.7 if has_side else 1.1)
    ax.axis("off")
    ax.set_title(title or type(model).__name__)
    return ax.figure


# --- tracing -------------------------------------------------------------------------------------


def _traced_layers(
    module: nn.Module, shape: tuple[int, ...]
) -> list[tuple[str, nn.Module, tuple[int, ...] | None]]:
    """(name, layer, output shape) of every convolution and pooling layer, in the order they run."""
    wanted = {name: m for name, m in module.named_modules() if isinstance(m, (nn.Conv2d, *_POOLS))}
    seen: dict[str, tuple[int, ...] | None] = {}

    def recorder(name: str):
        def hook(_m: nn.Module, _args: tuple, out: object) -> None:
            if name not in seen:
                seen[name] = tuple(out.shape[1:]) if isinstance(out, Tensor) else None

        return hook

    handles = [m.register_forward_hook(recorder(name)) for name, m in wanted.items()]
    try:
        with torch.no_grad(), eval_mode(module):
            module(torch.zeros((1, *shape), device=device_of(module)))
    finally:
        for handle in handles:
            handle.remove()
    return [(name, wanted[name], out) for name, out in seen.items()]


def _output_shape(module: nn.Module, shape: tuple[int, ...]) -> tuple[int, ...]:
    with torch.no_grad(), eval_mode(module):
        return tuple(module(torch.zeros((1, *shape), device=device_of(module))).shape[1:])


def _stages(model: nn.Module, prefix: str, expand: set[str]) -> Iterator[tuple[str, nn.Module]]:
    for name, child in model.named_children():
        full = f"{prefix}{name}"
        if full in expand:
            yield from _stages(child, full + ".", expand)
        else:
            yield full, child


# --- labels --------------------------------------------------------------------------------------


def _layer_box(name: str, m: nn.Module, shape: tuple[int, ...] | None, macs: int) -> Box:
    label, kind = _describe(m)
    return Box(name, label, kind, shape, macs)


def _stage_box(name: str, m: nn.Module, shape: tuple[int, ...] | None, macs: int) -> Box:
    group = re.fullmatch(r"inception(\d+[a-z])", name.split(".")[-1])
    if group:
        return Box(name, f"inception ({group.group(1)})", "module", shape, macs)
    if "aux" in type(m).__name__.lower():
        return Box(name, "auxiliary classifier", "aux", shape, macs)
    label, kind = _describe(m)
    return Box(name, label, kind, shape, macs)


def _describe(m: nn.Module) -> tuple[str, str]:
    """(label, kind) of a layer or stage."""
    if isinstance(m, BasicConv2d):
        m = m.conv
    if isinstance(m, nn.Conv2d):
        (kh, kw), stride = m.kernel_size, m.stride[0]
        kernel = f"{kh}×{kw}" + (f"/{stride}" if stride > 1 else "")
        return f"{kernel} conv, {m.out_channels}", "conv1x1" if (kh, kw) == (1, 1) else "conv"
    if isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
        k, s = _pair(m.kernel_size), _pair(m.stride or m.kernel_size)
        what = "max pool" if isinstance(m, nn.MaxPool2d) else "avg pool"
        return f"{k[0]}×{k[1]}" + (f"/{s[0]}" if s[0] > 1 else "") + f" {what}", "pool"
    if isinstance(m, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
        size = _pair(m.output_size)
        what = "avg" if isinstance(m, nn.AdaptiveAvgPool2d) else "max"
        if size == (1, 1):
            return f"global {what} pool", "pool"
        return f"adaptive {what} pool to {size[0]}×{size[1]}", "pool"
    if isinstance(m, nn.Dropout):
        return f"dropout ({m.p:.0%})", "head"
    if isinstance(m, nn.Linear):
        return f"linear, {m.out_features}", "head"
    if isinstance(m, nn.Flatten):
        return "flatten", "head"
    return type(m).__name__, "module" if list(m.children()) else "other"


def _pair(value) -> tuple[int, int]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)  # type: ignore[return-value]


def _shape(shape: tuple[int, ...]) -> str:
    return "×".join(map(str, shape))


# --- drawing -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Drawn:
    x: float
    y: float
    w: float
    h: float


def _draw_box(
    ax, x: float, y: float, w: float, label: str, detail: str, kind: str, tall: bool = False
) -> _Drawn:
    from matplotlib.patches import FancyBboxPatch

    h = 2.0 if tall else 0.62
    ax.add_patch(
        FancyBboxPatch(
            (x - w / 2, y - h / 2),
            w,
            h,
            boxstyle="round,pad=0.02,rounding_size=0.06",
            facecolor=_COLORS.get(kind, _COLORS["other"]),
            edgecolor="#374151",
            linewidth=0.8,
        )
    )
    text = f"{label}\n{detail}" if detail else label
    ax.text(
        x,
        y,
        text,
        ha="center",
        va="center",
        fontsize=7.5 if tall else 8.5,
        rotation=90 if tall else 0,
        linespacing=1.25,
    )
    return _Drawn(x, y, w, h)


def _arrow(ax, start: _Drawn, end: _Drawn) -> None:
    """An arrow from ``start`` to ``end``: rightwards along a row, upwards between rows.

    Between a narrow box and a wide one (a module's input or its concatenation), the arrow stays
    vertical above or below the narrow box.
    """
    if abs(start.y - end.y) < 1e-9:
        xy_from, xy_to = (start.x + start.w / 2, start.y), (end.x - end.w / 2, end.y)
    else:
        x_from, x_to = start.x, end.x
        if start.w > end.w:
            x_from = end.x
        elif end.w > start.w:
            x_to = start.x
        xy_from, xy_to = (x_from, start.y + start.h / 2), (x_to, end.y - end.h / 2)
    ax.annotate(
        "",
        xy=xy_to,
        xytext=xy_from,
        arrowprops={"arrowstyle": "-|>", "color": "#374151", "lw": 0.9, "shrinkA": 0, "shrinkB": 0},
    )
