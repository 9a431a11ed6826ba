"""What every checker shares: running the student's code, telling whose fault an error is, and
turning the outcome into a published ``Verdict``.

A checker is a function ``check() -> praise`` that raises ``Mistake`` for a wrong answer. Every call
into the student's code goes through ``student(...)`` or ``students_code()``, which tag what it
raises: ``NotImplementedError`` means "not attempted", anything else is the student's crash. An
untagged exception can only come from the checker itself, and is reported as the checker's fault.
"""

from __future__ import annotations

import functools
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import torch
from torch import nn

from .registry import EXERCISES
from .verdict import Verdict, publish

__all__ = [
    "NOT_DONE",
    "Mistake",
    "NotAttempted",
    "StudentError",
    "fixed_seed",
    "n_params",
    "run_check",
    "student",
    "students_code",
]

NOT_DONE = (
    "not attempted yet: replace `raise NotImplementedError` with your code, then run this cell "
    "again."
)

F = TypeVar("F", bound=Callable[..., Any])
_LIBRARY = Path(__file__).resolve().parent.parent


class Mistake(Exception):
    """A wrong answer, with the feedback to show the student."""


class NotAttempted(Exception):
    """The student's code raised NotImplementedError, or the answer is still the empty template."""


class StudentError(Exception):
    """An exception raised by the student's code (``error``), with an optional hint to add."""

    def __init__(self, error: BaseException, hint: str = "") -> None:
        super().__init__(f"{type(error).__name__}: {error}")
        self.error = error
        self.hint = hint


@contextmanager
def students_code(hint: str = "") -> Iterator[None]:
    """Run the block as the student's code: what it raises is tagged as theirs.

    Keep the block to the call into their code: the checker's own mistakes must stay untagged.
    """
    try:
        yield
    except (Mistake, NotAttempted, StudentError):
        raise
    except NotImplementedError as err:
        raise NotAttempted() from err
    except Exception as err:
        raise StudentError(err, hint) from err


def student(function: F) -> F:
    """Wrap the student's callable so that whatever it raises is tagged as theirs.

    The course library's own classes and functions (or a subclass of one) are refused: they are
    the reference the answer is compared with, not an answer.
    """
    borrowed = _library_origin(function)
    if borrowed is not None:
        raise Mistake(
            f"your answer is the course library's own `{borrowed}`"
            f"{'' if borrowed == _name(function) else ' (it inherits from it)'}: the exercise "
            "asks you to write it yourself. Define it in the notebook, from the layers of "
            "torch.nn."
        )

    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        with students_code():
            return function(*args, **kwargs)

    return call  # type: ignore[return-value]


def _library_origin(answer: object) -> str | None:
    """The name of the ``inception_edu`` class or function ``answer`` is or inherits from."""
    candidates = answer.__mro__ if isinstance(answer, type) else (answer,)
    for candidate in candidates:
        if str(getattr(candidate, "__module__", "")).startswith("inception_edu."):
            return _name(candidate)
    return None


def _name(obj: object) -> str:
    return getattr(obj, "__qualname__", type(obj).__name__)


def run_check(exercise: str, check: Callable[[], str]) -> Verdict:
    """Run ``check`` for the exercise with id ``exercise``; publish and return the verdict."""
    entry = EXERCISES[exercise]

    def verdict(status: str, message: str) -> Verdict:
        return Verdict(entry.id, entry.title, status, message, entry.points)  # type: ignore[arg-type]

    try:
        with _one_thread():
            result = verdict("passed", check())
    except NotAttempted:
        result = verdict("not attempted", NOT_DONE)
    except Mistake as mistake:
        result = verdict("failed", str(mistake))
    except StudentError as err:
        hint = f" {err.hint}" if err.hint else ""
        result = verdict("failed", f"your code raised {err}{hint}")
    except Exception as err:  # noqa: BLE001 - untagged, so raised by the checker itself
        result = verdict("checker error", _internal_error(entry.id, err))
    publish(result)
    return result


@contextmanager
def fixed_seed(seed: int = 0) -> Iterator[None]:
    """Seed torch inside the block and restore the caller's random state afterwards."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def n_params(module: nn.Module) -> int:
    """Return the number of parameters of ``module``."""
    return sum(p.numel() for p in module.parameters())


@contextmanager
def _one_thread() -> Iterator[None]:
    """Run torch on one thread inside the block, then restore the caller's setting.

    A check's tensors are tiny: on a busy machine, coordinating threads costs far more than the
    work (measured: a module check took 40× longer with 2 threads on 2 busy cores).
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _internal_error(exercise: str, err: Exception) -> str:
    # Where it happened (the innermost line of this library), so that a bug report can be acted
    # on without the traceback.
    frames = traceback.extract_tb(err.__traceback__)
    ours = [f for f in frames if Path(f.filename).resolve().is_relative_to(_LIBRARY)] or frames
    where = f" at {Path(ours[-1].filename).name}:{ours[-1].lineno}" if ours else ""
    return (
        f"internal error of the checker ({type(err).__name__}: {err}{where}). This is not a "
        f"verdict on your answer: please report it, with exercise {exercise} and this message."
    )
