"""Checkers for the exercises of notebook 07 (looking inside a trained Inception network)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..activations import named_layer
from ..attributions import attribute, blank_baseline, integrated_gradients
from ..inference import main_logits
from ..models.inception_v3 import inception_v3_small
from ..receptive_field import module_branches, receptive_field
from ._check import Mistake, Verdict, fixed_seed, run_check, student, students_code
from ._values import Number, agree, diagnose, number, tensor, tensors_close

__all__ = [
    "check_field_of_chain",
    "check_integrated_gradients",
    "check_mean_ablation",
    "check_saliency",
]

#: Chains of (kernel, stride, padding) layers the field checker tries, from easy to harder.
FIELD_CASES = (
    ((3, 1, 1), (3, 1, 1), (3, 1, 1)),
    ((3, 1, 1), (2, 2, 0), (5, 1, 2)),
    ((7, 2, 3), (3, 2, 1), (1, 1, 0), (3, 1, 1)),
    ((3, 2, 0), (3, 1, 0), (3, 2, 1), (7, 1, 3), (3, 2, 0)),
)

_MODULE = "Mixed_6b"  # the module whose branches the mean-ablation checker replaces

# How far a map may be from Captum's (L1, relative to Captum's): a 64-step left Riemann sum is
# 3.3 % away from Captum's Gauss-Legendre rule on the checker's image.
_MAP_TOLERANCE = 0.05


def check_field_of_chain(
    field_of_chain: Callable[[Sequence[tuple[int, int, int]]], tuple[int, int, int]],
) -> Verdict:
    """Check ``field_of_chain(layers)`` → (size, stride, padding) of (kernel, stride, pad) layers.

    The expected answers are the library's traced ``receptive_field`` of the same chain of
    convolutions.
    """

    def check() -> str:
        answer = student(field_of_chain)
        expected = [_traced_field(layers) for layers in FIELD_CASES]
        got = [
            _field_answer(layers, answer([tuple(layer) for layer in layers]), want)
            for layers, want in zip(FIELD_CASES, expected, strict=True)
        ]
        stride_first = [_field(layers, stride_first=True) for layers in FIELD_CASES]
        size_variants = {
            "you multiply the jump by a layer's stride before growing the field with that layer. "
            "A layer's own stride spaces *its outputs*; it widens only the fields of the layers "
            "after it.": [field[0] for field in stride_first],
            "right for stride 1 only. After a stride-s layer, neighbouring inputs of the next "
            "layer are s pixels apart: each layer adds (k − 1) × jump, the jump being the product "
            "of the strides before it.": [
                sum(k for k, _, _ in layers) - len(layers) + 1 for layers in FIELD_CASES
            ],
        }
        padding_variants = {
            "a later layer's padding of p units reaches p × jump input pixels beyond the image, "
            "not p pixels.": [sum(p for _, _, p in layers) for layers in FIELD_CASES],
        }
        for i, what, variants, hint in (
            (0, "the field size", size_variants, ""),
            (1, "the stride (jump)", {}, "It is the product of all the strides."),
            (
                2,
                "the padding",
                padding_variants,
                "It grows by p × jump, the jump before p's layer.",
            ),
        ):
            got_i = [Number(float(field[i])) for field in got]
            expected_i = [field[i] for field in expected]
            if not agree(got_i, expected_i):
                labels = [f"for {list(layers)}, {what}" for layers in FIELD_CASES]
                raise diagnose(got_i, expected_i, labels, variants, hint=hint)
        return (
            "size += (k − 1)·jump, padding += p·jump, then jump ×= s: the same numbers as the "
            "library's traced receptive_field."
        )

    return run_check("07.1", check)


def check_saliency(saliency: Callable[[nn.Module, Tensor, int], Tensor]) -> Verdict:
    """Check ``saliency(model, image, target)`` → the H×W map |∂ logit[target] / ∂ image|.

    The checker hands over a model in train mode: an attribution explains the eval-mode model.
    """

    def check() -> str:
        model, images = _model_and_images()
        answer = student(saliency)
        for image, target in _saliency_cases(model, images):
            expected = attribute(model, image, target, "saliency")
            model.train()
            got = tensor(answer(model, image, target), "a tensor (an H×W map)")
            stayed_in_train_mode = model.training
            if got.shape != expected.shape:
                raise Mistake(
                    f"return an H×W map of shape {tuple(expected.shape)}, yours has shape "
                    f"{tuple(got.shape)}: drop the batch and channel axes (for one channel, "
                    "x.grad[0, 0])."
                )
            if _close(got, expected):
                continue
            if _close(got.abs(), expected):
                raise Mistake(
                    "your map has negative values: saliency is the gradient's magnitude, take "
                    ".abs()."
                )
            if stayed_in_train_mode:
                raise Mistake(
                    "the model was in train mode and your function left it so: call model.eval() "
                    "first. In train mode batch norm normalizes with the statistics of this one "
                    "image and dropout drops units at random: you would explain another function "
                    "than the classifier's."
                )
            for feedback, wrong in _wrong_saliencies(model, image, target).items():
                if _close(got, wrong):
                    raise Mistake(feedback)
            diff = float((got.double() - expected.double()).abs().max())
            raise Mistake(
                f"your map differs from |∂ logit / ∂ image| by up to {diff:.3g}. Make the input a "
                "leaf that requires grad, put the model in eval mode, backpropagate "
                "model(x)[0, target] and take the gradient's magnitude."
            )
        return "same map as Captum's Saliency (attribute(..., method='saliency'))."

    return run_check("07.2", check)


def check_mean_ablation(
    mean_ablation_drops: Callable[[nn.Module, Tensor, str, range, Tensor], Tensor],
) -> Verdict:
    """Check ``mean_ablation_drops(model, images, module, channels, targets)`` → N drops.

    Each image's drop is its target logit minus that logit when ``channels`` of ``module``'s
    output are replaced by their mean over ``images``, position by position (the N×C×H×W output
    averaged over N). The hook that replaces them must be removed afterwards.
    """

    def check() -> str:
        model = _calibrated_model()
        with fixed_seed(1):
            images = torch.randn(8, 1, 28, 28)
            targets = torch.randint(0, 10, (8,))
        concat = module_branches(model, _MODULE, tuple(images.shape[1:]))
        block = named_layer(model, _MODULE)
        answer = student(mean_ablation_drops)
        for branch in concat.branches:
            short = branch.name.removeprefix(_MODULE + ".")
            value = answer(model, images.clone(), _MODULE, branch.channels, targets.clone())
            if block._forward_hooks or block._forward_pre_hooks:
                raise Mistake(
                    "the hook is still registered after your function returned: keep the handle "
                    "of register_forward_hook and call handle.remove() (in a finally block), or "
                    "every later forward pass stays ablated."
                )
            got = _drops_answer(value, len(images))
            variants = _mean_ablation_variants(model, images, targets, block, branch.channels)
            expected = variants.pop("right")
            if _close_drops(got, expected):
                continue
            for feedback, wrong in variants.items():
                if _close_drops(got, wrong):
                    raise Mistake(f"{feedback} (branch {short}, channels {_span(branch)}.)")
            worst = int((got - expected).abs().argmax())
            raise Mistake(
                f"with {short} (channels {_span(branch)}) replaced by its mean, image {worst}'s "
                f"drop should be {float(expected[worst]):.4f}, you gave {float(got[worst]):.4f}. "
                "Average the module's N×C×H×W output over the images (axis 0), put those channels "
                "of the average in place of each image's, and subtract the new target logits "
                "from the original ones."
            )
        return (
            f"the same drops as replacing each of the {len(concat.branches)} branches of "
            f"{_MODULE} by its mean over the images, and the hook is gone afterwards."
        )

    return run_check("07.3", check)


def check_integrated_gradients(
    integrated_gradients_by_hand: Callable[[nn.Module, Tensor, Tensor, int, int], Tensor],
) -> Verdict:
    """Check ``integrated_gradients_by_hand(model, image, baseline, target, steps)`` → C×H×W.

    The network is the shipped, trained small Inception-v3 and the image a real test image, so
    that the logit moves by several units along the path, far above float32 rounding. The
    attributions must add up to logit(image) − logit(baseline) (completeness), and match the
    library's (Captum's) map, as closely as the usual rules over ``steps`` points do (see
    ``_allowed_errors``): midpoints, left or right Riemann sums and trapezoids are all accepted.
    """
    steps = 64

    def check() -> str:
        model, image, target = _trained_model_and_image()
        baseline = blank_baseline(image)
        expected, _ = integrated_gradients(model, image, target, n_steps=steps)
        answer = student(integrated_gradients_by_hand)
        got = tensor(
            answer(model, image.clone(), baseline.clone(), target, steps),
            "a tensor shaped like the image",
        )
        if got.shape != image.shape:
            raise Mistake(
                f"return attributions shaped like the image, {tuple(image.shape)}; yours have "
                f"shape {tuple(got.shape)}."
            )
        got = got.double()
        change = _logit(model, image, target) - _logit(model, baseline, target)
        total = float(got.sum())
        error = abs(total - change) / abs(change)
        allowed, map_allowed = _allowed_errors(model, image, target, steps, change, expected)
        map_error = _map_error(got, expected)
        if error <= allowed and map_error <= map_allowed:
            return (
                f"the attributions add up to {total:.4g}, the logit's change from the blank image "
                f"is {change:.4g} (completeness, relative error {error:.1%}), and the map is "
                f"within {map_error:.1%} of Captum's."
            )
        _diagnose_integrated_gradients(model, image, baseline, target, steps, got, expected)
        raise Mistake(
            f"your attributions add up to {total:.4g} but the logit changes by {change:.4g} from "
            f"the blank image to the image: a relative error of {error:.1%}, where {steps} steps "
            f"allow {allowed:.1%} (completeness); your map differs from Captum's by "
            f"{map_error:.1%} of its size (allowed: {map_allowed:.1%}). Average the gradients "
            f"at {steps} points baseline + α·(image − baseline) and multiply by "
            "(image − baseline)."
        )

    return run_check("07.4", check)


# --- helpers: receptive fields -------------------------------------------------------------------


def _traced_field(layers: Sequence[tuple[int, int, int]]) -> tuple[int, int, int]:
    chain = nn.Sequential(*(nn.Conv2d(1, 1, k, s, p) for k, s, p in layers))
    field = receptive_field(chain, str(len(layers) - 1), (1, 64, 64))
    return field.size[0], field.stride[0], field.padding[0]


def _field(
    layers: Sequence[tuple[int, int, int]], stride_first: bool = False
) -> tuple[int, int, int]:
    """The field of a chain, or what multiplying the jump too early gives."""
    size, jump, padding = 1, 1, 0
    for k, s, p in layers:
        if stride_first:
            jump *= s
        size += (k - 1) * jump
        padding += p * jump
        if not stride_first:
            jump *= s
    return size, jump, padding


def _field_answer(
    layers: Sequence[tuple[int, int, int]], answer: object, expected: tuple[int, int, int]
) -> tuple[int, int, int]:
    """The student's (size, stride, padding) as three ints, or a Mistake saying what to return."""
    shape_error = Mistake(
        f"for {list(layers)} you returned {answer!r}: return a tuple (size, stride, padding) of "
        f"three whole numbers, here {expected}."
    )
    # A tuple, a list, an array or a tensor of three numbers; not text, not a lone number.
    if isinstance(answer, (str, bytes)) or not hasattr(answer, "__iter__"):
        raise shape_error
    with students_code():
        items = list(answer)
    if len(items) != 3:
        raise shape_error
    values = [number(v, "whole numbers").value for v in items]
    if not all(v.is_integer() for v in values):
        raise shape_error
    size, stride, padding = (int(v) for v in values)
    return size, stride, padding


