"""Reference solutions of notebook 02 · Bottlenecks and GoogLeNet.

Each ``# %% exercise NN.k`` section is the exact source that ``python -m inception_edu.classroom
solve`` puts in place of that exercise's cell: the answer, then the cell's check call. The imports
above the first section are the notebook's setup, so that names resolve for readers, editors and
ruff; the commands ignore them.
"""

# ruff: noqa: E402 - a section is a notebook cell: it imports what the setup does not

import torch
import torch.nn.functional as F
from torch import nn

from inception_edu.exercises import (
    check_inception_macs,
    check_inception_module,
    check_max_reduction,
    check_train_step,
)


# %% exercise 02.1
def inception_macs(in_channels, size, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj):
    per_pixel = (
        in_channels * ch1x1
        + in_channels * ch3x3red + ch3x3red * 9 * ch3x3
        + in_channels * ch5x5red + ch5x5red * 25 * ch5x5
        + in_channels * pool_proj
    )  # fmt: skip
    return per_pixel * size * size


check_inception_macs(inception_macs)

# %% exercise 02.2
from inception_edu.models.basic import BasicConv2d  # where the exercise says; setup lacks it


class StudentInception(nn.Module):
    def __init__(self, in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj):
        super().__init__()
        self.branch1 = BasicConv2d(in_channels, ch1x1, 1)
        self.branch2 = nn.Sequential(
            BasicConv2d(in_channels, ch3x3red, 1), BasicConv2d(ch3x3red, ch3x3, 3, padding=1)
        )
        self.branch3 = nn.Sequential(
            BasicConv2d(in_channels, ch5x5red, 1), BasicConv2d(ch5x5red, ch5x5, 5, padding=2)
        )
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(3, stride=1, padding=1), BasicConv2d(in_channels, pool_proj, 1)
        )

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


check_inception_module(StudentInception)

# %% exercise 02.3
def train_step(model, images, targets, optimizer):
    # Bug 1: the model arrives in eval mode, where GoogLeNet returns only the main logits (and
    # `outputs[0]` was then the first image's logits); BatchNorm must use the batch's statistics.
    model.train()
    logits, aux2, aux1 = model(images)
    # Bug 2: the main loss alone never trains the auxiliary heads, nor sends their gradient down.
    aux = F.cross_entropy(aux2, targets) + F.cross_entropy(aux1, targets)
    loss = F.cross_entropy(logits, targets) + 0.3 * aux
    # Bug 3: without zeroing, this step's gradients are added to the previous step's.
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss


check_train_step(train_step)

# %% exercise 02.4
import math  # the notebook's setup does not import it


def max_reduction(in_channels, out_channels, kernel_size):
    # C·r + k²·r·C_out < k²·C·C_out  ⇔  r < k²·C·C_out / (C + k²·C_out): the largest whole r below
    k2 = kernel_size * kernel_size
    return math.ceil(k2 * in_channels * out_channels / (in_channels + k2 * out_channels)) - 1


check_max_reduction(max_reduction)
