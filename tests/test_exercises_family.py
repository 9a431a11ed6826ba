"""Notebook 08's checkers: reference solutions and unusual correct answers pass; typical wrong
answers fail with the feedback that names the mistake."""

import itertools
import math

import numpy as np
import pytest
import torch

from inception_edu import exercises as ex
from inception_edu.data import CLASSES
from inception_edu.exercises import family
from inception_edu.exercises.family import ensemble_accuracy

pytestmark = pytest.mark.usefixtures("one_thread")


# --- 08.1 ----------------------------------------------------------------------------------------


def cost_multiplier(models, scales, squares, crops, mirrored):
    return models * scales * squares * crops * (2 if mirrored else 1)


def cost_by_counting_views(models, scales, squares, crops, mirrored):
    """Lists every (model, scale, square, crop, flip) forward pass and counts them."""
    flips = (False, True) if mirrored else (False,)
    passes = itertools.product(range(models), range(scales), range(squares), range(crops), flips)
    return sum(1 for _ in passes)


# --- 08.2 ----------------------------------------------------------------------------------------


def best_ensemble(candidates, labels, budget):
    names = list(candidates)
    best, best_team = -1.0, None
    for k in range(1, len(names) + 1):
        for team in itertools.combinations(names, k):
            if sum(candidates[n][0] for n in team) <= budget:
                score = ensemble_accuracy(candidates, team, labels)
                if score > best:
                    best, best_team = score, team
    return list(best_team)


def best_ensemble_by_bitmask(candidates, labels, budget):
    """Enumerates teams as bit masks, sums log-free probabilities in float32, returns a set."""
    names = sorted(candidates, reverse=True)
    scored = []
    for mask in range(1, 2 ** len(names)):
        team = {n for i, n in enumerate(names) if mask >> i & 1}
        if sum(candidates[n][0] for n in team) > budget:
            continue
        total = sum(candidates[n][1].float() for n in team)  # the sum ranks like the mean
        scored.append(((total.argmax(1) == labels).float().mean().item(), len(team), team))
    return max(scored, key=lambda item: (item[0], -item[1]))[2]


def best_ensemble_by_log_mean(candidates, labels, budget):
    """Scores teams through evaluate.ensemble-style log-probabilities; returns a tuple."""
    best = None
    for k in range(len(candidates), 0, -1):
        for team in itertools.combinations(candidates, k):
            if sum(candidates[n][0] for n in team) <= budget:
                logp = torch.stack([candidates[n][1] for n in team]).mean(0).log()
                score = (logp.argmax(1) == labels).double().mean().item()
                if best is None or score > best[0]:
                    best = (score, team)
    return tuple(reversed(best[1]))


def greedy_ensemble(candidates, labels, budget):
    order = sorted(candidates, key=lambda n: -ensemble_accuracy(candidates, [n], labels))
    team, spent = [], 0
    for n in order:
        if spent + candidates[n][0] <= budget:
            team.append(n)
            spent += candidates[n][0]
    return team


def everything_that_fits(candidates, labels, budget):
    return max(
        (
            team
            for k in range(1, len(candidates) + 1)
            for team in itertools.combinations(candidates, k)
            if sum(candidates[n][0] for n in team) <= budget
        ),
        key=lambda team: (len(team), ensemble_accuracy(candidates, team, labels)),
    )


def strictly_below_budget(candidates, labels, budget):
    return best_ensemble(candidates, labels, budget - 1)


def majority_vote(candidates, labels, budget):
    def votes(team):
        ballots = torch.stack([candidates[n][1].argmax(1) for n in team])
        counts = torch.nn.functional.one_hot(ballots, candidates[team[0]][1].shape[1]).sum(0)
        return (counts.argmax(1) == labels).double().mean().item()

    teams = [
        t
        for k in range(1, len(candidates) + 1)
        for t in itertools.combinations(candidates, k)
        if sum(candidates[n][0] for n in t) <= budget
    ]
    return max(teams, key=votes)


def best_ensemble_then_overwrite(candidates, labels, budget):
    """Right, and then it scribbles over the tensors it was given (which must not matter)."""
    chosen = best_ensemble(candidates, labels, budget)
    for _, probs in candidates.values():
        probs.zero_()
    labels.zero_()
    return chosen


def cheapest_then_overwrite(candidates, labels, budget):
    """Wrong, and it zeroes every probability it was given, which would make all teams tie."""
    cheapest = min(candidates, key=lambda name: candidates[name][0])
    for _, probs in candidates.values():
        probs.zero_()
    return [cheapest]