# --- helpers: the model and its gradients --------------------------------------------------------


def _model_and_images() -> tuple[nn.Module, Tensor]:
    """A fresh (untrained, seeded) small Inception-v3 in eval mode and two random images."""
    with fixed_seed(0):
        model = inception_v3_small()
        images = torch.randn(2, 1, 28, 28)
    return model.eval(), images


def _trained_model_and_image() -> tuple[nn.Module, Tensor, int]:
    """A shipped, trained small Inception-v3 (eval mode), a test image it classifies, its class.

    A trained network's logit changes by several units from the blank image to a real one, so
    that completeness is measured against a change far above float32 rounding (an untrained
    network's logit barely moves).
    """
    from .. import data, zoo  # not at import time: the checkers of the other notebooks need neither

    model = zoo.load_trained("inception_v3_small", seed=0)
    image, target = data.fashion_mnist("test", transform=data.test_transform())[0]
    return model, image, target


def _logit(model: nn.Module, image: Tensor, target: int) -> float:
    with torch.no_grad():
        return float(model(image[None])[0, target])


def _span(branch) -> str:
    return f"{branch.channels.start}–{branch.channels.stop - 1}"


def _drops_answer(value: object, n: int) -> Tensor:
    """The student's drops as a float64 tensor of length n, or a Mistake saying what to return."""
    if isinstance(value, (list, tuple)):
        with students_code():
            value = torch.tensor([float(v) for v in value])
    if not isinstance(value, Tensor) and hasattr(value, "__array__"):
        value = torch.as_tensor(value)
    got = tensor(value, f"a tensor of {n} drops, one per image")
    if got.shape != (n,):
        raise Mistake(
            f"return one drop per image, a tensor of shape ({n},); yours has shape "
            f"{tuple(got.shape)}."
        )
    return got.double()


