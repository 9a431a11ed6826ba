"""Receptive fields of any layer: the theoretical box (size, stride, padding) and the effective one.

The theoretical field is traced, not worked out by hand: one forward pass under a
``TorchFunctionMode`` sees every convolution, pooling, padding and concatenation, the ``torch.cat``
inside an Inception module's ``forward`` included (``torch.fx`` cannot trace our networks: their
input checks branch on the input's shape), and carries for each tensor, per axis (height,
width): the field ``size`` of one unit, the ``stride`` (jump) between neighbouring units in input
pixels, and the input coordinate where unit 0's field starts (minus the effective ``padding``).
A k×k convolution with stride s and padding p maps (size, stride, start) to
(size + (k-1)·stride, stride·s, start - p·stride); element-wise ops and concatenation take the
union of their inputs' fields, so an Inception module's field is that of its widest branch.
Asymmetric kernels (1×7, 7×1) are why every size is an (h, w) pair.

The effective receptive field (Luo et al., "Understanding the Effective Receptive Field in Deep
Convolutional Neural Networks", NeurIPS 2016) is measured instead: the gradient of one output unit
with respect to the input, averaged over images. It is Gaussian-like and much smaller than the
theoretical box; ``erf_fraction`` says how much smaller.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode

from .activations import display_image, layer_output, named_layer
from .data import FASHION_MNIST, DatasetInfo
from .inference import check_image, eval_mode

__all__ = [
    "Branch",
    "Concat",
    "NotMultiBranchError",
    "ReceptiveField",
    "effective_receptive_field",
    "erf_fraction",
    "inception_modules",
    "module_branches",
    "plot_receptive_field",
    "receptive_field",
    "receptive_fields",
]


class NotMultiBranchError(ValueError):
    """A module whose forward does not concatenate branches, asked for its branches."""


@dataclass(frozen=True)
class ReceptiveField:
    """The input region a unit of a layer sees: size, stride, padding as (height, width) pairs."""

    #: Side lengths of one unit's field, in input pixels.
    size: tuple[int, int]
    #: Distance in input pixels between the fields of neighbouring units (the product of strides).
    stride: tuple[int, int]
    #: How far unit (0, 0)'s field reaches above and left of the image.
    padding: tuple[int, int]
    #: The layer's output grid (rows, cols); (1, 1) for a flat output such as a Linear layer's.
    grid: tuple[int, int]
    #: The input image's (height, width).
    input_size: tuple[int, int]

    def box(self, row: int, col: int, clip: bool = True) -> tuple[int, int, int, int]:
        """Return unit (row, col)'s field as (top, left, bottom, right), bottom and right exclusive.

        ``clip=True`` keeps the part inside the image; ``clip=False`` gives the whole field, which
        can reach into the zero padding beyond the image.
        """
        self._check_unit(row, col)
        top = row * self.stride[0] - self.padding[0]
        left = col * self.stride[1] - self.padding[1]
        bottom, right = top + self.size[0], left + self.size[1]
        if not clip:
            return top, left, bottom, right
        h, w = self.input_size
        return max(top, 0), max(left, 0), min(bottom, h), min(right, w)

    def center(self, row: int, col: int) -> tuple[float, float]:
        """Return the input coordinates (y, x) of the centre of unit (row, col)'s field."""
        top, left, bottom, right = self.box(row, col, clip=False)
        return (top + bottom - 1) / 2, (left + right - 1) / 2

    @property
    def covers_input(self) -> bool:
        """Whether every unit's field holds the whole image."""
        rows, cols = self.grid
        return all(
            self.box(r, c) == (0, 0, *self.input_size) for r in {0, rows - 1} for c in {0, cols - 1}
        )

    def __str__(self) -> str:
        return (
            f"{_pair(self.size)} receptive field, stride {_pair(self.stride)}, "
            f"padding {_pair(self.padding)}"
        )

    def _check_unit(self, row: int, col: int) -> None:
        rows, cols = self.grid
        if not (0 <= row < rows and 0 <= col < cols):
            raise ValueError(
                f"unit ({row}, {col}) is outside the layer's {rows}×{cols} grid: row goes from 0 "
                f"to {rows - 1}, col from 0 to {cols - 1}"
            )


