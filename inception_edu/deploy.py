"""Make a trained network faster for inference without changing what it computes.

``fuse(model)`` returns an inference-only copy of ``model`` rewritten as inference compilers do:

1. **BatchNorm folding** (vertical fusion). In eval mode BatchNorm is a fixed per-channel affine
   map, so ``bn(conv(x))`` is one convolution with rescaled weights and a bias
   (``torch.nn.utils.fusion.fuse_conv_bn_weights``). The Inception-ResNet residual
   ``conv(x) * scale`` is folded the same way.
2. **Merging sibling convolutions** (horizontal fusion). The 1×1 reductions of an Inception module
   read the same input; stacked along the output axis they are one wider convolution whose output
   is split. One large matrix product keeps the cores busier than three small ones, and the input
   is read once.
3. **Cleaning up**: dropout (the identity in eval mode) and ``nn.Identity`` disappear; a ReLU that
   is the only reader of a convolution's fresh output runs in place.
4. **channels_last** weights and inputs: the memory layout oneDNN's CPU convolutions prefer.

The rewrite works on the ``torch.fx`` graph of the network's eval forward pass rather than on its
modules: a module's ``forward`` decides which convolutions read the same tensor, and only the graph
records that. ``count_ops`` counts the graph's operations, before and after.

``compile_frozen(model, example)`` goes further: ``torch.compile`` with Inductor's freezing folds
BatchNorm by itself, fuses each convolution with its ReLU and generates code for pooling and
concatenation, at the price of a compilation per input shape. For a compiled model ``fuse`` adds
little; for eager inference it is what there is. ``benchmarks/bench_forward.py`` times every route.
"""

from __future__ import annotations

import copy
import operator
from collections import Counter
from typing import Any

import torch
from torch import Tensor, fx, nn
from torch.nn.utils import skip_init
from torch.nn.utils.fusion import fuse_conv_bn_weights

from .models.input_checks import InputLimits, check_input

__all__ = ["FusedNetwork", "compile_frozen", "count_kernels", "count_ops", "fuse"]

#: Graph operations that only create a view of their input: they launch no kernel.
VIEW_OPS = frozenset({"getitem", "split", "flatten", "placeholder", "output", "get_attr"})


class FusedNetwork(nn.Module):
    """An inference-only network: checks the input, then runs the fused graph; returns its output.

    ``graph_module`` holds the rewritten graph. Training it would be wrong (BatchNorm is gone, so
    nothing would normalise the batch), so ``train()`` raises: fine-tune the original model and call
    ``fuse`` again.
    """

    def __init__(
        self, graph_module: fx.GraphModule, source: nn.Module, channels_last: bool
    ) -> None:
        super().__init__()
        self.graph_module = graph_module
        self.channels_last = channels_last
        self.source_name = type(source).__name__
        # The input checks of the course's networks need these two; other models run unchecked.
        self.in_channels: int | None = getattr(source, "in_channels", None)
        self._input_limits: InputLimits | None = getattr(source, "input_limits", None)
        super().train(False)

    @property
    def input_limits(self) -> InputLimits | None:
        """Return the smallest input sizes the source network accepts (None if it states none)."""
        return self._input_limits

    def forward(self, x: Tensor) -> Any:
        if self._input_limits is not None and self.in_channels is not None:
            check_input(self, x)
        if self.channels_last and isinstance(x, Tensor) and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return self.graph_module(x)

    def train(self, mode: bool = True) -> FusedNetwork:
        if mode:
            raise RuntimeError(
                f"this fused {self.source_name} is for inference only: its BatchNorm layers are "
                "folded into the convolutions and sibling convolutions are merged, so it cannot "
                "be trained. Train the original model, then call fuse(model.eval()) again."
            )
        return super().train(False)

    def extra_repr(self) -> str:
        return f"source={self.source_name}, channels_last={self.channels_last}"


