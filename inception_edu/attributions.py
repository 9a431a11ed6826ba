"""Which pixels, and which branch of an Inception module, carried a decision: Captum attributions.

Four pixel attribution methods, all Captum's: Integrated Gradients (Sundararajan et al., 2017),
Saliency (the gradient's magnitude, Simonyan et al., 2014), Grad-CAM (Selvaraju et al., 2017) on a
convolutional layer, upsampled to the image, and Occlusion (Zeiler & Fergus, 2014). The baseline,
for Integrated Gradients and Occlusion, is a blank image: every pixel black (0) before
normalization (the background of a Fashion-MNIST image); the dataset's ``DatasetInfo`` says what
"black" is after normalization, and names the classes (Fashion-MNIST's by default).

``branch_attribution`` asks the Inception question: of a module's branches (1×1, 3×3, 5×5, pool),
which one carried the decision? With Integrated Gradients on the module's concatenated output, each
branch's share is the attribution summed over its channels (the totals add up to the target logit's
change from the baseline, the completeness property); with ablation, it is the drop of the target
logit when that branch's output is zeroed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

import torch
from torch import Tensor, nn

from .activations import capture, display_image, main_layers, named_layer
from .data import FASHION_MNIST, DatasetInfo
from .inference import check_image, eval_mode, main_logits
from .receptive_field import Concat, module_branches

__all__ = [
    "BRANCH_METHODS",
    "LABELS",
    "METHODS",
    "BranchAttribution",
    "TargetError",
    "attribute",
    "blank_baseline",
    "branch_attribution",
    "check_target",
    "class_names",
    "default_gradcam_layer",
    "integrated_gradients",
    "plot_attributions",
    "plot_branch_attribution",
    "predict",
]

METHODS = ("integrated_gradients", "saliency", "gradcam", "occlusion")
BRANCH_METHODS = ("integrated_gradients", "ablation")
LABELS = {
    "integrated_gradients": "Integrated Gradients",
    "saliency": "Saliency",
    "gradcam": "Grad-CAM",
    "occlusion": "Occlusion",
    "ablation": "ablation",
}
# Methods whose maps are signed (evidence for and against); the others are magnitudes.
_SIGNED = {"integrated_gradients", "occlusion"}


class TargetError(ValueError):
    """A target class that the model does not have."""


@dataclass(frozen=True)
class BranchAttribution:
    """How much each branch of an Inception module contributed to the target class's logit."""

    module: str
    target: int
    method: str
    #: Signed total per branch (short name → value): the Integrated Gradients attribution summed
    #: over the branch's channels, or the drop of the target logit when the branch is zeroed.
    totals: dict[str, float]
    #: Each branch's receptive field relative to the module's input, as (h, w): its "scale".
    sizes: dict[str, tuple[int, int]]
    #: The target's name and probability for this image.
    class_name: str
    probability: float

    @property
    def shares(self) -> dict[str, float]:
        """Return each branch's total over the sum of |totals|: signed; the |shares| add up to 1."""
        scale = sum(abs(v) for v in self.totals.values())
        return {k: (v / scale if scale > 0 else 0.0) for k, v in self.totals.items()}

    @property
    def top(self) -> str:
        """Return the branch of largest positive total (of largest |total| if none is positive)."""
        if max(self.totals.values()) > 0:
            return max(self.totals, key=self.totals.get)
        return max(self.totals, key=lambda k: abs(self.totals[k]))


def predict(model: nn.Module, image: Tensor) -> Tensor:
    """Return the class probabilities (softmax of the logits) for one image, in eval mode."""
    x = check_image(model, image)
    with torch.no_grad(), eval_mode(model):
        return torch.softmax(main_logits(model(x))[0], 0)


def class_names(num_classes: int, info: DatasetInfo = FASHION_MNIST) -> list[str]:
    """Return the names of a model's classes: ``info``'s if it has that many, else the numbers."""
    if num_classes == len(info.classes):
        return list(info.classes)
    return [str(i) for i in range(num_classes)]


