"""Reference solutions of notebook 03 · Batch norm and factorized convolutions.

Each ``# %% exercise NN.k`` section is the exact source that ``python -m inception_edu.classroom
solve`` puts in place of that exercise's cell: the answer, then the cell's check call. The imports
above the first section are the notebook's setup, so that names resolve for readers, editors and
ruff; the commands ignore them.
"""

import torch
from torch import nn

from inception_edu.exercises import (
    check_batch_norm,
    check_factorized_conv,
    check_reduction_fix,
    check_widest_middle,
)
from inception_edu.models.basic import BasicConv2d


# %% exercise 03.1
def batch_norm(x, eps=1e-5):
    mean = x.mean(dim=(0, 2, 3), keepdim=True)
    var = x.var(dim=(0, 2, 3), keepdim=True, unbiased=False)  # training mode: biased variance
    return (x - mean) / torch.sqrt(var + eps)


check_batch_norm(batch_norm)

# %% exercise 03.2
def widest_cheaper_middle(c_in, c_out, n):
    # Multiply-adds per output position: n·C_in·C_mid (1×n) + n·C_mid·C_out (n×1) against
    # n²·C_in·C_out (n×n). Cheaper iff C_mid < n·C_in·C_out / (C_in + C_out), strictly: the
    # largest whole number below that bound (one below it when the bound is a whole number).
    return (n * c_in * c_out - 1) // (c_in + c_out)


check_widest_middle(widest_cheaper_middle)

# %% exercise 03.3
class FactorizedConv(nn.Module):
    def __init__(self, in_channels, out_channels, n):
        super().__init__()
        self.conv_1xn = BasicConv2d(in_channels, out_channels, (1, n), padding=(0, n // 2))
        self.conv_nx1 = BasicConv2d(out_channels, out_channels, (n, 1), padding=(n // 2, 0))

    def forward(self, x):
        return self.conv_nx1(self.conv_1xn(x))


check_factorized_conv(FactorizedConv)

# %% exercise 03.4
# The bug: `x = self.pool(x)` fed the pooled map to the convolution, so every output channel saw
# the input only through the pooled tensor (Figure 9's bottleneck). The fix: the convolution reads
# the input itself, with stride 2 (and padding 1) to land on the pool's grid.
class FixedReduction(nn.Module):
    def __init__(self, in_channels, conv_channels):
        super().__init__()
        self.pool = nn.MaxPool2d(3, stride=2, padding=1)
        self.conv = BasicConv2d(in_channels, conv_channels, 3, stride=2, padding=1)

    def forward(self, x):
        return torch.cat([self.conv(x), self.pool(x)], 1)


check_reduction_fix(FixedReduction)
