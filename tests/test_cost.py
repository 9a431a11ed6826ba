import pytest
import torch
import torchvision
from torch import nn

from inception_edu.cost import count, format_count


def test_googlenet_matches_torchvision_numbers():
    model = torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=False)
    cost = count(model, (3, 224, 224))
    assert cost.params == 6_624_904
    assert format_count(cost.macs) == "1.4984 G"


def test_inception_v3_matches_torchvision_numbers():
    model = torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=False)
    cost = count(model, (3, 299, 299))
    assert cost.params == 23_834_568
    assert format_count(cost.macs) == "5.7132 G"


def test_macs_by_hand_for_a_conv_and_a_linear():
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 5 * 5, 4)
    )
    cost = count(model, (3, 5, 5))
    conv_macs = 8 * 5 * 5 * 3 * 3 * 3  # outputs × (in_channels × k × k)
    linear_macs = 8 * 5 * 5 * 4
    assert cost.macs == conv_macs + linear_macs
    assert cost.params == (8 * 3 * 9 + 8) + (200 * 4 + 4)
    rows = {r.name: r for r in cost.rows}
    assert rows["0"].macs == conv_macs and rows["0"].output_shape == (8, 5, 5)
    assert rows["3"].macs == linear_macs and rows["3"].params == 804


def test_batch_shape_counts_the_whole_batch_and_mode_is_restored():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
    model.train()
    one, four = count(model, (1, 8, 8)), count(model, (4, 1, 8, 8))
    assert four.macs == 4 * one.macs
    assert model.training


def test_table_text_and_html():
    model = torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=False)
    cost = count(model, (3, 224, 224))
    text = cost.table()
    assert "inception3a" in text and "256×28×28" in text and "6,624,904" in text
    assert text.splitlines()[-1].startswith("total")
    html = cost._repr_html_()
    assert html.startswith("<table>") and "inception5b" in html
    nested = count(model, (3, 224, 224), depth=2)
    assert any(r.name == "inception3a.branch2" for r in nested.rows)


def test_bad_shapes_are_explained():
    model = nn.Conv2d(3, 4, 3)
    with pytest.raises(ValueError, match=r"input_shape must be \(C, H, W\)"):
        count(model, (224, 224))
    with pytest.raises(ValueError, match="could not run Conv2d on an input of shape"):
        count(model, (1, 32, 32))


def test_format_count():
    assert format_count(1_498_376_192) == "1.4984 G"
    assert format_count(6_624_904) == "6.62 M"
    assert format_count(1_500) == "1.5 K"
    assert format_count(12) == "12"
    assert torch.__version__  # the counter relies on torch.utils.flop_counter