def check_target(target: int, num_classes: int, info: DatasetInfo = FASHION_MNIST) -> int:
    """Return ``target`` as an int if the model has that class; else raise TargetError."""
    is_int = isinstance(target, int) or (isinstance(target, Tensor) and target.numel() == 1)
    if is_int and 0 <= int(target) < num_classes:
        return int(target)
    names = class_names(num_classes, info)
    listed = ", ".join(f"{i} {n}" for i, n in enumerate(names)) if num_classes <= 20 else ""
    listed = f" ({listed})" if listed else ""
    raise TargetError(
        f"target class {target!r} is out of range: this model has {num_classes} classes, "
        f"0 to {num_classes - 1}{listed}"
    )


def blank_baseline(image: Tensor, info: DatasetInfo = FASHION_MNIST) -> Tensor:
    """Return a blank image shaped like ``image``: every pixel black (0) before normalization.

    ``info`` holds the mean and std the images were normalized with.
    """
    return info.blank(image)


def integrated_gradients(
    model: nn.Module,
    image: Tensor,
    target: int,
    *,
    baseline: Tensor | None = None,
    n_steps: int = 64,
    info: DatasetInfo = FASHION_MNIST,
    method: str = "gausslegendre",
) -> tuple[Tensor, float]:
    """Return (C×H×W attributions, convergence delta) of Integrated Gradients for class ``target``.

    Completeness: the attributions add up to logit(image) - logit(baseline) for the target, up to
    the delta, which shrinks as ``n_steps`` grows. The default baseline is ``info``'s black image.
    ``method`` is Captum's rule for the path integral: "gausslegendre" (its default),
    "riemann_left", "riemann_right", "riemann_middle" or "riemann_trapezoid".
    """
    x, target, baseline = _prepare(model, image, target, baseline, info)
    return _integrated_gradients(model, x, target, baseline, n_steps, method)


def attribute(
    model: nn.Module,
    image: Tensor,
    target: int | None = None,
    method: str = "integrated_gradients",
    *,
    layer: str | None = None,
    baseline: Tensor | None = None,
    n_steps: int = 64,
    window: int = 7,
    stride: int = 4,
    info: DatasetInfo = FASHION_MNIST,
) -> Tensor:
    """Return an H×W attribution map of ``image`` for class ``target`` (default: the predicted one).

    ``method`` is one of METHODS. Integrated Gradients and Occlusion are signed (evidence for the
    class is positive); Saliency is the gradient's magnitude; Grad-CAM is ReLU'd and upsampled from
    ``layer`` (default: ``default_gradcam_layer``). Occlusion slides a blank ``window``×``window``
    patch by ``stride`` pixels. Channels are summed.
    """
    from captum.attr import LayerAttribution, LayerGradCam, Occlusion, Saliency

    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    x, target, baseline = _prepare(model, image, target, baseline, info)
    forward = _logits_of(model)
    with eval_mode(model):
        if method == "integrated_gradients":
            return _integrated_gradients(model, x, target, baseline, n_steps)[0].sum(0)
        if method == "saliency":
            attr = Saliency(forward).attribute(_leaf(x), target=target, abs=True)
        elif method == "gradcam":
            name = layer if layer is not None else default_gradcam_layer(model, tuple(x.shape[1:]))
            cam = LayerGradCam(forward, named_layer(model, name)).attribute(
                x, target=target, relu_attributions=True
            )
            attr = LayerAttribution.interpolate(cam, tuple(x.shape[-2:]), "bilinear")
        else:
            c = x.shape[1]
            attr = Occlusion(forward).attribute(
                x,
                sliding_window_shapes=(c, window, window),
                strides=(c, stride, stride),
                baselines=baseline,
                target=target,
                perturbations_per_eval=64,
            )
    return attr[0].detach().sum(0)


def default_gradcam_layer(model: nn.Module, input_shape: Sequence[int]) -> str:
    """Return the last top-level layer with an output over 1×1: the last Inception module."""
    top_level = set(main_layers(model))
    outputs = capture(model, torch.zeros(tuple(input_shape)))
    spatial = [
        n for n, out in outputs.items() if n in top_level and out.shape[-2] * out.shape[-1] > 1
    ]
    if not spatial:
        raise ValueError("the model has no layer with a spatial output for Grad-CAM: pass layer=")
    return spatial[-1]


