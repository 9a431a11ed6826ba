"""Reference solutions of the notebooks' exercises (for teachers, and for the checkers' tests)."""

import reference_solutions
import torch
import torch.nn.functional as F
from torch import nn

from inception_edu.models.basic import BasicConv2d

# The answers the notebooks' reference solutions give (solutions/), loaded rather than copied.
_notebook_01 = reference_solutions.load("01")
naive_out_channels = _notebook_01.naive_out_channels
conv_macs = _notebook_01.conv_macs
_notebook_02 = reference_solutions.load("02")
inception_macs = _notebook_02.inception_macs


# Notebook 01


class NaiveModule(nn.Module):
    def __init__(self, in_channels, ch1x1, ch3x3, ch5x5):
        super().__init__()
        self.b1 = BasicConv2d(in_channels, ch1x1, 1)
        self.b3 = BasicConv2d(in_channels, ch3x3, 3, padding=1)
        self.b5 = BasicConv2d(in_channels, ch5x5, 5, padding=2)
        self.pool = nn.MaxPool2d(3, stride=1, padding=1)

    def forward(self, x):
        return torch.cat([self.b1(x), self.b3(x), self.b5(x), self.pool(x)], 1)


def receptive_field(kernel_sizes, strides):
    r, jump = 1, 1
    for k, s in zip(kernel_sizes, strides, strict=True):
        r += (k - 1) * jump
        jump *= s
    return r


# Notebook 02


class InceptionModule(nn.Module):
    def __init__(self, in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj):
        super().__init__()
        self.b1 = BasicConv2d(in_channels, ch1x1, 1)
        self.b2 = nn.Sequential(
            BasicConv2d(in_channels, ch3x3red, 1), BasicConv2d(ch3x3red, ch3x3, 3, padding=1)
        )
        self.b3 = nn.Sequential(
            BasicConv2d(in_channels, ch5x5red, 1), BasicConv2d(ch5x5red, ch5x5, 5, padding=2)
        )
        self.b4 = nn.Sequential(
            nn.MaxPool2d(3, stride=1, padding=1), BasicConv2d(in_channels, pool_proj, 1)
        )

    def forward(self, x):
        return torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], 1)


def aux_loss(outputs, target):
    logits, aux2, aux1 = outputs
    return F.cross_entropy(logits, target) + 0.3 * (
        F.cross_entropy(aux2, target) + F.cross_entropy(aux1, target)
    )


STAGE_CHANNELS = {
    "inception3a": 256, "inception3b": 480,
    "inception4a": 512, "inception4b": 512, "inception4c": 512,
    "inception4d": 528, "inception4e": 832,
    "inception5a": 832, "inception5b": 1024,
}  # fmt: skip
