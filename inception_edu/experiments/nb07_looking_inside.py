"""Notebook 07: which findings of an explanation belong to the trained network, and which would any
network (or any training run) show?

``looking_inside`` trains the small Inception-v3 with the recipe of the course's shipped checkpoints
(``inception_edu.zoo``: 5,000 training images, 2 epochs; seed 0 is the shipped checkpoint's run) and
compares it with the same network before training, the null every claim about "what the network
learned" needs. On fixed, class-balanced validation images it measures, per seed:

- which branch of ``Mixed_6b`` carries the decision, by zeroing each branch (ablation), by replacing
  it with its mean over the images (mean-ablation) and by Integrated Gradients on the module's
  output; per class and overall, trained and untrained;
- how well the four pixel-attribution methods agree with each other (Spearman rank correlation of
  their absolute maps), trained and untrained;
- Adebayo et al.'s (2018) model-randomization check: how similar each method's map of the trained
  network is to its map of the untrained one;
- the effective receptive field (Luo et al., 2016) of ``Mixed_6a``'s centre unit, before and after
  training.

``analyse`` does all the measuring for given trained and untrained networks, so that a notebook can
run it live on the shipped checkpoint.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.data import Subset

from .. import data, train
from ..activations import named_layer
from ..attributions import METHODS, attribute, blank_baseline
from ..inference import eval_mode, main_logits
from ..models import create_model
from ..receptive_field import (
    Concat,
    effective_receptive_field,
    erf_fraction,
    module_branches,
    receptive_fields,
)
from .registry import experiment
from .training import train_run

__all__ = [
    "analyse",
    "attribution_metrics",
    "branch_metrics",
    "erf_metrics",
    "branch_drops",
    "branch_ig",
    "probe_images",
    "shares",
    "spearman",
    "untrained",
]

_SHAPE = (1, 28, 28)
_ERF_LAYER = "Mixed_6a"  # the deepest stage whose centre unit's field lies inside the image


@experiment(
    "looking_inside",
    notebook="07",
    config={
        "model": "inception_v3_small",
        "train_size": 5_000,
        "epochs": 2,
        "lr": 0.1,
        "batch_size": 128,
        "module": "Mixed_6b",
        "images": 300,
        "ig_images": 50,
        "map_images": 30,
        "ig_steps": 64,
        "seeds": 3,
    },
)
def looking_inside(config: dict[str, Any], seed: int) -> dict[str, Any]:
    """Branch shares, method agreement, randomization check and ERF: trained vs untrained."""
    built: list[nn.Module] = []

    def build() -> nn.Module:
        built.append(create_model(config["model"]))
        return built[-1]

    run = train_run(build, config, seed)
    metrics = analyse(built[0].eval(), untrained(config["model"], seed), config)
    return {"val_acc": run["val_acc"], **metrics}


def untrained(name: str, seed: int) -> nn.Module:
    """Return network ``name`` as ``train_run`` builds it for ``seed``, untrained, in eval mode."""
    train.seed_everything(seed)
    return create_model(name).eval()


def probe_images(size: int) -> tuple[Tensor, Tensor]:
    """Return (images, labels): a fixed class-balanced validation sample, sorted by class."""
    val = data.fashion_mnist("val", transform=data.test_transform())
    subset: Subset = data.balanced_subset(val, size, seed=0)
    images = torch.stack([val[i][0] for i in subset.indices])
    labels = val.targets[subset.indices]
    order = labels.argsort(stable=True)
    return images[order], labels[order]


def analyse(trained: nn.Module, before: nn.Module, config: dict[str, Any]) -> dict[str, Any]:
    """Measure a trained network against the same network before training; return the metrics."""
    images, labels = probe_images(config["images"])
    return {
        **branch_metrics(trained, before, images, labels, config),
        **attribution_metrics(trained, before, images, labels, config),
        **erf_metrics(trained, before, images),
    }


def branch_metrics(
    trained: nn.Module, before: nn.Module, images: Tensor, labels: Tensor, config: dict[str, Any]
) -> dict[str, Any]:
    """Signed branch shares of ``config["module"]`` by zero- and mean-ablation, trained and
    untrained, per class and overall; Integrated Gradients' shares on ``ig_images`` of them, and how
    often each ablation names the same top branch as Integrated Gradients."""
    module = config["module"]
    concat = module_branches(trained, module, _SHAPE)
    metrics: dict[str, Any] = {"branches": [_short(b.name, module) for b in concat.branches]}
    for tag, model in (("", trained), ("untrained_", before)):
        for how in ("zero", "mean"):
            per_image = shares(branch_drops(model, images, labels, concat, how))
            metrics[f"{tag}{how}_overall"] = _round(per_image.mean(0))
            metrics[f"{tag}{how}_by_class"] = _round(_by_class(per_image, labels))
    metrics["zero_min_share"] = min(metrics["zero_overall"])
    metrics["untrained_zero_min_share"] = min(metrics["untrained_zero_overall"])

    few = _every_class(labels, config["ig_images"])
    ig = shares(branch_ig(trained, images[few], labels[few], concat, config["ig_steps"]))
    metrics["ig_overall"] = _round(ig.mean(0))
    for how in ("zero", "mean", "blank"):
        # The mean is taken over all the images, as above; then the same images as IG's.
        ablated = shares(branch_drops(trained, images, labels, concat, how))[few]
        metrics[f"top_agree_{how}_ig"] = _agree(ablated, ig)
    return metrics


def attribution_metrics(
    trained: nn.Module, before: nn.Module, images: Tensor, labels: Tensor, config: dict[str, Any]
) -> dict[str, Any]:
    """Median Spearman correlations of the |maps| of the four methods on ``map_images`` images:
    between methods (trained, untrained) and between the trained and the untrained network."""
    steps = config["ig_steps"]
    at = _every_class(labels, config["map_images"])
    maps = {
        tag: _maps(model, images[at], labels[at], steps)
        for tag, model in (("trained", trained), ("untrained", before))
    }
    metrics: dict[str, Any] = {}
    for tag in ("trained", "untrained"):
        for a, b in combinations(METHODS, 2):
            metrics[f"agreement_{tag}_{a}_{b}"] = _median_spearman(maps[tag][a], maps[tag][b])
    for method in METHODS:
        metrics[f"randomization_{method}"] = _median_spearman(
            maps["trained"][method], maps["untrained"][method]
        )
    return metrics


def erf_metrics(trained: nn.Module, before: nn.Module, images: Tensor) -> dict[str, Any]:
    """Share of ``Mixed_6a``'s centre-unit field holding 50 % and 95 % of its effective receptive
    field (gradient mass, 64 images), trained and untrained."""
    field = receptive_fields(trained, _SHAPE)[_ERF_LAYER]
    unit = ((field.grid[0] - 1) // 2, (field.grid[1] - 1) // 2)
    metrics: dict[str, Any] = {}
    for tag, model in (("trained", trained), ("untrained", before)):
        erf = effective_receptive_field(model, _ERF_LAYER, images[:64], unit)
        metrics[f"erf_half_{tag}"] = round(erf_fraction(erf, field, unit, mass=0.5), 4)
        metrics[f"erf_most_{tag}"] = round(erf_fraction(erf, field, unit, mass=0.95), 4)
    return metrics


@torch.no_grad()
def branch_drops(
    model: nn.Module, images: Tensor, targets: Tensor, concat: Concat, how: str = "zero"
) -> Tensor:
    """Return the N×B drops of each image's target logit when one branch at a time is replaced.

    ``how="zero"`` sets the branch's channels to 0 (``branch_attribution``'s ablation);
    ``how="mean"`` sets them to their mean over ``images`` at each position (mean-ablation: the
    branch then carries no information about the image, but its output stays a typical one);
    ``how="blank"`` sets them to their values for a blank image, Integrated Gradients' baseline.
    """
    if how not in ("zero", "mean", "blank"):
        raise ValueError(f"how must be 'zero', 'mean' or 'blank', got {how!r}")
    layer = named_layer(model, concat.layer)
    captured: list[Tensor] = []

    def keep(_m: nn.Module, inputs: tuple, output: Tensor) -> None:
        captured.append(inputs[0] if concat.is_input else output)

    with eval_mode(model):
        handle = layer.register_forward_hook(keep)
        try:
            full = _target_logits(model, images, targets)
            if how == "blank":
                _target_logits(model, blank_baseline(images[:1]), targets[:1])
        finally:
            handle.remove()
        reference = None  # zero
        if how == "mean":
            reference = captured[0].mean(0, keepdim=True)
        elif how == "blank":
            reference = captured[1]
        drops = []
        for branch in concat.branches:
            channels = slice(branch.channels.start, branch.channels.stop)

            def replace(t: Tensor, channels: slice = channels) -> Tensor:
                t = t.clone()
                t[:, channels] = 0 if reference is None else reference[:, channels]
                return t

            if concat.is_input:
                handle = layer.register_forward_pre_hook(lambda _m, inputs: (replace(inputs[0]),))
            else:
                handle = layer.register_forward_hook(lambda _m, _i, output: replace(output))
            try:
                drops.append(full - _target_logits(model, images, targets))
            finally:
                handle.remove()
    return torch.stack(drops, 1)


def branch_ig(
    model: nn.Module, images: Tensor, targets: Tensor, concat: Concat, n_steps: int
) -> Tensor:
    """Return the N×B Integrated Gradients totals of each branch (blank-image baseline)."""
    from captum.attr import LayerIntegratedGradients

    def logits(x: Tensor) -> Tensor:
        return main_logits(model(x))

    with eval_mode(model):
        lig = LayerIntegratedGradients(logits, named_layer(model, concat.layer))
        attr = lig.attribute(
            images,
            baselines=blank_baseline(images),
            target=targets,
            n_steps=n_steps,
            internal_batch_size=256,
            attribute_to_layer_input=concat.is_input,
        )
    attr = attr[0] if isinstance(attr, (tuple, list)) else attr
    return torch.stack(
        [attr[:, b.channels.start : b.channels.stop].sum((1, 2, 3)) for b in concat.branches], 1
    ).detach()


def shares(totals: Tensor) -> Tensor:
    """Return each row's signed shares: totals / sum of |totals| (0 where all are 0)."""
    scale = totals.abs().sum(1, keepdim=True)
    return torch.where(scale > 0, totals / scale.clamp_min(1e-30), torch.zeros_like(totals))


