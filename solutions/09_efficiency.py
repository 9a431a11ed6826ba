"""Reference solutions of notebook 09 · Efficiency: FLOPs are not latency.

Each ``# %% exercise NN.k`` section is the exact source that ``python -m inception_edu.classroom
solve`` puts in place of that exercise's cell: the answer, then the cell's check call. The imports
above the first section are the notebook's setup, so that names resolve for readers, editors and
ruff; the commands ignore them.
"""

import copy

import torch
from torch import nn

from inception_edu.exercises import (
    check_bn_folding,
    check_equal_macs_prediction,
    check_fusion_opportunity,
)


# %% exercise 09.1
def equal_macs_prediction():
    # Same MACs (a) and the same conv weights (f is false), but B runs 14 kernels to A's 3 (b)
    # and its branches and concatenation read and write more bytes (c). No-MAC operations are
    # not free (d is false), and 1×1 convs do the fewest MACs per byte moved (e is false).
    return {"faster": "A", "reasons": "abc"}


check_equal_macs_prediction(equal_macs_prediction)

# %% exercise 09.2
def fold_batch_norm(conv, bn):
    # bn(conv(x)) = γ·(Wx + b − μ)/√(σ² + ε) + β: scale each OUTPUT channel, shift by the bias.
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    conv_bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
    folded = copy.deepcopy(conv)  # a new layer: the original pair stays as it was
    folded.weight = nn.Parameter((conv.weight * scale.reshape(-1, 1, 1, 1)).detach())
    folded.bias = nn.Parameter((bn.bias + (conv_bias - bn.running_mean) * scale).detach())
    return folded


check_bn_folding(fold_batch_norm)

# %% exercise 09.3
def fusion_opportunity():
    return {
        # The three 1×1 convolutions that read the block's input x.
        "merged": [{"branch0", "branch1_0", "branch2_0"}],
        # Same input, but a 1×3 and a 3×1 window: one weight tensor cannot hold both.
        "apart": [{"branch1_1a", "branch1_1b"}, {"branch2_3a", "branch2_3b"}],
        # 3 convs → 1 and 3 ReLUs → 1; the split is a view. (branch3's 1×1 reads the pooled map.)
        "kernels_saved": 4,
    }


check_fusion_opportunity(fusion_opportunity)
