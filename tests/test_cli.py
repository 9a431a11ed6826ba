"""The argument types shared by the command-line tools (inception_edu.cli)."""

import argparse
import re

import pytest

from inception_edu.cli import whole_number


def test_a_whole_number_at_least_the_bound_is_accepted():
    assert whole_number(1)("3") == 3
    assert whole_number(0)("0") == 0


@pytest.mark.parametrize("text", ["0", "-2", "two", "1.5", ""])
def test_anything_else_is_refused_with_what_was_expected(text):
    message = re.escape(f"expected a whole number ≥ 1, got {text!r}")
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        whole_number(1)(text)
