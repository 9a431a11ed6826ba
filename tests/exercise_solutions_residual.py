"""Reference solutions of notebook 06's exercises (for teachers, and for the checkers' tests)."""

import torch
from torch import nn

from inception_edu.models.basic import BasicConv2d


def reduction_a_channels(in_channels, k, l, m, n):  # noqa: E741 - Table 1 calls them k, l, m, n
    return n + m + in_channels  # 3×3/2 conv n, the 1×1 → 3×3 → 3×3/2 branch ends in m, the pool


class ColleaguesInceptionResNetB(nn.Module):
    """The notebook's buggy block: the scale on the shortcut, BN and ReLU on the projection."""

    def __init__(self, in_channels, scale):
        super().__init__()
        self.scale = scale
        self.branch0 = BasicConv2d(in_channels, 128, 1)
        self.branch1 = nn.Sequential(
            BasicConv2d(in_channels, 128, 1),
            BasicConv2d(128, 128, (1, 7), padding=(0, 3)),
            BasicConv2d(128, 128, (7, 1), padding=(3, 0)),
        )
        self.conv2d = BasicConv2d(256, in_channels, 1)

    def forward(self, x):
        mixed = torch.cat([self.branch0(x), self.branch1(x)], 1)
        return torch.relu(self.scale * x + self.conv2d(mixed))


class ResidualBlockB(ColleaguesInceptionResNetB):
    """Inception-ResNet-B with v1's widths (paper Fig. 11), the two bugs fixed."""

    def __init__(self, in_channels, scale):
        super().__init__(in_channels, scale)
        self.conv2d = nn.Conv2d(256, in_channels, 1)  # linear 1×1 projection, with bias, no BN

    def forward(self, x):
        mixed = torch.cat([self.branch0(x), self.branch1(x)], 1)
        return torch.relu(x + self.scale * self.conv2d(mixed))


def residual_variance(var0, branch_var, scale, depth):
    return var0 + depth * scale**2 * branch_var
