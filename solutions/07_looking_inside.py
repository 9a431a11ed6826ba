"""Reference solutions of notebook 07 · Looking inside.

Each ``# %% exercise NN.k`` section is the exact source that ``python -m inception_edu.classroom
solve`` puts in place of that exercise's cell: the answer, then the cell's check call. The imports
above the first section are the notebook's setup, so that names resolve for readers, editors and
ruff; the commands ignore them.
"""

import torch

from inception_edu.exercises import (
    check_field_of_chain,
    check_integrated_gradients,
    check_mean_ablation,
    check_saliency,
)


# %% exercise 07.1
def field_of_chain(layers):
    size, jump, padding = 1, 1, 0
    for kernel, stride, pad in layers:
        size += (kernel - 1) * jump
        padding += pad * jump  # a later layer's padding counts in input pixels: times the jump
        jump *= stride
    return size, jump, padding


check_field_of_chain(field_of_chain)

# %% exercise 07.2
def saliency(model, image, target):
    model.eval()  # the checker hands over a model in train mode
    x = image[None].clone().requires_grad_(True)
    model(x)[0, target].backward()
    return x.grad[0].abs().sum(0)


check_saliency(saliency)

# %% exercise 07.3
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
    # The mean over the images (axis 0), one value per channel and position.
    mean = kept[0][:, channels.start : channels.stop].mean(0, keepdim=True)

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


check_mean_ablation(mean_ablation_drops)

# %% exercise 07.4
def integrated_gradients_by_hand(model, image, baseline, target, steps):
    alphas = (torch.arange(steps) + 0.5) / steps  # the midpoints of `steps` equal intervals
    path = (baseline + alphas[:, None, None, None] * (image - baseline)).requires_grad_(True)
    (grads,) = torch.autograd.grad(model(path)[:, target].sum(), path)
    return (image - baseline) * grads.mean(0)


check_integrated_gradients(integrated_gradients_by_hand)
