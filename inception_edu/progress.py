"""Progress bars that are widgets while they run and plain text once they are done.

In JupyterLab and Colab a bar is tqdm's widget. When it finishes, its output is updated to carry,
beside the widget, the finished bar as text ("train: 100%|██████████| 195/195 [00:21<00:00]"):
a live notebook keeps showing the widget, while a static copy of the notebook (GitHub, nbviewer,
an HTML export, a notebook saved without widget state) shows the finished text instead of the
"0%" that tqdm's widget leaves as its text. Outside a notebook the bar is tqdm's text bar.

Bars redraw at most once a second: every redraw of a notebook bar is a message to the front end,
and a flood of them (tens per second over a minute of training) overflows the kernel's output
queue, which drops messages; test runners such as nbval then time out waiting for them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

__all__ = ["progress"]

T = TypeVar("T")

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def progress(
    iterable: Iterable[T], desc: str, *, enabled: bool = True, leave: bool = False
) -> Iterator[T]:
    """Yield the items of ``iterable`` (which must have a length) while a bar counts them.

    The bar is given the total, never the iterable itself: tqdm's asyncio-aware bar calls ``iter``
    on an iterable it is given, which makes a DataLoader draw an extra shuffling seed each epoch.
    """
    total = len(iterable)  # type: ignore[arg-type]
    if not enabled:
        yield from iterable
        return
    bar, handle = _make_bar(total, desc, leave)
    try:
        for item in iterable:
            yield item
            bar.update()
    finally:
        finished = bar.n == total
        text = str(bar)
        bar.close()
        if handle is not None and (leave or not finished):
            handle.update({WIDGET_VIEW: _view(bar), "text/plain": text}, raw=True)
        elif handle is not None:
            handle.update({"text/plain": ""}, raw=True)


def _make_bar(total: int, desc: str, leave: bool):
    """Return (bar, display handle): a displayed widget bar in a notebook, else a text bar."""
    from tqdm import tqdm as text_bar

    if not _in_notebook():
        return text_bar(total=total, desc=desc, leave=leave, mininterval=1.0), None
    try:
        from IPython.display import display
        from tqdm.notebook import tqdm as widget_bar

        bar = widget_bar(total=total, desc=desc, leave=True, mininterval=1.0, display=False)
    except ImportError:  # no ipywidgets: tqdm's text bar works in any notebook
        return text_bar(total=total, desc=desc, leave=leave, mininterval=1.0), None
    return bar, display(bar.container, display_id=True)


def _view(bar) -> dict:
    return {"model_id": bar.container.model_id, "version_major": 2, "version_minor": 0}


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"
