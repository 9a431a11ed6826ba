"""Every checker passes the reference solution and rejects wrong answers with specific feedback."""

import torch
import torch.nn.functional as F
from torch import nn

from inception_edu import exercises as ex
from inception_edu.models.basic import BasicConv2d

import exercise_solutions as sol


def verdict(capsys, checker, answer):
    ok = checker(answer)
    return ok, capsys.readouterr().out


def not_done(*args):
    raise NotImplementedError


def test_unattempted_exercise_is_not_an_error(capsys):
    ok, out = verdict(capsys, ex.check_naive_out_channels, not_done)
    assert not ok and out.startswith("… naive_out_channels: not attempted yet")


def test_crashing_answer_is_reported_briefly(capsys):
    ok, out = verdict(capsys, ex.check_conv_macs, lambda *a: 1 / 0)
    assert not ok and "your code raised ZeroDivisionError" in out


def test_naive_out_channels(capsys):
    assert verdict(capsys, ex.check_naive_out_channels, sol.naive_out_channels)[0]
    ok, out = verdict(capsys, ex.check_naive_out_channels, lambda c, a, b, d: a + b + d)
    assert not ok and "The max-pool branch adds channels too" in out


def test_conv_macs(capsys):
    assert verdict(capsys, ex.check_conv_macs, sol.conv_macs)[0]
    ok, out = verdict(capsys, ex.check_conv_macs, lambda *a: 2 * sol.conv_macs(*a))
    assert not ok and "that is FLOPs" in out
    ok, out = verdict(capsys, ex.check_conv_macs, lambda ci, co, k, h, w: co * k * k * h * w)
    assert not ok and "misses the input channels" in out


class SwappedNaive(sol.NaiveModule):
    def forward(self, x):  # branches concatenated in the wrong order
        return torch.cat([self.b3(x), self.b1(x), self.b5(x), self.pool(x)], 1)


class ThreeFirstNaive(nn.Module):
    def __init__(self, in_channels, ch1x1, ch3x3, ch5x5):  # layers declared in another order
        super().__init__()
        self.b3 = BasicConv2d(in_channels, ch3x3, 3, padding=1)
        self.b1 = BasicConv2d(in_channels, ch1x1, 1)
        self.b5 = BasicConv2d(in_channels, ch5x5, 5, padding=2)
        self.pool = nn.MaxPool2d(3, stride=1, padding=1)

    def forward(self, x):
        return torch.cat([self.b1(x), self.b3(x), self.b5(x), self.pool(x)], 1)


class NoPadNaive(sol.NaiveModule):
    def __init__(self, in_channels, ch1x1, ch3x3, ch5x5):
        super().__init__(in_channels, ch1x1, ch3x3, ch5x5)
        self.b5 = BasicConv2d(in_channels, ch5x5, 5, padding=0)


def test_naive_module(capsys):
    assert verdict(capsys, ex.check_naive_module, sol.NaiveModule)[0]
    ok, out = verdict(capsys, ex.check_naive_module, SwappedNaive)
    assert not ok and "your output differs by up to" in out and "order" in out
    ok, out = verdict(capsys, ex.check_naive_module, ThreeFirstNaive)
    assert not ok and "tensor 'b3.conv.weight' has shape (6, 8, 3, 3) where the reference has (4, 8, 1, 1)" in out
    ok, out = verdict(capsys, ex.check_naive_module, NoPadNaive)
    assert not ok and "your code raised RuntimeError" in out  # torch.cat of mismatched maps


def test_receptive_field(capsys):
    assert verdict(capsys, ex.check_receptive_field, sol.receptive_field)[0]
    ok, out = verdict(capsys, ex.check_receptive_field, lambda ks, ss: sum(ks) - len(ks) + 1)
    assert not ok and "the 'jump'" in out


def test_inception_macs(capsys):
    assert verdict(capsys, ex.check_inception_macs, sol.inception_macs)[0]

    def without_reductions_cost(c, s, a, r3, b, r5, d, p):
        return sol.inception_macs(c, s, a, r3, b, r5, d, p) - (r3 + r5) * c * s * s

    ok, out = verdict(capsys, ex.check_inception_macs, without_reductions_cost)
    assert not ok and "Did you forget the 1×1 reductions' own cost?" in out


class ThreeByThreeInception(sol.InceptionModule):
    def __init__(self, in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj):
        super().__init__(in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj)
        self.b3 = nn.Sequential(BasicConv2d(in_channels, ch5x5red, 1), BasicConv2d(ch5x5red, ch5x5, 3, padding=1))


class ReLUFirstInception(sol.InceptionModule):
    def forward(self, x):  # pools after a ReLU that is not in the reference: different outputs
        return torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(torch.relu(x))], 1)


def test_inception_module(capsys):
    assert verdict(capsys, ex.check_inception_module, sol.InceptionModule)[0]
    ok, out = verdict(capsys, ex.check_inception_module, ThreeByThreeInception)
    assert not ok and "parameters" in out
    ok, out = verdict(capsys, ex.check_inception_module, ReLUFirstInception)
    assert not ok and "your output differs by up to" in out


def test_aux_loss(capsys):
    assert verdict(capsys, ex.check_aux_loss, sol.aux_loss)[0]
    ok, out = verdict(capsys, ex.check_aux_loss, lambda o, t: F.cross_entropy(o[0], t))
    assert not ok and "main loss only" in out
    ok, out = verdict(capsys, ex.check_aux_loss, lambda o, t: sum(F.cross_entropy(a, t) for a in o))
    assert not ok and "weighted by 0.3" in out


def test_stage_channels(capsys):
    assert verdict(capsys, ex.check_stage_channels, sol.STAGE_CHANNELS)[0]
    wrong = dict(sol.STAGE_CHANNELS, inception4e=800)
    ok, out = verdict(capsys, ex.check_stage_channels, wrong)
    assert not ok and "inception4e: expected 832" in out
    ok, out = verdict(capsys, ex.check_stage_channels, {"inception3a": 256})
    assert not ok and "missing: inception3b" in out
