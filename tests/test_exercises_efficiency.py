"""Notebook 09's checkers: reference solutions and unusual correct answers pass; typical wrong
answers fail with the feedback that names the mistake."""

import copy

import pytest
import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from inception_edu import exercises as ex
from inception_edu.exercises.efficiency import PAIR_INPUT, equal_macs_pair, pair_facts

pytestmark = pytest.mark.usefixtures("one_thread")


# --- 09.1 ----------------------------------------------------------------------------------------


def prediction():
    return {"faster": "A", "reasons": "abc"}


# --- 09.2 ----------------------------------------------------------------------------------------


def fold_batch_norm(conv, bn):
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
    folded = copy.deepcopy(conv)
    folded.weight = nn.Parameter((conv.weight * scale.reshape(-1, 1, 1, 1)).detach())
    folded.bias = nn.Parameter((bn.bias + (bias - bn.running_mean) * scale).detach())
    return folded


def fold_in_float64_new_conv(conv, bn):
    """Builds a new float64 Conv2d with padding given as a tuple and computes in float64."""
    std = (bn.running_var.double() + bn.eps).sqrt()
    gamma, beta = bn.weight.detach().double(), bn.bias.detach().double()
    folded = nn.Conv2d(
        conv.in_channels, conv.out_channels, conv.kernel_size, stride=conv.stride,
        padding=tuple(conv.padding), groups=conv.groups, bias=True, dtype=torch.float64,
    )  # fmt: skip
    with torch.no_grad():
        folded.weight.copy_(conv.weight.double() * (gamma / std)[:, None, None, None])
        b = conv.bias.double() if conv.bias is not None else 0.0
        folded.bias.copy_(beta + (b - bn.running_mean.double()) * gamma / std)
    return folded


def fold_with_torch(conv, bn):
    return fuse_conv_bn_eval(conv, bn)


def _folded(conv, bn, weight_scale, bias):
    folded = copy.deepcopy(conv)
    folded.weight = nn.Parameter((conv.weight * weight_scale).detach())
    folded.bias = nn.Parameter(bias.detach())
    return folded


def fold_without_eps(conv, bn):
    scale = bn.weight / bn.running_var.sqrt()
    b = conv.bias if conv.bias is not None else 0.0
    return _folded(conv, bn, scale.reshape(-1, 1, 1, 1), bn.bias + (b - bn.running_mean) * scale)


def fold_with_variance(conv, bn):
    scale = bn.weight / (bn.running_var + bn.eps)
    b = conv.bias if conv.bias is not None else 0.0
    return _folded(conv, bn, scale.reshape(-1, 1, 1, 1), bn.bias + (b - bn.running_mean) * scale)


def fold_ignoring_conv_bias(conv, bn):
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    return _folded(conv, bn, scale.reshape(-1, 1, 1, 1), bn.bias - bn.running_mean * scale)


def fold_mean_unscaled(conv, bn):
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    b = conv.bias if conv.bias is not None else 0.0
    return _folded(conv, bn, scale.reshape(-1, 1, 1, 1), bn.bias + b * scale - bn.running_mean)


def fold_input_axis(conv, bn):
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    b = conv.bias if conv.bias is not None else 0.0
    return _folded(conv, bn, scale.reshape(1, -1, 1, 1), bn.bias + (b - bn.running_mean) * scale)


def fold_in_place(conv, bn):
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    b = conv.bias if conv.bias is not None else 0.0
    with torch.no_grad():
        conv.weight.mul_(scale.reshape(-1, 1, 1, 1))
    conv.bias = nn.Parameter((bn.bias + (b - bn.running_mean) * scale).detach())
    return conv


def fold_without_bias(conv, bn):
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    folded = copy.deepcopy(conv)
    folded.weight = nn.Parameter((conv.weight * scale.reshape(-1, 1, 1, 1)).detach())
    folded.bias = None
    return folded


# --- 09.3 ----------------------------------------------------------------------------------------

FUSION = {
    "merged": [{"branch0", "branch1_0", "branch2_0"}],
    "apart": [{"branch1_1a", "branch1_1b"}, {"branch2_3a", "branch2_3b"}],
    "kernels_saved": 4,
}


def fusion(**changes):
    return {**FUSION, **changes}


REFERENCE = [
    pytest.param(ex.check_equal_macs_prediction, prediction, id="prediction"),
    pytest.param(ex.check_bn_folding, fold_batch_norm, id="fold"),
    pytest.param(ex.check_fusion_opportunity, FUSION, id="fusion"),
]

UNUSUAL = [
    pytest.param(ex.check_equal_macs_prediction, ("module a", ["c", "A", "b"]), id="pair-tuple"),
    pytest.param(
        ex.check_equal_macs_prediction, {"Faster": " a ", "Reasons": "a, b, c"}, id="pair-keys"
    ),
    pytest.param(ex.check_bn_folding, fold_in_float64_new_conv, id="fold-float64"),
    pytest.param(ex.check_bn_folding, fold_with_torch, id="fold-torch"),
    pytest.param(
        ex.check_fusion_opportunity,
        lambda: {
            "Merged": (["branch2_0.conv", "branch0.conv", "branch1_0.conv"],),
            "apart": [("branch2_3b", "branch2_3a"), frozenset({"branch1_1b", "branch1_1a"})],
            "kernels saved": torch.tensor(4),
        },
        id="fusion-paths-tuples-tensor",
    ),
    pytest.param(
        ex.check_fusion_opportunity,
        fusion(
            apart=[{"branch2_3a", "branch2_3b"}, {"branch1_1a", "branch1_1b"}], kernels_saved=4.0
        ),
        id="fusion-other-order-float",
    ),
]

