"""Reference solutions of the exercises of notebooks 03 (factorization) and 04 (Inception-v3)."""

import torch
from torch import nn

from inception_edu.models.basic import BasicConv2d


# Notebook 03
def batch_norm(x, eps=1e-5):
    mean = x.mean(dim=(0, 2, 3), keepdim=True)
    var = x.var(dim=(0, 2, 3), keepdim=True, unbiased=False)
    return (x - mean) / torch.sqrt(var + eps)


def asymmetric_saving(n):
    return 1 - 2 * n / (n * n)


class FactorizedConv(nn.Module):
    def __init__(self, in_channels, out_channels, n):
        super().__init__()
        self.conv_1xn = BasicConv2d(in_channels, out_channels, (1, n), padding=(0, n // 2))
        self.conv_nx1 = BasicConv2d(out_channels, out_channels, (n, 1), padding=(n // 2, 0))

    def forward(self, x):
        return self.conv_nx1(self.conv_1xn(x))


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


def aux_head_params(in_channels, num_classes):
    conv0 = in_channels * 128 + 2 * 128  # 1×1 conv (no bias) + BN scale and shift
    conv1 = 128 * 5 * 5 * 768 + 2 * 768  # 5×5 conv (no bias) + BN
    fc = 768 * num_classes + num_classes
    return conv0 + conv1 + fc


def paper_learning_rate(epoch):
    return 0.045 * 0.94 ** (epoch // 2)