@dataclass(frozen=True)
class Branch:
    """One branch of a multi-branch module."""

    #: Module name of the branch ("inception3a.branch2"), or "<module> input i" for a functional op.
    name: str
    #: The branch's channels in the module's concatenated output.
    channels: range
    #: The branch's field relative to the module's input: 5×5 for a 1×1 → 5×5 branch.
    field: ReceptiveField


@dataclass(frozen=True)
class Concat:
    """Where a multi-branch module concatenates its branches, and the branches in channel order."""

    #: The module's name.
    module: str
    #: The layer whose output (or input, see ``is_input``) is the concatenation.
    layer: str
    #: True when the concatenation is ``layer``'s input, as in Inception-ResNet, where the
    #: concatenated branches feed a 1×1 convolution before the residual sum.
    is_input: bool
    branches: tuple[Branch, ...]


def receptive_field(model: nn.Module, layer: str, input_shape: Sequence[int]) -> ReceptiveField:
    """Return the theoretical receptive field of ``layer`` for inputs of ``input_shape`` (C, H, W).

    ``layer`` is any module name, a branch inside a module included ("Mixed_7c.branch3x3dbl_3a").
    """
    named_layer(model, layer)
    return receptive_fields(model, input_shape, [layer])[layer]


def receptive_fields(
    model: nn.Module, input_shape: Sequence[int], layers: Sequence[str] | None = None
) -> dict[str, ReceptiveField]:
    """Return {layer name: receptive field} for every layer that ran (or ``layers``), in one pass.

    A module called several times gets the field of its first call.
    """
    trace = _run_trace(model, input_shape)
    size = (int(input_shape[-2]), int(input_shape[-1]))
    if layers is not None:
        return {name: trace.field_of(name, size) for name in layers}
    # Every layer: skip those whose field cannot be told; asking for one by name says why.
    return {
        name: trace.field_of(name, size)
        for name, call in trace.calls.items()
        if id(call.output) in trace.fields and id(call.output) not in trace.unknown
    }


def module_branches(model: nn.Module, module: str, input_shape: Sequence[int]) -> Concat:
    """Return the branches ``module`` concatenates, in channel order, each with its receptive field.

    Nested concatenations are split (Inception-v3's last blocks concatenate 1×3 and 3×1 outputs
    inside a branch), so every branch is one path from the module's input to its output.
    """
    block = named_layer(model, module)
    trace = _run_trace(model, input_shape, seed=block)
    size = (int(input_shape[-2]), int(input_shape[-1]))
    trace.field_of(module, size)  # a module that did not run fails here, saying so
    call = trace.calls[module]
    cat = trace.cats.get(id(call.output))
    layer, is_input = module, False
    if cat is None:
        layer, cat = _inner_concat(trace, module, call)
        is_input = True
    if cat is None:
        raise NotMultiBranchError(
            f"{module!r} does not concatenate branches, so it has no branches to compare. "
            "Multi-branch modules of this model: "
            + ", ".join(inception_modules(model, input_shape))
        )
    leaves = _split_concat(trace, cat)
    branches, start = [], 0
    for i, tensor in enumerate(leaves):
        name = trace.name_of(tensor, inside=module) or f"{module} input {i}"
        field = trace.field_of_tensor(tensor, size, name)
        stop = start + tensor.shape[1]
        branches.append(Branch(name, range(start, stop), field))
        start = stop
    return Concat(module, layer, is_input, tuple(branches))


def inception_modules(model: nn.Module, input_shape: Sequence[int]) -> list[str]:
    """Return the names of the modules that concatenate two or more branches along channels."""
    trace = _run_trace(model, input_shape)
    found = []
    for name, call in trace.calls.items():
        if call.start == call.stop:  # an empty container only passes its input on
            continue
        if len(trace.cats.get(id(call.output), ())) >= 2:
            # A container ending in an Inception module returns the same tensor: keep the innermost.
            found.append(name)
        elif _inner_concat(trace, name, call)[1] is not None:
            found.append(name)
    return [
        n for n in found if not any(o.startswith(n + ".") and _same(trace, n, o) for o in found)
    ]