def ignore_budget(candidates, labels, budget):
    return best_ensemble(candidates, labels, 10**9)


# --- 08.3 ----------------------------------------------------------------------------------------

SHOES = ("Sandal", "Sneaker", "Ankle boot")


def evidence(shoe_gain=-0.05, other_gain=0.0, asymmetric=SHOES, mirrored_worse=True):
    """Measurements like the notebook's, for two networks."""
    gains = {c: (shoe_gain if c in SHOES else other_gain) for c in CLASSES}
    asymmetry = {c: (0.3 if c in asymmetric else 0.05 + 0.01 * i) for i, c in enumerate(CLASSES)}
    center = {"net1": 0.80, "net2": 0.75}
    mirrored = {m: a - (0.1 if mirrored_worse else -0.01) for m, a in center.items()}
    return {
        "mirror_gain": {"net1": dict(gains), "net2": dict(gains)},
        "asymmetry": asymmetry,
        "center_accuracy": center,
        "mirrored_view_accuracy": mirrored,
    }


EVIDENCE = evidence()


def mirror_answer(letters):
    """The statements answer, checked against EVIDENCE (true: a, c, d)."""
    return letters


REFERENCE = [
    pytest.param(ex.check_cost_multiplier, cost_multiplier, id="cost"),
    pytest.param(ex.check_best_ensemble, best_ensemble, id="ensemble"),
    pytest.param(ex.check_mirror_statements, "acd", id="statements"),
]

UNUSUAL = [
    pytest.param(ex.check_cost_multiplier, cost_by_counting_views, id="cost-counted"),
    pytest.param(
        ex.check_cost_multiplier,
        lambda m, s, q, c, mirrored: np.float32(m * s * q * c * (1 + int(mirrored))),
        id="cost-numpy-float32",
    ),
    pytest.param(
        ex.check_cost_multiplier,
        lambda m, s, q, c, mirrored: torch.tensor(math.prod([m, s, q, c, 1 + mirrored])),
        id="cost-tensor",
    ),
    pytest.param(ex.check_best_ensemble, best_ensemble_by_bitmask, id="ensemble-bitmask-set"),
    pytest.param(ex.check_best_ensemble, best_ensemble_by_log_mean, id="ensemble-log-tuple"),
    pytest.param(ex.check_best_ensemble, best_ensemble_then_overwrite, id="ensemble-in-place"),
    pytest.param(ex.check_mirror_statements, {"D", "a", "c"}, id="statements-set-uppercase"),
    pytest.param(ex.check_mirror_statements, "a, c, d", id="statements-commas"),
    pytest.param(ex.check_mirror_statements, lambda: ["c", "d", "a"], id="statements-function"),
]

