"""Checkers for the exercises of notebook 07 (looking inside a trained Inception network)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..activations import named_layer
from ..attributions import attribute, blank_baseline, branch_attribution, integrated_gradients
from ..models.inception_v3 import inception_v3_small
from ..receptive_field import module_branches, receptive_field
from ._check import Mistake, Verdict, fixed_seed, run_check

__all__ = [
    "check_branch_ablation",
    "check_field_of_chain",
    "check_integrated_gradients",
    "check_saliency",
]

#: Chains of (kernel, stride, padding) layers the field checker tries, from easy to harder.
FIELD_CASES = (
    ((3, 1, 1), (3, 1, 1), (3, 1, 1)),
    ((3, 1, 1), (2, 2, 0), (5, 1, 2)),
    ((7, 2, 3), (3, 2, 1), (1, 1, 0), (3, 1, 1)),
    ((3, 2, 0), (3, 1, 0), (3, 2, 1), (7, 1, 3), (3, 2, 0)),
)

_MODULE = "Mixed_6b"  # the module whose branches the ablation checker zeroes

_SALIENCY_MISTAKES = {
    "probability": (
        "you differentiated the class probability (softmax), not the logit. Softmax couples all "
        "the classes and saturates for confident predictions: use the target's logit, "
        "model(x)[0, target]."
    ),
    "loss": (
        "you differentiated the loss (−log softmax), not the logit: use the target's logit "
        "itself, model(x)[0, target]."
    ),
    "predicted": "you explained the predicted class, not `target`: index the logits with target.",
    "sum": "you differentiated the sum of all the logits: take only model(x)[0, target].",
}


def check_field_of_chain(
    field_of_chain: Callable[[Sequence[tuple[int, int, int]]], tuple[int, int, int]],
) -> Verdict:
    """Check ``field_of_chain(layers)`` → (size, stride, padding) for (kernel, stride, padding) layers.

    The expected answers are the library's traced ``receptive_field`` of the same chain of
    convolutions and poolings.
    """

    def check() -> str:
        for layers in FIELD_CASES:
            expected = _traced_field(layers)
            got = field_of_chain([tuple(layer) for layer in layers])
            if isinstance(got, int) or not isinstance(got, (tuple, list)) or len(got) != 3:
                raise Mistake(
                    f"for {list(layers)} you returned {got!r}: return a tuple (size, stride, padding) "
                    f"of three ints, here {expected}."
                )
            got = tuple(int(v) for v in got)
            if got == expected:
                continue
            size, stride, padding = got
            if size != expected[0]:
                if size == _field(layers, stride_first=True)[0]:
                    raise Mistake(
                        f"for {list(layers)} your size is {size}, expected {expected[0]}: you multiply "
                        "the jump by a layer's stride before growing the field with that layer. A layer's "
                        "own stride spaces *its outputs*; it widens only the fields of the layers after it."
                    )
                if size == sum(k for k, _, _ in layers) - len(layers) + 1:
                    raise Mistake(
                        f"for {list(layers)} your size is {size}, expected {expected[0]}: right for "
                        "stride 1 only. After a stride-s layer, neighbouring inputs of the next layer are "
                        "s pixels apart: each layer adds (k − 1) × jump, the jump being the product of "
                        "the strides before it."
                    )
                raise Mistake(f"for {list(layers)} the field size should be {expected[0]}, you gave {size}.")
            if stride != expected[1]:
                raise Mistake(
                    f"for {list(layers)} the stride (jump) should be {expected[1]}, the product of all "
                    f"the strides; you gave {stride}."
                )
            if padding == sum(p for _, _, p in layers):
                raise Mistake(
                    f"for {list(layers)} your padding is {padding}, expected {expected[2]}: a later layer's "
                    "padding of p units reaches p × jump input pixels beyond the image, not p pixels."
                )
            raise Mistake(
                f"for {list(layers)} the padding should be {expected[2]}, you gave {padding}. It grows "
                "by p × jump per layer, with the jump before that layer."
            )
        return (
            "size += (k − 1)·jump, padding += p·jump, then jump ×= s: the same numbers as the "
            "library's traced receptive_field."
        )

    return run_check("field_of_chain", check)


def check_saliency(saliency: Callable[[nn.Module, Tensor, int], Tensor]) -> Verdict:
    """Check ``saliency(model, image, target)`` → the H×W map |∂ logit[target] / ∂ image|.

    The checker hands over a model in train mode: an attribution explains the eval-mode model.
    """

    def check() -> str:
        model, images = _model_and_images()
        for image, target in ((images[0], 3), (images[1], 8)):
            expected = attribute(model, image, target, "saliency")
            model.train()
            got = saliency(model, image, target)
            stayed_in_train_mode = model.training
            if not isinstance(got, Tensor):
                raise Mistake(f"return a tensor (an H×W map), not a {type(got).__name__}.")
            got = got.detach()
            if got.shape != expected.shape:
                raise Mistake(
                    f"return an H×W map of shape {tuple(expected.shape)}, yours has shape "
                    f"{tuple(got.shape)}: drop the batch and channel axes (for one channel, x.grad[0, 0])."
                )
            if _close(got, expected):
                continue
            if _close(got.abs(), expected):
                raise Mistake(
                    "your map has negative values: saliency is the gradient's magnitude, take .abs()."
                )
            if stayed_in_train_mode:
                raise Mistake(
                    "the model was in train mode and your function left it so: call model.eval() "
                    "first. In train mode batch norm normalizes with the statistics of this one image "
                    "and dropout drops units at random: you would explain another function than the "
                    "classifier's."
                )
            variants = _saliency_variants(model, image, target)
            for name, feedback in _SALIENCY_MISTAKES.items():
                if _close(got, variants[name]):
                    raise Mistake(feedback)
            diff = float((got - expected).abs().max())
            raise Mistake(
                f"your map differs from |∂ logit / ∂ image| by up to {diff:.3g}. Make the input a leaf "
                "that requires grad, put the model in eval mode, backpropagate model(x)[0, target] and "
                "take the gradient's magnitude."
            )
        return "same map as Captum's Saliency (attribute(..., method='saliency'))."

    return run_check("saliency", check)


def check_branch_ablation(
    logit_without: Callable[[nn.Module, Tensor, str, range, int], float],
) -> Verdict:
    """Check ``logit_without(model, image, module, channels, target)``: the logit with channels zeroed.

    The channels are those of one branch in ``module``'s concatenated output; the hook that zeroes
    them must be removed afterwards.
    """

    def check() -> str:
        model, images = _model_and_images()
        model.eval()
        image, target = images[0], 2
        concat = module_branches(model, _MODULE, tuple(image.shape))
        expected = branch_attribution(model, image, _MODULE, target, "ablation", concat=concat)
        full = _logit(model, image, target)
        block = named_layer(model, _MODULE)
        for branch in concat.branches:
            short = branch.name.removeprefix(_MODULE + ".")
            got = logit_without(model, image, _MODULE, branch.channels, target)
            if block._forward_hooks or block._forward_pre_hooks:
                raise Mistake(
                    "the hook is still registered after your function returned: keep the handle of "
                    "register_forward_hook and call handle.remove() (in a finally block), or every "
                    "later forward pass stays ablated."
                )
            if isinstance(got, Tensor):
                got = float(got)
            if not isinstance(got, (int, float)):
                raise Mistake(f"return the logit as a float, not a {type(got).__name__}.")
            want = full - expected.totals[short]
            if abs(got - want) <= 1e-4 * max(1.0, abs(want)):
                continue
            if abs(got - expected.totals[short]) <= 1e-4 * max(1.0, abs(want)):
                raise Mistake(
                    "you returned the drop of the logit; return the logit itself, with the branch zeroed."
                )
            if abs(got - full) <= 1e-6 * max(1.0, abs(full)):
                raise Mistake(
                    f"zeroing {short} ({branch.channels}) did not change the logit: the hook must "
                    "return the changed output (or change it in place), and the channels are axis 1 "
                    "of the N×C×H×W output: out[:, channels.start:channels.stop] = 0."
                )
            if abs(got - _logit_zeroed(model, image, target, block, slice(None))) <= 1e-5:
                raise Mistake(
                    f"you zeroed the whole output of {_MODULE}, not only the channels of {short}: "
                    "they are axis 1 of the N×C×H×W output (out[a:b] slices axis 0, the batch)."
                )
            raise Mistake(
                f"with {short} (channels {branch.channels.start}–{branch.channels.stop - 1}) zeroed the "
                f"{target} logit should be {want:.4f}, you gave {got:.4f}: zero axis 1, the channels."
            )
        return (
            f"same logits as branch_attribution(..., method='ablation') for the "
            f"{len(concat.branches)} branches of {_MODULE}, and the hook is gone afterwards."
        )

    return run_check("branch ablation", check)


def check_integrated_gradients(
    integrated_gradients_by_hand: Callable[[nn.Module, Tensor, Tensor, int, int], Tensor],
) -> Verdict:
    """Check ``integrated_gradients_by_hand(model, image, baseline, target, steps)`` → C×H×W.

    The attributions must add up to logit(image) − logit(baseline) within 2 %, and match the
    library's (Captum's) Integrated Gradients map.
    """
    steps = 64

    def check() -> str:
        model, images = _model_and_images()
        model.eval()
        image, target = images[1], 5
        baseline = blank_baseline(image)
        expected, _ = integrated_gradients(model, image, target, n_steps=steps)
        got = integrated_gradients_by_hand(model, image, baseline, target, steps)
        if not isinstance(got, Tensor):
            raise Mistake(f"return a tensor shaped like the image, not a {type(got).__name__}.")
        got = got.detach()
        if got.shape != image.shape:
            raise Mistake(
                f"return attributions shaped like the image, {tuple(image.shape)}; yours have shape "
                f"{tuple(got.shape)}."
            )
        change = _logit(model, image, target) - _logit(model, baseline, target)
        total = float(got.sum())
        if abs(total - change) <= 0.02 * abs(change) and _similar(got, expected):
            return (
                f"the attributions add up to {total:.3f}, the logit's change from the blank image is "
                f"{change:.3f} (completeness), and the map matches Captum's."
            )
        difference = image - baseline
        path_mean = expected / difference.where(difference != 0, torch.ones_like(difference))
        if _similar(got, path_mean, mask=difference != 0):
            raise Mistake(
                "your map is the average gradient along the path: multiply it by (image − baseline), "
                "the distance each pixel travels, to get attributions that add up to the logit's change."
            )
        if abs(total - steps * change) <= 0.05 * abs(steps * change):
            raise Mistake(
                f"your attributions add up to {total:.3f}, about {steps}× the logit's change "
                f"({change:.3f}): average the gradients over the steps (divide by their number)."
            )
        at_image = difference * _gradient(model, image, target)
        if _similar(got, at_image):
            raise Mistake(
                "you used the gradient at the image only (gradient × input): average the gradients "
                "at points along the straight path baseline + α·(image − baseline), α from 0 to 1."
            )
        raise Mistake(
            f"your attributions add up to {total:.3f} but the logit changes by {change:.3f} from the "
            "blank image to the image: they should match (completeness). Average the gradients at "
            f"{steps} points baseline + α·(image − baseline) and multiply by (image − baseline)."
        )

    return run_check("integrated_gradients_by_hand", check)


# --- helpers -------------------------------------------------------------------------------------


def _traced_field(layers: Sequence[tuple[int, int, int]]) -> tuple[int, int, int]:
    chain = nn.Sequential(*(nn.Conv2d(1, 1, k, s, p) for k, s, p in layers))
    field = receptive_field(chain, str(len(layers) - 1), (1, 64, 64))
    return field.size[0], field.stride[0], field.padding[0]


def _field(layers, stride_first: bool = False) -> tuple[int, int, int]:
    size, jump, padding = 1, 1, 0
    for k, s, p in layers:
        if stride_first:
            jump *= s
        size += (k - 1) * jump
        padding += p * jump
        if not stride_first:
            jump *= s
    return size, jump, padding


def _model_and_images() -> tuple[nn.Module, Tensor]:
    with fixed_seed(0):
        model = inception_v3_small()
        images = torch.randn(2, 1, 28, 28)
    return model.eval(), images


def _logit(model: nn.Module, image: Tensor, target: int) -> float:
    with torch.no_grad():
        return float(model(image[None])[0, target])


def _logit_zeroed(model: nn.Module, image: Tensor, target: int, block: nn.Module, index) -> float:
    def hook(_module, _inputs, output):
        output = output.clone()
        output[:, index] = 0
        return output

    handle = block.register_forward_hook(hook)
    try:
        return _logit(model, image, target)
    finally:
        handle.remove()


def _gradient(model: nn.Module, image: Tensor, target: int, of: str = "logit") -> Tensor:
    x = image[None].clone().requires_grad_(True)
    logits = model(x)
    if of == "logit":
        value = logits[0, target]
    elif of == "probability":
        value = F.softmax(logits, 1)[0, target]
    elif of == "loss":
        value = F.cross_entropy(logits, torch.tensor([target]))
    else:  # all the logits
        value = logits.sum()
    (grad,) = torch.autograd.grad(value, x)
    return grad[0]


def _saliency_variants(model: nn.Module, image: Tensor, target: int) -> dict[str, Tensor]:
    model.eval()
    with torch.no_grad():
        predicted = int(model(image[None]).argmax())
    variants = {
        "probability": _gradient(model, image, target, "probability").abs().sum(0),
        "loss": _gradient(model, image, target, "loss").abs().sum(0),
        "predicted": _gradient(model, image, predicted).abs().sum(0),
        "sum": _gradient(model, image, target, "all").abs().sum(0),
    }
    if predicted == target:
        del variants["predicted"]
    return variants


def _close(a: Tensor, b: Tensor) -> bool:
    return a.shape == b.shape and torch.allclose(a, b, rtol=1e-4, atol=1e-6 * float(b.abs().max()) + 1e-9)


def _similar(a: Tensor, b: Tensor, mask: Tensor | None = None) -> bool:
    """Whether two maps agree within 5 % of ``b``'s size (what a different quadrature gives)."""
    if a.shape != b.shape:
        return False
    if mask is not None:
        a, b = a[mask], b[mask]
    scale = float(b.abs().sum())
    return scale > 0 and float((a - b).abs().sum()) <= 0.05 * scale