def effective_receptive_field(
    model: nn.Module,
    layer: str,
    images: Tensor,
    position: tuple[int, int] | None = None,
    channel: int | None = None,
) -> Tensor:
    """Return the effective receptive field of one unit of ``layer``: an H×W map with maximum 1.

    It is |∂unit/∂input|, summed over input channels and averaged over ``images`` (one C×H×W image
    or a batch; random ``torch.randn`` inputs work too), in eval mode. The unit is ``position``
    (row, col), the centre of the layer's grid by default, summed over channels or ``channel``.
    An all-zero map means the unit is dead (zero after ReLU) for every image.
    """
    x = check_image(model, images, batch=True).detach().requires_grad_(True)
    with eval_mode(model):
        out = layer_output(model, layer, x)
    if out.dim() != 4:
        raise ValueError(
            f"layer {layer!r} has a flat output of shape {tuple(out.shape)}, no grid of units: "
            "choose a convolutional layer or module"
        )
    rows, cols = out.shape[-2:]
    row, col = position if position is not None else ((rows - 1) // 2, (cols - 1) // 2)
    if not (0 <= row < rows and 0 <= col < cols):
        raise ValueError(
            f"unit ({row}, {col}) is outside {layer}'s {rows}×{cols} grid: row goes from 0 to "
            f"{rows - 1}, col from 0 to {cols - 1}"
        )
    if channel is not None and not 0 <= channel < out.shape[1]:
        raise ValueError(
            f"channel {channel} is out of range: {layer} has {out.shape[1]} channels, "
            f"0 to {out.shape[1] - 1}"
        )
    unit = out[:, :, row, col] if channel is None else out[:, channel, row, col]
    (grad,) = torch.autograd.grad(unit.sum(), x)
    heat = grad.abs().sum(1).mean(0)
    peak = heat.max()
    return heat / peak if peak > 0 else heat


def erf_fraction(
    erf: Tensor, field: ReceptiveField, position: tuple[int, int], mass: float = 0.95
) -> float:
    """Return the fraction of the theoretical field's area that holds ``mass`` of the ERF's mass.

    The brightest pixels are counted first, inside the part of the field that lies in the image.
    For a Gaussian-like effective field this is well below 1 (Luo et al., 2016).
    """
    if not 0 < mass <= 1:
        raise ValueError(f"mass must be in (0, 1], got {mass}")
    top, left, bottom, right = field.box(*position)
    values = erf[top:bottom, left:right].flatten().sort(descending=True).values
    total = values.sum()
    if total <= 0:
        raise ValueError(
            "the effective receptive field is all zero (a dead unit): nothing to measure"
        )
    needed = int(torch.searchsorted(values.cumsum(0), mass * total)) + 1
    return min(needed, len(values)) / len(values)


def plot_receptive_field(
    model: nn.Module,
    layer: str,
    image: Tensor,
    position: tuple[int, int] | None = None,
    *,
    field: ReceptiveField | None = None,
    erf: Tensor | None = None,
    erf_images: Tensor | None = None,
    info: DatasetInfo = FASHION_MNIST,
):
    """Return a figure of one unit's theoretical and effective receptive fields on ``image``.

    The unit is ``position`` (row, col) of ``layer``, its grid's centre by default. The theoretical
    field is a box, dashed where it reaches beyond the image; the effective field is a heatmap
    measured on ``erf_images`` (default: ``image``). Pass ``field`` and ``erf`` to reuse them;
    ``info`` draws the image.
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    x = check_image(model, image)
    if field is None:
        field = receptive_field(model, layer, tuple(x.shape[1:]))
    if position is None:
        position = ((field.grid[0] - 1) // 2, (field.grid[1] - 1) // 2)
    field.box(*position)  # a unit outside the grid fails here, with the grid in the message
    if erf is None:
        sources = erf_images if erf_images is not None else image
        erf = effective_receptive_field(model, layer, sources, position)
    shown = display_image(x, info)
    # A fixed layout, not "constrained": the layout engine would measure every text at each draw.
    fig, (ax_rf, ax_erf) = plt.subplots(1, 2, figsize=(8.0, 4.4))
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.1, top=0.8, wspace=0.15)
    ax_rf.imshow(shown, cmap="gray_r")
    ax_erf.imshow(shown, cmap="gray_r")
    ax_erf.imshow(erf.detach().cpu().numpy(), cmap="inferno", alpha=0.7, vmin=0, vmax=1)
    (top, bottom), (left, right) = _view(field, position)
    for ax in (ax_rf, ax_erf):
        _draw_field(ax, field, position)
        ax.set_facecolor("0.85")  # beyond the image: the zero padding
        ax.set_xlim(left - 0.5, right - 0.5)
        ax.set_ylim(bottom - 0.5, top - 0.5)
        # Few ticks: each tick label costs drawing time on every update of a widget.
        ax.xaxis.set_major_locator(MaxNLocator(4, integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(4, integer=True))
        ax.set_xlabel("x (pixels)")
    ax_rf.set_ylabel("y (pixels)")
    ax_erf.set_yticklabels([])
    ax_rf.set_title(
        f"theoretical field: {_pair(field.size)} px, stride {_pair(field.stride)}\n"
        "(dashed where it reaches into the zero padding)"
    )
    if erf.max() > 0:
        share = erf_fraction(erf, field, position)
        ax_erf.set_title(
            f"effective field: 95% of the gradient\nin {share:.0%} of the theoretical box"
        )
    else:
        ax_erf.set_title("effective field: zero gradient\n(the unit is dead for this image)")
    top, left, bottom, right = field.box(*position)
    area = (bottom - top) * (right - left) / (field.input_size[0] * field.input_size[1])
    reach = "covers the whole image" if area == 1 else f"covers {area:.0%} of the image"
    fig.suptitle(f"{layer}, unit {tuple(position)}: its {_pair(field.size)} field {reach}")
    return fig


# --- tracing -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Field:
    """Per axis (h, w): field size, jump between units and start of unit 0, in input pixels."""

    size: tuple[int, int]
    jump: tuple[int, int]
    start: tuple[int, int]
    spatial: bool = True  # False once the grid is flattened away (Linear layers, flatten)


_IDENTITY = _Field((1, 1), (1, 1), (0, 0))
_WINDOWED = {"conv2d", "max_pool2d", "max_pool2d_with_indices", "avg_pool2d"}
_ADAPTIVE = {"adaptive_avg_pool2d", "adaptive_max_pool2d", "adaptive_max_pool2d_with_indices"}
_CONCAT = {"cat", "concat", "concatenate"}


@dataclass
class _Call:
    output: Tensor
    start: int  # index of the first traced op inside the call
    stop: int  # index after the last


class _Trace(TorchFunctionMode):
    """Carries a _Field along every tensor of a forward pass; records module calls and concats."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[int, _Field] = {}
        self.unknown: dict[int, str] = {}  # tensor id → the op whose field we cannot tell
        self.alive: list[Tensor] = []  # keeps traced tensors alive so that their ids stay unique
        self.cats: dict[int, list[Tensor]] = {}  # channel concatenation output id → its inputs
        self.calls: dict[str, _Call] = {}
        self.producers: dict[int, list[str]] = defaultdict(list)
        self.consumers: dict[int, list[str]] = defaultdict(list)
        self.ops = 0
        self._starts: dict[str, int] = {}

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        self.ops += 1
        first = out[0] if isinstance(out, (tuple, list)) and out else out
        if isinstance(first, Tensor):
            self._propagate(getattr(func, "__name__", str(func)), args, kwargs, first)
        return out

    def seed(self, x: Tensor) -> None:
        self.fields[id(x)] = _IDENTITY
        self.unknown.pop(id(x), None)
        self.alive.append(x)

    def field_of(self, layer: str, input_size: tuple[int, int]) -> ReceptiveField:
        call = self.calls.get(layer)
        if call is None:
            raise ValueError(
                f"layer {layer!r} did not run in the forward pass (auxiliary heads, for instance, "
                "only run in train mode): choose a layer on the main path"
            )
        return self.field_of_tensor(call.output, input_size, layer)

    def field_of_tensor(
        self, tensor: Tensor, input_size: tuple[int, int], name: str
    ) -> ReceptiveField:
        key = id(tensor)
        if key in self.unknown:
            raise ValueError(
                f"cannot tell the receptive field of {name!r}: it depends on torch operation "
                f"{self.unknown[key]!r}, which is not a convolution, pooling, padding, "
                "concatenation or element-wise operation"
            )
        field = self.fields.get(key)
        if field is None:
            raise ValueError(f"{name!r} does not depend on the input image")
        grid = tuple(tensor.shape[-2:]) if field.spatial and tensor.dim() >= 3 else (1, 1)
        padding = (-field.start[0], -field.start[1])
        return ReceptiveField(field.size, field.jump, padding, grid, input_size)

    def name_of(self, tensor: Tensor, inside: str) -> str | None:
        names = [n for n in self.producers.get(id(tensor), []) if n.startswith(inside + ".")]
        return min(names, key=len) if names else None

    def hooks(self, model: nn.Module, seed: nn.Module | None) -> list:
        handles = []
        for name, module in model.named_modules():
            if not name:
                continue
            handles.append(module.register_forward_pre_hook(self._pre_hook(name, module is seed)))
            handles.append(module.register_forward_hook(self._hook(name)))
        return handles

    def _pre_hook(self, name: str, is_seed: bool):
        def hook(_module: nn.Module, inputs) -> None:
            self._starts.setdefault(name, self.ops)
            first = inputs[0] if inputs and isinstance(inputs[0], Tensor) else None
            if is_seed and first is not None and name not in self.calls:
                self.seed(first)
            if first is not None:
                self.consumers[id(first)].append(name)

        return hook

    def _hook(self, name: str):
        def hook(_module: nn.Module, inputs, output) -> None:
            out = output[0] if isinstance(output, (tuple, list)) and output else output
            if not isinstance(out, Tensor) or name in self.calls:
                return
            self.calls[name] = _Call(out, self._starts[name], self.ops)
            self.producers[id(out)].append(name)
            self.alive.append(out)

        return hook

    def _propagate(self, name: str, args, kwargs, out: Tensor) -> None:
        tensors = [t for t in _flat_tensors(args, kwargs) if id(t) in self.fields]
        if not tensors:
            return
        self.alive.append(out)
        unknown = [self.unknown[id(t)] for t in tensors if id(t) in self.unknown]
        if unknown:
            self._mark_unknown(out, unknown[0])
            return
        field = _propagate_field(
            name, args, kwargs, out, [(t, self.fields[id(t)]) for t in tensors]
        )
        if field is None:
            self._mark_unknown(out, name)
            return
        self.fields[id(out)] = field
        self.unknown.pop(id(out), None)
        if name in _CONCAT and _arg(args, kwargs, 1, "dim", 0) % out.dim() == 1 and out.dim() == 4:
            self.cats[id(out)] = list(args[0] if args else kwargs["tensors"])

    def _mark_unknown(self, out: Tensor, op: str) -> None:
        self.fields[id(out)] = _IDENTITY
        self.unknown[id(out)] = op


def _run_trace(
    model: nn.Module, input_shape: Sequence[int], seed: nn.Module | None = None
) -> _Trace:
    shape = tuple(int(s) for s in input_shape)
    if len(shape) != 3:
        raise ValueError(f"input_shape must be (C, H, W), got {tuple(input_shape)}")
    x = check_image(model, torch.zeros(shape))
    trace = _Trace()
    if seed is None:
        trace.seed(x)
    handles = trace.hooks(model, seed)
    try:
        with torch.no_grad(), eval_mode(model), trace:
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    return trace


def _propagate_field(name: str, args, kwargs, out: Tensor, inputs: list[tuple[Tensor, _Field]]):
    """Return the field of ``out``, made by torch function ``name``; None if we cannot tell it."""
    source, field = inputs[0]
    if name in _WINDOWED or name in _ADAPTIVE or name == "pad":
        if not field.spatial or source.dim() != 4:
            return None
        if name in _ADAPTIVE:
            kernel, stride, padding, dilation = _adaptive_window(source.shape[-2:], out.shape[-2:])
        elif name == "pad":
            return _padded(field, _arg(args, kwargs, 1, "pad", ()))
        else:
            kernel, stride, padding, dilation = _window(name, source, args, kwargs)
        return _Field(
            tuple(
                r + d * (k - 1) * j for r, d, k, j in zip(field.size, dilation, kernel, field.jump)
            ),
            tuple(j * s for j, s in zip(field.jump, stride)),
            tuple(st - p * j for st, p, j in zip(field.start, padding, field.jump)),
        )
    if out.dim() < 3 or (
        out.shape[-2:] == (1, 1) and any(t.shape[-2:] != (1, 1) for t, _ in inputs)
    ):
        return _union([_flattened(t, f) for t, f in inputs])
    if name in _CONCAT and _arg(args, kwargs, 1, "dim", 0) % out.dim() >= out.dim() - 2:
        return None  # concatenating along height or width moves units around
    if all(t.dim() >= 3 and t.shape[-2:] == out.shape[-2:] for t, _ in inputs):
        return _union([f for _, f in inputs])  # element-wise: ReLU, BatchNorm, add, channel cat
    return None


def _window(name: str, source: Tensor, args, kwargs):
    if name == "conv2d":
        weight = _arg(args, kwargs, 1, "weight", None)
        kernel = tuple(weight.shape[-2:])
        stride = _pair_of(_arg(args, kwargs, 3, "stride", 1))
        padding = _arg(args, kwargs, 4, "padding", 0)
        dilation = _pair_of(_arg(args, kwargs, 5, "dilation", 1))
        if isinstance(padding, str):
            padding = (
                (0, 0)
                if padding == "valid"
                else tuple(d * (k - 1) // 2 for d, k in zip(dilation, kernel))
            )
        return kernel, stride, _pair_of(padding), dilation
    kernel = _pair_of(_arg(args, kwargs, 1, "kernel_size", 1))
    stride = _arg(args, kwargs, 2, "stride", None)
    stride = kernel if stride is None or stride == [] or stride == () else _pair_of(stride)
    padding = _pair_of(_arg(args, kwargs, 3, "padding", 0))
    dilation = _pair_of(_arg(args, kwargs, 4, "dilation", 1)) if "max" in name else (1, 1)
    return kernel, stride, padding, dilation


def _adaptive_window(size_in: Sequence[int], size_out: Sequence[int]):
    # Adaptive pooling windows can differ in length by one; take the longest.
    kernel, stride = [], []
    for n_in, n_out in zip(size_in, size_out):
        windows = [math.ceil((i + 1) * n_in / n_out) - (i * n_in) // n_out for i in range(n_out)]
        kernel.append(max(windows))
        stride.append(max(n_in // n_out, 1))
    return tuple(kernel), tuple(stride), (0, 0), (1, 1)


def _padded(field: _Field, pad: Sequence[int]) -> _Field:
    # F.pad lists (left, right, top, bottom): the field of unit 0 now starts `before` units earlier.
    before_w = pad[0] if len(pad) > 0 else 0
    before_h = pad[2] if len(pad) > 2 else 0
    start = (field.start[0] - before_h * field.jump[0], field.start[1] - before_w * field.jump[1])
    return _Field(field.size, field.jump, start)


def _flattened(tensor: Tensor, field: _Field) -> _Field:
    """The field of a unit that sees every unit of ``tensor``'s grid."""
    if not field.spatial or tensor.dim() < 3:
        return field
    grid = tensor.shape[-2:]
    size = tuple(r + (n - 1) * j for r, n, j in zip(field.size, grid, field.jump))
    return _Field(size, tuple(j * n for j, n in zip(field.jump, grid)), field.start, spatial=False)


def _union(fields: list[_Field]) -> _Field:
    start = tuple(min(f.start[a] for f in fields) for a in (0, 1))
    end = tuple(max(f.start[a] + f.size[a] for f in fields) for a in (0, 1))
    jump = tuple(max(f.jump[a] for f in fields) for a in (0, 1))
    size = (end[0] - start[0], end[1] - start[1])
    return _Field(size, jump, start, all(f.spatial for f in fields))


def _inner_concat(trace: _Trace, module: str, call: _Call):
    """Return (child, concat inputs) if a child of ``module`` takes a concatenation as input.

    This is how Inception-ResNet blocks use their branches; (module, None) if no child does.
    """
    for out_id, inputs in trace.cats.items():
        if out_id in trace.producers or len(inputs) < 2:
            continue
        for consumer in trace.consumers.get(out_id, []):
            child = consumer.rpartition(".")[0] == module
            if (
                child
                and consumer in trace.calls
                and call.start <= trace.calls[consumer].start < call.stop
            ):
                return consumer, inputs
    return module, None


def _split_concat(trace: _Trace, inputs: list[Tensor]) -> list[Tensor]:
    leaves = []
    for tensor in inputs:
        nested = trace.cats.get(id(tensor))
        # A concatenation no module returns is part of a branch (v3's 1×3 ‖ 3×1): split it too.
        if nested is not None and id(tensor) not in trace.producers:
            leaves.extend(_split_concat(trace, nested))
        else:
            leaves.append(tensor)
    return leaves


def _same(trace: _Trace, outer: str, inner: str) -> bool:
    return trace.calls[outer].output is trace.calls[inner].output


def _flat_tensors(args, kwargs) -> list[Tensor]:
    found = []
    for value in [*args, *kwargs.values()]:
        if isinstance(value, Tensor):
            found.append(value)
        elif isinstance(value, (tuple, list)):
            found.extend(v for v in value if isinstance(v, Tensor))
    return found


def _arg(args, kwargs, index: int, name: str, default):
    if len(args) > index:
        return args[index]
    return kwargs.get(name, default)


def _pair_of(value) -> tuple[int, int]:
    if isinstance(value, int):
        return value, value
    values = tuple(int(v) for v in value)
    return values if len(values) == 2 else (values[0], values[0])


def _pair(values: tuple[int, int]) -> str:
    return f"{values[0]}×{values[1]}"


def _view(field: ReceptiveField, position: tuple[int, int]) -> tuple[tuple[int, int], ...]:
    """Return (top, bottom), (left, right) axis limits that show the image and the unit's field.

    The view reaches at most half the image beyond each side.
    """
    top, left, bottom, right = field.box(*position, clip=False)
    limits = []
    for low, high, size in ((top, bottom, field.input_size[0]), (left, right, field.input_size[1])):
        margin = size // 2
        # One pixel more than the field, so that its dashed edges do not hide under the frame.
        limits.append((max(min(low, 0) - 1, -margin), min(max(high, size) + 1, size + margin)))
    return tuple(limits)


def _draw_field(ax, field: ReceptiveField, position: tuple[int, int]) -> None:
    from matplotlib.patches import Rectangle

    top, left, bottom, right = field.box(*position, clip=False)
    ax.add_patch(
        Rectangle(
            (left - 0.5, top - 0.5), right - left, bottom - top,
            fill=False, edgecolor="tab:cyan", linestyle="--", linewidth=1.2, clip_on=True,
        )
    )  # fmt: skip
    top, left, bottom, right = field.box(*position)
    ax.add_patch(
        Rectangle(
            (left - 0.5, top - 0.5), right - left, bottom - top,
            fill=False, edgecolor="tab:cyan", linewidth=2.0,
        )
    )  # fmt: skip
    y, x = field.center(*position)
    ax.plot([x], [y], marker="+", color="tab:red", markersize=10, markeredgewidth=2)
