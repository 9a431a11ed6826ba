import matplotlib
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader

from inception_edu.activations import (
    UnknownLayerError,
    capture,
    channel_means,
    layer_names,
    layer_output,
    main_layers,
    named_layer,
    plot_feature_maps,
    plot_top_images,
    top_images,
)

matplotlib.use("Agg")


pytestmark = pytest.mark.usefixtures("one_thread")


class Block(nn.Module):
    def __init__(self, c_in: int) -> None:
        super().__init__()
        self.branch1 = nn.Sequential(nn.Conv2d(c_in, 4, 1), nn.ReLU())
        self.branch2 = nn.Sequential(nn.Conv2d(c_in, 4, 3, padding=1), nn.ReLU())

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch2(x)], 1)


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.in_channels = 1
        self.stem = nn.Sequential(nn.Conv2d(1, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU())
        self.pool = nn.MaxPool2d(2)
        self.block = Block(6)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10))

    def forward(self, x):
        return self.head(self.block(self.pool(self.stem(x))))


def test_unknown_layer_names_get_close_matches_and_the_valid_names():
    model = Net()
    assert named_layer(model, "block.branch2") is model.block.branch2
    with pytest.raises(UnknownLayerError) as info:
        named_layer(model, "blokc.branch2")
    message = str(info.value)
    assert message.startswith(
        "Net has no layer named 'blokc.branch2'. Did you mean 'block.branch2'"
    )
    assert "top-level layers are: stem, pool, block, head" in message
    assert f"layer_names(model) lists all {len(layer_names(model))}" in message
    assert isinstance(info.value, KeyError)
    with pytest.raises(UnknownLayerError, match="no layer named ''"):
        named_layer(model, "")


def test_main_layers_open_containers_once():
    model = Net()
    assert main_layers(model) == [
        "stem.0",
        "stem.1",
        "stem.2",
        "pool",
        "block",
        "head.0",
        "head.1",
        "head.2",
    ]


def test_capture_gives_each_layer_output_and_removes_its_hooks(test_set):
    torch.manual_seed(0)
    model = Net().train()
    image = test_set[1][0]
    maps = capture(model, image)
    assert model.training  # the mode is restored
    assert all(not m._forward_hooks for m in model.modules())
    assert "head.2" not in maps and "head.1" not in maps  # flat outputs are not feature maps
    assert maps["head.0"].shape == (8, 1, 1)
    model.eval()
    with torch.no_grad():
        expected = model.block(model.pool(model.stem(image[None])))[0]
    assert torch.allclose(maps["block"], expected)
    assert torch.equal(maps["block.branch2"], expected[4:])
    assert list(capture(model, image, ["pool", "stem"])) == ["stem", "pool"]  # order they ran in


def test_layer_output_stops_the_forward_pass_at_the_layer():
    model = Net()
    model.head = nn.Sequential(nn.Flatten())

    def fail(*args):
        raise AssertionError("the forward pass went past the layer")

    model.head.register_forward_pre_hook(fail)
    out = layer_output(model, "block.branch1", torch.randn(2, 1, 8, 8))
    assert out.shape == (2, 4, 4, 4) and out.requires_grad


def test_top_images_are_those_with_the_largest_channel_mean(test_set):
    torch.manual_seed(0)
    model = Net()
    means = channel_means(model, test_set, ["block", "pool"], limit=300, batch_size=128)
    assert means["block"].shape == (300, 8) and means["pool"].shape == (300, 6)
    indices, scores = top_images(model, test_set, "block", 5, k=4, means=means["block"])
    assert scores.tolist() == sorted(scores.tolist(), reverse=True)
    model.eval()
    with torch.no_grad():
        for index, score in zip(indices, scores):
            image = test_set[int(index)][0][None]
            expected = model.block(model.pool(model.stem(image)))[0, 5].mean()
            assert float(score) == pytest.approx(float(expected), rel=1e-4, abs=1e-6)
    others = means["block"][:, 5].clone()
    others[indices] = -float("inf")
    assert others.max() <= scores.min()
    # The same ranking from a tensor of images and from a DataLoader, without precomputed means.
    tensor = torch.stack([test_set[i][0] for i in range(300)])
    assert top_images(model, tensor, "block", 5, k=4, limit=300)[0].tolist() == indices.tolist()
    loader = DataLoader(test_set, batch_size=100)
    assert top_images(model, loader, "block", 5, k=4, limit=300)[0].tolist() == indices.tolist()
    with pytest.raises(ValueError, match="channel 8 is out of range: block has 8 channels, 0 to 7"):
        top_images(model, test_set, "block", 8, means=means["block"])


def test_feature_map_and_top_image_figures(test_set):
    torch.manual_seed(0)
    model = Net()
    image = test_set[0][0]
    maps = capture(model, image)
    overview = plot_feature_maps(model, image, "block", activations=maps)
    strongest = int(maps["block"].mean((1, 2)).argmax())
    title = overview._suptitle.get_text()
    assert title.startswith("block: the 8 most active of 8 channels (14×14 maps")
    assert f"channel {strongest} fires most" in title
    single = plot_feature_maps(model, image, "stem.2", 3)
    assert single._suptitle.get_text().startswith("stem.2, channel 3: strongest response at")
    assert len(single.axes) == 3  # image, map, map over the image
    top = plot_top_images(model, test_set, "block", 2, k=6, limit=200)
    assert top._suptitle.get_text().startswith(
        "block, channel 2: the 6 images (of 200) that excite it most"
    )
    with pytest.raises(ValueError, match="channel 9 is out of range"):
        plot_feature_maps(model, image, "block", 9, activations=maps)