def branch_attribution(
    model: nn.Module,
    image: Tensor,
    module: str,
    target: int | None = None,
    method: str = "integrated_gradients",
    *,
    baseline: Tensor | None = None,
    n_steps: int = 64,
    concat: Concat | None = None,
    info: DatasetInfo = FASHION_MNIST,
) -> BranchAttribution:
    """Return how much each branch of Inception ``module`` contributed to class ``target``'s logit.

    ``method="integrated_gradients"`` attributes on the module's concatenated branches (Captum's
    LayerIntegratedGradients) and sums each branch's channels; ``"ablation"`` zeroes one branch
    at a time and measures the drop of the target logit. In Inception-ResNet blocks the branches
    feed a 1×1 convolution whose output is added to the skip connection: the shares are then those
    of the residual path. ``concat`` (from ``module_branches``) saves tracing the module again.
    """
    if method not in BRANCH_METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(BRANCH_METHODS)}")
    x, target, baseline = _prepare(model, image, target, baseline, info)
    if concat is None:
        concat = module_branches(model, module, tuple(x.shape[1:]))
    with eval_mode(model):
        if method == "integrated_gradients":
            totals = _branch_integrated_gradients(model, x, target, baseline, concat, n_steps)
        else:
            totals = _branch_ablation(model, x, target, concat)
        probabilities = torch.softmax(main_logits(model(x)).detach()[0], 0)
    short = [_short(b.name, module) for b in concat.branches]
    return BranchAttribution(
        module=module,
        target=target,
        method=method,
        totals=dict(zip(short, totals)),
        sizes={s: b.field.size for s, b in zip(short, concat.branches)},
        class_name=class_names(len(probabilities), info)[target],
        probability=float(probabilities[target]),
    )


def plot_attributions(
    model: nn.Module,
    image: Tensor,
    target: int | None = None,
    methods: Sequence[str] = METHODS,
    *,
    maps: dict[str, Tensor] | None = None,
    layer: str | None = None,
    info: DatasetInfo = FASHION_MNIST,
):
    """Return a figure of ``image`` and its attribution maps for class ``target``, one per method.

    Red marks evidence for the class, blue against it (signed methods); ``maps`` ({method: H×W},
    as ``attribute`` returns them) avoids computing them again. ``info`` draws the image and names
    the classes.
    """
    import matplotlib.pyplot as plt

    probabilities = predict(model, image)
    predicted = int(probabilities.argmax())
    target = predicted if target is None else check_target(target, len(probabilities), info)
    names = class_names(len(probabilities), info)
    maps = dict(maps or {})
    for method in methods:
        if method not in maps:
            maps[method] = attribute(model, image, target, method, layer=layer, info=info)
    shown = display_image(image, info)
    # A fixed layout, not "constrained": the layout engine would measure every text at each draw.
    fig, axes = plt.subplots(1, len(methods) + 1, figsize=(2.4 * (len(methods) + 1), 3.3))
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.02, top=0.74, wspace=0.08)
    axes[0].imshow(shown, cmap="gray_r")
    axes[0].set_title(f"image\npredicted {names[predicted]} ({probabilities[predicted]:.0%})")
    for ax, method in zip(axes[1:], methods):
        heat = maps[method].detach().cpu().numpy()
        ax.imshow(shown, cmap="gray_r", alpha=0.35)
        if method in _SIGNED:
            bound = float(abs(heat).max()) or 1.0
            ax.imshow(heat, cmap="RdBu_r", vmin=-bound, vmax=bound, alpha=0.8)
        else:
            ax.imshow(heat, cmap="Reds", vmin=0, vmax=float(heat.max()) or 1.0, alpha=0.8)
        ax.set_title(f"{LABELS[method]}\n→ {names[target]} (p = {probabilities[target]:.2f})")
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(
        f"Where the evidence for {names[target]} lies (red: for, blue: against); "
        f"the model predicts {names[predicted]}",
        fontsize=10,
    )
    return fig


