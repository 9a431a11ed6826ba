"""Reference solutions of the exercises of notebook 07 (looking inside)."""

import reference_solutions

# The answers the notebooks' reference solutions give (solutions/), loaded rather than copied.
_notebook_07 = reference_solutions.load("07")
field_of_chain = _notebook_07.field_of_chain
saliency = _notebook_07.saliency
mean_ablation_drops = _notebook_07.mean_ablation_drops
integrated_gradients_by_hand = _notebook_07.integrated_gradients_by_hand