def _close_drops(got: Tensor, expected: Tensor) -> bool:
    scale = float(expected.abs().max())
    return torch.allclose(got, expected.double(), rtol=1e-4, atol=1e-4 * scale + 1e-9)


def _calibrated_model() -> nn.Module:
    """An untrained small Inception-v3 whose BatchNorm statistics are those of random images.

    With its initial statistics (mean 0, variance 1) an untrained network's signal fades layer by
    layer and its logits barely depend on the image; calibrated, every branch changes them.
    """
    with fixed_seed(0):
        model = inception_v3_small()
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.momentum = None  # a plain average over the calibration batches
        with torch.no_grad():
            model.train()
            for _ in range(2):
                model(torch.randn(32, 1, 28, 28))
    return model.eval()


@torch.no_grad()
def _mean_ablation_variants(
    model: nn.Module, images: Tensor, targets: Tensor, block: nn.Module, channels: range
) -> dict[str, Tensor]:
    """The right drops ("right") and what typical wrong mean-ablations give, by feedback."""
    model.eval()
    kept: list[Tensor] = []
    handle = block.register_forward_hook(lambda _m, _i, out: kept.append(out))
    try:
        full = main_logits(model(images)).gather(1, targets[:, None])[:, 0]
    finally:
        handle.remove()
    out, c = kept[0], slice(channels.start, channels.stop)

    def ablated(fill: Callable[[Tensor], Tensor]) -> Tensor:
        def hook(_m: nn.Module, _i: object, output: Tensor) -> Tensor:
            output = output.clone()
            output[:, c] = fill(output[:, c])
            return output

        handle = block.register_forward_hook(hook)
        try:
            return main_logits(model(images)).gather(1, targets[:, None])[:, 0]
        finally:
            handle.remove()

    per_position = out[:, c].mean(0, keepdim=True)
    right = full - ablated(lambda t: per_position.expand_as(t))
    return {
        "right": right,
        "you returned the ablated logits; return the drops: the original target logit minus "
        "the ablated one.": full - right,
        "your drops have the wrong sign: original logit minus ablated logit, so that a branch "
        "the decision needs has a positive drop.": -right,
        "you set the channels to zero: that is the ablation of the notebook, which shows the "
        "network a value it may never see. Replace them by their mean over the images.": full
        - ablated(torch.zeros_like),
        "you averaged each image's channels over its own positions: that keeps what this image "
        "puts in the branch. Average over the images instead (axis 0), position by position.": full
        - ablated(lambda t: t.mean((2, 3), keepdim=True).expand_as(t)),
        "you averaged over the positions too (one number per channel): keep one mean per channel "
        "and position, the average of the N maps.": full
        - ablated(lambda t: out[:, c].mean((0, 2, 3), keepdim=True).expand_as(t)),
        "you used one number for all the branch's channels and positions: take the mean of each "
        "channel at each position over the images.": full
        - ablated(lambda t: out[:, c].mean().expand_as(t)),
        "you averaged over the branch's channels instead of over the images: the mean is taken "
        "over axis 0 (the images), separately for each channel and position.": full
        - ablated(lambda t: t.mean(1, keepdim=True).expand_as(t)),
    }