WRONG = [
    pytest.param(ex.check_equal_macs_prediction, {"faster": "B", "reasons": "abc"},
                 "Predict A", id="pair-b-faster"),
    pytest.param(ex.check_equal_macs_prediction, {"faster": "A", "reasons": "abcd"},
                 "statement d does not hold", id="pair-no-macs-no-time"),
    pytest.param(ex.check_equal_macs_prediction, {"faster": "A", "reasons": "abce"},
                 "FEWEST MACs per byte", id="pair-1x1-cheap"),
    pytest.param(ex.check_equal_macs_prediction, {"faster": "A", "reasons": "abcf"},
                 "equal MACs mean equal weights", id="pair-fewer-weights"),
    pytest.param(ex.check_equal_macs_prediction, {"faster": "A", "reasons": "ab"},
                 "statement c holds", id="pair-missing-bytes"),
    pytest.param(ex.check_equal_macs_prediction, {"faster": "C", "reasons": "ab"},
                 '"A" or "B"', id="pair-unknown-module"),
    pytest.param(ex.check_bn_folding, fold_without_eps, "leaves out eps", id="fold-no-eps"),
    pytest.param(ex.check_bn_folding, fold_with_variance, "square root", id="fold-variance"),
    pytest.param(ex.check_bn_folding, fold_ignoring_conv_bias, "convolution's own bias",
                 id="fold-no-conv-bias"),
    pytest.param(ex.check_bn_folding, fold_mean_unscaled, "mean is scaled", id="fold-mean"),
    pytest.param(ex.check_bn_folding, fold_input_axis, "OUTPUT channels", id="fold-input-axis"),
    pytest.param(ex.check_bn_folding, fold_in_place, "changed the original", id="fold-in-place"),
    pytest.param(ex.check_bn_folding, fold_without_bias, "has no bias", id="fold-no-bias"),
    pytest.param(ex.check_bn_folding, lambda conv, bn: nn.Sequential(conv, bn),
                 "return one nn.Conv2d", id="fold-sequential"),
    pytest.param(
        ex.check_fusion_opportunity,
        fusion(merged=[{"branch0", "branch1_0", "branch2_0", "branch3.1"}]),
        "average-pooled tensor",
        id="fusion-pool-branch",
    ),
    pytest.param(
        ex.check_fusion_opportunity,
        fusion(merged=[{"branch0", "branch1_0", "branch2_0"}, {"branch1_1a", "branch1_1b"}],
               apart=[{"branch2_3a", "branch2_3b"}]),
        "1×3 window",
        id="fusion-asymmetric-pair",
    ),
    pytest.param(ex.check_fusion_opportunity, fusion(kernels_saved=2), "its own ReLU",
                 id="fusion-convs-only"),
    pytest.param(ex.check_fusion_opportunity, fusion(kernels_saved=3), "returns views",
                 id="fusion-split-counted"),
    pytest.param(ex.check_fusion_opportunity, fusion(kernels_saved=14), "folding",
                 id="fusion-bn-counted"),
    pytest.param(ex.check_fusion_opportunity, fusion(apart=[]), '"apart" misses a group',
                 id="fusion-apart-missing"),
    pytest.param(ex.check_fusion_opportunity, fusion(merged=["branch0", "branch1_0"]),
                 "not a group", id="fusion-flat-list"),
    pytest.param(ex.check_fusion_opportunity, fusion(merged=[{"branch0", "branch2_1"}]),
                 "does not read one tensor", id="fusion-not-siblings"),
    pytest.param(ex.check_fusion_opportunity, fusion(merged=[{"branch9"}]),
                 "has no convolution 'branch9'", id="fusion-unknown-name"),
]  # fmt: skip


@pytest.mark.parametrize("checker, answer", REFERENCE + UNUSUAL)
def test_accepts(checker, answer, capsys):
    verdict = checker(answer)
    assert verdict.status == "passed", verdict.message


@pytest.mark.parametrize("checker, answer, feedback", WRONG)
def test_rejects_with_the_diagnosis(checker, answer, feedback, capsys):
    verdict = checker(answer)
    assert verdict.status == "failed" and feedback in verdict.message, verdict.message


def test_the_pair_has_equal_macs_and_differs_in_kernels_and_bytes():
    a, b = equal_macs_pair()
    x = torch.randn(PAIR_INPUT)
    facts_a, facts_b = pair_facts(a, x), pair_facts(b, x)
    assert facts_a.macs == facts_b.macs == 17 * 17 * 64 * 64 * 9
    assert facts_a.conv_weights == facts_b.conv_weights == 64 * 64 * 9
    assert (facts_a.kernels, facts_b.kernels) == (3, 14)
    assert facts_b.bytes_moved > 2 * facts_a.bytes_moved


def test_bytes_moved_counts_inputs_outputs_and_weights():
    conv = nn.Conv2d(3, 5, 1, bias=False)
    x = torch.randn(1, 3, 4, 4)
    assert pair_facts(nn.Sequential(conv), x).bytes_moved == 4 * (3 * 16 + 5 * 16 + 15)


def test_folding_leaves_the_callers_random_state_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    ex.check_bn_folding(fold_batch_norm)
    assert torch.equal(torch.rand(3), expected)
