"""Notebook 07's checkers: reference solutions and unusual correct answers pass; typical wrong
answers fail with the feedback that names the mistake."""

import numpy as np
import pytest
import torch

from inception_edu import exercises as ex

import exercise_solutions_looking_inside as sol

pytestmark = pytest.mark.usefixtures("one_thread")


def gradient(model, image, target, of=lambda logits, target: logits[0, target]):
    model.eval()
    x = image[None].clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(of(model(x), target), x)
    return grad[0]


# --- receptive field of a chain ------------------------------------------------------------------


def field_backwards(layers):
    """From the last layer down: size → (size − 1)·s + k, padding → padding·s + p."""
    size, padding, jump = 1, 0, 1
    for kernel, stride, pad in reversed(layers):
        size = (size - 1) * stride + kernel
        padding = padding * stride + pad
        jump *= stride
    return [size, jump, padding]


def stride_one(layers):
    return sum(k for k, _, _ in layers) - len(layers) + 1, 1, sum(p for _, _, p in layers)


def stride_first(layers):
    size, jump, padding = 1, 1, 0
    for k, s, p in layers:
        jump *= s
        size += (k - 1) * jump
        padding += p * jump
    return size, jump, padding


def plain_padding(layers):
    size, jump, _ = sol.field_of_chain(layers)
    return size, jump, sum(p for _, _, p in layers)


def last_stride(layers):
    size, _, padding = sol.field_of_chain(layers)
    return size, layers[-1][1], padding


# --- saliency ------------------------------------------------------------------------------------


def saliency_autograd_float64(model, image, target):
    return gradient(model, image, target).abs().sum(0).double()


def saliency_squeezed(model, image, target):
    model.eval()
    x = image.unsqueeze(0).requires_grad_()
    model(x)[0, target].backward()
    return x.grad.abs().squeeze()


def signed(model, image, target):
    return gradient(model, image, target)[0]


def of_probability(model, image, target):
    return gradient(model, image, target, lambda z, t: torch.softmax(z, 1)[0, t]).abs()[0]


def of_loss(model, image, target):
    loss = lambda z, t: torch.nn.functional.cross_entropy(z, torch.tensor([t]))  # noqa: E731
    return gradient(model, image, target, loss).abs()[0]


def of_all_logits(model, image, target):
    return gradient(model, image, target, lambda z, t: z.sum()).abs()[0]


def of_predicted_class(model, image, target):
    return gradient(model, image, target, lambda z, t: z[0, z.argmax()]).abs()[0]


def in_train_mode(model, image, target):
    x = image[None].clone().requires_grad_(True)
    model(x)[0, target].backward()
    return x.grad[0, 0].abs()


def doubled(model, image, target):
    """Unrecognized: on the case where target is the predicted class (once a checker crash)."""
    return 2 * sol.saliency(model, image, target)


# --- mean ablation -------------------------------------------------------------------------------


def block_output(model, images, module):
    kept = []
    handle = model.get_submodule(module).register_forward_hook(lambda _m, _i, out: kept.append(out))
    try:
        with torch.no_grad():
            logits = model(images)
    finally:
        handle.remove()
    return logits, kept[0]


def ablated_with(fill):
    """A mean-ablation whose replacement is fill(block output, channel slice)."""

    def drops(model, images, module, channels, targets):
        model.eval()
        logits, out = block_output(model, images, module)
        c = slice(channels.start, channels.stop)
        value = fill(out, c)

        def replace(_module, _inputs, output):
            output = output.clone()
            output[:, c] = value.expand_as(output[:, c])
            return output

        handle = model.get_submodule(module).register_forward_hook(replace)
        try:
            with torch.no_grad():
                ablated = model(images)
        finally:
            handle.remove()
        picked = torch.arange(len(images)), targets
        return logits[picked] - ablated[picked]

    return drops


def mean_ablation_in_place_list(model, images, module, channels, targets):
    """One pass per image for the ablated logits, the mean set in place, a list of floats back."""
    logits, out = block_output(model.eval(), images, module)
    mean = out[:, channels.start : channels.stop].mean(0)

    def replace(_module, _inputs, output):
        output[:, channels.start : channels.stop] = mean  # in place: the hook returns None

    handle = model.get_submodule(module).register_forward_hook(replace)
    try:
        with torch.no_grad():
            return [
                float(logits[i, t] - model(images[i : i + 1])[0, t])
                for i, t in enumerate(targets.tolist())
            ]
    finally:
        handle.remove()


def mean_ablation_numpy(model, images, module, channels, targets):
    return sol.mean_ablation_drops(model, images, module, channels, targets).double().numpy()