def plot_branch_attribution(
    model: nn.Module,
    image: Tensor,
    module: str,
    target: int | None = None,
    method: str = "integrated_gradients",
    *,
    result: BranchAttribution | None = None,
    info: DatasetInfo = FASHION_MNIST,
):
    """Return a bar chart of each branch's share of ``module``'s contribution to class ``target``.

    Bars are labelled with the branch's scale (its receptive field inside the module, e.g. 5×5);
    pass ``result`` (from ``branch_attribution``) to reuse it.
    """
    import matplotlib.pyplot as plt

    if result is None:
        result = branch_attribution(model, image, module, target, method, info=info)
    shares = result.shares
    names = list(shares)
    labels = [f"{n} ({_size(result.sizes[n])})" for n in names]
    values = [100 * shares[n] for n in names]
    fig, ax = plt.subplots(figsize=(6.4, 0.45 * len(names) + 1.8))
    colors = ["tab:red" if v >= 0 else "tab:blue" for v in values]
    ax.barh(range(len(names)), values, color=colors)
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels(labels)
    ax.invert_yaxis()
    ax.axvline(0, color="black", linewidth=0.8)
    unit = "attribution" if result.method == "integrated_gradients" else "logit drop when zeroed"
    ax.set_xlabel(f"share of |{unit}| (%), by {LABELS[result.method]}")
    cls, top = result.class_name, result.top
    if any(result.totals.values()):
        finding = (
            f"{result.module}: {top} ({_size(result.sizes[top])}) carried the decision for {cls}\n"
            f"({shares[top]:.0%} of the total; p({cls}) = {result.probability:.2f})"
        )
    else:
        finding = f"{result.module}: no branch changes the {cls} logit (all totals are 0)"
    fig.suptitle(finding, fontsize=10)
    fig.tight_layout()
    return fig


def _prepare(
    model: nn.Module,
    image: Tensor,
    target: int | None,
    baseline: Tensor | None,
    info: DatasetInfo,
) -> tuple[Tensor, int, Tensor]:
    x = check_image(model, image)
    with torch.no_grad(), eval_mode(model):
        logits = main_logits(model(x))
    if target is None:
        target = int(logits.argmax())
    else:
        target = check_target(target, logits.shape[1], info)
    if baseline is None:
        baseline = blank_baseline(x, info)
    else:
        baseline = baseline.to(x).expand_as(x) if baseline.dim() < 4 else baseline.to(x)
    return x, target, baseline


def _integrated_gradients(
    model: nn.Module,
    x: Tensor,
    target: int,
    baseline: Tensor,
    n_steps: int,
    method: str = "gausslegendre",
) -> tuple[Tensor, float]:
    from captum.attr import IntegratedGradients

    with eval_mode(model):
        attributions, delta = IntegratedGradients(_logits_of(model)).attribute(
            x,
            baselines=baseline,
            target=target,
            n_steps=n_steps,
            method=method,
            return_convergence_delta=True,
        )
    return attributions[0].detach(), float(delta)


def _leaf(x: Tensor) -> Tensor:
    # Captum warns when its input does not already require gradients.
    return x.detach().clone().requires_grad_(True)


def _logits_of(model: nn.Module):
    def forward(x: Tensor) -> Tensor:
        return main_logits(model(x))

    return forward


def _branch_integrated_gradients(
    model: nn.Module, x: Tensor, target: int, baseline: Tensor, concat: Concat, n_steps: int
) -> list[float]:
    from captum.attr import LayerIntegratedGradients

    lig = LayerIntegratedGradients(_logits_of(model), named_layer(model, concat.layer))
    attr = lig.attribute(
        x,
        baselines=baseline,
        target=target,
        n_steps=n_steps,
        attribute_to_layer_input=concat.is_input,
    )
    attr = attr[0] if isinstance(attr, (tuple, list)) else attr
    return [float(attr[:, b.channels.start : b.channels.stop].sum()) for b in concat.branches]


@torch.no_grad()
def _branch_ablation(model: nn.Module, x: Tensor, target: int, concat: Concat) -> list[float]:
    layer = named_layer(model, concat.layer)
    full = float(main_logits(model(x))[0, target])
    drops = []
    for branch in concat.branches:
        zero = partial(_zero_channels, channels=branch.channels)
        if concat.is_input:
            handle = layer.register_forward_pre_hook(lambda _m, inputs, z=zero: (z(inputs[0]),))
        else:
            handle = layer.register_forward_hook(lambda _m, _inputs, output, z=zero: z(output))
        try:
            drops.append(full - float(main_logits(model(x))[0, target]))
        finally:
            handle.remove()
    return drops


def _zero_channels(t: Tensor, channels: range) -> Tensor:
    t = t.clone()
    t[:, channels.start : channels.stop] = 0
    return t


def _short(name: str, module: str) -> str:
    return name[len(module) + 1 :] if name.startswith(module + ".") else name


def _size(size: tuple[int, int]) -> str:
    return f"{size[0]}×{size[1]}"
