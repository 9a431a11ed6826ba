"""Reference solutions of notebook 05's exercises (for teachers, and for the checkers' tests)."""

import math

import torch


def smoothing_for_confidence(confidence, num_classes):
    # At the optimum p = q', whose top probability is 1 − ε + ε/K = 1 − ε·(K − 1)/K.
    return (1 - confidence) * num_classes / (num_classes - 1)


def temperature_for_confidence(eps, num_classes, confidence):
    gap = math.log((1 - eps + eps / num_classes) / (eps / num_classes))
    # c = 1 / (1 + (K − 1)·exp(−gap / T))  ⇔  T = gap / log(c·(K − 1) / (1 − c))
    return gap / math.log(confidence * (num_classes - 1) / (1 - confidence))


def expected_calibration_error(confidences, correct, n_bins):
    edges = torch.linspace(0, 1, n_bins + 1)
    index = (torch.bucketize(confidences, edges) - 1).clamp(min=0)  # bins (lo, hi], 0 in the first
    ece = 0.0
    for b in range(n_bins):
        in_bin = index == b
        if in_bin.any():
            gap = correct[in_bin].float().mean() - confidences[in_bin].mean()
            ece += in_bin.float().mean().item() * abs(gap.item())
    return ece


def supported_statements():
    # On the recorded label_smoothing_calibration runs: a and e hold in every seed.
    return "ae"
