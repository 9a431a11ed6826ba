"""Reference solutions of the exercises of notebook 07 (looking inside)."""

import torch


def field_of_chain(layers):
    size, jump, padding = 1, 1, 0
    for kernel, stride, pad in layers:
        size += (kernel - 1) * jump
        padding += pad * jump
        jump *= stride
    return size, jump, padding


def saliency(model, image, target):
    model.eval()
    x = image[None].clone().requires_grad_(True)
    model(x)[0, target].backward()
    return x.grad[0].abs().sum(0)


def logit_without(model, image, module, channels, target):
    def zero(_module, _inputs, output):
        output = output.clone()
        output[:, channels.start : channels.stop] = 0
        return output

    handle = dict(model.named_modules())[module].register_forward_hook(zero)
    try:
        with torch.no_grad():
            return float(model(image[None])[0, target])
    finally:
        handle.remove()


def integrated_gradients_by_hand(model, image, baseline, target, steps):
    alphas = (torch.arange(steps) + 0.5) / steps  # the midpoints of `steps` equal intervals
    path = (baseline + alphas[:, None, None, None] * (image - baseline)).requires_grad_(True)
    (grads,) = torch.autograd.grad(model(path)[:, target].sum(), path)
    return (image - baseline) * grads.mean(0)
