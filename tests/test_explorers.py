import struct

import ipywidgets as widgets
import matplotlib
import pytest
import torch
from torch import nn
from torch.utils.data import Subset

from inception_edu import models
from inception_edu.activations import capture
from inception_edu.explorers import (
    WHOLE,
    Explorer,
    Panel,
    activation_explorer,
    attribution_explorer,
    receptive_field_explorer,
)
from inception_edu.inference import ImageError
from inception_edu.receptive_field import inception_modules

matplotlib.use("Agg")


pytestmark = pytest.mark.usefixtures("one_thread")


def small(name: str) -> nn.Module:
    torch.manual_seed(0)
    return models.create_model(name).eval()


def title(explorer: Explorer, i: int = 0) -> str:
    return explorer.figures[i]._suptitle.get_text()


def test_receptive_field_explorer_follows_model_layer_branch_and_unit(test_set):
    image = test_set[0][0]
    explorer = receptive_field_explorer(
        {"googlenet": small("googlenet_small"), "v3": small("inception_v3_small")}, image
    )
    assert isinstance(explorer, widgets.VBox) and len(explorer.figures) == 1
    assert explorer.values == {
        "model": "googlenet",
        "layer": "inception3a",
        "branch": WHOLE,
        "row": 6,
        "col": 6,
    }
    assert title(explorer).startswith("inception3a, unit (6, 6): its 16×16 field")
    explorer.update(layer="inception4a", branch="inception4a.branch3", row=0, col=6)
    # 16 (inception3a) + 8 (inception3b's 5×5) + 4 (max-pool 3/2) + 16 (5×5 at stride 4) = 44.
    assert title(explorer).startswith("inception4a.branch3, unit (0, 6): its 44×44 field")
    assert explorer.controls["row"].max == 6  # inception4a runs on a 7×7 grid
    explorer.update(model="v3")
    v3_modules = inception_modules(small("inception_v3_small"), (1, 28, 28))
    assert explorer.values["layer"] == v3_modules[0] and explorer.values["branch"] == WHOLE
    last = v3_modules[-1]
    assert f"{last}.branch3x3_2a" in explorer.update(layer=last).controls["branch"].options
    row = explorer.values["row"]
    # Moving a control redraws, as update does.
    explorer.controls["col"].value = 0
    assert title(explorer).startswith(f"{last}, unit ({row}, 0)")


def test_activation_explorer_with_the_images_a_channel_likes(test_set):
    model, image = small("googlenet_small"), test_set[1][0]
    channels = {name: maps.shape[0] for name, maps in capture(model, image).items()}
    explorer = activation_explorer(model, image, test_set, limit=200)
    assert len(explorer.figures) == 2
    expected = f"inception3a: the 16 most active of {channels['inception3a']} channels"
    assert title(explorer).startswith(expected)
    explorer.update(
        layer="inception4a", branch="inception4a.branch3", view="one channel", channel=5
    )
    assert title(explorer).startswith("inception4a.branch3, channel 5: strongest response")
    assert title(explorer, 1).startswith("inception4a.branch3, channel 5: the 9 images (of 200)")
    last = channels["inception4a.branch3"] - 1
    assert explorer.controls["channel"].max == last
    with pytest.raises(ValueError, match=f"channel={last + 1} is out of range: choose from 0 to"):
        explorer.update(channel=last + 1)
    with pytest.raises(ValueError, match="layer='inception9z' is not a choice"):
        explorer.update(layer="inception9z")
    with pytest.raises(ValueError, match="no control named 'colour'"):
        explorer.update(colour="red")


def test_attribution_explorer_with_branches(test_set):
    explorer = attribution_explorer(small("googlenet_small"), test_set, n_steps=8)
    assert len(explorer.figures) == 1  # no module chosen: no branch chart
    assert [ax.get_title().split("\n")[0] for ax in explorer.figures[0].axes[1:]] == [
        "Integrated Gradients", "Saliency", "Grad-CAM", "Occlusion",
    ]  # fmt: skip
    explorer.update(index=5, target=3, method="gradcam", module="inception5b")
    assert "evidence for Dress" in title(explorer)
    assert title(explorer, 1).startswith("inception5b: ")
    explorer.update(branch_method="ablation")
    assert "logit drop" in explorer.figures[1].axes[0].get_xlabel()


