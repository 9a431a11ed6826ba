import pytest
import torch
from torch import nn
from torchvision.models.googlenet import GoogLeNetOutputs

from inception_edu.inference import (
    ImageError,
    check_image,
    device_of,
    eval_mode,
    input_channels,
    kept_state,
    main_logits,
    split_output,
)
from inception_edu.models import create_model


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4, 10)

    def forward(self, x):
        return self.fc(self.bn(self.conv(x)).mean((2, 3)))


def test_device_of_a_model_and_of_one_without_parameters():
    assert device_of(Net()) == torch.device("cpu")
    assert device_of(nn.ReLU()) == torch.device("cpu")


def test_eval_mode_restores_the_previous_mode_even_after_an_error():
    model = Net().train()
    with eval_mode(model):
        assert not model.training and not model.bn.training
    assert model.training and model.bn.training
    with pytest.raises(RuntimeError), eval_mode(model):
        raise RuntimeError("boom")
    assert model.training
    model.eval()
    with eval_mode(model):
        pass
    assert not model.training


def test_kept_state_restores_running_statistics_and_every_mode_even_after_an_error():
    model = Net().eval()
    model.fc.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(RuntimeError), kept_state(model):
        model.train()
        model(torch.randn(8, 1, 6, 6))  # train mode: BatchNorm's running statistics move
        assert not torch.equal(model.bn.running_mean, before["bn.running_mean"])
        raise RuntimeError("boom")
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert not model.training and not model.bn.training and model.fc.training


def test_main_logits_and_split_output_take_tensors_and_aux_tuples():
    logits, aux2, aux1 = torch.randn(3, 2, 10).unbind(0)
    output = GoogLeNetOutputs(logits, aux2, aux1)
    assert main_logits(output) is logits and main_logits(logits) is logits
    main, aux = split_output(output)
    assert main is logits and aux == [aux2, aux1]
    assert split_output((logits, None)) == (logits, [])
    with pytest.raises(TypeError, match="expected a logits tensor"):
        main_logits({"logits": logits})


def test_input_channels_from_the_attribute_or_the_first_conv():
    assert input_channels(create_model("googlenet_small")) == 1
    assert input_channels(Net()) == 1
    assert input_channels(nn.Linear(3, 4)) is None


def test_bad_images_get_errors_that_say_what_is_expected(test_set):
    model = create_model("naive_small")
    image = test_set[0][0]
    assert check_image(model, image).shape == (1, 1, 28, 28)
    assert check_image(model, torch.zeros(5, 1, 28, 28), batch=True).shape == (5, 1, 28, 28)
    with pytest.raises(
        ImageError, match=r"expected a 1×H×W image \(C×H×W with 1 channel\) .* got 3×32×32"
    ):
        check_image(model, torch.zeros(3, 32, 32))
    with pytest.raises(
        ImageError, match=r"expected a 1×28×28 image \(C×H×W\) for this model, got 1×32×32"
    ):
        check_image(model, torch.zeros(1, 32, 32), input_shape=(1, 28, 28))
    with pytest.raises(ImageError, match="without a channel dimension: pass image.unsqueeze"):
        check_image(model, image[0])
    with pytest.raises(ImageError, match="got a batch of 4: pass images"):
        check_image(model, torch.zeros(4, 1, 28, 28))
    with pytest.raises(ImageError, match=r"pass dataset\[i\]\[0\]"):
        check_image(model, test_set[0])
    with pytest.raises(ImageError, match="got dtype torch.uint8"):
        check_image(model, test_set.images[0][None])
    with pytest.raises(ImageError, match=r"at least 4×4 pixels, got 1×3×3"):
        check_image(model, torch.zeros(1, 3, 3))