def fuse(
    model: nn.Module, *, horizontal: bool = True, channels_last: bool = True
) -> FusedNetwork:
    """Return an inference-only copy of ``model`` with BatchNorm folded and sibling convs merged.

    ``model`` must be in eval mode and traceable by ``torch.fx.symbolic_trace`` (every network of
    ``inception_edu.models`` is); it is not changed. The copy computes the same outputs up to float
    rounding. ``horizontal=False`` skips merging sibling convolutions; ``channels_last=False`` keeps
    the default memory layout. Auxiliary heads, which only run in train mode, are not in the copy.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"fuse() needs a torch.nn.Module, got {type(model).__name__}")
    _check_eval(model)
    source = copy.deepcopy(model)  # the rewrite edits weights; the caller's model stays untouched
    try:
        graph_module = fx.symbolic_trace(source)
    except Exception as err:  # fx raises many kinds; all mean "this forward is not a static graph"
        raise ValueError(
            f"fuse() rewrites the torch.fx graph of a model, and torch.fx.symbolic_trace could not "
            f"trace {type(model).__name__}: {err}"
        ) from err
    _fold_batch_norms(graph_module)
    _fold_scales(graph_module)
    _remove_identities(graph_module)
    if horizontal:
        _merge_sibling_convs(graph_module)
    _relu_in_place(graph_module)
    graph_module.graph.eliminate_dead_code()
    graph_module.delete_all_unused_submodules()
    graph_module.graph.lint()
    graph_module.recompile()
    if channels_last:
        graph_module = graph_module.to(memory_format=torch.channels_last)
    return FusedNetwork(graph_module, model, channels_last)


def count_ops(model: nn.Module) -> Counter[str]:
    """Return how often each operation runs in ``model``'s forward pass (its ``torch.fx`` graph).

    Modules are counted by class (``Conv2d``, ``BatchNorm2d``, ``ReLU``), functions by name
    (``cat``, ``split``, ``add``). The graph is the one of the mode ``model`` is in.
    """
    if isinstance(model, FusedNetwork):
        model = model.graph_module
    graph_module = model if isinstance(model, fx.GraphModule) else fx.symbolic_trace(model)
    counts: Counter[str] = Counter()
    for node in graph_module.graph.nodes:
        counts[_op_name(graph_module, node)] += 1
    return counts


def count_kernels(model: nn.Module) -> int:
    """Return the number of operations in ``model``'s forward pass that compute something.

    Eager PyTorch launches about one CPU kernel per such operation; views (``split``, indexing,
    ``flatten``), the input and the output launch none.
    """
    return sum(n for name, n in count_ops(model).items() if name not in VIEW_OPS)


def compile_frozen(model: nn.Module, example: Tensor) -> nn.Module:
    """Return ``model`` compiled by ``torch.compile`` with freezing, warmed up on ``example``.

    Freezing treats the weights as constants, so Inductor can fold BatchNorm, pre-pack the weights
    into oneDNN's blocked layout and fuse each convolution with its ReLU. The returned module runs
    without gradients. The warm-up call compiles for ``example``'s shape; each new input shape
    compiles again (``dynamic=False``: a graph per shape is fastest on CPU).
    """
    if model.training:
        raise ValueError("compile_frozen() compiles for inference; call model.eval() first")
    frozen = _Frozen(model)
    frozen(example)
    return frozen


class _Frozen(nn.Module):
    """``torch.compile(model)`` called with Inductor's ``freezing`` flag on and gradients off."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.compiled = torch.compile(model, dynamic=False)
        self.train(False)

    def forward(self, x: Tensor) -> Any:
        # Dynamo reads the flag when it traces (first call per shape), before the backend's own
        # options apply, so torch.compile(..., options={"freezing": True}) would not freeze.
        with torch._inductor.config.patch(freezing=True), torch.no_grad():
            return self.compiled(x)


def _check_eval(model: nn.Module) -> None:
    training = [name or "the model" for name, m in model.named_modules() if m.training]
    if training:
        raise ValueError(
            "fuse() folds BatchNorm's running statistics, which only eval mode uses, but "
            f"{training[0]} is in train mode ({len(training)} modules are). Call model.eval() "
            "first; fuse() returns a copy, your model stays as it is."
        )


