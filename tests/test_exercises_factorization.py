"""Notebook 03's checkers pass the reference solutions and reject typical mistakes, specifically."""

import torch
from torch import nn

from inception_edu import exercises as ex
from inception_edu.models.basic import BasicConv2d

import exercise_solutions_v3 as sol


def verdict(capsys, checker, answer):
    ok = checker(answer)
    return bool(ok), capsys.readouterr().out


def not_done(*args):
    raise NotImplementedError


def test_unattempted_exercises_say_so(capsys):
    for checker in (ex.check_batch_norm, ex.check_asymmetric_saving):
        ok, out = verdict(capsys, checker, not_done)
        assert not ok and "not attempted yet" in out


# batch norm


def per_channel(x, eps, dims=(0, 2, 3), unbiased=False, eps_inside=True):
    mean = x.mean(dims, keepdim=True)
    var = x.var(dims, keepdim=True, unbiased=unbiased)
    return (x - mean) / ((var + eps).sqrt() if eps_inside else var.sqrt() + eps)


def test_batch_norm_accepts_the_solution(capsys):
    ok, out = verdict(capsys, ex.check_batch_norm, sol.batch_norm)
    assert ok and out.startswith("✓ batch_norm")


def test_batch_norm_rejects_typical_mistakes(capsys):
    cases = [
        (lambda x, eps: per_channel(x, eps, dims=(0, 1, 2, 3)), "whole tensor"),
        (lambda x, eps: per_channel(x, eps, dims=0), "per pixel"),
        (lambda x, eps: per_channel(x, eps, dims=(1, 2, 3)), "layer norm"),
        (lambda x, eps: per_channel(x, eps, unbiased=True), "biased variance"),
        (lambda x, eps: per_channel(x, eps, eps_inside=False), "inside the square root"),
        (lambda x, eps: per_channel(x, 0.0), "NaNs"),
        (lambda x, eps: per_channel(x, eps)[:, :2], "input's shape"),
        (lambda x, eps: 2 * per_channel(x, eps), "differs from batch norm's"),
    ]
    for answer, feedback in cases:
        ok, out = verdict(capsys, ex.check_batch_norm, answer)
        assert not ok and out.startswith("✗ batch_norm") and feedback in out, out


# 1×n then n×1


def test_asymmetric_saving(capsys):
    ok, out = verdict(capsys, ex.check_asymmetric_saving, sol.asymmetric_saving)
    assert ok and "a third for n = 3" in out
    cases = [
        (lambda n: 2 / n, "the share of the cost that remains"),
        (lambda n: 100 * (1 - 2 / n), "a percentage"),
        (lambda n: 1 - 1 / n, "1 − 1/n"),
        (lambda n: 1 / 3, "for n=5 expected a saving of 0.6000"),
        (lambda n: "33 %", "return a number"),
    ]
    for answer, feedback in cases:
        ok, out = verdict(capsys, ex.check_asymmetric_saving, answer)
        assert not ok and feedback in out, out


class ColumnFirst(nn.Module):
    def __init__(self, in_channels, out_channels, n):
        super().__init__()
        self.a = BasicConv2d(in_channels, out_channels, (n, 1), padding=(n // 2, 0))
        self.b = BasicConv2d(out_channels, out_channels, (1, n), padding=(0, n // 2))

    def forward(self, x):
        return self.b(self.a(x))


class SwappedPadding(nn.Module):
    def __init__(self, in_channels, out_channels, n):
        super().__init__()
        self.a = BasicConv2d(in_channels, out_channels, (1, n), padding=(n // 2, 0))
        self.b = BasicConv2d(out_channels, out_channels, (n, 1), padding=(0, n // 2))

    def forward(self, x):
        return self.b(self.a(x))


class Linear(nn.Module):  # plain convolutions: no BN, no ReLU in between
    def __init__(self, in_channels, out_channels, n):
        super().__init__()
        self.a = nn.Conv2d(in_channels, out_channels, (1, n), padding=(0, n // 2))
        self.b = nn.Conv2d(out_channels, out_channels, (n, 1), padding=(n // 2, 0))

    def forward(self, x):
        return self.b(self.a(x))


class OneConv(nn.Module):
    def __init__(self, in_channels, out_channels, n):
        super().__init__()
        self.a = BasicConv2d(in_channels, out_channels, n, padding=n // 2)

    def forward(self, x):
        return self.a(x)


class WrongChannels(sol.FactorizedConv):
    def __init__(self, in_channels, out_channels, n):
        super().__init__(in_channels, out_channels, n)
        self.conv_1xn = BasicConv2d(in_channels, in_channels, (1, n), padding=(0, n // 2))
        self.conv_nx1 = BasicConv2d(in_channels, out_channels, (n, 1), padding=(n // 2, 0))


def test_factorized_conv(capsys):
    ok, out = verdict(capsys, ex.check_factorized_conv, sol.FactorizedConv)
    assert ok and "same outputs" in out
    cases = [
        (ColumnFirst, "you start with the 5×1"),
        (SwappedPadding, "your paddings are (2, 0) and (0, 2)"),
        (Linear, "BasicConv2d"),
        (OneConv, "exactly two convolutions"),
        (WrongChannels, "parameters"),
    ]
    for answer, feedback in cases:
        ok, out = verdict(capsys, ex.check_factorized_conv, answer)
        assert not ok and feedback in out, out


# grid-size reduction


class PoolThenConv(nn.Module):
    def __init__(self, in_channels, conv_channels):
        super().__init__()
        self.pool = nn.MaxPool2d(3, stride=2, padding=1)
        self.conv = BasicConv2d(in_channels, conv_channels, 3, padding=1)

    def forward(self, x):
        return self.conv(self.pool(x))


class Stride1(sol.ParallelReduction):
    def __init__(self, in_channels, conv_channels):
        super().__init__(in_channels, conv_channels)
        self.conv = BasicConv2d(in_channels, conv_channels, 3, padding=1)
        self.pool = nn.MaxPool2d(3, stride=1, padding=1)


class Unpadded(sol.ParallelReduction):
    def __init__(self, in_channels, conv_channels):
        super().__init__(in_channels, conv_channels)
        self.conv = BasicConv2d(in_channels, conv_channels, 3, stride=2)
        self.pool = nn.MaxPool2d(3, stride=2)


class PoolFirst(sol.ParallelReduction):
    def forward(self, x):
        return torch.cat([self.pool(x), self.conv(x)], 1)


class AvgPool(sol.ParallelReduction):
    def __init__(self, in_channels, conv_channels):
        super().__init__(in_channels, conv_channels)
        self.pool = nn.AvgPool2d(3, stride=2, padding=1)


def test_parallel_reduction(capsys):
    ok, out = verdict(capsys, ex.check_parallel_reduction, sol.ParallelReduction)
    assert ok and "(2, 20, 7, 7)" in out
    cases = [
        (PoolThenConv, "side by side"),
        (Stride1, "need stride=2"),
        (Unpadded, "add padding=1"),
        (PoolFirst, "conv branch first"),
        (AvgPool, "use max-pooling"),
    ]
    for answer, feedback in cases:
        ok, out = verdict(capsys, ex.check_parallel_reduction, answer)
        assert not ok and feedback in out, out
