"""Reference solutions of notebook 06's exercises (for teachers, and for the checkers' tests)."""

import reference_solutions
import torch
from torch import nn

from inception_edu.models.basic import BasicConv2d

# The answers the notebooks' reference solutions give (solutions/), loaded rather than copied.
_notebook_06 = reference_solutions.load("06")
reduction_a_channels = _notebook_06.reduction_a_channels
ResidualBlockB = _notebook_06.ResidualBlockB
residual_variance = _notebook_06.residual_variance


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


