import matplotlib
import pytest
import torch
from torch import nn

from inception_edu import diagrams
from inception_edu.models import NaiveInception, googlenet, googlenet_small, naive_small
from inception_edu.models.googlenet import TABLE_1, Inception

matplotlib.use("Agg")

pytestmark = pytest.mark.usefixtures("one_thread")


def labels(layout):
    return [[box.label for box in branch] for branch in layout.branches]


def test_the_naive_module_is_figure_2a():
    layout = diagrams.module_layout(NaiveInception(192, 64, 128, 32), (192, 28, 28))
    assert labels(layout) == [
        ["1×1 conv, 64"],
        ["3×3 conv, 128"],
        ["5×5 conv, 32"],
        ["3×3 max pool"],
    ]
    assert layout.channels == (64, 128, 32, 192) and layout.output_shape == (416, 28, 28)
    assert layout.branches[2][0].macs == 192 * 25 * 32 * 28 * 28
    assert layout.branches[3][0].macs == 0 and layout.branches[3][0].kind == "pool"


def test_the_module_with_reductions_is_figure_2b_in_the_order_of_its_concatenation():
    layout = diagrams.module_layout(Inception(192, *TABLE_1["inception3a"]), (192, 28, 28))
    assert labels(layout) == [
        ["1×1 conv, 64"],
        ["1×1 conv, 96", "3×3 conv, 128"],
        ["1×1 conv, 16", "5×5 conv, 32"],
        ["3×3 max pool", "1×1 conv, 32"],
    ]
    assert layout.channels == (64, 128, 32, 32)
    assert layout.macs == 128_049_152  # Table 1's "128M" for inception (3a)


class Swapped(nn.Module):
    """A module whose forward concatenates its branches in another order than it declares them."""

    def __init__(self):
        super().__init__()
        self.first = nn.Conv2d(4, 2, 1)
        self.second = nn.Conv2d(4, 3, 3, padding=1)

    def forward(self, x):
        return torch.cat([self.second(x), self.first(x)], 1)


def test_branches_follow_the_concatenation_not_the_declaration():
    layout = diagrams.module_layout(Swapped(), (4, 6, 6))
    assert labels(layout) == [["3×3 conv, 3"], ["1×1 conv, 2"]]
    assert layout.channels == (3, 2)


def test_googlenet_layout_is_table_1_with_the_aux_heads_on_4a_and_4d():
    model = googlenet()
    layout = diagrams.network_layout(model, (3, 224, 224))
    names = [box.name for box in layout.main]
    assert names[:5] == ["conv1", "maxpool1", "conv2", "conv3", "maxpool2"]
    assert [n for n in names if n.startswith("inception")] == list(TABLE_1)
    assert names[-3:] == ["avgpool", "dropout", "fc"]
    assert {k: [b.name for b in v] for k, v in layout.side.items()} == {
        "inception4a": ["aux1"],
        "inception4d": ["aux2"],
    }
    shapes = {box.name: box.shape for box in layout.main}
    assert shapes["inception3a"] == (256, 28, 28) and shapes["inception5b"] == (1024, 7, 7)
    labels_of = {box.name: box.label for box in layout.main}
    assert labels_of["conv1"] == "7×7/2 conv, 64" and labels_of["maxpool4"] == "2×2/2 max pool"
    assert labels_of["inception4c"] == "inception (4c)" and labels_of["dropout"] == "dropout (40%)"


def test_drawing_leaves_the_model_and_the_random_state_as_they_were():
    model = googlenet_small(aux_logits=True).eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    torch.manual_seed(3)
    expected_next = torch.rand(3)
    torch.manual_seed(3)
    fig = diagrams.draw_network(model, (1, 28, 28), expand=("small_stem",))
    assert torch.equal(torch.rand(3), expected_next)  # dropout in train mode drew no numbers
    assert not model.training and all(not m.training for m in model.modules())
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert sum("auxiliary classifier" in t for t in texts) == 2


def test_expand_lists_a_container_s_children():
    layout = diagrams.network_layout(naive_small(), (1, 28, 28), expand=("blocks",))
    assert [box.label for box in layout.main][:5] == [
        "3×3 conv, 32",
        "2×2/2 max pool",
        "NaiveInception",
        "2×2/2 max pool",
        "NaiveInception",
    ]
    assert layout.side == {}


def test_draw_module_shows_every_layer_and_its_cost():
    fig = diagrams.draw_module(Inception(192, *TABLE_1["inception3a"]), (192, 28, 28))
    texts = " ".join(t.get_text() for t in fig.axes[0].texts)
    assert "5×5 conv, 32\n10.04 M MACs" in texts and "filter concatenation\n256×28×28" in texts


def test_a_module_without_branches_is_refused():
    with pytest.raises(ValueError, match="does not concatenate branches"):
        diagrams.module_layout(nn.Conv2d(3, 4, 3), (3, 8, 8))
