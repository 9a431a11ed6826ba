"""Reference solutions of notebook 06 · Inception-v4 and Inception-ResNet.

Each ``# %% exercise NN.k`` section is the exact source that ``python -m inception_edu.classroom
solve`` puts in place of that exercise's cell: the answer, then the cell's check call. The imports
above the first section are the notebook's setup, so that names resolve for readers, editors and
ruff; the commands ignore them.
"""

# ruff: noqa: E741 - the exercise names its arguments k, l, m, n as Table 1 does

import torch
from torch import nn

from inception_edu.exercises import (
    check_reduction_a_channels,
    check_residual_bug,
    check_residual_variance,
)
from inception_edu.models import BasicConv2d


# %% exercise 06.1
def reduction_a_channels(in_channels, k, l, m, n):  # noqa: E741 - Table 1's names
    return n + m + in_channels  # 3×3/2 conv, 1×1 → 3×3 → 3×3/2 conv, max-pool


check_reduction_a_channels(reduction_a_channels)

# %% exercise 06.2
class ResidualBlockB(nn.Module):
    def __init__(self, in_channels, scale):
        super().__init__()
        self.scale = scale
        self.branch0 = BasicConv2d(in_channels, 128, 1)
        self.branch1 = nn.Sequential(
            BasicConv2d(in_channels, 128, 1),
            BasicConv2d(128, 128, (1, 7), padding=(0, 3)),
            BasicConv2d(128, 128, (7, 1), padding=(3, 0)),
        )
        self.conv2d = nn.Conv2d(256, in_channels, 1)  # bug 1: linear, biased, no BN and no ReLU

    def forward(self, x):
        mixed = torch.cat([self.branch0(x), self.branch1(x)], 1)
        return torch.relu(x + self.scale * self.conv2d(mixed))  # bug 2: scale the residual


check_residual_bug(ResidualBlockB)

# %% exercise 06.3
def residual_variance(var0, branch_var, scale, depth):
    return var0 + depth * scale**2 * branch_var  # independent residuals: variances add


check_residual_variance(residual_variance)
