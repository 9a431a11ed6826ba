"""Reference solutions of the exercises of notebooks 03 (factorization) and 04 (Inception-v3)."""

import reference_solutions
import torch
from torch import nn

from inception_edu.models.basic import BasicConv2d

# The answers the notebooks' reference solutions give (solutions/), loaded rather than copied.
_notebook_03 = reference_solutions.load("03")
batch_norm = _notebook_03.batch_norm
FactorizedConv = _notebook_03.FactorizedConv
_notebook_04 = reference_solutions.load("04")
aux_head_params = _notebook_04.aux_head_params
paper_learning_rate = _notebook_04.paper_learning_rate


# Notebook 03


def asymmetric_saving(n):
    return 1 - 2 * n / (n * n)


class ParallelReduction(nn.Module):
    def __init__(self, in_channels, conv_channels):
        super().__init__()
        self.conv = BasicConv2d(in_channels, conv_channels, 3, stride=2, padding=1)
        self.pool = nn.MaxPool2d(3, stride=2, padding=1)

    def forward(self, x):
        return torch.cat([self.conv(x), self.pool(x)], 1)


# Notebook 04
class InceptionA(nn.Module):
    def __init__(self, in_channels, pool_features):
        super().__init__()
        self.b1 = BasicConv2d(in_channels, 64, 1)
        self.b5_1 = BasicConv2d(in_channels, 48, 1)
        self.b5_2 = BasicConv2d(48, 64, 5, padding=2)
        self.b3_1 = BasicConv2d(in_channels, 64, 1)
        self.b3_2 = BasicConv2d(64, 96, 3, padding=1)
        self.b3_3 = BasicConv2d(96, 96, 3, padding=1)
        self.pool = nn.AvgPool2d(3, stride=1, padding=1)
        self.bp = BasicConv2d(in_channels, pool_features, 1)

    def forward(self, x):
        return torch.cat(
            [
                self.b1(x),
                self.b5_2(self.b5_1(x)),
                self.b3_3(self.b3_2(self.b3_1(x))),
                self.bp(self.pool(x)),
            ],
            1,
        )