def test_an_attribution_explorer_on_one_image_and_a_residual_model(test_set):
    model = small("inception_resnet_v2_small")
    explorer = attribution_explorer(model, test_set[2][0], methods=["saliency"])
    assert "index" not in explorer.controls
    explorer.update(module="repeat.0", target=0)
    assert explorer.figures[1].axes[0].get_yticklabels()[0].get_text() == "branch0 (1×1)"


def test_a_failing_redraw_from_a_control_is_reported_not_raised():
    slider = widgets.IntSlider(value=0, min=0, max=3)

    def draw(values):
        if values["n"] == 2:
            raise ValueError("two is not drawable")
        import matplotlib.pyplot as plt

        return plt.figure()

    explorer = Explorer({"n": slider}, [Panel(lambda values: values["n"], draw)])
    slider.value = 2
    assert explorer.error == "two is not drawable"
    assert "Cannot draw this choice: two is not drawable" in explorer.message.value
    slider.value = 1
    assert explorer.error is None and len(explorer.figures) == 1
    assert explorer.message.value == ""
    with pytest.raises(ValueError, match="two is not drawable"):
        explorer.update(n=2)


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", png[16:24])


def test_figures_are_sent_as_uncropped_pngs_and_a_choice_seen_before_costs_no_drawing(test_set):
    explorer = receptive_field_explorer(small("googlenet_small"), test_set[0][0])
    first = explorer.images[0].value
    fig = explorer.figures[0]
    # The whole figure, at its own dpi: what the figure's layout was designed for.
    assert png_size(first) == (round(fig.get_figwidth() * fig.dpi),
                               round(fig.get_figheight() * fig.dpi))  # fmt: skip
    assert explorer.rendered == 1
    assert explorer.values["row"] == 6
    explorer.update(row=0)
    assert explorer.rendered == 1 and explorer.images[0].value != first
    explorer.update(row=3)
    assert explorer.rendered == 1
    explorer.controls["row"].value = 0  # as a person moves it back: the stored PNG is sent
    assert explorer.rendered == 0
    explorer.update(row=6)
    assert explorer.rendered == 0 and explorer.images[0].value == first
    # A figure shown from the cache is drawn again when asked for: the same figure.
    assert explorer.figures[0]._suptitle.get_text() == fig._suptitle.get_text()


def shown(explorer: Explorer) -> list[bytes | None]:
    """The PNG each panel shows (None for a hidden panel)."""
    return [
        None if image.layout.display == "none" else image.value for image in explorer.images
    ]


def test_drawing_ahead_readies_every_next_move_with_the_figure_it_would_draw(test_set):
    model = small("googlenet_small")
    images = Subset(test_set, range(3))

    def build() -> Explorer:
        return attribution_explorer(model, images, methods=["saliency", "gradcam"], n_steps=4)

    explorer, fresh = build().update(index=1, module="inception4a"), build()
    assert explorer.draw_ahead(limit=1) == 1  # one figure at a time, as the kernel's loop does
    explorer.draw_ahead()
    moves = [
        {"index": 0}, {"index": 2}, {"target": 0}, {"method": "saliency"},
        {"module": "inception3b"}, {"module": "inception4b"}, {"branch_method": "ablation"},
    ]  # fmt: skip
    for move in moves:
        explorer.update(index=1, target=-1, method="all", module="inception4a",
                        branch_method="integrated_gradients")  # fmt: skip
        explorer.update(**move)
        assert explorer.rendered == 0, f"{move} was not drawn ahead"
        # What the cache shows is what an explorer that never drew ahead draws for this choice.
        assert shown(explorer) == shown(fresh.update(**explorer.values)), move


def test_a_static_copy_of_the_notebook_shows_a_short_note_in_place_of_an_explorer(test_set):
    explorer = activation_explorer(small("googlenet_small"), test_set[1][0])
    note = repr(explorer)
    assert note == (
        "Explorer (layer, branch, view, channel): interactive, run the notebook to use it"
    )
    assert len(note) <= 110  # ipywidgets stores at most 110 characters of it


