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
    Exercise("01.4", "check_receptive_field", "receptive_field"),
    # 02 · bottlenecks and GoogLeNet
    Exercise("02.1", "check_inception_macs", "inception_macs"),
    Exercise("02.2", "check_inception_module", "Inception module"),
    Exercise("02.3", "check_aux_loss", "aux_loss"),
    Exercise("02.4", "check_stage_channels", "stage_channels"),
    # 03 · factorization
    Exercise("03.1", "check_batch_norm", "batch_norm"),
    Exercise("03.2", "check_asymmetric_saving", "asymmetric saving"),
    Exercise("03.3", "check_factorized_conv", "factorized conv"),
    Exercise("03.4", "check_parallel_reduction", "parallel reduction"),
    # 04 · Inception-v3
    Exercise("04.1", "check_v3_shapes", "Inception-v3 shapes"),
    Exercise("04.2", "check_inception_v3a", "InceptionV3A"),
    Exercise("04.3", "check_aux_head_params", "aux head parameters"),
    Exercise("04.4", "check_paper_learning_rate", "paper learning rate"),
    # 05 · label smoothing
    Exercise("05.1", "check_smooth_targets", "smooth_targets"),
    Exercise("05.2", "check_smoothed_cross_entropy", "smoothed_cross_entropy"),
    Exercise("05.3", "check_expected_calibration_error", "expected_calibration_error"),
    Exercise("05.4", "check_optimal_logit_gap", "optimal_logit_gap"),
    # 06 · Inception-v4 and Inception-ResNet
    Exercise("06.1", "check_reduction_a_channels", "reduction_a_channels"),
    Exercise("06.2", "check_residual_block", "residual block"),
    Exercise("06.3", "check_residual_variance", "residual_variance"),
    # 07 · looking inside
    Exercise("07.1", "check_field_of_chain", "field_of_chain"),
    Exercise("07.2", "check_saliency", "saliency"),
    Exercise("07.3", "check_branch_ablation", "branch ablation"),
    Exercise("07.4", "check_integrated_gradients", "integrated_gradients_by_hand"),
)

#: Exercise id → its entry, in course order.
EXERCISES: dict[str, Exercise] = {exercise.id: exercise for exercise in _TABLE}


def exercise_of(checker: str) -> Exercise:
    """Return the entry of the exercise that the function named ``checker`` checks."""
    for exercise in _TABLE:
        if exercise.checker == checker:
            return exercise
    raise KeyError(f"no exercise is checked by {checker!r}")
