"""What every checker shares: running the student's code safely and printing the verdict."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from torch import nn

NOT_DONE = "not attempted yet: replace `raise NotImplementedError` with your code, then run this cell again."


class Mistake(Exception):
    """A wrong answer, with the feedback to show the student."""


class Verdict:
    """Whether a check passed; true or false like a bool, and silent in a notebook (the feedback is printed)."""

    def __init__(self, passed: bool) -> None:
        self.passed = passed

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        return f"Verdict(passed={self.passed})"

    def _ipython_display_(self) -> None:
        pass


def run_check(name: str, check: Callable[[], str]) -> Verdict:
    """Run ``check``; print "✓ name: …" or "✗ name: feedback" and return whether it passed."""
    try:
        praise = check()
    except NotImplementedError:
        print(f"… {name}: {NOT_DONE}")
        return Verdict(False)
    except Mistake as mistake:
        print(f"✗ {name}: {mistake}")
        return Verdict(False)
    except Exception as err:  # noqa: BLE001 - a crash in the student's code is feedback too
        print(f"✗ {name}: your code raised {type(err).__name__}: {err}")
        return Verdict(False)
    print(f"✓ {name}: {praise}")
    return Verdict(True)


@contextmanager
def fixed_seed(seed: int = 0) -> Iterator[None]:
    """Seed torch inside the block and restore the caller's random state afterwards."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def copy_weights(source: nn.Module, target: nn.Module) -> None:
    """Copy parameters and buffers from ``source`` into ``target`` in order, or raise a Mistake."""
    src, dst = list(source.state_dict().values()), target.state_dict()
    if len(src) != len(dst):
        raise Mistake(
            f"your module has {len(dst)} weight and buffer tensors, the reference has {len(src)}: "
            "check the number of layers in each branch."
        )
    for (key, mine), ref in zip(dst.items(), src):
        if mine.shape != ref.shape:
            raise Mistake(
                f"tensor {key!r} has shape {tuple(mine.shape)} where the reference has {tuple(ref.shape)} "
                "at the same place. Check the branches' channel numbers, and create the layers in the "
                "order of the branches (the checker copies the reference's weights in that order)."
            )
    target.load_state_dict(dict(zip(dst.keys(), src)))


def compare_modules(mine: nn.Module, reference: nn.Module, x: torch.Tensor) -> str:
    """Check shape, parameter count and outputs (same weights) of ``mine`` against ``reference``."""
    reference.eval()
    mine.eval()
    with torch.no_grad():
        expected = reference(x)
        got = mine(x)
    if not isinstance(got, torch.Tensor):
        raise Mistake(f"forward should return one tensor, it returned {type(got).__name__}.")
    if got.shape != expected.shape:
        raise Mistake(
            f"for an input of shape {tuple(x.shape)} the output should have shape {tuple(expected.shape)}, "
            f"yours has {tuple(got.shape)}."
        )
    if n_params(mine) != n_params(reference):
        raise Mistake(f"your module has {n_params(mine):,} parameters, the reference {n_params(reference):,}.")
    copy_weights(reference, mine)
    with torch.no_grad():
        got = mine(x)
    if not torch.allclose(got, expected, atol=1e-5):
        diff = (got - expected).abs().max().item()
        raise Mistake(
            f"with the reference's weights your output differs by up to {diff:.3g}: check the order in "
            "which the branches are concatenated, the padding, and that every conv is followed by BN and ReLU."
        )
    return f"same output shape {tuple(expected.shape)}, same {n_params(reference):,} parameters, same outputs."
