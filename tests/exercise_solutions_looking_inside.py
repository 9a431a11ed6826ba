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


def mean_ablation_drops(model, images, module, channels, targets):
    model.eval()
    block = model.get_submodule(module)
    kept = []
    handle = block.register_forward_hook(lambda _m, _i, out: kept.append(out))
    try:
        with torch.no_grad():
            full = model(images).gather(1, targets[:, None])[:, 0]
    finally:
        handle.remove()
    mean = kept[0][:, channels.start : channels.stop].mean(0, keepdim=True)  # over the images

    def replace(_module, _inputs, output):
        output = output.clone()
        output[:, channels.start : channels.stop] = mean
        return output

    handle = block.register_forward_hook(replace)
    try:
        with torch.no_grad():
            ablated = model(images).gather(1, targets[:, None])[:, 0]
    finally:
        handle.remove()
    return full - ablated


def integrated_gradients_by_hand(model, image, baseline, target, steps):
    alphas = (torch.arange(steps) + 0.5) / steps  # the midpoints of `steps` equal intervals
    path = (baseline + alphas[:, None, None, None] * (image - baseline)).requires_grad_(True)
    (grads,) = torch.autograd.grad(model(path)[:, target].sum(), path)
    return (image - baseline) * grads.mean(0)