def _gradient(
    model: nn.Module, image: Tensor, target: int, of: Callable[[Tensor], Tensor] | None = None
) -> Tensor:
    """∂ of(logits) / ∂ image in eval mode; by default ``of`` picks the target's logit."""
    model.eval()
    x = image[None].clone().requires_grad_(True)
    logits = model(x)
    value = logits[0, target] if of is None else of(logits)
    (grad,) = torch.autograd.grad(value, x)
    return grad[0]


def _saliency_cases(model: nn.Module, images: Tensor) -> list[tuple[Tensor, int]]:
    """Explain the first image's predicted class and a class the second image is not given.

    The first case is where "the predicted class instead of target" cannot be told apart, the
    second where it can.
    """
    with torch.no_grad():
        predicted = model(images).argmax(1).tolist()
    return [(images[0], predicted[0]), (images[1], (predicted[1] + 3) % 10)]


def _wrong_saliencies(model: nn.Module, image: Tensor, target: int) -> dict[str, Tensor]:
    """Feedback → the map a typical wrong saliency gives."""
    with torch.no_grad():
        predicted = int(model.eval()(image[None]).argmax())
    probability = lambda z: F.softmax(z, 1)[0, target]  # noqa: E731
    loss = lambda z: F.cross_entropy(z, torch.tensor([target]))  # noqa: E731
    wrong = {
        "you differentiated the class probability (softmax), not the logit. Softmax couples all "
        "the classes and saturates for confident predictions: use the target's logit, "
        "model(x)[0, target].": probability,
        "you differentiated the loss (−log softmax), not the logit: use the target's logit "
        "itself, model(x)[0, target].": loss,
        "you differentiated the sum of all the logits: take only model(x)[0, target].": torch.sum,
    }
    if predicted != target:  # otherwise this mistake gives the right map
        feedback = "you explained the predicted class, not `target`: index the logits with target."
        wrong[feedback] = lambda z: z[0, predicted]
    maps = {}
    for feedback, of in wrong.items():
        maps[feedback] = _gradient(model, image, target, of).abs().sum(0)
    return maps