def mean_hook_left(model, images, module, channels, targets):
    logits, out = block_output(model.eval(), images, module)
    mean = out[:, channels.start : channels.stop].mean(0, keepdim=True)

    def replace(_module, _inputs, output):
        output[:, channels.start : channels.stop] = mean

    model.get_submodule(module).register_forward_hook(replace)
    with torch.no_grad():
        ablated = model(images)
    picked = torch.arange(len(images)), targets
    return logits[picked] - ablated[picked]


zeroed = ablated_with(lambda out, c: torch.zeros(()))
own_positions = ablated_with(lambda out, c: out[:, c].mean((2, 3), keepdim=True))
per_channel = ablated_with(lambda out, c: out[:, c].mean((0, 2, 3), keepdim=True))
one_number = ablated_with(lambda out, c: out[:, c].mean())


def ablated_logits(model, images, module, channels, targets):
    logits, _ = block_output(model.eval(), images, module)
    picked = torch.arange(len(images)), targets
    return logits[picked] - sol.mean_ablation_drops(model, images, module, channels, targets)


def mean_one_image(model, images, module, channels, targets):
    return sol.mean_ablation_drops(model, images, module, channels, targets)[:1]


# --- integrated gradients ------------------------------------------------------------------------


def integrated_gradients_with(alphas):
    def integrated_gradients(model, image, baseline, target, steps):
        a = alphas(steps)
        path = (baseline + a[:, None, None, None] * (image - baseline)).requires_grad_(True)
        (grads,) = torch.autograd.grad(model(path)[:, target].sum(), path)
        return (image - baseline) * grads.mean(0)

    return integrated_gradients


left_riemann = integrated_gradients_with(lambda steps: torch.arange(steps) / steps)
right_riemann = integrated_gradients_with(lambda steps: (torch.arange(steps) + 1) / steps)
grid_of_points = integrated_gradients_with(lambda steps: torch.linspace(0, 1, steps))


def ig_float64(model, image, baseline, target, steps):
    return sol.integrated_gradients_by_hand(model, image, baseline, target, steps).double()


def ig_without_difference(model, image, baseline, target, steps):
    return sol.integrated_gradients_by_hand(model, image, baseline, target, steps) / (
        image - baseline
    )


def ig_summed(model, image, baseline, target, steps):
    return steps * sol.integrated_gradients_by_hand(model, image, baseline, target, steps)


def gradient_times_input(model, image, baseline, target, steps):
    return (image - baseline) * gradient(model, image, target)


def from_zero(model, image, baseline, target, steps):
    return sol.integrated_gradients_by_hand(model, image, torch.zeros_like(image), target, steps)


def ig_coarse(model, image, baseline, target, steps):
    return left_riemann(model, image, baseline, target, 4)


# --- the cases -----------------------------------------------------------------------------------

REFERENCE = [
    pytest.param(ex.check_field_of_chain, sol.field_of_chain, id="field_of_chain"),
    pytest.param(ex.check_saliency, sol.saliency, id="saliency"),
    pytest.param(ex.check_mean_ablation, sol.mean_ablation_drops, id="mean_ablation"),
    pytest.param(
        ex.check_integrated_gradients, sol.integrated_gradients_by_hand, id="integrated_gradients"
    ),
]

UNUSUAL = [
    pytest.param(ex.check_field_of_chain, field_backwards, id="field-backwards-list"),
    pytest.param(
        ex.check_field_of_chain,
        lambda layers: np.array(sol.field_of_chain(layers)),
        id="field-numpy",
    ),
    pytest.param(
        ex.check_field_of_chain,
        lambda layers: torch.tensor(sol.field_of_chain(layers)) * 1.0,
        id="field-float-tensor",
    ),
    pytest.param(ex.check_saliency, saliency_autograd_float64, id="saliency-autograd-float64"),
    pytest.param(ex.check_saliency, saliency_squeezed, id="saliency-squeezed"),
    pytest.param(ex.check_mean_ablation, mean_ablation_in_place_list, id="mean-in-place-list"),
    pytest.param(ex.check_mean_ablation, mean_ablation_numpy, id="mean-numpy-float64"),
    pytest.param(ex.check_integrated_gradients, left_riemann, id="ig-left-riemann-64"),
    pytest.param(ex.check_integrated_gradients, right_riemann, id="ig-right-riemann-64"),
    pytest.param(ex.check_integrated_gradients, grid_of_points, id="ig-linspace"),
    pytest.param(ex.check_integrated_gradients, ig_float64, id="ig-float64"),
]

