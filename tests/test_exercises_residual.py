"""Notebook 06's checkers pass the reference solutions and reject typical wrong answers."""

import torch
from torch import nn

from inception_edu import exercises as ex
from inception_edu.models.basic import BasicConv2d

import exercise_solutions_residual as sol


def verdict(capsys, checker, answer):
    ok = checker(answer)
    return ok, capsys.readouterr().out


def not_done(*args):
    raise NotImplementedError


def test_unattempted_exercises_are_not_errors(capsys):
    for checker in (ex.check_reduction_a_channels, ex.check_residual_block, ex.check_residual_variance):
        ok, out = verdict(capsys, checker, not_done)
        assert not ok and "not attempted yet" in out


def test_reduction_a_channels(capsys):
    ok, out = verdict(capsys, ex.check_reduction_a_channels, sol.reduction_a_channels)
    assert ok and out.startswith("✓")
    ok, out = verdict(capsys, ex.check_reduction_a_channels, lambda c, k, l, m, n: n + m)
    assert not ok and "The max-pool branch outputs channels too" in out
    ok, out = verdict(capsys, ex.check_reduction_a_channels, lambda c, k, l, m, n: k + l + m + n + c)
    assert not ok and "only the last conv of each branch" in out
    ok, out = verdict(capsys, ex.check_reduction_a_channels, lambda c, k, l, m, n: 1000)
    assert not ok and "inception_v4: expected 1024 channels from 384, got 1000" in out


class NoScale(sol.ResidualBlockA):
    def forward(self, x):
        mixed = torch.cat([self.branch0(x), self.branch1(x), self.branch2(x)], 1)
        return torch.relu(x + self.conv2d(mixed))


class NoFinalReLU(sol.ResidualBlockA):
    def forward(self, x):
        mixed = torch.cat([self.branch0(x), self.branch1(x), self.branch2(x)], 1)
        return x + self.scale * self.conv2d(mixed)


class ScaledSum(sol.ResidualBlockA):
    def forward(self, x):
        mixed = torch.cat([self.branch0(x), self.branch1(x), self.branch2(x)], 1)
        return torch.relu(self.scale * (x + self.conv2d(mixed)))


class NoShortcut(sol.ResidualBlockA):
    def forward(self, x):
        mixed = torch.cat([self.branch0(x), self.branch1(x), self.branch2(x)], 1)
        return torch.relu(self.scale * self.conv2d(mixed))


class BNProjection(sol.ResidualBlockA):
    def __init__(self, in_channels, scale):
        super().__init__(in_channels, scale)
        self.conv2d = BasicConv2d(96, in_channels, 1)


class BiaslessProjection(sol.ResidualBlockA):
    def __init__(self, in_channels, scale):
        super().__init__(in_channels, scale)
        self.conv2d = nn.Conv2d(96, in_channels, 1, bias=False)


class NoProjection(sol.ResidualBlockA):
    def forward(self, x):
        mixed = torch.cat([self.branch0(x), self.branch1(x), self.branch2(x)], 1)
        return torch.relu(mixed + self.scale)  # 96 channels: cannot be added to x


class SwappedBranches(sol.ResidualBlockA):
    def forward(self, x):
        mixed = torch.cat([self.branch1(x), self.branch0(x), self.branch2(x)], 1)
        return torch.relu(x + self.scale * self.conv2d(mixed))


def test_residual_block(capsys):
    ok, out = verdict(capsys, ex.check_residual_block, sol.ResidualBlockA)
    assert ok and "same parameters, same outputs" in out
    expectations = {
        NoScale: "you do not multiply the residual by `scale`",
        NoFinalReLU: "the ReLU after the sum is missing",
        ScaledSum: "you scale the whole sum",
        NoShortcut: "the shortcut is missing",
        BNProjection: "the 1×1 projection has no BatchNorm",
        BiaslessProjection: "the 1×1 projection needs a bias",
        NoProjection: "returns a map shaped like its input",
        SwappedBranches: "your output differs by up to",
    }
    for wrong, feedback in expectations.items():
        ok, out = verdict(capsys, ex.check_residual_block, wrong)
        assert not ok and feedback in out, (wrong.__name__, out)


def test_residual_variance(capsys):
    ok, out = verdict(capsys, ex.check_residual_variance, sol.residual_variance)
    assert ok and out.startswith("✓")
    ok, out = verdict(capsys, ex.check_residual_variance, lambda v0, v, s, n: v0 + n * s * v)
    assert not ok and "multiplies its variance by s²" in out
    ok, out = verdict(capsys, ex.check_residual_variance, lambda v0, v, s, n: v0 * (1 + s * s * v) ** n)
    assert not ok and "variances of independent terms add" in out
    ok, out = verdict(capsys, ex.check_residual_variance, lambda v0, v, s, n: (v0 + n * s * s * v) ** 0.5)
    assert not ok and "that is the standard deviation" in out
