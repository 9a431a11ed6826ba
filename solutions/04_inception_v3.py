"""Reference solutions of notebook 04 · Inception-v3.

Each ``# %% exercise NN.k`` section is the exact source that ``python -m inception_edu.classroom
solve`` puts in place of that exercise's cell: the answer, then the cell's check call. The imports
above the first section are the notebook's setup, so that names resolve for readers, editors and
ruff; the commands ignore them.
"""

import torch
from torch import nn

from inception_edu.exercises import (
    check_aux_head_params,
    check_inception_v3a,
    check_paper_learning_rate,
    check_reduction_costs,
)
from inception_edu.models import BasicConv2d


# %% exercise 04.1
def reduction_costs(d, k):
    """Return {"pool_first": (macs, narrowest), "conv_first": (...), "parallel": (...)}."""
    half = (d // 2) ** 2  # positions of the d/2 × d/2 grid
    return {
        # 3×3 conv k → 2k on the pooled grid; everything first squeezes through the pooled map
        "pool_first": (half * 9 * k * 2 * k, half * k),
        # the same conv on the full grid: 4× the multiply-adds; the narrowest cut is the output
        "conv_first": (d * d * 9 * k * 2 * k, half * 2 * k),
        # a stride-2 conv k → k computes only the d/2 grid; the pool brings the other k channels
        "parallel": (half * 9 * k * k, half * 2 * k),
    }


check_reduction_costs(reduction_costs)

# %% exercise 04.2
class StudentInceptionA(nn.Module):
    def __init__(self, in_channels, pool_features):
        super().__init__()
        self.branch1x1 = BasicConv2d(in_channels, 64, 1)
        self.branch5x5_1 = BasicConv2d(in_channels, 48, 1)
        self.branch5x5_2 = BasicConv2d(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, padding=1)
        self.branch_pool = nn.AvgPool2d(3, stride=1, padding=1)
        self.branch_pool_proj = BasicConv2d(in_channels, pool_features, 1)

    def forward(self, x):
        branch5x5 = self.branch5x5_2(self.branch5x5_1(x))
        branch3x3dbl = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        branch_pool = self.branch_pool_proj(self.branch_pool(x))
        return torch.cat([self.branch1x1(x), branch5x5, branch3x3dbl, branch_pool], 1)


check_inception_v3a(StudentInceptionA)

# %% exercise 04.3
def aux_head_params(in_channels, num_classes):
    conv0 = in_channels * 128 + 2 * 128  # 1×1 conv (no bias), then BN's scale and shift
    conv1 = 128 * 5 * 5 * 768 + 2 * 768  # 5×5 conv (no bias), then BN
    fc = 768 * num_classes + num_classes
    return conv0 + conv1 + fc


check_aux_head_params(aux_head_params)

# %% exercise 04.4
def paper_learning_rate(epoch):
    return 0.045 * 0.94 ** (epoch // 2)  # decayed once every two epochs


check_paper_learning_rate(paper_learning_rate)