WRONG = [
    pytest.param(
        ex.check_cost_multiplier,
        lambda m, s, q, c, mirrored: s * q * c * (2 if mirrored else 1),
        "each model of the ensemble classifies every crop",
        id="cost-no-models",
    ),
    pytest.param(
        ex.check_cost_multiplier,
        lambda m, s, q, c, mirrored: m * (s * q * c + mirrored),
        "× 2, not + 1",
        id="cost-mirror-plus-one",
    ),
    pytest.param(
        ex.check_cost_multiplier,
        lambda m, s, q, c, mirrored: s * q * c * (2 if mirrored else 1) + m - 1,
        "multiply the cost, they do not add",
        id="cost-models-added",
    ),
    pytest.param(
        ex.check_cost_multiplier,
        lambda m, s, q, c, mirrored: m * (s * q * c + c * mirrored),
        "multiply the whole product by 2",
        id="cost-mirror-one-square",
    ),
    pytest.param(
        ex.check_cost_multiplier,
        lambda m, s, q, c, mirrored: m * s * q * c,
        "one model, 10 crops",
        id="cost-other",
    ),
    pytest.param(
        ex.check_best_ensemble, greedy_ensemble, "individually most accurate", id="ensemble-greedy"
    ),
    pytest.param(
        ex.check_best_ensemble, everything_that_fits, "as many models as fit", id="ensemble-fill"
    ),
    pytest.param(
        ex.check_best_ensemble, strictly_below_budget, "'at most', not 'below'", id="strict"
    ),
    pytest.param(ex.check_best_ensemble, majority_vote, "vote with their top class", id="vote"),
    pytest.param(ex.check_best_ensemble, ignore_budget, "over the budget", id="ensemble-no-budget"),
    pytest.param(
        ex.check_best_ensemble, lambda c, y, b: "A", "not one string", id="ensemble-string"
    ),
    pytest.param(
        ex.check_best_ensemble, lambda c, y, b: ["A", "A"], "at most once", id="ensemble-twice"
    ),
    pytest.param(ex.check_best_ensemble, lambda c, y, b: [], "no model at all", id="empty"),
    pytest.param(
        ex.check_best_ensemble, cheapest_then_overwrite, "scores 1.000 within the budget",
        id="ensemble-overwrites",
    ),
    pytest.param(
        ex.check_best_ensemble, lambda c, y, b: ["D"], "'D' is not a candidate", id="ensemble-name"
    ),
    pytest.param(
        ex.check_mirror_statements, "abcd", "statement b does not follow", id="statements-all-lost"
    ),
    pytest.param(
        ex.check_mirror_statements, "ad", "statement c is supported, and you left it out",
        id="statements-missing-c",
    ),
    pytest.param(
        ex.check_mirror_statements, "acde", "a prediction to test", id="statements-prediction"
    ),
    pytest.param(
        ex.check_mirror_statements, "acdf", "keeps every pixel", id="statements-information"
    ),
    pytest.param(ex.check_mirror_statements, "acdz", "no statement 'z'", id="statements-unknown"),
    pytest.param(ex.check_mirror_statements, [1, 2], "give the letters", id="statements-numbers"),
]


def call(checker, answer):
    if checker is ex.check_mirror_statements:
        return checker(answer, EVIDENCE)
    return checker(answer)


@pytest.mark.parametrize("checker, answer", REFERENCE + UNUSUAL)
def test_accepts(checker, answer, capsys):
    verdict = call(checker, answer)
    assert verdict.status == "passed", verdict.message


@pytest.mark.parametrize("checker, answer, feedback", WRONG)
def test_rejects_with_the_diagnosis(checker, answer, feedback, capsys):
    verdict = call(checker, answer)
    assert verdict.status == "failed" and feedback in verdict.message, verdict.message


def test_the_statements_follow_the_evidence_not_a_fixed_key(capsys):
    """Other measurements make other statements true: the checker decides on the evidence."""
    flipped = evidence(shoe_gain=0.01, asymmetric=("Bag", "Trouser", "Shirt"), mirrored_worse=False)
    verdict = ex.check_mirror_statements("", flipped)
    assert verdict.status == "passed", verdict.message
    verdict = ex.check_mirror_statements("a", flipped)
    assert "statement a does not follow" in verdict.message
    everywhere = evidence(shoe_gain=-0.05, other_gain=-0.01)
    assert ex.check_mirror_statements("abcd", everywhere).passed


def test_the_checker_decides_on_the_last_measured_evidence(capsys):
    """Shoes misread when mirrored: a, c (from the real training images) and d hold."""
    labels = torch.arange(100) % 10
    center = torch.full((100, 10), 0.01).index_put_((torch.arange(100), labels), torch.tensor(0.91))
    shoe = torch.isin(labels, torch.tensor([CLASSES.index(c) for c in SHOES]))
    mirror = center.clone()
    mirror[shoe] = 0.005
    mirror[shoe, (labels[shoe] + 1) % 10] = 0.955
    evidence = family.mirror_evidence({"net": torch.stack([center, mirror])}, labels)
    assert evidence["mirror_gain"]["net"]["Sneaker"] == -1.0
    assert evidence["mirror_gain"]["net"]["Trouser"] == 0.0
    assert evidence["center_accuracy"]["net"] == 1.0
    assert evidence["mirrored_view_accuracy"]["net"] == 0.7
    assert ex.check_mirror_statements("acd").passed  # no evidence given: the one measured last


def test_every_ensemble_case_has_one_best_score_that_the_shortcuts_miss():
    from inception_edu.exercises.family import _SHORTCUTS, _best, _ensemble_cases

    missed = set()
    for case in _ensemble_cases():
        best, _ = _best(case)
        for feedback, shortcut in _SHORTCUTS.items():
            team = shortcut(case)
            if ensemble_accuracy(case.candidates, team, case.labels) < best:
                missed.add(feedback)
    assert missed == set(_SHORTCUTS), "some shortcut is never caught"