def test_drawing_ahead_follows_the_control_moved_last(test_set):
    explorer = activation_explorer(small("googlenet_small"), test_set[1][0])
    explorer.update(layer="inception4a", view="one channel", channel=5)
    explorer.controls["channel"].value = 6  # moving right...
    explorer.draw_ahead(limit=1)
    explorer.controls["channel"].value = 7  # ...the next notch right was drawn first
    assert explorer.rendered == 0
    explorer.controls["layer"].value = "inception4b"  # the layer changes the branch and channel
    assert explorer.values["branch"] == WHOLE and explorer.rendered == 1


def test_explorers_check_their_inputs(test_set):
    model = small("googlenet_small")
    with pytest.raises(ImageError, match=r"expected a 1×H×W image .* got 3×28×28"):
        receptive_field_explorer(model, torch.zeros(3, 28, 28))
    with pytest.raises(
        ImageError, match="the image is 1×32×32 but the dataset's images are 1×28×28"
    ):
        activation_explorer(model, torch.full((1, 32, 32), -0.8), test_set, limit=10)
    with pytest.raises(ValueError, match="unknown methods"):
        attribution_explorer(model, test_set[0][0], methods=["lime"])
    # One model, its effective fields averaged over four images.
    images = torch.stack([test_set[i][0] for i in range(4)])
    explorer = receptive_field_explorer(model, images[0], erf_images=images)
    assert explorer.values["model"] == "GoogLeNet"
    with pytest.raises(ValueError, match=r"row=7 is out of range: choose from 0 to 6"):
        explorer.update(layer="inception4a", row=7)


def test_every_static_figure_works_on_a_full_size_imagenet_model():
    """The explorers' drawing functions take the dataset's mean, std and class names."""
    from inception_edu.activations import plot_feature_maps, plot_top_images
    from inception_edu.attributions import attribute, plot_attributions, plot_branch_attribution
    from inception_edu.data import imagenet_info
    from inception_edu.receptive_field import plot_receptive_field

    info = imagenet_info()
    torch.manual_seed(0)
    model = models.create_model("inception_v3", aux_logits=False).eval()
    images = torch.randn(3, 3, 107, 107, generator=torch.Generator().manual_seed(1))
    image = images[0]
    fig = plot_receptive_field(model, "Mixed_5b", image, info=info)
    assert fig._suptitle.get_text().startswith("Mixed_5b, unit")
    fig = plot_feature_maps(model, image, "Mixed_5b", info=info)
    assert "most active of 256 channels" in fig._suptitle.get_text()
    fig = plot_top_images(model, images, "Mixed_5b", 3, k=2, info=info)
    assert "the 2 images (of 3)" in fig._suptitle.get_text()
    methods = ("integrated_gradients", "saliency", "gradcam")
    maps = {m: attribute(model, image, 1, m, n_steps=4, info=info) for m in methods}
    assert all(a.shape == (107, 107) for a in maps.values())
    fig = plot_attributions(model, image, 1, methods, maps=maps, info=info)
    assert "Where the evidence for goldfish lies" in fig._suptitle.get_text()
    fig = plot_branch_attribution(model, image, "Mixed_5b", 1, "ablation", info=info)
    assert "goldfish" in fig._suptitle.get_text()


def test_a_control_moved_on_another_thread_is_drawn_on_the_explorers_own_loop(monkeypatch):
    """JupyterLab 4.6 with ipykernel 7 handles widget messages on a kernel subshell: a thread with
    its own event loop. The explorer must still draw (and draw ahead) only on the loop it was built
    on, the notebook's: models' hooks and pyplot are not safe to use from two threads at once."""
    import asyncio
    import threading

    import matplotlib.pyplot as plt

    from inception_edu import explorers

    # As in a kernel: the loop running where the explorer is built is the notebook's.
    monkeypatch.setattr(explorers, "_event_loop", explorers._running_loop)
    monkeypatch.setattr(explorers.gc, "freeze", lambda: None)  # not this test process's heap
    threads: list[str] = []

    def draw(values):
        threads.append(threading.current_thread().name)
        return plt.figure()

    async def notebook() -> Explorer:
        slider = widgets.IntSlider(value=0, min=0, max=3)
        explorer = Explorer({"n": slider}, [Panel(lambda values: values["n"], draw)])

        async def subshell_move() -> None:  # a subshell thread, running its own loop
            slider.value = 2
            await asyncio.sleep(0.3)  # time for drawing ahead, were it scheduled on this loop

        await asyncio.to_thread(asyncio.run, subshell_move())
        await asyncio.sleep(0.3)  # drawing ahead, on the notebook's loop
        return explorer

    explorer = asyncio.run(notebook())
    assert explorer._keys == [2] and explorer.error is None
    assert len(threads) >= 3, "the change and the moves next to it were drawn"
    assert set(threads) == {threading.current_thread().name}


