"""Notebook 04's checkers pass the reference solutions and reject typical mistakes, specifically."""

import torch
from torch import nn

from inception_edu import exercises as ex
from inception_edu.exercises.inception_v3 import MIXED_BLOCKS, mixed_shapes
from inception_edu.models import inception_v3
from inception_edu.models.basic import BasicConv2d

import exercise_solutions_v3 as sol


def verdict(capsys, checker, answer):
    ok = checker(answer)
    return bool(ok), capsys.readouterr().out


def not_done(*args):
    raise NotImplementedError


def test_unattempted_exercises_say_so(capsys):
    for checker in (ex.check_aux_head_params, ex.check_paper_learning_rate, ex.check_v3_shapes):
        ok, out = verdict(capsys, checker, not_done)
        assert not ok and "not attempted yet" in out


def test_mixed_shapes_match_a_real_forward_pass():
    """The meta-device shapes are those of a real run (at 75 px, the smallest input, to be quick)."""
    model = inception_v3(aux_logits=False).eval()
    seen = {}
    for name in MIXED_BLOCKS:
        getattr(model, name).register_forward_hook(
            lambda m, i, o, name=name: seen.__setitem__(name, tuple(o.shape[1:]))
        )
    with torch.no_grad():
        model(torch.zeros(1, 3, 75, 75))
    assert seen == mixed_shapes(75)
    assert mixed_shapes(299) == sol.V3_SHAPES


def test_v3_shapes(capsys):
    ok, out = verdict(capsys, ex.check_v3_shapes, sol.V3_SHAPES)
    assert ok and "256 → 768 → 2048" in out
    assert verdict(capsys, ex.check_v3_shapes, lambda: sol.V3_SHAPES)[0]  # a function returning it
    ok, out = verdict(capsys, ex.check_v3_shapes, lambda: [(256, 35, 35)])
    assert not ok and "give a dict" in out
    cases = [
        ({"Mixed_5b": (256, 35, 35)}, "missing: Mixed_5c"),
        (dict(sol.V3_SHAPES, Mixed_6a=(768, 18, 18)), "(d − 3) // 2 + 1"),
        (dict(sol.V3_SHAPES, Mixed_6a=(480, 17, 17)), "max-pool branch"),
        (dict(sol.V3_SHAPES, Mixed_7b=(1280, 8, 8)), "side by side"),
        (dict(sol.V3_SHAPES, Mixed_5b=(288, 35, 35)), "Mixed_5b: expected (256, 35, 35)"),
        (dict(sol.V3_SHAPES, Mixed_5c=(288, 35)), "give (channels, height, width)"),
    ]
    for answer, feedback in cases:
        ok, out = verdict(capsys, ex.check_v3_shapes, answer)
        assert not ok and feedback in out, out


class PaperFigure5(sol.InceptionA):
    """Fig. 5 as drawn: a 1×1 → 3×3 branch where the released block has its 5×5."""

    def __init__(self, in_channels, pool_features):
        super().__init__(in_channels, pool_features)
        self.b5_2 = BasicConv2d(48, 64, 3, padding=1)


class MaxPoolA(sol.InceptionA):
    def __init__(self, in_channels, pool_features):
        super().__init__(in_channels, pool_features)
        self.pool = nn.MaxPool2d(3, stride=1, padding=1)


class NarrowA(sol.InceptionA):
    def __init__(self, in_channels, pool_features):
        super().__init__(in_channels, pool_features)
        self.b3_2 = BasicConv2d(64, 64, 3, padding=1)
        self.b3_3 = BasicConv2d(64, 96, 3, padding=1)


class SwappedA(sol.InceptionA):
    def forward(self, x):
        branches = [self.b1(x), self.b3_3(self.b3_2(self.b3_1(x))), self.b5_2(self.b5_1(x))]
        return torch.cat([*branches, self.bp(self.pool(x))], 1)


def test_inception_v3a(capsys):
    ok, out = verdict(capsys, ex.check_inception_v3a, sol.InceptionA)
    assert ok and "same outputs" in out
    cases = [
        (PaperFigure5, "keeps a 1×1 (48) → 5×5 (64) branch"),
        (MaxPoolA, "average pooling"),
        (NarrowA, "parameters, the reference"),
        (SwappedA, "The branch order is 1×1, 5×5, double 3×3, pool"),
    ]
    for answer, feedback in cases:
        ok, out = verdict(capsys, ex.check_inception_v3a, answer)
        assert not ok and feedback in out, out


def test_aux_head_params(capsys):
    ok, out = verdict(capsys, ex.check_aux_head_params, sol.aux_head_params)
    assert ok
    bn = 2 * (128 + 768)
    cases = [
        (lambda c, k: sol.aux_head_params(c, k) - bn, "a scale and a shift per channel"),
        (lambda c, k: sol.aux_head_params(c, k) + 128 + 768, "have no bias"),
        (lambda c, k: sol.aux_head_params(c, k) - k, "a bias per class"),
        (lambda c, k: sol.aux_head_params(c, k) + bn, "buffers, not parameters"),
        (lambda c, k: 3_326_696, "for in_channels=96, num_classes=10 you gave 3,326,696"),
    ]
    for answer, feedback in cases:
        ok, out = verdict(capsys, ex.check_aux_head_params, answer)
        assert not ok and feedback in out, out


def test_paper_learning_rate(capsys):
    ok, out = verdict(capsys, ex.check_paper_learning_rate, sol.paper_learning_rate)
    assert ok
    cases = [
        (lambda e: 0.045 * 0.94**e, "decays every epoch"),
        (lambda e: 0.045 * 0.94 ** (e / 2), "smooth decay"),
        (lambda e: 0.045, "at epoch 2 expected 0.042300"),
    ]
    for answer, feedback in cases:
        ok, out = verdict(capsys, ex.check_paper_learning_rate, answer)
        assert not ok and feedback in out, out
