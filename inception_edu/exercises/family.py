"""Checkers for the exercises of notebook 08 (the whole family, evaluated the papers' way)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from ..data import CLASSES as CLASS_NAMES
from ._check import Mistake, Verdict, fixed_seed, run_check, student, students_code
from ._values import Number, agree, close, diagnose, number, statement_letters

__all__ = [
    "MIRROR_STATEMENTS",
    "SHOES",
    "check_best_ensemble",
    "check_mirror_statements",
    "check_cost_multiplier",
    "ensemble_accuracy",
    "mirror_evidence",
]

# --- 08.1 · the cost of multi-crop, multi-model testing ------------------------------------------

#: (models, scales, squares per scale, crops per square, mirrored) → what it stands for.
_COST_CASES: tuple[tuple[tuple[int, int, int, int, bool], str], ...] = (
    ((1, 1, 1, 1, False), "one model, one crop"),
    ((1, 1, 1, 5, True), "one model, 10 crops (Table 3, second row)"),
    ((1, 4, 3, 6, True), "one model, 144 crops"),
    ((7, 1, 1, 1, False), "7 models, one crop each"),
    ((7, 4, 3, 6, True), "7 models, 144 crops each (Table 3, last row)"),
    ((1, 1, 1, 6, True), "one model, the 12 crops of the Inception-v4 paper's Table 3"),
    ((3, 2, 1, 5, False), "3 models, 2 scales, 5 crops, no mirrors"),
)


def check_cost_multiplier(cost: Callable[[int, int, int, int, bool], float]) -> Verdict:
    """Check ``cost(models, scales, squares, crops, mirrored)``: the forward passes per test image,
    relative to one model on one crop (GoogLeNet's Table 3 "Cost" column)."""

    def check() -> str:
        answer = student(cost)
        got = [number(answer(*args), "a cost multiplier (a number)") for args, _ in _COST_CASES]
        expected = [_cost(*args) for args, _ in _COST_CASES]
        if agree(got, expected, _same_cost):
            return (
                "every model sees every view: models × scales × squares × crops × (2 if mirrored)."
                " GoogLeNet's submission ran 7 × 144 = 1,008 forward passes per test image."
            )
        variants = {
            "an ensemble multiplies the cost too: each model of the ensemble classifies every "
            "crop (Table 3: 7 models × 144 crops cost 1,008).": [
                _cost(1, *args[1:]) for args, _ in _COST_CASES
            ],
            "mirroring doubles the views: every crop is also classified mirrored, so "
            "× 2, not + 1.": [
                m * (s * q * c + mirrored) for (m, s, q, c, mirrored), _ in _COST_CASES
            ],
            "the models of an ensemble multiply the cost, they do not add to it: 7 models on 144 "
            "crops cost 7 × 144.": [
                _cost(1, *args[1:]) + args[0] - 1 for args, _ in _COST_CASES
            ],
            "the mirrored versions are extra crops of every scale and square: multiply the "
            "whole product by 2, not only the crops of one square.": [
                m * (s * q * c + c * mirrored) for (m, s, q, c, mirrored), _ in _COST_CASES
            ],
        }
        labels = [label for _, label in _COST_CASES]
        raise diagnose(got, expected, labels, variants, _same_cost)

    return run_check("08.1", check)


def _cost(models: int, scales: int, squares: int, crops: int, mirrored: bool) -> int:
    return models * scales * squares * crops * (2 if mirrored else 1)


def _same_cost(got: Number, expected: float) -> bool:
    return close(got, expected, rel=1e-9)


# --- 08.2 · the best ensemble under a budget -----------------------------------------------------

Candidates = Mapping[str, tuple[int, Tensor]]


def ensemble_accuracy(candidates: Candidates, chosen: Iterable[str], labels: Tensor) -> float:
    """Return the accuracy of the average of the chosen candidates' softmax probabilities."""
    names = list(chosen)
    probs = torch.stack([candidates[n][1].double() for n in names]).mean(dim=0)
    return float((probs.argmax(1) == labels).double().mean())


def check_best_ensemble(
    best_ensemble: Callable[[Candidates, Tensor, int], Iterable[str]],
) -> Verdict:
    """Check ``best_ensemble(candidates, labels, budget)``: the names of the members whose averaged
    softmax is most accurate on ``labels``, their MACs summing to at most ``budget``.

    ``candidates`` maps a name to (MACs per image, N×K softmax probabilities on validation
    images). The cases are built so that the usual shortcuts choose differently from the best
    team: the individually best models, as many models as fit, majority voting, a strict budget.
    """

    def check() -> str:
        answer = student(best_ensemble)
        for case in _ensemble_cases():
            # The student's code gets copies: an answer that changes a tensor in place (a
            # running sum started from a candidate's own probabilities) cannot change the case.
            given = {name: (macs, probs.clone()) for name, (macs, probs) in case.candidates.items()}
            chosen = _names(answer(given, case.labels.clone(), case.budget), case)
            _judge(chosen, case)
        return (
            "the best team is found by trying every team that fits the budget and scoring the "
            "average of its softmax outputs on validation images: two models that err on "
            "different images beat two strong models that err on the same ones."
        )

    return run_check("08.2", check)


@dataclass(frozen=True)
class _Case:
    """A search problem: candidates, labels, a budget, and what the shortcuts would pick."""

    name: str
    candidates: dict[str, tuple[int, Tensor]]
    labels: Tensor
    budget: int


def _names(value: object, case: _Case) -> tuple[str, ...]:
    if isinstance(value, str):
        raise Mistake(
            f"return a collection of names, e.g. ['A', 'C'], not one string ({value!r})."
        )
    if not isinstance(value, Iterable):
        raise Mistake(f"return the chosen names as a list or a set, got {type(value).__name__}.")
    with students_code():
        names = list(value)
    unknown = [n for n in names if n not in case.candidates]
    if unknown:
        raise Mistake(
            f"{unknown[0]!r} is not a candidate ({case.name}): choose among "
            f"{', '.join(case.candidates)}."
        )
    if len(set(names)) != len(names):
        raise Mistake(
            f"you chose {names}: a model listed twice is the same model, and its softmax would "
            "count twice in the average. Choose each candidate at most once."
        )
    if not names:
        raise Mistake(f"you chose no model at all ({case.name}): an ensemble needs one member.")
    return tuple(sorted(names))


def _judge(chosen: tuple[str, ...], case: _Case) -> None:
    macs = sum(case.candidates[n][0] for n in chosen)
    if macs > case.budget:
        raise Mistake(
            f"{case.name}: your team {list(chosen)} costs {macs:,} MACs, over the budget of "
            f"{case.budget:,}: the MACs of the members add up."
        )
    best, best_team = _best(case)
    mine = ensemble_accuracy(case.candidates, chosen, case.labels)
    if mine >= best - 1e-12:
        return
    for feedback, shortcut in _SHORTCUTS.items():
        if tuple(sorted(shortcut(case))) == chosen:
            raise Mistake(
                f"{case.name}: {feedback} Your team {list(chosen)} scores {mine:.3f}; "
                f"{list(best_team)} scores {best:.3f} within the budget."
            )
    raise Mistake(
        f"{case.name}: your team {list(chosen)} scores {mine:.3f}, but {list(best_team)} "
        f"scores {best:.3f} and fits the budget of {case.budget:,} MACs. Try every team that fits."
    )


def _teams(case: _Case, fits: Callable[[int], bool]) -> list[tuple[str, ...]]:
    names = list(case.candidates)
    return [
        team
        for k in range(1, len(names) + 1)
        for team in itertools.combinations(names, k)
        if fits(sum(case.candidates[n][0] for n in team))
    ]


def _best(case: _Case) -> tuple[float, tuple[str, ...]]:
    scored = [
        (ensemble_accuracy(case.candidates, t, case.labels), t)
        for t in _teams(case, lambda m: m <= case.budget)
    ]
    return max(scored, key=lambda item: item[0])


def _greedy(case: _Case) -> list[str]:
    """The individually most accurate models, in order, while they fit."""
    order = sorted(
        case.candidates,
        key=lambda n: -ensemble_accuracy(case.candidates, [n], case.labels),
    )
    team, spent = [], 0
    for n in order:
        if spent + case.candidates[n][0] <= case.budget:
            team.append(n)
            spent += case.candidates[n][0]
    return team


def _largest(case: _Case) -> list[str]:
    """The team with the most members that fits (ties: the more accurate)."""
    teams = _teams(case, lambda m: m <= case.budget)
    return list(
        max(teams, key=lambda t: (len(t), ensemble_accuracy(case.candidates, t, case.labels)))
    )


def _strict(case: _Case) -> list[str]:
    """The best team whose MACs stay strictly below the budget."""
    teams = _teams(case, lambda m: m < case.budget)
    return list(max(teams, key=lambda t: ensemble_accuracy(case.candidates, t, case.labels)))


def _voting(case: _Case) -> list[str]:
    """The best team when members vote with their argmax (ties to the lowest class)."""

    def votes(team: Sequence[str]) -> float:
        ballots = torch.stack([case.candidates[n][1].argmax(1) for n in team])
        k = case.candidates[team[0]][1].shape[1]
        counts = torch.nn.functional.one_hot(ballots, k).sum(0)
        return float((counts.argmax(1) == case.labels).double().mean())

    return list(max(_teams(case, lambda m: m <= case.budget), key=votes))


# In this order: a voting team can also be the greedy one (case 5), never the reverse.
_SHORTCUTS: dict[str, Callable[[_Case], list[str]]] = {
    "your members vote with their top class. The papers average the softmax probabilities, "
    "which keeps how sure each member is: score teams by the averaged probabilities.": _voting,
    "you took the individually most accurate models while they fit. Models that err on the "
    "same images add nothing to each other; score each whole team, not its members.": _greedy,
    "you took as many models as fit in the budget. A weak member can pull the average down: "
    "score every team, small ones too.": _largest,
    "a team whose MACs equal the budget fits it: the budget is 'at most', not 'below'.": _strict,
}


def _ensemble_cases() -> list[_Case]:
    """Cases where the best team differs from what each shortcut picks."""
    with fixed_seed(8):
        return [
            _complementary(),
            _one_big_model(),
            _weak_member(),
            _exact_budget(),
            _votes_differ(),
        ]


def _probs(labels: Tensor, wrong: Tensor, k: int, right: float, unsure: float) -> Tensor:
    """Softmax outputs: ``right`` on the true class where the model is right; where it is wrong,
    ``unsure`` on the next class (models are less sure of their mistakes)."""
    guess = (labels + 1) % k
    top = torch.where(wrong, guess, labels)
    sure = torch.where(wrong, torch.tensor(unsure), torch.tensor(right)).double()
    probs = ((1 - sure) / (k - 1)).unsqueeze(1).repeat(1, k)
    probs[torch.arange(len(labels)), top] = sure
    return probs


def _wrong(n: int, *spans: tuple[int, int]) -> Tensor:
    mask = torch.zeros(n, dtype=torch.bool)
    for start, stop in spans:
        mask[start:stop] = True
    return mask


def _complementary() -> _Case:
    """A and B err on the same images, C elsewhere: {A, C} beats {A, B}, the two best alone."""
    n, k = 200, 4
    labels = torch.arange(n) % k
    return _Case(
        "case 1 (A and B make the same mistakes)",
        {
            "A": (10, _probs(labels, _wrong(n, (0, 30)), k, 0.9, 0.5)),
            "B": (10, _probs(labels, _wrong(n, (0, 32)), k, 0.9, 0.5)),
            "C": (10, _probs(labels, _wrong(n, (100, 140)), k, 0.9, 0.5)),
        },
        labels,
        20,
    )


def _one_big_model() -> _Case:
    """One model that uses the whole budget beats any team of the cheaper ones; with D it would
    be better still, but A and D together cost more than the budget."""
    n, k = 200, 4
    labels = torch.arange(n) % k
    return _Case(
        "case 2 (one model that costs the whole budget)",
        {
            "A": (20, _probs(labels, _wrong(n, (0, 20)), k, 0.9, 0.5)),
            "B": (10, _probs(labels, _wrong(n, (100, 200)), k, 0.95, 0.95)),
            "C": (10, _probs(labels, _wrong(n, (0, 10), (100, 190)), k, 0.95, 0.95)),
            "D": (10, _probs(labels, _wrong(n, (50, 100)), k, 0.9, 0.5)),
        },
        labels,
        20,
    )


def _weak_member() -> _Case:
    """A strong model alone beats every team that adds a cheap member that is often, and
    confidently, wrong."""
    n, k = 200, 4
    labels = torch.arange(n) % k
    return _Case(
        "case 3 (one strong model, two poor ones)",
        {
            "strong": (30, _probs(labels, _wrong(n, (0, 20)), k, 0.6, 0.5)),
            "poor1": (5, _probs(labels, _wrong(n, (20, 150)), k, 0.95, 0.95)),
            "poor2": (5, _probs(labels, _wrong(n, (60, 190)), k, 0.95, 0.95)),
        },
        labels,
        40,
    )


def _exact_budget() -> _Case:
    """The best team, {x, y}, costs exactly the budget."""
    n, k = 200, 5
    labels = torch.arange(n) % k
    return _Case(
        "case 4 (a team that costs exactly the budget)",
        {
            "x": (12, _probs(labels, _wrong(n, (0, 30)), k, 0.85, 0.5)),
            "y": (13, _probs(labels, _wrong(n, (40, 80)), k, 0.85, 0.5)),
            "z": (24, _probs(labels, _wrong(n, (0, 45)), k, 0.85, 0.5)),
        },
        labels,
        25,
    )


def _votes_differ() -> _Case:
    """Two members that are unsure where they err and sure where right: their average is right
    everywhere, while their votes tie wherever they disagree."""
    n, k = 300, 3
    labels = torch.arange(n) % k
    return _Case(
        "case 5 (members that are unsure of their mistakes)",
        {
            "p": (10, _probs(labels, _wrong(n, (0, 90)), k, 0.9, 0.4)),
            "q": (10, _probs(labels, _wrong(n, (150, 240)), k, 0.9, 0.4)),
            "s": (20, _probs(labels, _wrong(n, (0, 20), (150, 170)), k, 0.9, 0.9)),
        },
        labels,
        20,
    )


# --- 08.3 · why mirrored views hurt some classes -------------------------------------------------

#: The classes whose every training image shows the object in one orientation (shoes: toe left).
SHOES = ("Sandal", "Sneaker", "Ankle boot")


@dataclass(frozen=True)
class MirrorStatement:
    """A claim about the mirror measurements, and the test that decides it on the evidence."""

    text: str
    holds: Callable[[Mapping[str, Any]], tuple[bool, str]]  # evidence -> (holds, in words)


def _lost_on_shoes(evidence: Mapping[str, Any]) -> tuple[bool, str]:
    losses = [
        (model, cls)
        for model, per_class in evidence["mirror_gain"].items()
        for cls in SHOES
        if not per_class[cls] < 0
    ]
    if losses:
        model, cls = losses[0]
        return False, f"{model} did not lose accuracy on {cls} with the mirror view averaged in"
    return True, "every network lost accuracy on all three shoe classes"


def _lost_everywhere(evidence: Mapping[str, Any]) -> tuple[bool, str]:
    for model, per_class in evidence["mirror_gain"].items():
        for cls, gain in per_class.items():
            if gain >= 0:
                return False, f"{model} lost nothing on {cls} (gain {gain:+.3f})"
    return True, "every network lost accuracy on every class"


def _asymmetric_shoes(evidence: Mapping[str, Any]) -> tuple[bool, str]:
    asymmetry = evidence["asymmetry"]
    top = sorted(asymmetry, key=lambda c: -asymmetry[c])[:3]
    if set(top) == set(SHOES):
        return True, "the three most asymmetric mean images are the three shoe classes"
    return False, f"the three most asymmetric mean images are {', '.join(top)}"


def _mirror_alone_worse(evidence: Mapping[str, Any]) -> tuple[bool, str]:
    worse = [m for m, acc in evidence["mirrored_view_accuracy"].items() if acc < evidence[
        "center_accuracy"][m]]
    if len(worse) == len(evidence["center_accuracy"]):
        return True, "every network classifies mirrored test images worse than the originals"
    return False, "some network classifies mirrored images at least as well as the originals"


MIRROR_STATEMENTS: dict[str, MirrorStatement] = {
    "a": MirrorStatement(
        "With the mirror image averaged in, every network lost accuracy on Sandal, Sneaker and "
        "Ankle boot.",
        _lost_on_shoes,
    ),
    "b": MirrorStatement(
        "With the mirror image averaged in, every network lost accuracy on every class.",
        _lost_everywhere,
    ),
    "c": MirrorStatement(
        "The mean training images of Sandal, Sneaker and Ankle boot are the three least "
        "left-right symmetric of the ten classes.",
        _asymmetric_shoes,
    ),
    "d": MirrorStatement(
        "Every network classifies the mirrored test images, on their own, less accurately than "
        "the originals.",
        _mirror_alone_worse,
    ),
    "e": MirrorStatement(
        "Had the networks been trained with mirrored images, averaging in the mirror image would "
        "have raised their accuracy on shoes.",
        lambda evidence: (
            False,
            "no network here was trained with mirrored images: that is a prediction to test "
            "(exercise 4), not something these measurements show",
        ),
    ),
    "f": MirrorStatement(
        "Mirroring loses information: a mirrored image holds fewer of the original pixels.",
        lambda evidence: (
            False,
            "a mirror image keeps every pixel, only in other places (x.flip(-1).flip(-1) is x); "
            "what changes is whether the network saw such images in training",
        ),
    ),
}


_MEASURED: dict[str, Any] = {}


def mirror_evidence(
    views: Mapping[str, Tensor] | None = None, labels: Tensor | None = None
) -> dict[str, Any]:
    """Return what the mirror statements are decided on, and remember it for the checker.

    ``views`` maps each network to its 2×N×K softmax outputs on the original test images and on
    their mirror images (``evaluate.multi_crop(..., "mirror", per_view=True)``), ``labels`` the N
    labels. Without them, the measurement of notebook 08 is made again: the six seed-0
    checkpoints on 500 test images (``evaluate.sample("test", 500, seed=0)``).
    """
    from .. import evaluate, zoo

    if views is None or labels is None:
        images, labels = evaluate.sample("test", 500, seed=0)
        views = {
            name: evaluate.multi_crop(zoo.load_trained(name, 0), images, "mirror", per_view=True)
            for name in zoo.FAMILY
        }
    classes = CLASS_NAMES
    evidence: dict[str, Any] = {
        "mirror_gain": {},
        "center_accuracy": {},
        "mirrored_view_accuracy": {},
        "asymmetry": _asymmetry(),
    }
    for name, probs in views.items():
        center, both = probs[0].argmax(1) == labels, probs.mean(0).argmax(1) == labels
        evidence["center_accuracy"][name] = float(center.double().mean())
        evidence["mirrored_view_accuracy"][name] = float(
            (probs[1].argmax(1) == labels).double().mean()
        )
        evidence["mirror_gain"][name] = {
            c: float(both[labels == i].double().mean() - center[labels == i].double().mean())
            for i, c in enumerate(classes)
        }
    _MEASURED["evidence"] = evidence
    return evidence


def _asymmetry() -> dict[str, float]:
    """How far each class's mean training image is from its mirror image, relative to its mean."""
    from ..data import fashion_mnist

    train = fashion_mnist("train")
    pixels = train.images.float() / 255
    result = {}
    for i, c in enumerate(CLASS_NAMES):
        mean = pixels[train.targets == i].mean(0)
        result[c] = float((mean - mean.flip(-1)).abs().mean() / mean.mean())
    return result


def check_mirror_statements(answer: object, evidence: Mapping[str, Any] | None = None) -> Verdict:
    """Check which of ``MIRROR_STATEMENTS`` the notebook's measurements support.

    ``answer`` is the letters, as a string ("ac") or a collection. ``evidence`` defaults to what
    ``mirror_evidence`` measured last in this session (or measures it again); it holds
    "mirror_gain" (network → class → accuracy change from averaging in the mirror image),
    "asymmetry" (class → how far its mean training image is from its mirror image),
    "center_accuracy" and "mirrored_view_accuracy" (network → accuracy).
    """

    def check() -> str:
        value = student(answer)() if callable(answer) else answer
        chosen = statement_letters(value, MIRROR_STATEMENTS)
        # The notebook's measurement, or the same measurement made again.
        measured = evidence or _MEASURED.get("evidence") or mirror_evidence()
        verdicts = {letter: s.holds(measured) for letter, s in MIRROR_STATEMENTS.items()}
        right = {letter for letter, (holds, _) in verdicts.items() if holds}
        for letter in sorted(chosen - right):
            raise Mistake(
                f"statement {letter} does not follow from the measurements: {verdicts[letter][1]}."
            )
        for letter in sorted(right - chosen):
            raise Mistake(
                f"statement {letter} is supported, and you left it out: {verdicts[letter][1]}."
            )
        return (
            f"{', '.join(sorted(right)) or 'none'}: a network is only invariant to what it was "
            "trained on; shoes face one way in Fashion-MNIST, so their mirror images are new to it."
        )

    return run_check("08.3", check)