def spearman(a: Tensor, b: Tensor) -> float:
    """Return Spearman's rank correlation of two maps (ties get their average rank)."""
    ra, rb = _ranks(a.flatten().double()), _ranks(b.flatten().double())
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denominator = (ra.norm() * rb.norm()).item()
    return (ra @ rb).item() / denominator if denominator > 0 else 0.0


# --- helpers -------------------------------------------------------------------------------------


def _target_logits(model: nn.Module, images: Tensor, targets: Tensor) -> Tensor:
    return main_logits(model(images)).gather(1, targets[:, None])[:, 0]


def _maps(model: nn.Module, images: Tensor, targets: Tensor, steps: int) -> dict[str, list[Tensor]]:
    """|map| of every method for every image (explaining each image's label)."""
    maps: dict[str, list[Tensor]] = {m: [] for m in METHODS}
    for image, target in zip(images, targets.tolist()):
        for method in METHODS:
            maps[method].append(attribute(model, image, target, method, n_steps=steps).abs())
    return maps


def _median_spearman(a: Sequence[Tensor], b: Sequence[Tensor]) -> float:
    values = torch.tensor([spearman(x, y) for x, y in zip(a, b, strict=True)])
    return round(values.median().item(), 4)


def _ranks(v: Tensor) -> Tensor:
    _, inverse, counts = torch.unique(v, return_inverse=True, return_counts=True)
    ends = counts.cumsum(0).double()
    return ((ends - counts + 1 + ends) / 2)[inverse]


def _by_class(per_image: Tensor, labels: Tensor) -> Tensor:
    return torch.stack([per_image[labels == c].mean(0) for c in range(len(data.CLASSES))])


def _every_class(labels: Tensor, count: int) -> Tensor:
    """Indices of ``count`` images, the same number from each class (labels in class order)."""
    per_class = count // len(data.CLASSES)
    return torch.cat([(labels == c).nonzero()[:per_class, 0] for c in range(len(data.CLASSES))])


def _agree(a: Tensor, b: Tensor) -> float:
    """Fraction of images whose branch of largest share is the same by both methods."""
    return round((a.argmax(1) == b.argmax(1)).double().mean().item(), 4)


def _round(t: Tensor) -> list:
    return [round(float(v), 4) for v in t] if t.dim() == 1 else [_round(row) for row in t]


def _short(name: str, module: str) -> str:
    return name.removeprefix(module + ".")
