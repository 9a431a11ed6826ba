"""Checkers for the notebooks' exercises: each ``check_*`` prints specific feedback and returns a bool."""

from .factorization import (
    check_asymmetric_saving,
    check_batch_norm,
    check_factorized_conv,
    check_parallel_reduction,
)
from .googlenet import (
    check_aux_loss,
    check_inception_macs,
    check_inception_module,
    check_stage_channels,
)
from .inception_v3 import (
    check_aux_head_params,
    check_inception_v3a,
    check_paper_learning_rate,
    check_v3_shapes,
)
from .label_smoothing import (
    check_expected_calibration_error,
    check_optimal_logit_gap,
    check_smooth_targets,
    check_smoothed_cross_entropy,
)
from .looking_inside import (
    check_branch_ablation,
    check_field_of_chain,
    check_integrated_gradients,
    check_saliency,
)
from .naive import (
    check_conv_macs,
    check_naive_module,
    check_naive_out_channels,
    check_receptive_field,
)
from .residual import check_reduction_a_channels, check_residual_block, check_residual_variance

__all__ = [
    "check_asymmetric_saving",
    "check_aux_head_params",
    "check_aux_loss",
    "check_batch_norm",
    "check_branch_ablation",
    "check_conv_macs",
    "check_expected_calibration_error",
    "check_factorized_conv",
    "check_field_of_chain",
    "check_inception_macs",
    "check_inception_module",
    "check_inception_v3a",
    "check_integrated_gradients",
    "check_naive_module",
    "check_naive_out_channels",
    "check_optimal_logit_gap",
    "check_paper_learning_rate",
    "check_parallel_reduction",
    "check_receptive_field",
    "check_reduction_a_channels",
    "check_residual_block",
    "check_residual_variance",
    "check_saliency",
    "check_smooth_targets",
    "check_smoothed_cross_entropy",
    "check_stage_channels",
    "check_v3_shapes",
]
