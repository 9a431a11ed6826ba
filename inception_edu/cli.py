"""Argument types shared by the package's command-line tools (``argparse`` ``type=`` callables)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

__all__ = ["whole_number"]


def whole_number(least: int) -> Callable[[str], int]:
    """Return an argument type that accepts a whole number ≥ ``least`` and refuses anything else."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < least:
            raise argparse.ArgumentTypeError(f"expected a whole number ≥ {least}, got {text!r}")
        return value

    return parse
