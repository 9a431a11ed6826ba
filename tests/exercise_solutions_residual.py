"""Reference solutions of notebook 06's exercises (for teachers, and for the checkers' tests)."""

import torch
from torch import nn

from inception_edu.models.basic import BasicConv2d


def reduction_a_channels(in_channels, k, l, m, n):  # noqa: E741 - Table 1 calls them k, l, m, n
    return n + m + in_channels  # 3×3/2 conv n, the 1×1 → 3×3 → 3×3/2 branch ends in m, the pool


class ResidualBlockA(nn.Module):
    """Inception-ResNet-A with v1's widths (paper Fig. 10)."""

    def __init__(self, in_channels, scale):
        super().__init__()
        self.scale = scale
        self.branch0 = BasicConv2d(in_channels, 32, 1)
        self.branch1 = nn.Sequential(
            BasicConv2d(in_channels, 32, 1), BasicConv2d(32, 32, 3, padding=1)
        )
        self.branch2 = nn.Sequential(
            BasicConv2d(in_channels, 32, 1),
            BasicConv2d(32, 32, 3, padding=1),
            BasicConv2d(32, 32, 3, padding=1),
        )
        self.conv2d = nn.Conv2d(96, in_channels, 1)  # linear 1×1 projection, with bias, no BN

    def forward(self, x):
        mixed = torch.cat([self.branch0(x), self.branch1(x), self.branch2(x)], 1)
        return torch.relu(x + self.scale * self.conv2d(mixed))


def residual_variance(var0, branch_var, scale, depth):
    return var0 + depth * scale**2 * branch_var
