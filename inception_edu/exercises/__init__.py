"""Checkers for the notebooks' exercises: each ``check_*`` prints specific feedback and returns a bool."""

from .googlenet import check_aux_loss, check_inception_macs, check_inception_module, check_stage_channels
from .naive import check_conv_macs, check_naive_module, check_naive_out_channels, check_receptive_field

__all__ = [
    "check_aux_loss",
    "check_conv_macs",
    "check_inception_macs",
    "check_inception_module",
    "check_naive_module",
    "check_naive_out_channels",
    "check_receptive_field",
    "check_stage_channels",
]
