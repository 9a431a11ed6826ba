"""Every checked exercise of the course: its stable id, its checker, its points and its title.

Ids are "NN.k": NN is the notebook's number and k the exercise's number in that notebook, as the
notebook numbers it. Open exercises (the last of each notebook) have no checker and no entry.
A grading tool reads this table; each checker stamps its verdict with its entry's id.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["EXERCISES", "Exercise", "exercise_of"]


@dataclass(frozen=True)
class Exercise:
    """One checked exercise; ``checker`` names its function in ``inception_edu.exercises``."""

    id: str
    checker: str
    title: str
    points: float = 1.0

    @property
    def notebook(self) -> int:
        """Return the number of the notebook the exercise belongs to."""
        return int(self.id.split(".")[0])


_TABLE = (
    # 01 · the naive Inception module
    Exercise("01.1", "check_naive_out_channels", "naive_out_channels"),
    Exercise("01.2", "check_conv_macs", "conv_macs"),
    Exercise("01.3", "check_naive_module", "naive module"),
    Exercise("01.4", "check_branch_fields", "receptive_field"),
    # 02 · bottlenecks and GoogLeNet
    Exercise("02.1", "check_inception_macs", "inception_macs"),
    Exercise("02.2", "check_inception_module", "Inception module"),
    Exercise("02.3", "check_train_step", "train_step"),
    Exercise("02.4", "check_max_reduction", "max_reduction"),
    # 03 · factorization
    Exercise("03.1", "check_batch_norm", "batch_norm"),
    Exercise("03.2", "check_widest_middle", "widest_cheaper_middle"),
    Exercise("03.3", "check_factorized_conv", "factorized conv"),
    Exercise("03.4", "check_reduction_fix", "grid reduction fix"),
    # 04 · Inception-v3
    Exercise("04.1", "check_reduction_costs", "reduction_costs"),
    Exercise("04.2", "check_inception_v3a", "InceptionV3A"),
    Exercise("04.3", "check_aux_head_params", "aux head parameters"),
    Exercise("04.4", "check_paper_learning_rate", "paper learning rate"),
    # 05 · label smoothing
    Exercise("05.1", "check_smoothing_for_confidence", "smoothing_for_confidence"),
    Exercise("05.2", "check_temperature_for_confidence", "temperature_for_confidence"),
    Exercise("05.3", "check_expected_calibration_error", "expected_calibration_error"),
    Exercise("05.4", "check_calibration_statements", "calibration statements"),
    # 06 · Inception-v4 and Inception-ResNet
    Exercise("06.1", "check_reduction_a_channels", "reduction_a_channels"),
    Exercise("06.2", "check_residual_bug", "residual block: find the bugs"),
    Exercise("06.3", "check_residual_variance", "residual_variance"),
    # 07 · looking inside
    Exercise("07.1", "check_field_of_chain", "field_of_chain"),
    Exercise("07.2", "check_saliency", "saliency"),
    Exercise("07.3", "check_mean_ablation", "mean ablation"),
    Exercise("07.4", "check_integrated_gradients", "integrated_gradients_by_hand"),
    # 08 · the family, evaluated the papers' way
    Exercise("08.1", "check_cost_multiplier", "cost_multiplier"),
    Exercise("08.2", "check_best_ensemble", "best_ensemble"),
    Exercise("08.3", "check_mirror_statements", "mirror statements"),
    # 09 · efficiency: FLOPs are not latency
    Exercise("09.1", "check_equal_macs_prediction", "equal MACs, which is faster"),
    Exercise("09.2", "check_bn_folding", "fold a BatchNorm"),
    Exercise("09.3", "check_fusion_opportunity", "fusion opportunity in Inception-v4"),
)

#: Exercise id → its entry, in course order.
EXERCISES: dict[str, Exercise] = {exercise.id: exercise for exercise in _TABLE}


def exercise_of(checker: str) -> Exercise:
    """Return the entry of the exercise that the function named ``checker`` checks."""
    for exercise in _TABLE:
        if exercise.checker == checker:
            return exercise
    raise KeyError(f"no exercise is checked by {checker!r}")
