"""Count parameters and multiply-adds (MACs) of a model, per module.

MACs come from ``torch.utils.flop_counter``, which counts convolutions and matrix products; for
those, one multiply-add is two FLOPs, so MACs = FLOPs / 2. The count is taken in eval mode (so
auxiliary heads that only run in training are not counted), for one forward pass.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from .inference import device_of, eval_mode

__all__ = ["Cost", "Row", "count", "format_count"]


@dataclass(frozen=True)
class Row:
    """One module of the cost table."""

    name: str
    kind: str
    output_shape: tuple[int, ...] | None
    params: int
    macs: int


@dataclass(frozen=True)
class Cost:
    """Parameters and MACs of a model for one input shape, with a per-module breakdown."""

    params: int
    macs: int
    input_shape: tuple[int, ...]
    rows: list[Row] = field(default_factory=list)

    def table(self) -> str:
        """Return the per-module table as plain text."""
        header = ("module", "type", "output shape", "params", "MACs", "% MACs")
        lines = [header] + [self._cells(r) for r in self.rows]
        lines.append(("total", "", "", f"{self.params:,}", format_count(self.macs), "100.0"))
        widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
        out = []
        for i, line in enumerate(lines):
            cells = [
                c.ljust(w) if j < 3 else c.rjust(w) for j, (c, w) in enumerate(zip(line, widths))
            ]
            out.append("  ".join(cells).rstrip())
            if i == 0 or i == len(lines) - 2:
                out.append("  ".join("-" * w for w in widths))
        return "\n".join(out)

    def __str__(self) -> str:
        return self.table()

    def __repr__(self) -> str:
        return (
            f"Cost(params={self.params:,}, macs={format_count(self.macs)}, "
            f"input_shape={self.input_shape})"
        )

    def _repr_html_(self) -> str:
        head = "".join(
            f"<th>{h}</th>" for h in ("module", "type", "output shape", "params", "MACs", "% MACs")
        )
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in self._cells(r)) + "</tr>"
            for r in self.rows
        )
        total = (
            f"<tr><th>total</th><td></td><td></td><th>{self.params:,}</th>"
            f"<th>{format_count(self.macs)}</th><th>100.0</th></tr>"
        )
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}{total}</tbody></table>"

    def _cells(self, r: Row) -> tuple[str, ...]:
        shape = "×".join(str(s) for s in r.output_shape) if r.output_shape else ""
        share = 100.0 * r.macs / self.macs if self.macs else 0.0
        return (r.name, r.kind, shape, f"{r.params:,}", format_count(r.macs), f"{share:.1f}")


def count(model: nn.Module, input_shape: Sequence[int], depth: int = 1) -> Cost:
    """Return the parameters and MACs of ``model`` on an input of ``input_shape``.

    ``input_shape`` is ``(C, H, W)`` for one image, or ``(N, C, H, W)`` to count a whole batch.
    The table lists the modules down to ``depth`` levels of nesting (1 = the model's children).
    """
    shape = _check_shape(input_shape)
    tracked = {name: m for name, m in model.named_modules() if name and name.count(".") < depth}
    shapes: dict[str, tuple[int, ...]] = {}
    hooks = [m.register_forward_hook(_shape_recorder(shapes, name)) for name, m in tracked.items()]
    counter = FlopCounterMode(display=False, depth=None)
    try:
        with torch.no_grad(), eval_mode(model), counter:
            model(torch.zeros(shape, device=device_of(model)))
    except (RuntimeError, ValueError) as err:
        raise ValueError(
            f"cost.count could not run {type(model).__name__} on an input of shape "
            f"{tuple(shape)}: {err}"
        ) from err
    finally:
        for h in hooks:
            h.remove()

    flops = counter.get_flop_counts()
    root = type(model).__name__
    rows = [
        Row(
            name=name,
            kind=type(m).__name__,
            output_shape=shapes.get(name),
            params=_params(m),
            macs=sum(flops.get(f"{root}.{name}", {}).values()) // 2,
        )
        for name, m in tracked.items()
    ]
    return Cost(
        params=_params(model), macs=counter.get_total_flops() // 2, input_shape=shape, rows=rows
    )


def format_count(n: float) -> str:
    """Return ``n`` with a K/M/G suffix, four decimals for G (``1.4984 G``)."""
    if abs(n) >= 1e9:
        return f"{n / 1e9:.4f} G"
    if abs(n) >= 1e6:
        return f"{n / 1e6:.2f} M"
    if abs(n) >= 1e3:
        return f"{n / 1e3:.1f} K"
    return f"{int(n)}"


def _params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _check_shape(input_shape: Sequence[int]) -> tuple[int, ...]:
    shape = tuple(int(s) for s in input_shape)
    if len(shape) == 3:
        shape = (1, *shape)
    if len(shape) != 4 or min(shape) < 1:
        raise ValueError(
            "input_shape must be (C, H, W) or (N, C, H, W) with positive sizes, got "
            f"{tuple(input_shape)}"
        )
    return shape


def _shape_recorder(shapes: dict[str, tuple[int, ...]], name: str):
    def hook(module, inputs, output):
        if isinstance(output, torch.Tensor):
            shapes[name] = tuple(output.shape[1:])

    return hook
