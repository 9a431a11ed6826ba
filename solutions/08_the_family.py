"""Reference solutions of notebook 08 · The whole family, evaluated the papers' way.

Each ``# %% exercise NN.k`` section is the exact source that ``python -m inception_edu.classroom
solve`` puts in place of that exercise's cell: the answer, then the cell's check call. The imports
above the first section are the notebook's setup, so that names resolve for readers, editors and
ruff; the commands ignore them.
"""

import itertools

import torch

from inception_edu.exercises import (
    check_best_ensemble,
    check_cost_multiplier,
    check_mirror_statements,
)


# %% exercise 08.1
def cost_multiplier(models, scales, squares, crops, mirrored):
    # Every network of the ensemble classifies every view; a mirror doubles the views.
    return models * scales * squares * crops * (2 if mirrored else 1)


check_cost_multiplier(cost_multiplier)

# %% exercise 08.2
def best_ensemble(candidates, labels, budget):
    best_score, best_team = -1.0, None
    names = list(candidates)
    for size in range(1, len(names) + 1):
        for team in itertools.combinations(names, size):
            if sum(candidates[name][0] for name in team) > budget:
                continue
            probs = torch.stack([candidates[name][1] for name in team]).mean(dim=0)
            score = (probs.argmax(dim=1) == labels).double().mean().item()
            if score > best_score:
                best_score, best_team = score, team
    return list(best_team)


check_best_ensemble(best_ensemble)

# %% exercise 08.3
def mirror_statements():
    return "cd"  # a fails: naive_small lost nothing on Sneaker; b, e, f never follow


check_mirror_statements(mirror_statements)