def _op_name(graph_module: fx.GraphModule, node: fx.Node) -> str:
    if node.op == "call_module":
        return type(graph_module.get_submodule(node.target)).__name__
    if node.op in ("call_function", "call_method"):
        return getattr(node.target, "__name__", str(node.target))
    return node.op


def _module(
    graph_module: fx.GraphModule, node: fx.Node, kind: type | tuple[type, ...]
) -> Any:
    """Return the module ``node`` calls if it is a ``kind``, else None."""
    if node.op != "call_module":
        return None
    module = graph_module.get_submodule(node.target)
    return module if isinstance(module, kind) else None


def _call_counts(graph_module: fx.GraphModule) -> Counter[str]:
    # A module called from two places cannot take weights that are right for only one of them.
    return Counter(n.target for n in graph_module.graph.nodes if n.op == "call_module")


def _fold_batch_norms(graph_module: fx.GraphModule) -> None:
    """Fold every eval-mode BatchNorm2d that is the only reader of a Conv2d into that conv."""
    calls = _call_counts(graph_module)
    for node in list(graph_module.graph.nodes):
        bn = _module(graph_module, node, nn.BatchNorm2d)
        if bn is None or bn.running_mean is None or calls[node.target] != 1:
            continue  # without running statistics BatchNorm normalises by the batch: not foldable
        conv_node = node.args[0]
        if not isinstance(conv_node, fx.Node):
            continue
        conv = _module(graph_module, conv_node, nn.Conv2d)
        if conv is None or len(conv_node.users) != 1 or calls[conv_node.target] != 1:
            continue
        # The conv belongs to fuse()'s private copy of the model: change it in place.
        conv.weight, conv.bias = fuse_conv_bn_weights(
            conv.weight, conv.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias
        )
        node.replace_all_uses_with(conv_node)
        graph_module.graph.erase_node(node)


def _fold_scales(graph_module: fx.GraphModule) -> None:
    """Fold ``conv(x) * s`` (Inception-ResNet's residual scale) into the conv's weights and bias."""
    calls = _call_counts(graph_module)
    for node in list(graph_module.graph.nodes):
        if node.op != "call_function" or node.target not in (operator.mul, torch.mul):
            continue
        nodes = [a for a in node.args if isinstance(a, fx.Node)]
        numbers = [a for a in node.args if isinstance(a, (int, float))]
        if len(nodes) != 1 or len(numbers) != 1 or node.kwargs:
            continue
        conv_node, scale = nodes[0], numbers[0]
        conv = _module(graph_module, conv_node, nn.Conv2d)
        if conv is None or len(conv_node.users) != 1 or calls[conv_node.target] != 1:
            continue
        with torch.no_grad():
            conv.weight.mul_(scale)
            if conv.bias is not None:
                conv.bias.mul_(scale)
        node.replace_all_uses_with(conv_node)
        graph_module.graph.erase_node(node)


def _remove_identities(graph_module: fx.GraphModule) -> None:
    """Drop ``nn.Identity`` and eval-mode dropout, which return their input unchanged."""
    for node in list(graph_module.graph.nodes):
        if _module(graph_module, node, (nn.Identity, nn.Dropout)) is not None:
            node.replace_all_uses_with(node.args[0])
            graph_module.graph.erase_node(node)


def _merge_sibling_convs(graph_module: fx.GraphModule) -> None:
    """Merge the convolutions that read the same tensor with the same geometry into one conv."""
    calls = _call_counts(graph_module)
    for node in list(graph_module.graph.nodes):
        groups: dict[tuple, list[fx.Node]] = {}
        for user in node.users:
            conv = _module(graph_module, user, nn.Conv2d)
            reads_only_node = user.args == (node,) and not user.kwargs
            if conv is not None and calls[user.target] == 1 and reads_only_node:
                groups.setdefault(_geometry(conv), []).append(user)
        for convs in groups.values():
            if len(convs) > 1:
                _merge(graph_module, node, sorted(convs, key=_position(graph_module)))


