"""Reference solutions of notebook 01 · The naive Inception module.

Each ``# %% exercise NN.k`` section is the exact source that ``python -m inception_edu.classroom
solve`` puts in place of that exercise's cell: the answer, then the cell's check call. The imports
above the first section are the notebook's setup, so that names resolve for readers, editors and
ruff; the commands ignore them.
"""

import torch
from torch import nn

from inception_edu.exercises import (
    check_branch_fields,
    check_conv_macs,
    check_naive_module,
    check_naive_out_channels,
)


# %% exercise 01.1
def naive_out_channels(in_channels, ch1x1, ch3x3, ch5x5):
    return ch1x1 + ch3x3 + ch5x5 + in_channels  # the max-pool branch passes every input channel on


check_naive_out_channels(naive_out_channels)

# %% exercise 01.2
def conv_macs(in_channels, out_channels, kernel_size, out_h, out_w):
    return in_channels * kernel_size * kernel_size * out_channels * out_h * out_w


check_conv_macs(conv_macs)

# %% exercise 01.3
class ColleagueNaiveInception(nn.Module):
    def __init__(self, in_channels, ch1x1, ch3x3, ch5x5):
        super().__init__()
        self.convs = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(in_channels, width, k, padding=k // 2, bias=False),
                # Bug 1: the ReLU came before the BatchNorm, so the BatchNorm shifted the rectified
                # values back below zero: the branch's output was no longer a ReLU's.
                nn.BatchNorm2d(width, eps=1e-3),
                nn.ReLU(),
            )
            for width, k in ((ch1x1, 1), (ch3x3, 3), (ch5x5, 5))
        )
        # Bug 2: Figure 2(a) max-pools; an average pool blurs the input instead of keeping its
        # strongest responses.
        self.pool = nn.MaxPool2d(3, stride=1, padding=1)

    def forward(self, x):
        # Bug 3: the pool branch came first. The next layer's weights expect each branch's channels
        # at their place: 1×1, 3×3, 5×5, then the pooled input.
        return torch.cat([conv(x) for conv in self.convs] + [self.pool(x)], dim=1)


check_naive_module(ColleagueNaiveInception)

# %% exercise 01.4
def second_module_fields():
    # r grows by (k − 1) × jump; the jump is the product of the strides before the layer.
    # stem 3×3 conv: r = 3, jump 1 → 2×2/2 max-pool: r = 4, jump 2
    # first module: its output concatenates all branches, so it sees as far as the widest, the 5×5:
    #   r = 4 + 4 × 2 = 12 → 2×2/2 max-pool: r = 12 + 1 × 2 = 14, jump 4
    # second module, per branch: 1×1 adds 0; 3×3 and the 3×3 max-pool add 2 × 4; 5×5 adds 4 × 4.
    return {"1×1": 14, "3×3": 22, "5×5": 30, "max-pool": 22}


check_branch_fields(second_module_fields)