def _close(a: Tensor, b: Tensor) -> bool:
    return tensors_close(a, b, rtol=1e-4, atol=1e-6 * float(b.abs().max()) + 1e-9)


# --- helpers: integrated gradients ---------------------------------------------------------------


def _diagnose_integrated_gradients(
    model: nn.Module,
    image: Tensor,
    baseline: Tensor,
    target: int,
    steps: int,
    got: Tensor,
    expected: Tensor,
) -> None:
    """Raise the Mistake of the typical wrong Integrated Gradients that ``got`` matches, if any."""
    difference = image - baseline
    path_mean = expected / difference.where(difference != 0, torch.ones_like(difference))
    if _map_error(got, path_mean, mask=difference != 0) <= _MAP_TOLERANCE:
        raise Mistake(
            "your map is the average gradient along the path: multiply it by (image − baseline), "
            "the distance each pixel travels, to get attributions that add up to the logit's "
            "change."
        )
    if _map_error(got, steps * expected) <= _MAP_TOLERANCE:
        raise Mistake(
            f"your attributions are about {steps}× too large: average the gradients over the "
            "steps (divide by their number)."
        )
    if _map_error(got, difference * _gradient(model, image, target)) <= _MAP_TOLERANCE:
        raise Mistake(
            "you used the gradient at the image only (gradient × input): average the gradients "
            "at points along the straight path baseline + α·(image − baseline), α from 0 to 1."
        )
    zero = torch.zeros_like(image)
    from_zero, _ = integrated_gradients(model, image, target, baseline=zero, n_steps=steps)
    if _map_error(got, from_zero) <= _MAP_TOLERANCE:
        raise Mistake(
            "your path starts at an all-zero image, not at `baseline`: go from the baseline to "
            "the image, baseline + α·(image − baseline), and multiply by (image − baseline)."
        )


def _map_error(a: Tensor, b: Tensor, mask: Tensor | None = None) -> float:
    """The L1 distance between two maps relative to ``b``'s L1 size (inf if incomparable)."""
    if a.shape != b.shape:
        return math.inf
    a, b = a.double(), b.double()
    if mask is not None:
        a, b = a[mask], b[mask]
    scale = float(b.abs().sum())
    return float((a - b).abs().sum()) / scale if scale > 0 else math.inf


#: The usual rules for the path integral, each over the same number of points.
_RULES = ("riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid")


def _allowed_errors(
    model: nn.Module, image: Tensor, target: int, steps: int, change: float, expected: Tensor
) -> tuple[float, float]:
    """The relative completeness error, and the distance from Captum's map, that an answer over
    ``steps`` points may have: the largest of the usual rules (left, right, midpoint and
    trapezoid Riemann sums, computed by Captum), with half again as a margin; at least 2 % and
    5 %, the floors the checker always allowed.
    """
    completeness, maps = [], []
    for rule in _RULES:
        attributions, _ = integrated_gradients(model, image, target, n_steps=steps, method=rule)
        completeness.append(abs(float(attributions.double().sum()) - change) / abs(change))
        maps.append(_map_error(attributions, expected))
    return max(0.02, 1.5 * max(completeness)), max(_MAP_TOLERANCE, 1.5 * max(maps))
