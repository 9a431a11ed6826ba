"""Notebook 05's checkers pass the reference solutions and reject typical wrong answers."""

import math

import torch
import torch.nn.functional as F

from inception_edu import exercises as ex


# Reference solutions (for teachers, and for these tests)
def smooth_targets(target, num_classes, eps):
    return (1 - eps) * F.one_hot(target, num_classes).float() + eps / num_classes


def smoothed_cross_entropy(logits, target, eps):
    q = smooth_targets(target, logits.shape[1], eps)
    return -(q * logits.log_softmax(dim=1)).sum(dim=1).mean()


def expected_calibration_error(confidences, correct, n_bins):
    edges = torch.linspace(0, 1, n_bins + 1)
    index = (torch.bucketize(confidences, edges) - 1).clamp(min=0)
    ece = 0.0
    for b in range(n_bins):
        in_bin = index == b
        if in_bin.any():
            gap = correct[in_bin].float().mean() - confidences[in_bin].mean()
            ece += in_bin.float().mean().item() * abs(gap.item())
    return ece


def optimal_logit_gap(eps, num_classes):
    return math.log((1 - eps + eps / num_classes) / (eps / num_classes))


# Tests
def verdict(capsys, checker, answer):
    ok = checker(answer)
    return ok, capsys.readouterr().out


def not_done(*args):
    raise NotImplementedError


def test_unattempted_exercises_are_not_errors(capsys):
    checkers = (
        ex.check_smooth_targets,
        ex.check_smoothed_cross_entropy,
        ex.check_expected_calibration_error,
        ex.check_optimal_logit_gap,
    )
    for checker in checkers:
        ok, out = verdict(capsys, checker, not_done)
        assert not ok and "not attempted yet" in out


def test_smooth_targets(capsys):
    ok, out = verdict(capsys, ex.check_smooth_targets, smooth_targets)
    assert ok and out.startswith("✓")
    ok, out = verdict(capsys, ex.check_smooth_targets, lambda t, k, e: F.one_hot(t, k).float())
    assert not ok and "ε is not used" in out

    def over_wrong_classes(t, k, e):
        one_hot = F.one_hot(t, k).float()
        return (1 - e) * one_hot + e / (k - 1) * (1 - one_hot)

    ok, out = verdict(capsys, ex.check_smooth_targets, over_wrong_classes)
    assert not ok and "K − 1 wrong classes" in out

    def true_class_without_its_share(t, k, e):
        one_hot = F.one_hot(t, k).float()
        return (1 - e) * one_hot + e / k * (1 - one_hot)

    ok, out = verdict(capsys, ex.check_smooth_targets, true_class_without_its_share)
    assert not ok and "summing to 1" in out
    ok, out = verdict(capsys, ex.check_smooth_targets, lambda t, k, e: smooth_targets(t, k, e).T)
    assert not ok and "one distribution per row" in out


def test_smoothed_cross_entropy(capsys):
    ok, out = verdict(capsys, ex.check_smoothed_cross_entropy, smoothed_cross_entropy)
    assert ok and out.startswith("✓")
    wrong_answers = {
        "wrong sign": lambda z, t, e: -smoothed_cross_entropy(z, t, e),
        "return the sum": lambda z, t, e: smoothed_cross_entropy(z, t, e) * len(t),
        "ε is not used": lambda z, t, e: F.cross_entropy(z, t),
        "log_softmax": lambda z, t, e: -(smooth_targets(t, 10, e) * z.softmax(1)).sum(1).mean(),
        "0-dimensional": lambda z, t, e: -(smooth_targets(t, 10, e) * z.log_softmax(1)).sum(1),
    }
    for feedback, answer in wrong_answers.items():
        ok, out = verdict(capsys, ex.check_smoothed_cross_entropy, answer)
        assert not ok and feedback in out, (feedback, out)


def test_expected_calibration_error(capsys):
    ok, out = verdict(capsys, ex.check_expected_calibration_error, expected_calibration_error)
    assert ok and out.startswith("✓")

    def overall_gap(c, k, n):
        return abs(k.float().mean() - c.mean()).item()

    def unweighted(c, k, n):
        index = (torch.bucketize(c, torch.linspace(0, 1, n + 1)) - 1).clamp(min=0)
        gaps = [abs(k[index == b].float().mean() - c[index == b].mean()).item()
                for b in range(n) if (index == b).any()]  # fmt: skip
        return sum(gaps) / len(gaps)

    wrong_answers = {
        "opposite sign in different bins cancel": overall_gap,
        "weight each bin": unweighted,
        "not a percentage": lambda c, k, n: 100 * expected_calibration_error(c, k, n),
    }
    for feedback, answer in wrong_answers.items():
        ok, out = verdict(capsys, ex.check_expected_calibration_error, answer)
        assert not ok and feedback in out, (feedback, out)


def test_optimal_logit_gap(capsys):
    ok, out = verdict(capsys, ex.check_optimal_logit_gap, optimal_logit_gap)
    assert ok and out.startswith("✓")
    wrong_answers = {
        "1 − ε + ε/K, not 1 − ε": lambda e, k: math.log((1 - e) / (e / k)),
        "grows with the number of classes": lambda e, k: math.log((1 - e) / e),
        "ratio of the probabilities": lambda e, k: (1 - e + e / k) / (e / k),
        "for ε = 0.1, K = 10 expected": lambda e, k: 4.5,
    }
    for feedback, answer in wrong_answers.items():
        ok, out = verdict(capsys, ex.check_optimal_logit_gap, answer)
        assert not ok and feedback in out, (feedback, out)