def _geometry(conv: nn.Conv2d) -> tuple:
    # Convolutions can share one weight tensor only if they slide the same window the same way.
    return (
        conv.in_channels, conv.kernel_size, conv.stride, conv.padding, conv.dilation,
        conv.groups, conv.padding_mode, conv.bias is not None, conv.weight.dtype,
    )  # fmt: skip


def _position(graph_module: fx.GraphModule) -> Any:
    order = {node: i for i, node in enumerate(graph_module.graph.nodes)}
    return order.__getitem__


def _merge(graph_module: fx.GraphModule, source: fx.Node, conv_nodes: list[fx.Node]) -> None:
    graph = graph_module.graph
    convs = [graph_module.get_submodule(n.target) for n in conv_nodes]
    merged = _stacked_conv(convs)
    target = _merged_name(graph_module, [n.target for n in conv_nodes])
    graph_module.add_submodule(target, merged)
    # If each conv feeds only a ReLU, one ReLU on the merged output replaces them all.
    relus = _relu_readers(graph_module, conv_nodes)
    with graph.inserting_before(conv_nodes[0]):
        out = graph.call_module(target, (source,))
        if relus:
            out = graph.call_module(relus[0].target, (out,))
        pieces = graph.call_function(torch.split, (out, [c.out_channels for c in convs], 1))
        for i, old in enumerate(relus or conv_nodes):
            old.replace_all_uses_with(graph.call_function(operator.getitem, (pieces, i)))
    for old in relus + conv_nodes:
        graph.erase_node(old)


def _relu_readers(graph_module: fx.GraphModule, conv_nodes: list[fx.Node]) -> list[fx.Node]:
    """Return the ReLU node reading each conv node if each has exactly that one reader, else []."""
    relus = []
    for conv_node in conv_nodes:
        reader = next(iter(conv_node.users)) if len(conv_node.users) == 1 else None
        if reader is None or _module(graph_module, reader, nn.ReLU) is None:
            return []
        relus.append(reader)
    return relus


def _stacked_conv(convs: list[nn.Conv2d]) -> nn.Conv2d:
    first = convs[0]
    merged = skip_init(  # no random initialisation: the weights are copied in below
        nn.Conv2d,
        first.in_channels,
        sum(c.out_channels for c in convs),
        first.kernel_size,
        stride=first.stride,
        padding=first.padding,
        dilation=first.dilation,
        padding_mode=first.padding_mode,
        bias=first.bias is not None,
        device=first.weight.device,
        dtype=first.weight.dtype,
    )
    with torch.no_grad():
        merged.weight.copy_(torch.cat([c.weight for c in convs]))
        if merged.bias is not None:
            merged.bias.copy_(torch.cat([c.bias for c in convs]))
    return merged.eval()


def _merged_name(graph_module: fx.GraphModule, targets: list[str]) -> str:
    """Return a free module name like ``Mixed_5b.branch1x1+branch5x5_1+branch3x3dbl_1``."""
    parts = [t.split(".") for t in targets]
    common = 0
    while all(len(p) > common + 1 and p[common] == parts[0][common] for p in parts):
        common += 1
    prefix = ".".join(parts[0][:common])
    name = "+".join("_".join(p[common:-1] if p[-1] == "conv" else p[common:]) for p in parts)
    target = f"{prefix}.{name}" if prefix else name
    while _exists(graph_module, target):
        target += "_"
    return target


def _exists(graph_module: fx.GraphModule, target: str) -> bool:
    try:
        graph_module.get_submodule(target)
    except AttributeError:
        return False
    return True


def _relu_in_place(graph_module: fx.GraphModule) -> None:
    """Let each ReLU that is the only reader of a conv's fresh output overwrite that output."""
    calls = _call_counts(graph_module)
    for node in graph_module.graph.nodes:
        relu = _module(graph_module, node, nn.ReLU)
        producer = node.args[0] if relu is not None and calls[node.target] == 1 else None
        if isinstance(producer, fx.Node) and len(producer.users) == 1:
            if _module(graph_module, producer, nn.Conv2d) is not None:
                relu.inplace = True
