"""Interactive explorers: receptive fields, activations and attributions, one widget each.

An explorer is an ipywidgets ``VBox``: controls above one or two figures. Each figure is drawn by
the plain function that draws the same figure in the notebook (``plot_receptive_field``,
``plot_feature_maps``, ``plot_top_images``, ``plot_attributions``, ``plot_branch_attribution``),
rendered to PNG at the figure's dpi and shown in an ``Image`` widget: a change sends the new
image's bytes and nothing else. A static copy of a notebook (GitHub, HTML, nbval) shows the
static figures drawn by the same functions.

Moving a control should answer within about 150 ms. Three things keep it short:

- what is slow is computed once and kept (receptive fields, feature maps, channel statistics over
  the dataset, attributions: all methods of an image are computed once);
- every figure's PNG is kept, by what it shows, so coming back to a choice sends stored bytes;
- while the kernel is idle, the explorer draws ahead the choices one move away from the current
  one, the control moved last first and in the same direction, so the next move usually finds
  its figure ready. The slow computations (attributions, effective fields) run on a background
  thread, on the explorer's own copy of the model, so that a model's hooks never meet the
  notebook's and the kernel stays free to answer a control meanwhile; figures are drawn in the
  kernel's own event loop, one at a time between messages, because pyplot is not safe to use from
  two threads at once. Nothing is drawn ahead while a cell runs. A control's change is handled in
  that loop too: JupyterLab 4.6 with ipykernel 7 delivers widget messages on a kernel subshell, a
  thread of its own, which hands the change to the explorer's loop and waits for its figures.
  The explorer moved last draws ahead first; the others wait until it is done.

Building an explorer in a kernel calls ``gc.freeze()``: the figures drawn ahead leave cyclic
garbage, and the garbage collector's full passes over the kernel's whole heap (models, data,
libraries) stopped the loop for 0.2-0.8 s at a time, about as often as a control moved. Frozen
objects are left out of later passes (the ones that later become unreachable in a cycle stay in
memory; ``gc.unfreeze()`` undoes it).

``explorer.update(layer="inception4a", row=3)`` sets controls and redraws, as moving them would;
``explorer.figures`` holds the figures on show. Only core widgets and
``observe(handler, names="value")`` are used, so ipywidgets 7 (Colab) and 8 both work, with no
custom widget manager. The explorers assume the model does not change: build a new one after
training the model further.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import copy
import gc
import html
import io
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial

import ipywidgets as widgets
from torch import Tensor, nn
from torch.utils.data import Dataset

from .activations import (
    capture,
    channel_means,
    main_layers,
    plot_feature_maps,
    plot_top_images,
)
from .attributions import (
    BRANCH_METHODS,
    LABELS,
    METHODS,
    attribute,
    branch_attribution,
    class_names,
    default_gradcam_layer,
    plot_attributions,
    plot_branch_attribution,
    predict,
)
from .data import FASHION_MNIST, DatasetInfo
from .inference import ImageError, check_image
from .receptive_field import (
    effective_receptive_field,
    inception_modules,
    module_branches,
    plot_receptive_field,
    receptive_fields,
)

__all__ = [
    "NONE",
    "PREDICTED",
    "WHOLE",
    "Explorer",
    "Panel",
    "activation_explorer",
    "attribution_explorer",
    "receptive_field_explorer",
]

WHOLE = "(whole module)"
NONE = "(none)"
PREDICTED = -1
#: PNGs kept per figure of an explorer (a few tens of kB each).
CACHE_SIZE = 256
#: Seconds the kernel must have been free of cells before an explorer draws ahead.
IDLE_SECONDS = 0.5


@dataclass(frozen=True)
class Panel:
    """One figure of an explorer: what it shows, and how to draw it.

    ``key(values)`` names what the figure shows for the controls' values (None: no figure), so
    two states with the same key share one figure; ``draw(values)`` returns the figure.
    ``prepare(values)`` lists the slow computations the figure still needs (an attribution, an
    effective field), each a call that keeps its result for ``draw``: drawing ahead runs them
    one at a time on a background thread, so each must work on a copy of the model (``_Twin``)
    and keep its result where ``draw`` finds it, or waits for it (``_Results``).
    """

    key: Callable[[dict], Hashable | None]
    draw: Callable[[dict], object]
    prepare: Callable[[dict], list[Callable[[], object]]] = lambda values: []


class Explorer(widgets.VBox):
    """Controls above figures; ``update(**values)`` sets controls and redraws, like moving them."""

    def __init__(
        self,
        controls: dict[str, widgets.ValueWidget],
        panels: Sequence[Panel],
        *,
        follow: Callable[[dict, str], dict] | None = None,
        choices: Callable[[dict], dict[str, Sequence]] | None = None,
    ) -> None:
        """Show ``panels`` under ``controls`` and draw them for the controls' values.

        ``follow(values, name)`` returns the values after control ``name`` took its value in
        ``values``: the controls depending on it reset (a new layer: the whole module, its centre
        unit). ``choices(values)`` returns the values allowed for the controls whose choices
        depend on others (a layer's branches, its grid): a list, or a range for a slider.
        """
        self.controls = controls
        self.panels = list(panels)
        self.images = [_image() for _ in self.panels]
        self.message = widgets.HTML()
        row = widgets.HBox(list(controls.values()), layout=widgets.Layout(flex_flow="row wrap"))
        super().__init__([row, self.message, *self.images])
        self._follow = follow or (lambda values, name: dict(values))
        self._choices = choices or (lambda values: {})
        self._cache: list[OrderedDict] = [OrderedDict() for _ in self.panels]
        self._keys: list = [None] * len(self.panels)
        self._figures: list = [None] * len(self.panels)
        self._ahead: list[dict] = []  # states one move away, the likeliest next first
        self._moved: tuple[str, int] | None = None  # the control moved last, and which way
        self._timer = None
        # What the background thread is doing for this explorer: (future, state, and for a PNG
        # the (panel, key) it is for).
        self._job: tuple[concurrent.futures.Future, dict, tuple | None] | None = None
        self._holding = False
        # The kernel's loop the explorer was built on (None outside a kernel): all its work runs
        # there, whichever thread a control's change arrives on.
        self._loop = _event_loop()
        if self._loop is not None:
            gc.freeze()  # see the module's docstring
        #: Figures the last redraw had to draw (0: all came from the cache); its seconds; the
        #: message of the last error a control change raised.
        self.rendered = 0
        self.seconds = 0.0
        self.error: str | None = None
        for name, control in controls.items():
            control.observe(self._changed_handler(name), names="value")
        self.redraw()
        self._plan_ahead()

    def __repr__(self) -> str:
        # The text a notebook stores beside the widget, all that a static copy (GitHub, nbviewer,
        # a notebook stored without widget state) shows of it; ipywidgets cuts it at 110 characters.
        names = ", ".join(getattr(self, "controls", {}))
        return f"Explorer ({names}): interactive, run the notebook to use it"

    @property
    def values(self) -> dict:
        """Return {control name: current value}."""
        return {name: control.value for name, control in self.controls.items()}

    @property
    def figures(self) -> list:
        """Return the figures on show, one per non-empty panel (closed, but ``savefig`` works)."""
        import matplotlib.pyplot as plt

        values = self.values
        for i, panel in enumerate(self.panels):
            if self._keys[i] is not None and self._figures[i] is None:
                # Shown from the cache: draw the figure again, only now that it is asked for.
                self._figures[i] = panel.draw(values)
                plt.close(self._figures[i])
        return [fig for key, fig in zip(self._keys, self._figures) if key is not None]

    def update(self, **values) -> Explorer:
        """Set the named controls, then redraw once; returns the explorer, so a cell can show it."""
        return self._on_own_loop(partial(self._update, values))

    def _update(self, values: dict) -> Explorer:
        unknown = sorted(set(values) - set(self.controls))
        if unknown:
            raise ValueError(
                f"no control named {', '.join(map(repr, unknown))}; this explorer's controls are "
                f"{', '.join(self.controls)}"
            )
        state = self.values
        # In control order, so that a layer is set before the unit or channel inside it.
        for name in self.controls:
            if name in values:
                _check_choice(name, values[name], self._allowed(state, name))
                state = self._follow({**state, name: values[name]}, name)
        self._show_values(state)
        self.redraw()
        _attention.follow(self)
        self._plan_ahead()
        return self

    def redraw(self) -> None:
        """Show the figures for the current values, drawing those not in the cache."""
        start = time.perf_counter()
        values = self.values
        self.rendered = 0
        for i, panel in enumerate(self.panels):
            key = panel.key(values)
            if key is not None and key == self._keys[i]:
                continue  # this figure is already on show
            self._keys[i], self._figures[i] = None, None
            if key is None:
                self.images[i].layout.display = "none"
                continue
            png = self._cache[i].get(key) or self._png_in_background(i, key)
            if png is None:
                self._figures[i], png = self._draw(i, values, key)
                self.rendered += 1
            self.images[i].value = png
            self.images[i].layout.display = None
            self._keys[i] = key
        self.seconds = time.perf_counter() - start
        self.error = None
        self.message.value = ""

    @property
    def drawing_ahead(self) -> bool:
        """Whether some state one move away is not drawn yet (or being drawn in background)."""
        return bool(self._ahead) or self._job is not None

    def draw_ahead(self, limit: int | None = None) -> int:
        """Do up to ``limit`` steps of drawing the figures one move away; return how many.

        A step is one slow computation a figure needs, or drawing one figure. In a notebook this
        runs by itself while the kernel is idle, the computations on a background thread; call it
        to do it all now, here.
        """
        steps = 0
        while limit is None or steps < limit:
            step = self._next_step()
            if step is None:
                break
            values, work = step
            try:
                if isinstance(work, _Figure):
                    self._draw(work.panel, values, work.key)
                else:
                    work()
            except (ValueError, KeyError):
                self._drop(values)  # a choice that cannot be drawn says so when it is made
                continue
            steps += 1
        return steps

    def _next_step(self) -> tuple[dict, Callable[[], object]] | None:
        """Return (state, the next step of drawing it ahead): a computation it needs, or a figure
        (a ``_Figure``); None when every state one move away is ready."""
        while self._ahead:
            values = self._ahead[0]
            missing = [i for i, p in enumerate(self.panels) if self._missing(p, i, values)]
            if not missing:
                self._ahead.pop(0)
                continue
            panel = self.panels[missing[0]]
            try:
                pending = panel.prepare(values)
                if pending:
                    return values, pending[0]
                return values, _Figure(missing[0], panel.key(values))
            except (ValueError, KeyError):
                self._drop(values)
        return None

    def _drop(self, values: dict) -> None:
        if values in self._ahead:
            self._ahead.remove(values)

    def close(self) -> None:
        """Stop drawing ahead and close the widgets."""
        self._ahead, self._job = [], None
        # getattr: ipywidgets also calls close() on an explorer whose __init__ failed.
        if getattr(self, "_timer", None) is not None:
            self._timer.cancel()
        super().close()

    # --- what a change does ------------------------------------------------------------------

    def _changed_handler(self, name: str):
        def changed(change: dict) -> None:
            if self._holding:
                return
            self._on_own_loop(partial(self._apply_change, name, change))

        return changed

    def _apply_change(self, name: str, change: dict) -> None:
        """Follow control ``name``'s change: set its dependents, redraw, plan the moves ahead."""
        allowed = list(self._allowed(self.values, name))
        old, new = change.get("old"), change.get("new")
        if old in allowed and new in allowed:
            self._moved = (name, 1 if allowed.index(new) > allowed.index(old) else -1)
        self._show_values(self._follow(self.values, name))
        try:
            self.redraw()
        except (ValueError, KeyError) as err:
            # A callback's exception would vanish into the browser console: show it instead.
            self.error = str(err)
            self.message.value = f"<pre>Cannot draw this choice: {html.escape(str(err))}</pre>"
        _attention.follow(self)
        self._plan_ahead()

    def _on_own_loop(self, work: Callable[[], object]):
        """Return ``work()``, run on the explorer's loop: here if this thread runs it (or there is
        none), else handed to it, waiting for the result (a widget message on a kernel subshell).
        """
        loop = self._loop
        if loop is None or _running_loop() is loop or loop.is_closed() or not loop.is_running():
            return work()
        done: concurrent.futures.Future = concurrent.futures.Future()

        def run() -> None:
            if not done.set_running_or_notify_cancel():
                return
            try:
                done.set_result(work())
            except BaseException as err:  # noqa: BLE001 - raised again on the waiting thread
                done.set_exception(err)

        loop.call_soon_threadsafe(run)
        return done.result()

    def _show_values(self, values: dict) -> None:
        """Set every control to ``values``, with the choices those values allow."""
        with self._held():
            dependent = self._choices(values)
            for name, control in self.controls.items():
                if name in dependent:
                    _set_choices(control, dependent[name])
                if control.value != values[name]:
                    control.value = values[name]

    def _allowed(self, values: dict, name: str) -> Sequence:
        dependent = self._choices(values)
        if name in dependent:
            return dependent[name]
        return _choices_of(self.controls[name])

    def _draw(self, i: int, values: dict, key: Hashable):
        """Draw panel ``i`` for ``values``; keep its PNG under ``key``; return (figure, PNG)."""
        figure = self._figure(i, values)
        png = _png(figure)
        self._keep(i, key, png)
        return figure, png

    def _figure(self, i: int, values: dict):
        import matplotlib.pyplot as plt

        figure = self.panels[i].draw(values)
        plt.close(figure)  # shown through its PNG; never again by the inline backend
        return figure

    def _keep(self, i: int, key: Hashable, png: bytes) -> None:
        cache = self._cache[i]
        cache[key] = png
        while len(cache) > CACHE_SIZE:
            cache.popitem(last=False)

    def _png_in_background(self, i: int, key: Hashable) -> bytes | None:
        """Return the PNG of panel ``i``'s ``key`` if the background thread is rendering it (once
        it is done), else None."""
        job = self._job
        if job is None or job[2] != (i, key):
            return None
        try:
            png = job[0].result()
        except Exception:  # noqa: BLE001 - then it is drawn here, where an error is reported
            return None
        self._keep(i, key, png)
        return png

    def _missing(self, panel: Panel, i: int, values: dict) -> bool:
        key = panel.key(values)
        return key is not None and key not in self._cache[i]

    # --- drawing ahead -------------------------------------------------------------------------

    def _plan_ahead(self) -> None:
        """List the states one move away, likeliest first, and start drawing them when idle."""
        values = self.values
        moves = [(name, step) for name in self.controls for step in (1, -1)]
        if self._moved is not None:
            name, step = self._moved
            moves = [(name, step), (name, -step)] + moves
        ahead, seen = [], set()
        for name, step in moves:
            allowed = list(self._allowed(values, name))
            if values[name] not in allowed:
                continue
            k = allowed.index(values[name]) + step
            if not 0 <= k < len(allowed):
                continue
            try:
                state = self._follow({**values, name: allowed[k]}, name)
                keys = tuple(p.key(state) for p in self.panels)
            except (ValueError, KeyError):
                continue
            if keys not in seen:
                seen.add(keys)
                ahead.append(state)
        self._ahead = ahead
        self._schedule(IDLE_SECONDS / 10)

    def _schedule(self, delay: float) -> None:
        loop = self._loop
        if loop is None or loop.is_closed() or self._timer is not None:
            return
        if not self._ahead and self._job is None:
            return
        if _running_loop() is not loop:  # never a second chain of drawing on another thread
            loop.call_soon_threadsafe(self._schedule, delay)
            return
        self._timer = loop.call_later(delay, self._tick)

    def _tick(self) -> None:
        """One step of drawing ahead, on the explorer's loop: hand a computation, or the PNG of a
        figure built here, to the background thread, and come back when it is done."""
        self._timer = None
        job, self._job = self._job, None
        if job is not None:
            future, values, _ = job
            if not future.done():
                self._job = job
                self._schedule(0.02)  # meanwhile the loop answers controls at once
                return
            if future.exception() is not None:
                self._drop(values)  # a choice that cannot be drawn says so when it is made
            elif job[2] is not None:
                self._keep(*job[2], future.result())
        if not _cells.idle():
            self._schedule(IDLE_SECONDS)
            return
        if not _attention.may_draw_ahead(self):
            self._schedule(IDLE_SECONDS / 5)  # the explorer in use goes first
            return
        try:
            step = self._next_step()
            if step is None:
                return
            values, work = step
            if isinstance(work, _Figure):
                # Built here (pyplot), rendered to PNG beside the loop: the longer half.
                figure = self._figure(work.panel, values)
                self._job = (_background().submit(_png, figure), values, (work.panel, work.key))
            else:
                self._job = (_background().submit(work), values, None)
        except Exception:  # noqa: BLE001 - drawing ahead is a convenience: never break the kernel
            self._ahead = self._ahead[1:]
        self._schedule(0.01)  # let waiting messages (a control's change) go first

    @contextmanager
    def _held(self) -> Iterator[None]:
        holding, self._holding = self._holding, True
        try:
            yield
        finally:
            self._holding = holding


def receptive_field_explorer(
    models: dict[str, nn.Module] | nn.Module,
    image: Tensor,
    *,
    erf_images: Tensor | None = None,
    info: DatasetInfo = FASHION_MNIST,
) -> Explorer:
    """Return an explorer of a unit's theoretical and effective receptive fields on ``image``.

    Controls: model, layer, branch (inside a multi-branch module) and the unit's row and col.
    ``models`` is one model or {name: model}. The effective field is measured on ``erf_images``
    (default: ``image`` alone). Each figure is ``plot_receptive_field``'s; ``info`` (the dataset's
    mean, std and class names) draws the image.
    """
    models = models if isinstance(models, dict) else {type(models).__name__: models}
    if not models:
        raise ValueError("models is empty: pass a model or a {name: model} dict")
    for model in models.values():
        shape = tuple(check_image(model, image).shape[1:])
        if erf_images is not None:
            check_image(model, erf_images, shape, batch=True)
    model_infos: dict[str, _ModelInfo] = {}
    erfs = _Results()
    twins = {name: _Twin(model) for name, model in models.items()}

    def model_info(name: str) -> _ModelInfo:
        if name not in model_infos:
            model_infos[name] = _ModelInfo(models[name], shape)
        return model_infos[name]

    def follow(values: dict, changed: str) -> dict:
        current = model_info(values["model"])
        if changed == "model":
            values["layer"] = current.default_layer
        if changed in ("model", "layer"):
            values["branch"] = WHOLE
            rows, cols = current.fields[values["layer"]].grid
            values["row"], values["col"] = (rows - 1) // 2, (cols - 1) // 2
        return values

    def choices(values: dict) -> dict[str, Sequence]:
        current = model_info(values["model"])
        rows, cols = current.fields[values["layer"]].grid
        return {
            "layer": current.layers,
            "branch": current.branch_options(values["layer"]),
            "row": range(rows),
            "col": range(cols),
        }

    def key(values: dict) -> tuple:
        name = _target(values["layer"], values["branch"])
        return (values["model"], name, values["row"], values["col"])

    def erf(unit: tuple, net: nn.Module | None = None) -> Tensor:
        model_name, name, row, col = unit
        sources = erf_images if erf_images is not None else image
        net = net if net is not None else models[model_name]
        return erfs.get(unit, partial(effective_receptive_field, net, name, sources, (row, col)))

    def prepare(values: dict) -> list:
        unit = key(values)
        return [] if unit in erfs else [partial(erf, unit, twins[unit[0]]())]

    def draw(values: dict):
        unit = key(values)
        model_name, name, row, col = unit
        return plot_receptive_field(
            models[model_name], name, image, (row, col),
            field=model_info(model_name).fields[name], erf=erf(unit), info=info,
        )  # fmt: skip

    first = model_info(next(iter(models)))
    start = follow({"model": next(iter(models))}, "model")
    allowed = choices(start)
    controls = {
        "model": widgets.Dropdown(options=list(models), description="model"),
        "layer": widgets.Dropdown(
            options=allowed["layer"], value=first.default_layer, description="layer"
        ),
        "branch": widgets.Dropdown(options=allowed["branch"], description="branch"),
        "row": _slider("row", allowed["row"], start["row"]),
        "col": _slider("col", allowed["col"], start["col"]),
    }
    return Explorer(controls, [Panel(key, draw, prepare)], follow=follow, choices=choices)


def activation_explorer(
    model: nn.Module,
    image: Tensor,
    dataset: Dataset | None = None,
    *,
    k: int = 9,
    limit: int = 2000,
    max_channels: int = 16,
    info: DatasetInfo = FASHION_MNIST,
) -> Explorer:
    """Return an explorer of a layer's feature maps for ``image`` and of the images a channel likes.

    Controls: layer, branch (inside a multi-branch module), view (the most active channels or one)
    and channel. Given a ``dataset`` (normalized like the training data), a second figure shows the
    ``k`` of its first ``limit`` images that excite the channel most; building the explorer runs
    them through the model once. The figures are ``plot_feature_maps``'s and ``plot_top_images``';
    ``info`` (the dataset's mean, std and class names) draws the images and names their classes.
    """
    shape = tuple(check_image(model, image).shape[1:])
    if dataset is not None and tuple(_first_image(dataset).shape) != shape:
        sizes = ["×".join(map(str, s)) for s in (shape, _first_image(dataset).shape)]
        raise ImageError(
            f"the image is {sizes[0]} but the dataset's images are {sizes[1]}: pass an image "
            "shaped like the dataset's, e.g. dataset[i][0]"
        )
    activations = capture(model, image)
    model_info = _ModelInfo(model, shape, activations)
    targets = model_info.layers + [
        b for layer in model_info.layers for b in model_info.branch_options(layer)[1:]
    ]
    means = channel_means(model, dataset, targets, limit) if dataset is not None else {}

    def strongest(name: str) -> int:
        return int(activations[name].mean((1, 2)).argmax())

    def follow(values: dict, changed: str) -> dict:
        if changed == "layer":
            values["branch"] = WHOLE
        if changed in ("layer", "branch"):
            values["channel"] = strongest(_target(values["layer"], values["branch"]))
        return values

    def choices(values: dict) -> dict[str, Sequence]:
        name = _target(values["layer"], values["branch"])
        return {
            "branch": model_info.branch_options(values["layer"]),
            "channel": range(activations[name].shape[0]),
        }

    def maps_key(values: dict) -> tuple:
        channel = None if values["view"] == "overview" else values["channel"]
        return (_target(values["layer"], values["branch"]), channel)

    def draw_maps(values: dict):
        name, channel = maps_key(values)
        return plot_feature_maps(
            model, image, name, channel, activations=activations, max_channels=max_channels,
            info=info,
        )  # fmt: skip

    def top_key(values: dict) -> tuple:
        return (_target(values["layer"], values["branch"]), values["channel"])

    def draw_top(values: dict):
        name, channel = top_key(values)
        return plot_top_images(model, dataset, name, channel, k, means=means[name], info=info)

    layer = model_info.default_layer
    start = follow({"layer": layer}, "layer")
    controls = {
        "layer": widgets.Dropdown(options=model_info.layers, value=layer, description="layer"),
        "branch": widgets.Dropdown(options=model_info.branch_options(layer), description="branch"),
        "view": widgets.ToggleButtons(options=["overview", "one channel"], description="view"),
        "channel": _slider("channel", choices(start)["channel"], start["channel"]),
    }
    panels = [Panel(maps_key, draw_maps)]
    if dataset is not None:
        panels.append(Panel(top_key, draw_top))
    return Explorer(controls, panels, follow=follow, choices=choices)


def attribution_explorer(
    model: nn.Module,
    image_or_dataset: Tensor | Dataset,
    *,
    methods: Sequence[str] = METHODS,
    layer: str | None = None,
    n_steps: int = 64,
    info: DatasetInfo = FASHION_MNIST,
) -> Explorer:
    """Return an explorer of pixel attributions and of which branch of a module carried a decision.

    Controls: the image (for a dataset), target class (-1: the predicted one), method (or all of
    ``methods``), an Inception module for the branch chart, and the branch method. The figures are
    ``plot_attributions``' and ``plot_branch_attribution``'s; every attribution is computed once
    and kept. ``n_steps`` is Integrated Gradients' (the library's default, 64, keeps its
    completeness error to a few percent). ``layer`` is
    Grad-CAM's (default: the last Inception module); ``info`` (the dataset's mean, std and class
    names) gives the blank baseline, draws the image and names the classes.
    """
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown methods {unknown}; choose from {', '.join(METHODS)}")
    single = isinstance(image_or_dataset, Tensor)
    first = image_or_dataset if single else _first_image(image_or_dataset)
    x = check_image(model, first)
    shape = tuple(x.shape[1:])
    names = class_names(len(predict(model, first)), info)
    gradcam_layer = layer if layer is not None else default_gradcam_layer(model, shape)
    # Traced now, not while drawing ahead: a trace holds the kernel's loop for tens of milliseconds.
    concats = {
        name: module_branches(model, name, shape) for name in inception_modules(model, shape)
    }
    maps = _Results()
    branches = _Results()
    predicted: dict[int, int] = {}
    twin = _Twin(model)

    def image_at(index: int) -> Tensor:
        return image_or_dataset if single else image_or_dataset[index][0]

    def target_of(values: dict) -> tuple[int, int]:
        index, target = values.get("index", 0), values["target"]
        if target == PREDICTED:
            if index not in predicted:
                predicted[index] = int(predict(model, image_at(index)).argmax())
            target = predicted[index]
        return index, target

    def pixels_key(values: dict) -> tuple:
        return (*target_of(values), values["method"])

    def attribution(index: int, target: int, method: str, net: nn.Module = model) -> Tensor:
        compute = partial(
            attribute, net, image_at(index), target, method, layer=gradcam_layer,
            n_steps=n_steps, info=info,
        )  # fmt: skip
        return maps.get((index, target, method), compute)

    def chosen(method: str) -> list[str]:
        return list(methods) if method == "all" else [method]

    def prepare_pixels(values: dict) -> list:
        index, target, method = pixels_key(values)
        return [
            partial(attribution, index, target, name, twin())
            for name in chosen(method)
            if (index, target, name) not in maps
        ]

    def draw_pixels(values: dict):
        index, target, method = pixels_key(values)
        found = {name: attribution(index, target, name) for name in chosen(method)}
        return plot_attributions(
            model, image_at(index), target, list(found), maps=found, layer=gradcam_layer,
            info=info,
        )  # fmt: skip

    def chart_key(values: dict) -> tuple | None:
        if values["module"] == NONE:
            return None
        return (*target_of(values), values["module"], values["branch_method"])

    def branch_result(chart: tuple, net: nn.Module = model):
        index, target, module, method = chart
        compute = partial(
            branch_attribution, net, image_at(index), module, target, method,
            n_steps=n_steps, concat=concats[module], info=info,
        )  # fmt: skip
        return branches.get(chart, compute)

    def prepare_chart(values: dict) -> list:
        chart = chart_key(values)
        return [] if chart is None or chart in branches else [partial(branch_result, chart, twin())]

    def draw_chart(values: dict):
        chart = chart_key(values)
        result = branch_result(chart)
        return plot_branch_attribution(model, image_at(chart[0]), chart[2], result=result)

    target_options = [("predicted", PREDICTED)] + [(f"{i} {n}", i) for i, n in enumerate(names)]
    controls: dict[str, widgets.ValueWidget] = {}
    if not single:
        controls["index"] = _slider("image", range(len(image_or_dataset)), 0)
    controls["target"] = widgets.Dropdown(options=target_options, description="target")
    controls["method"] = widgets.ToggleButtons(
        options=[("all", "all")] + [(LABELS[m], m) for m in methods], description="method"
    )
    controls["module"] = widgets.Dropdown(options=[NONE, *concats], description="module")
    controls["branch_method"] = widgets.ToggleButtons(
        options=BRANCH_METHODS, description="branches"
    )
    panels = [
        Panel(pixels_key, draw_pixels, prepare_pixels),
        Panel(chart_key, draw_chart, prepare_chart),
    ]
    return Explorer(controls, panels)


class _ModelInfo:
    """What an explorer needs to know of a model, worked out once: layers, fields and branches."""

    def __init__(
        self, model: nn.Module, shape: tuple[int, ...], activations: dict[str, Tensor] | None = None
    ) -> None:
        self.model = model
        self.shape = shape
        self.fields = receptive_fields(model, shape)
        if activations is None:
            spatial = {n for n, f in self.fields.items() if f.grid != (1, 1)}
        else:
            spatial = {n for n, a in activations.items() if a.shape[-2] * a.shape[-1] > 1}
        self.layers = [n for n in main_layers(model) if n in spatial]
        if not self.layers:
            raise ValueError("the model has no layer with a spatial feature map to explore")
        self.modules = [m for m in inception_modules(model, shape) if m in self.layers]
        # Traced now, not while drawing ahead: a trace holds the kernel's loop for tens of ms.
        self._branches = {layer: self._traced_branches(layer) for layer in self.modules}

    @property
    def default_layer(self) -> str:
        """The first Inception module, or the middle layer of a model without one."""
        return self.modules[0] if self.modules else self.layers[len(self.layers) // 2]

    def branch_options(self, layer: str) -> list[str]:
        return [WHOLE, *self._branches.get(layer, [])]

    def _traced_branches(self, layer: str) -> list[str]:
        concat = module_branches(self.model, layer, self.shape)
        return [b.name for b in concat.branches if b.name in self.fields]


@dataclass(frozen=True)
class _Figure:
    """A step of drawing ahead that draws panel ``panel``'s figure for ``key``: it is built on the
    explorer's loop (pyplot is not safe on two threads) and rendered to PNG on either."""

    panel: int
    key: Hashable


class _Results:
    """Results computed once, by whichever thread asks first; a second asker waits for the first.

    The background thread computes ahead while the explorer's loop may need the same result for
    the figure a control just asked for: then the loop waits for it rather than compute it twice.
    """

    def __init__(self) -> None:
        self._done: dict = {}
        self._running: dict[Hashable, concurrent.futures.Future] = {}
        self._lock = threading.Lock()

    def __contains__(self, key: Hashable) -> bool:
        return key in self._done

    def get(self, key: Hashable, compute: Callable[[], object]):
        """Return the result of ``key``, computing it with ``compute()`` if nobody has yet."""
        with self._lock:
            if key in self._done:
                return self._done[key]
            future = self._running.get(key)
            mine = future is None
            if mine:
                future = self._running[key] = concurrent.futures.Future()
        if not mine:
            return future.result()
        try:
            result = compute()
        except BaseException as err:
            with self._lock:
                del self._running[key]
            future.set_exception(err)
            raise
        with self._lock:
            self._done[key] = result
            del self._running[key]
        future.set_result(result)
        return result


class _Twin:
    """The explorer's own copy of a model, for the background thread: its hooks (Grad-CAM, layer
    attributions, effective fields) are never on the notebook's model while a cell uses it.

    The copy is made on first use, which is on the explorer's loop, between cells: then the
    model carries none of the short-lived hooks a capture or an attribution adds.
    """

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self._copy: nn.Module | None = None

    def __call__(self) -> nn.Module:
        if self._copy is None:
            self._copy = copy.deepcopy(self.model).eval()
        return self._copy


_worker: concurrent.futures.ThreadPoolExecutor | None = None


def _background() -> concurrent.futures.ThreadPoolExecutor:
    """Return the one thread that computes ahead for every explorer (one job at a time each)."""
    global _worker
    if _worker is None:
        _worker = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="explorers")
    return _worker


class _CellActivity:
    """Whether the kernel is free of cells: running none, and none ended in the last moment."""

    def __init__(self) -> None:
        self.running = False
        self.ended = 0.0
        self._shell = None

    def watch(self, shell) -> None:
        if shell is self._shell:
            return
        self._shell = shell
        shell.events.register("pre_run_cell", self._started)
        shell.events.register("post_run_cell", self._ended)

    def idle(self) -> bool:
        return not self.running and time.monotonic() - self.ended >= IDLE_SECONDS

    def _started(self, *_args) -> None:
        self.running = True

    def _ended(self, *_args) -> None:
        self.running = False
        self.ended = time.monotonic()


_cells = _CellActivity()


class _Attention:
    """Which explorer the reader moved last: it draws ahead first, the others wait until it is done.

    Every explorer of a notebook shares the kernel's loop and the background thread; the one in
    use is the one whose next move is about to come.
    """

    def __init__(self) -> None:
        self._last: weakref.ref | None = None

    def follow(self, explorer: Explorer) -> None:
        self._last = weakref.ref(explorer)

    def may_draw_ahead(self, explorer: Explorer) -> bool:
        last = self._last() if self._last is not None else None
        return last is None or last is explorer or not last.drawing_ahead


_attention = _Attention()


def _running_loop() -> asyncio.AbstractEventLoop | None:
    """Return this thread's running event loop, or None."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _event_loop():
    """Return the kernel's running event loop (watching its cells), or None outside a kernel."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None or not hasattr(shell, "kernel"):
        return None
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None
    _cells.watch(shell)
    return loop


def _image() -> widgets.Image:
    # Shown at its own size (the figure's inches × dpi), shrunk only to fit a narrow page.
    layout = widgets.Layout(max_width="100%", height="auto", align_self="flex-start")
    return widgets.Image(format="png", layout=layout)


def _png(figure) -> bytes:
    """Return the figure as PNG bytes at its own dpi, the layout it was drawn with (not cropped).

    Compressed lightly: the bytes go to a browser on the same machine or a nearby server, where
    encoding time counts for more than a few kB (level 1 takes about two thirds of the default's).
    """
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=figure.dpi, pil_kwargs={"compress_level": 1})
    return buffer.getvalue()