def test_slow_computations_run_on_a_background_thread_while_the_loop_answers_controls(monkeypatch):
    """Drawing ahead hands an attribution or an effective field to a background thread: a control
    moved meanwhile is answered at once, and figures are still drawn only on the explorer's loop."""
    import asyncio
    import threading
    import time
    from functools import partial

    import matplotlib.pyplot as plt

    from inception_edu import explorers

    monkeypatch.setattr(explorers, "_event_loop", explorers._running_loop)
    frozen = []
    monkeypatch.setattr(explorers.gc, "freeze", lambda: frozen.append(True))
    results = explorers._Results()
    release = threading.Event()
    computed_on: dict[int, str] = {}
    drawn_on: list[str] = []

    def compute(n: int) -> int:
        computed_on[n] = threading.current_thread().name
        if n == 1:
            release.wait(10)  # a slow computation, until the test lets it finish
        return n

    def prepare(values: dict) -> list:
        n = values["n"]
        return [] if n in results else [partial(results.get, n, partial(compute, n))]

    def draw(values: dict):
        drawn_on.append(threading.current_thread().name)
        results.get(values["n"], partial(compute, values["n"]))
        return plt.figure()

    async def notebook() -> tuple[Explorer, float]:
        slider = widgets.IntSlider(value=0, min=0, max=3)
        explorer = Explorer({"n": slider}, [Panel(lambda values: values["n"], draw, prepare)])
        await asyncio.sleep(0.3)  # drawing ahead: n=1 goes to the background thread and waits
        assert 1 in computed_on and 1 not in results
        start = time.perf_counter()
        slider.value = 3  # a control moved while the computation runs...
        seconds = time.perf_counter() - start
        release.set()
        await asyncio.sleep(0.5)  # ...and drawing ahead goes on once it is done
        return explorer, seconds

    explorer, seconds = asyncio.run(notebook())
    loop_thread = threading.current_thread().name
    assert computed_on[1] != loop_thread, "the slow computation ran on the explorer's loop"
    assert seconds < 1, "the control waited for the background computation"
    assert set(drawn_on) == {loop_thread}, "a figure was drawn off the explorer's loop"
    assert frozen, "an explorer in a kernel keeps the heap it was built on out of collections"
    assert explorer._keys == [3] and 1 in results and explorer.error is None
    assert computed_on[2] != loop_thread  # the move next to the new state, computed beside...
    explorer.update(n=2)
    assert explorer.rendered == 0, "...and drawn ahead"


def test_the_explorer_moved_last_draws_ahead_before_the_others(test_set):
    from inception_edu import explorers

    model = small("googlenet_small")
    used, other = (activation_explorer(model, test_set[i][0]) for i in (1, 2))
    used.update(view="one channel", channel=3)
    assert used.drawing_ahead and other.drawing_ahead
    assert explorers._attention.may_draw_ahead(used)
    assert not explorers._attention.may_draw_ahead(other), "the explorer in use goes first"
    used.draw_ahead()
    assert explorers._attention.may_draw_ahead(other), "then the others"
    used.close()
    other.update(channel=4)
    assert explorers._attention.may_draw_ahead(other) and not used.drawing_ahead


def test_a_result_being_computed_is_waited_for_not_computed_twice():
    import threading
    import time

    from inception_edu import explorers

    results = explorers._Results()
    started = threading.Event()

    def slow() -> str:
        started.set()
        time.sleep(0.2)
        return "from the background"

    background = threading.Thread(target=results.get, args=("key", slow))
    background.start()
    started.wait(5)

    def again() -> str:
        raise AssertionError("computed twice")

    assert results.get("key", again) == "from the background"
    background.join()
    assert "key" in results and results.get("key", again) == "from the background"
    with pytest.raises(ValueError):  # a failed computation is not kept: the next asker retries
        results.get("bad", lambda: (_ for _ in ()).throw(ValueError("no")))
    assert "bad" not in results and results.get("bad", lambda: 1) == 1
