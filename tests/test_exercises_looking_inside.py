"""Notebook 07's checkers pass the reference solutions and reject typical mistakes, specifically."""

import pytest
import torch

from inception_edu import exercises as ex

import exercise_solutions_looking_inside as sol


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def verdict(capsys, checker, answer):
    ok = checker(answer)
    return bool(ok), capsys.readouterr().out


def not_done(*args):
    raise NotImplementedError


def test_unattempted_exercises_say_so(capsys):
    for checker in (
        ex.check_field_of_chain,
        ex.check_saliency,
        ex.check_branch_ablation,
        ex.check_integrated_gradients,
    ):
        ok, out = verdict(capsys, checker, not_done)
        assert not ok and "not attempted yet" in out


# --- receptive field of a chain ------------------------------------------------------------------


def test_field_of_chain(capsys):
    ok, out = verdict(capsys, ex.check_field_of_chain, sol.field_of_chain)
    assert ok and "traced receptive_field" in out


def test_field_of_chain_mistakes(capsys):
    def stride_one(layers):
        return sum(k for k, _, _ in layers) - len(layers) + 1, 1, sum(p for _, _, p in layers)

    ok, out = verdict(capsys, ex.check_field_of_chain, stride_one)
    assert not ok and "right for stride 1 only" in out

    def stride_first(layers):
        size, jump, padding = 1, 1, 0
        for k, s, p in layers:
            jump *= s
            size += (k - 1) * jump
            padding += p * jump
        return size, jump, padding

    ok, out = verdict(capsys, ex.check_field_of_chain, stride_first)
    assert not ok and "before growing the field" in out

    def plain_padding(layers):
        size, jump, _ = sol.field_of_chain(layers)
        return size, jump, sum(p for _, _, p in layers)

    ok, out = verdict(capsys, ex.check_field_of_chain, plain_padding)
    assert not ok and "p × jump input pixels" in out

    ok, out = verdict(capsys, ex.check_field_of_chain, lambda layers: sol.field_of_chain(layers)[0])
    assert not ok and "return a tuple (size, stride, padding)" in out


# --- saliency ------------------------------------------------------------------------------------


def test_saliency(capsys):
    ok, out = verdict(capsys, ex.check_saliency, sol.saliency)
    assert ok and "Captum's Saliency" in out


def test_saliency_mistakes(capsys):
    def signed(model, image, target):
        model.eval()
        x = image[None].clone().requires_grad_(True)
        model(x)[0, target].backward()
        return x.grad[0, 0]

    ok, out = verdict(capsys, ex.check_saliency, signed)
    assert not ok and "take .abs()" in out

    def of_probability(model, image, target):
        model.eval()
        x = image[None].clone().requires_grad_(True)
        torch.softmax(model(x), 1)[0, target].backward()
        return x.grad[0, 0].abs()

    ok, out = verdict(capsys, ex.check_saliency, of_probability)
    assert not ok and "differentiated the class probability" in out

    def of_loss(model, image, target):
        model.eval()
        x = image[None].clone().requires_grad_(True)
        torch.nn.functional.cross_entropy(model(x), torch.tensor([target])).backward()
        return x.grad[0, 0].abs()

    ok, out = verdict(capsys, ex.check_saliency, of_loss)
    assert not ok and "differentiated the loss" in out

    def in_train_mode(model, image, target):
        x = image[None].clone().requires_grad_(True)
        model(x)[0, target].backward()
        return x.grad[0, 0].abs()

    ok, out = verdict(capsys, ex.check_saliency, in_train_mode)
    assert not ok and "call model.eval() first" in out

    def with_batch_axis(model, image, target):
        return sol.saliency(model, image, target)[None]

    ok, out = verdict(capsys, ex.check_saliency, with_batch_axis)
    assert not ok and "return an H×W map of shape (28, 28), yours has shape (1, 28, 28)" in out


# --- branch ablation -----------------------------------------------------------------------------


def test_branch_ablation(capsys):
    ok, out = verdict(capsys, ex.check_branch_ablation, sol.logit_without)
    assert ok and "the hook is gone afterwards" in out


def test_branch_ablation_mistakes(capsys):
    def hook_left(model, image, module, channels, target):
        def zero(_module, _inputs, output):
            output[:, channels.start : channels.stop] = 0  # in place: fine

        dict(model.named_modules())[module].register_forward_hook(zero)
        with torch.no_grad():
            return float(model(image[None])[0, target])

    ok, out = verdict(capsys, ex.check_branch_ablation, hook_left)
    assert not ok and "the hook is still registered" in out

    def batch_axis(model, image, module, channels, target):
        def zero(_module, _inputs, output):
            output = output.clone()
            output[channels.start : channels.stop] = 0
            return output

        handle = dict(model.named_modules())[module].register_forward_hook(zero)
        try:
            with torch.no_grad():
                return float(model(image[None])[0, target])
        finally:
            handle.remove()

    ok, out = verdict(capsys, ex.check_branch_ablation, batch_axis)
    # The first branch starts at channel 0: out[0:k] zeroes the whole of the one image.
    assert not ok and "you zeroed the whole output" in out and "axis 1" in out

    def everything(model, image, module, channels, target):
        return sol.logit_without(model, image, module, range(10_000), target)

    ok, out = verdict(capsys, ex.check_branch_ablation, everything)
    assert not ok and "you zeroed the whole output of Mixed_6b" in out

    def drop(model, image, module, channels, target):
        with torch.no_grad():
            full = float(model(image[None])[0, target])
        return full - sol.logit_without(model, image, module, channels, target)

    ok, out = verdict(capsys, ex.check_branch_ablation, drop)
    assert not ok and "you returned the drop of the logit" in out


# --- integrated gradients ------------------------------------------------------------------------


def test_integrated_gradients(capsys):
    ok, out = verdict(capsys, ex.check_integrated_gradients, sol.integrated_gradients_by_hand)
    assert ok and "(completeness)" in out


def test_integrated_gradients_mistakes(capsys):
    def no_difference(model, image, baseline, target, steps):
        attr = sol.integrated_gradients_by_hand(model, image, baseline, target, steps)
        return attr / (image - baseline)

    ok, out = verdict(capsys, ex.check_integrated_gradients, no_difference)
    assert not ok and "multiply it by (image − baseline)" in out

    def summed(model, image, baseline, target, steps):
        return steps * sol.integrated_gradients_by_hand(model, image, baseline, target, steps)

    ok, out = verdict(capsys, ex.check_integrated_gradients, summed)
    assert not ok and "divide by their number" in out

    def gradient_times_input(model, image, baseline, target, steps):
        return sol.integrated_gradients_by_hand(model, image, baseline, target, 1) * 0 + (
            (image - baseline) * _gradient(model, image, target)
        )

    ok, out = verdict(capsys, ex.check_integrated_gradients, gradient_times_input)
    assert not ok and "gradient at the image only" in out


def _gradient(model, image, target):
    x = image[None].clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(model(x)[0, target], x)
    return grad[0]