def _first_image(dataset) -> Tensor:
    item = dataset[0]
    return item[0] if isinstance(item, (tuple, list)) else item


def _target(layer: str, branch: str) -> str:
    return layer if branch == WHOLE else branch


def _slider(description: str, allowed: range, value: int) -> widgets.IntSlider:
    return widgets.IntSlider(
        value=value,
        min=0,
        max=max(len(allowed) - 1, 0),
        description=description,
        continuous_update=False,
    )


def _choices_of(control: widgets.ValueWidget) -> Sequence:
    """Return the values a control can take: its options' values, or a slider's range."""
    if isinstance(control, widgets.IntSlider):
        return range(control.min, control.max + 1)
    return [o[1] if isinstance(o, tuple) else o for o in control.options]


def _set_choices(control: widgets.ValueWidget, allowed: Sequence) -> None:
    if isinstance(control, widgets.IntSlider):
        control.max = max(len(allowed) - 1, 0)
    elif list(_choices_of(control)) != list(allowed):
        control.options = list(allowed)


def _check_choice(name: str, value, allowed: Sequence) -> None:
    if isinstance(allowed, range):
        if not isinstance(value, int) or value not in allowed:
            raise ValueError(
                f"{name}={value!r} is out of range: choose from {allowed.start} to "
                f"{allowed.stop - 1}"
            )
    elif value not in allowed:
        raise ValueError(f"{name}={value!r} is not a choice; choose one of {list(allowed)}")