WRONG = [
    pytest.param(
        ex.check_field_of_chain, stride_one, "right for stride 1 only", id="field-stride-one"
    ),
    pytest.param(
        ex.check_field_of_chain, stride_first, "before growing the field", id="field-stride-first"
    ),
    pytest.param(
        ex.check_field_of_chain, plain_padding, "p × jump input pixels", id="field-padding"
    ),
    pytest.param(
        ex.check_field_of_chain,
        last_stride,
        "(5, 1, 2)], the stride (jump): expected 2, you gave 1. "
        "It is the product of all the strides.",
        id="field-jump",
    ),
    pytest.param(
        ex.check_field_of_chain,
        lambda layers: sol.field_of_chain(layers)[0],
        "return a tuple (size, stride, padding)",
        id="field-int",
    ),
    pytest.param(ex.check_saliency, signed, "take .abs()", id="saliency-signed"),
    pytest.param(
        ex.check_saliency,
        of_probability,
        "differentiated the class probability",
        id="saliency-probability",
    ),
    pytest.param(ex.check_saliency, of_loss, "differentiated the loss", id="saliency-loss"),
    pytest.param(ex.check_saliency, of_all_logits, "the sum of all the logits", id="saliency-sum"),
    pytest.param(
        ex.check_saliency,
        of_predicted_class,
        "you explained the predicted class",
        id="saliency-predicted",
    ),
    pytest.param(
        ex.check_saliency, in_train_mode, "call model.eval() first", id="saliency-train-mode"
    ),
    pytest.param(
        ex.check_saliency,
        lambda m, i, t: sol.saliency(m, i, t)[None],
        "return an H×W map of shape (28, 28), yours has shape (1, 28, 28)",
        id="saliency-batch-axis",
    ),
    pytest.param(
        ex.check_saliency,
        doubled,
        "your map differs from |∂ logit / ∂ image| by up to",
        id="saliency-unrecognized",
    ),
    pytest.param(
        ex.check_mean_ablation, mean_hook_left, "the hook is still registered", id="mean-hook-left"
    ),
    pytest.param(ex.check_mean_ablation, zeroed, "you set the channels to zero", id="mean-zero"),
    pytest.param(
        ex.check_mean_ablation,
        own_positions,
        "averaged each image's channels over its own positions",
        id="mean-own-positions",
    ),
    pytest.param(
        ex.check_mean_ablation,
        per_channel,
        "you averaged over the positions too",
        id="mean-per-channel",
    ),
    pytest.param(
        ex.check_mean_ablation, one_number, "you used one number for all", id="mean-one-number"
    ),
    pytest.param(
        ex.check_mean_ablation,
        ablated_logits,
        "you returned the ablated logits",
        id="mean-logits",
    ),
    pytest.param(
        ex.check_mean_ablation,
        lambda *args: -sol.mean_ablation_drops(*args),
        "your drops have the wrong sign",
        id="mean-sign",
    ),
    pytest.param(
        ex.check_mean_ablation,
        mean_one_image,
        "return one drop per image, a tensor of shape (8,)",
        id="mean-shape",
    ),
    pytest.param(
        ex.check_mean_ablation,
        lambda *args: 1.01 * sol.mean_ablation_drops(*args),
        "replaced by its mean, image 6's drop should be",
        id="mean-unrecognized",
    ),
    pytest.param(
        ex.check_integrated_gradients,
        ig_without_difference,
        "multiply it by (image − baseline)",
        id="ig-no-difference",
    ),
    pytest.param(
        ex.check_integrated_gradients, ig_summed, "divide by their number", id="ig-summed"
    ),
    pytest.param(
        ex.check_integrated_gradients,
        gradient_times_input,
        "gradient at the image only",
        id="ig-gradient-times-input",
    ),
    pytest.param(
        ex.check_integrated_gradients,
        from_zero,
        "your path starts at an all-zero image",
        id="ig-from-zero",
    ),
    pytest.param(
        ex.check_integrated_gradients,
        ig_coarse,
        "where 64 steps allow",
        id="ig-too-few-steps",
    ),
]


@pytest.mark.parametrize("checker, answer", REFERENCE + UNUSUAL)
def test_accepts(checker, answer, capsys):
    verdict = checker(answer)
    assert verdict.status == "passed", verdict.message


@pytest.mark.parametrize("checker, answer, feedback", WRONG)
def test_rejects_with_the_diagnosis(checker, answer, feedback, capsys):
    verdict = checker(answer)
    assert verdict.status == "failed" and feedback in verdict.message, verdict.message
