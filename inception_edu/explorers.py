"""Interactive explorers: receptive fields, activations and attributions, one widget each.

An explorer is an ipywidgets ``VBox``: controls above one or two figures. Every redraw calls the
plain function that draws the same figure (``plot_receptive_field``, ``plot_feature_maps``,
``plot_top_images``, ``plot_attributions``, ``plot_branch_attribution``), so a static copy of a
notebook (GitHub, HTML, nbval) can show what the widget shows. What is slow is computed once and
cached (receptive fields, every feature map of the image, channel statistics over the dataset,
attributions already seen): moving a control then mostly redraws.

``explorer.update(layer="inception4a", row=3)`` sets controls and redraws, as moving them would;
``explorer.figures`` holds the figures last drawn. Only core widgets and
``observe(handler, names="value")`` are used, so ipywidgets 7 (Colab) and 8 both work.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

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
    "KEEP",
    "NONE",
    "PREDICTED",
    "WHOLE",
    "Explorer",
    "activation_explorer",
    "attribution_explorer",
    "receptive_field_explorer",
]

WHOLE = "(whole module)"
NONE = "(none)"
PREDICTED = -1
#: Returned by a draw function for an output whose figure has not changed: it is left as it is.
KEEP = object()


class Explorer(widgets.VBox):
    """Controls above figures; ``update(**values)`` sets controls and redraws, like moving them."""

    def __init__(
        self,
        controls: dict[str, widgets.ValueWidget],
        draw: Callable[[dict], list],
        n_outputs: int = 1,
        sync: Callable[[str], None] | None = None,
    ) -> None:
        """``draw(values)`` returns one item per output: a figure, None (empty) or KEEP.

        ``sync(name)`` runs after control ``name`` changed, to adjust the controls depending on it.
        """
        outputs = [widgets.Output() for _ in range(n_outputs)]
        row = widgets.HBox(list(controls.values()), layout=widgets.Layout(flex_flow="row wrap"))
        super().__init__([row, *outputs])
        self.controls = controls
        self.outputs = outputs
        self._shown: list = [None] * n_outputs
        #: The figures the last redraw drew (outputs that did not change keep theirs).
        self.drawn: list = []
        #: Seconds the last redraw took; the message of the last error a control change raised.
        self.seconds = 0.0
        self.error: str | None = None
        self._draw = draw
        self._sync = sync or (lambda name: None)
        self._holding = False
        for name, control in controls.items():
            control.observe(self._changed_handler(name), names="value")
        self.redraw()

    @property
    def figures(self) -> list:
        """Return the figures on show, one per non-empty output (closed, but ``savefig`` works)."""
        return [fig for fig in self._shown if fig is not None]

    @property
    def values(self) -> dict:
        """Return {control name: current value}."""
        return {name: control.value for name, control in self.controls.items()}

    def update(self, **values) -> Explorer:
        """Set the named controls, then redraw once; returns the explorer, so a cell can show it."""
        unknown = sorted(set(values) - set(self.controls))
        if unknown:
            raise ValueError(
                f"no control named {', '.join(map(repr, unknown))}; this explorer's controls are "
                f"{', '.join(self.controls)}"
            )
        with self._held():
            # In control order, so that a layer is set before the unit or channel inside it.
            for name, control in self.controls.items():
                if name in values:
                    _set(control, name, values[name])
                    self._sync(name)
        self.redraw()
        return self

    def redraw(self) -> list:
        """Draw the figures for the current values into the outputs; return them."""
        import matplotlib.pyplot as plt

        start = time.perf_counter()
        figures = self._draw(self.values)
        shell = _notebook()
        self.drawn = [fig for fig in figures if fig is not None and fig is not KEEP]
        for i, (out, fig) in enumerate(zip(self.outputs, figures)):
            if fig is KEEP:
                continue
            if shell:
                with out:
                    out.clear_output(wait=True)
                    if fig is not None:
                        _display(fig)
            if fig is not None:
                plt.close(fig)  # shown once, in its output; never again at the end of the cell
            self._shown[i] = fig
        self.seconds = time.perf_counter() - start
        self.error = None
        return self.figures

    def _changed_handler(self, name: str):
        def changed(_change: dict) -> None:
            if self._holding:
                return
            with self._held():
                self._sync(name)
            try:
                self.redraw()
            except (ValueError, KeyError) as err:
                # A callback's exception would vanish into the browser console: show it instead.
                self.error = str(err)
                if _notebook():
                    with self.outputs[0]:
                        self.outputs[0].clear_output(wait=True)
                        print(f"Cannot draw this choice: {err}")

        return changed

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
    (default: ``image`` alone). Each redraw calls ``plot_receptive_field``; ``info`` (the dataset's
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
    erfs: dict[tuple, Tensor] = {}

    def model_info(name: str) -> _ModelInfo:
        if name not in model_infos:
            model_infos[name] = _ModelInfo(models[name], shape)
        return model_infos[name]

    first = model_info(next(iter(models)))
    layer = first.default_layer
    grid = first.fields[layer].grid
    controls = {
        "model": widgets.Dropdown(options=list(models), description="model"),
        "layer": widgets.Dropdown(options=first.layers, value=layer, description="layer"),
        "branch": widgets.Dropdown(options=first.branch_options(layer), description="branch"),
        "row": _slider("row", grid[0] - 1, (grid[0] - 1) // 2),
        "col": _slider("col", grid[1] - 1, (grid[1] - 1) // 2),
    }

    def sync(name: str) -> None:
        current = model_info(controls["model"].value)
        if name == "model":
            controls["layer"].options = current.layers
            controls["layer"].value = current.default_layer
        if name in ("model", "layer"):
            controls["branch"].options = current.branch_options(controls["layer"].value)
            controls["branch"].value = WHOLE
            rows, cols = current.fields[controls["layer"].value].grid
            _reset_slider(controls["row"], rows - 1)
            _reset_slider(controls["col"], cols - 1)

    def draw(values: dict) -> list:
        model = models[values["model"]]
        name = values["layer"] if values["branch"] == WHOLE else values["branch"]
        position = (values["row"], values["col"])
        key = (values["model"], name, position)
        if key not in erfs:
            sources = erf_images if erf_images is not None else image
            erfs[key] = effective_receptive_field(model, name, sources, position)
        field = model_info(values["model"]).fields[name]
        return [
            plot_receptive_field(
                model, name, image, position, field=field, erf=erfs[key], info=info
            )
        ]

    return Explorer(controls, draw, sync=sync)


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
    them through the model once. Each redraw calls ``plot_feature_maps`` and ``plot_top_images``;
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
    layer = model_info.default_layer

    def strongest(name: str) -> int:
        return int(activations[name].mean((1, 2)).argmax())

    controls = {
        "layer": widgets.Dropdown(options=model_info.layers, value=layer, description="layer"),
        "branch": widgets.Dropdown(options=model_info.branch_options(layer), description="branch"),
        "view": widgets.ToggleButtons(options=["overview", "one channel"], description="view"),
        "channel": _slider("channel", activations[layer].shape[0] - 1, strongest(layer)),
    }

    def sync(name: str) -> None:
        if name == "layer":
            controls["branch"].options = model_info.branch_options(controls["layer"].value)
            controls["branch"].value = WHOLE
        if name in ("layer", "branch"):
            target = _target(controls["layer"].value, controls["branch"].value)
            _reset_slider(controls["channel"], activations[target].shape[0] - 1, strongest(target))

    drawn: dict[int, tuple] = {}

    def draw(values: dict) -> list:
        name = _target(values["layer"], values["branch"])
        channel = None if values["view"] == "overview" else values["channel"]
        figures = [
            _unless_shown(drawn, 0, (name, channel), lambda: plot_feature_maps(
                model, image, name, channel, activations=activations,
                max_channels=max_channels, info=info,
            ))
        ]  # fmt: skip
        if dataset is not None:
            figures.append(
                _unless_shown(drawn, 1, (name, values["channel"]), lambda: plot_top_images(
                    model, dataset, name, values["channel"], k, means=means[name], info=info
                ))
            )  # fmt: skip
        return figures

    return Explorer(controls, draw, n_outputs=2 if dataset is not None else 1, sync=sync)


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
    ``methods``), an Inception module for the branch chart, and the branch method. Each redraw
    calls ``plot_attributions`` and ``plot_branch_attribution``; attributions are cached, so coming
    back to a choice is instant. ``layer`` is Grad-CAM's (default: the last Inception module);
    ``info`` (the dataset's mean, std and class names) gives the blank baseline, draws the image and
    names the classes.
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
    concats = {name: None for name in inception_modules(model, shape)}
    maps: dict[tuple, Tensor] = {}
    branches: dict[tuple, object] = {}

    def image_at(index: int) -> Tensor:
        return image_or_dataset if single else image_or_dataset[index][0]

    target_options = [("predicted", PREDICTED)] + [(f"{i} {n}", i) for i, n in enumerate(names)]
    controls: dict[str, widgets.ValueWidget] = {}
    if not single:
        controls["index"] = _slider("image", len(image_or_dataset) - 1, 0)
    controls["target"] = widgets.Dropdown(options=target_options, description="target")
    controls["method"] = widgets.ToggleButtons(
        options=[("all", "all")] + [(LABELS[m], m) for m in methods], description="method"
    )
    controls["module"] = widgets.Dropdown(options=[NONE, *concats], description="module")
    controls["branch_method"] = widgets.ToggleButtons(
        options=BRANCH_METHODS, description="branches"
    )

    drawn: dict[int, tuple] = {}

    def pixel_figure(index: int, target: int, method: str):
        img = image_at(index)
        chosen = list(methods) if method == "all" else [method]
        for name in chosen:
            if (index, target, name) not in maps:
                maps[(index, target, name)] = attribute(
                    model, img, target, name, layer=gradcam_layer, n_steps=n_steps, info=info
                )
        found = {name: maps[(index, target, name)] for name in chosen}
        return plot_attributions(
            model, img, target, chosen, maps=found, layer=gradcam_layer, info=info
        )

    def branch_figure(index: int, target: int, module: str, method: str):
        if concats[module] is None:
            concats[module] = module_branches(model, module, shape)
        key = (index, target, module, method)
        if key not in branches:
            branches[key] = branch_attribution(
                model, image_at(index), module, target, method,
                n_steps=n_steps, concat=concats[module], info=info,
            )  # fmt: skip
        return plot_branch_attribution(model, image_at(index), module, result=branches[key])

    def draw(values: dict) -> list:
        index, target, module = values.get("index", 0), values["target"], values["module"]
        if target == PREDICTED:
            target = int(predict(model, image_at(index)).argmax())
        pixels = (index, target, values["method"])
        chart = (index, target, module, values["branch_method"])
        return [
            _unless_shown(drawn, 0, pixels, lambda: pixel_figure(*pixels)),
            _unless_shown(
                drawn, 1, chart, lambda: None if module == NONE else branch_figure(*chart)
            ),
        ]

    return Explorer(controls, draw, n_outputs=2)


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
        self._branches: dict[str, list[str]] = {}

    @property
    def default_layer(self) -> str:
        """The first Inception module, or the middle layer of a model without one."""
        return self.modules[0] if self.modules else self.layers[len(self.layers) // 2]

    def branch_options(self, layer: str) -> list[str]:
        if layer not in self.modules:
            return [WHOLE]
        if layer not in self._branches:
            concat = module_branches(self.model, layer, self.shape)
            self._branches[layer] = [b.name for b in concat.branches if b.name in self.fields]
        return [WHOLE, *self._branches[layer]]


def _unless_shown(drawn: dict, output: int, key: tuple, make: Callable[[], object]):
    """Return ``make()``, or KEEP if ``output`` already shows the figure for ``key``."""
    if drawn.get(output) == key:
        return KEEP
    figure = make()
    drawn[output] = key
    return figure


def _first_image(dataset) -> Tensor:
    item = dataset[0]
    return item[0] if isinstance(item, (tuple, list)) else item


def _target(layer: str, branch: str) -> str:
    return layer if branch == WHOLE else branch


def _slider(description: str, maximum: int, value: int) -> widgets.IntSlider:
    return widgets.IntSlider(
        value=value, min=0, max=max(maximum, 0), description=description, continuous_update=False
    )


def _reset_slider(slider: widgets.IntSlider, maximum: int, value: int | None = None) -> None:
    slider.max = max(maximum, 0)
    slider.value = maximum // 2 if value is None else value


def _set(control: widgets.ValueWidget, name: str, value) -> None:
    if isinstance(control, widgets.IntSlider):
        if not isinstance(value, int) or not control.min <= value <= control.max:
            raise ValueError(
                f"{name}={value!r} is out of range: choose from {control.min} to {control.max}"
            )
    else:
        allowed = [o[1] if isinstance(o, tuple) else o for o in control.options]
        if value not in allowed:
            raise ValueError(f"{name}={value!r} is not a choice; choose one of {allowed}")
    control.value = value


def _notebook() -> bool:
    # Outside IPython (tests, scripts) there is nothing to show a figure on, and clear_output
    # would print terminal escape codes.
    from IPython import get_ipython

    return get_ipython() is not None


def _display(fig) -> None:
    from IPython.display import display

    display(fig)
