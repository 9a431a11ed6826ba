import matplotlib
import pytest
import torch
import torchvision
from torch import nn

from inception_edu import data, models
from inception_edu.activations import UnknownLayerError
from inception_edu.inference import ImageError
from inception_edu.receptive_field import (
    NotMultiBranchError,
    ReceptiveField,
    effective_receptive_field,
    erf_fraction,
    inception_modules,
    module_branches,
    plot_receptive_field,
    receptive_field,
    receptive_fields,
)

matplotlib.use("Agg")


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def inception_v3():
    torch.manual_seed(0)
    return torchvision.models.inception_v3(weights=None, init_weights=False, aux_logits=False)


@pytest.fixture(scope="module")
def googlenet():
    return torchvision.models.googlenet(weights=None, init_weights=False, aux_logits=False)


class Branches(nn.Module):
    """A naive Inception module: 1×1 ‖ 3×3 ‖ 5×5 ‖ 3×3 max-pool, concatenated."""

    def __init__(self, c: int = 4) -> None:
        super().__init__()
        self.branch1 = nn.Conv2d(c, 2, 1)
        self.branch2 = nn.Conv2d(c, 3, 3, padding=1)
        self.branch3 = nn.Sequential(nn.Conv2d(c, 2, 1), nn.ReLU(), nn.Conv2d(2, 5, 5, padding=2))
        self.branch4 = nn.MaxPool2d(3, stride=1, padding=1)

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class Factorized(nn.Module):
    """Inception-v3's 7×7 factorized into 1×7 then 7×1 beside a lone 1×7, and a residual sum."""

    def __init__(self, c: int = 4) -> None:
        super().__init__()
        self.row = nn.Conv2d(c, c, (1, 7), padding=(0, 3))
        self.col = nn.Conv2d(c, c, (7, 1), padding=(3, 0))
        self.lone = nn.Conv2d(c, c, (1, 7), padding=(0, 3))
        self.mix = nn.Conv2d(2 * c, c, 1)

    def forward(self, x):
        return torch.relu(self.mix(torch.cat([self.col(self.row(x)), self.lone(x)], 1)) * 0.2 + x)


def conv_stack(n: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        *[nn.Conv2d(1, 1, 3, stride=stride, padding=1, bias=False) for _ in range(n)]
    )


def test_three_stacked_3x3_convs_see_7x7():
    field = receptive_field(conv_stack(3), "2", (1, 32, 32))
    assert field.size == (7, 7) and field.stride == (1, 1) and field.padding == (3, 3)
    assert field.grid == (32, 32)
    assert field.box(10, 20) == (7, 17, 14, 24)
    assert field.box(0, 0) == (0, 0, 4, 4) and field.box(0, 0, clip=False) == (-3, -3, 4, 4)


def test_a_strided_stack_multiplies_the_stride():
    model = nn.Sequential(nn.Conv2d(1, 1, 3, stride=2), nn.Conv2d(1, 1, 3))
    field = receptive_field(model, "1", (1, 32, 32))
    assert field.size == (7, 7) and field.stride == (2, 2) and field.padding == (0, 0)
    assert receptive_field(conv_stack(3, stride=2), "2", (1, 32, 32)).stride == (8, 8)


def test_one_5x5_conv_sees_what_two_3x3_convs_see():
    one = receptive_field(nn.Sequential(nn.Conv2d(1, 1, 5, padding=2)), "0", (1, 16, 16))
    two = receptive_field(conv_stack(2), "1", (1, 16, 16))
    assert one == two
    assert one.size == (5, 5) and one.box(8, 8) == two.box(8, 8) == (6, 6, 11, 11)


def test_torchvision_googlenet_conv1_is_7x7_stride_2_padding_3(googlenet):
    model = googlenet
    field = receptive_field(model, "conv1", (3, 224, 224))
    assert (field.size, field.stride, field.padding) == ((7, 7), (2, 2), (3, 3))
    # inception3a's widest branch: 19 (conv3) + 2·8 for a 3×3 conv after maxpool2 (stride 8).
    assert receptive_field(model, "inception3a", (3, 224, 224)).size == (43, 43)


def test_inception_v3_by_hand_and_the_published_value_of_mixed_7c(inception_v3):
    model = inception_v3
    fields = receptive_fields(model, (3, 299, 299))

    def sps(name):
        f = fields[name]
        return f.size[0], f.stride[0], f.padding[0]

    # By hand: 3×3/2 → 3; + 3×3 at stride 2 → 7; + 3×3 (pad 1) at stride 2 → 11, padding 2;
    # maxpool 3/2 → 15 (stride 4); 1×1; 3×3 → 23; maxpool 3/2 → 31 (stride 8).
    assert sps("Conv2d_1a_3x3") == (3, 2, 0)
    assert sps("Conv2d_2a_3x3") == (7, 2, 0)
    assert sps("Conv2d_2b_3x3") == (11, 2, 2)
    assert sps("maxpool1") == (15, 4, 2)
    assert sps("maxpool2") == (31, 8, 2)
    # Mixed_5b: the 5×5 branch and the two 3×3s both add 4·8 = 32 → 63, padding 2 + 2·8 = 18.
    assert sps("Mixed_5b") == (63, 8, 18)
    assert sps("Mixed_5b.branch1x1") == (31, 8, 2)
    # Araujo, Norris & Sim, "Computing Receptive Fields of CNNs" (Distill 2019), Table 1:
    # 1311 / 32 / 618.
    assert sps("Mixed_7c") == (1311, 32, 618)
    assert fields["Mixed_7c"].size[0] > 299 and fields["Mixed_7c"].covers_input
    # Asymmetric kernels are tracked per axis: 1×1 → 3×3 → 1×3 inside Mixed_7c.
    concat = module_branches(model, "Mixed_7c", (3, 299, 299))
    sizes = {b.name.split(".")[-1]: b.field.size for b in concat.branches}
    assert sizes == {
        "branch1x1": (1, 1), "branch3x3_2a": (1, 3), "branch3x3_2b": (3, 1),
        "branch3x3dbl_3a": (3, 5), "branch3x3dbl_3b": (5, 3), "branch_pool": (3, 3),
    }  # fmt: skip
    assert [len(b.channels) for b in concat.branches] == [320, 384, 384, 384, 384, 192]
    assert concat.branches[-1].channels.stop == 2048 and not concat.is_input


def test_the_input_gradient_fills_exactly_the_theoretical_box(inception_v3):
    # The gradient of a unit reaches exactly the pixels its field covers (random weights and
    # inputs keep every path alive): a measurement that checks the traced sizes and offsets.
    torch.manual_seed(0)
    model = inception_v3
    images = torch.randn(2, 3, 107, 107)
    fields = receptive_fields(model, (3, 107, 107))
    for layer, unit in [
        ("Conv2d_2b_3x3", (2, 3)), ("Conv2d_4a_3x3", (4, 1)),
        ("Mixed_5b.branch_pool", (2, 3)), ("Mixed_5b", (6, 5)),
    ]:  # fmt: skip
        erf = effective_receptive_field(model, layer, images, unit)
        rows, cols = erf.nonzero().unbind(1)
        measured = (int(rows.min()), int(cols.min()), int(rows.max()) + 1, int(cols.max()) + 1)
        assert measured == fields[layer].box(*unit), layer


def test_branches_are_found_in_concat_order_with_their_scale():
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), Branches(), nn.Conv2d(14, 4, 1))
    assert inception_modules(model, (1, 12, 12)) == ["1"]
    concat = module_branches(model, "1", (1, 12, 12))
    assert [b.name for b in concat.branches] == ["1.branch1", "1.branch2", "1.branch3", "1.branch4"]
    assert [b.channels for b in concat.branches] == [
        range(2),
        range(2, 5),
        range(5, 10),
        range(10, 14),
    ]
    assert [b.field.size for b in concat.branches] == [(1, 1), (3, 3), (5, 5), (3, 3)]
    # The module sees what its widest branch sees: 3 (stem) + 4 (5×5) = 7.
    assert receptive_field(model, "1", (1, 12, 12)).size == (7, 7)
    assert receptive_field(model, "1.branch1", (1, 12, 12)).size == (3, 3)
    with pytest.raises(NotMultiBranchError, match="Multi-branch modules of this model: 1"):
        module_branches(model, "0", (1, 12, 12))


def test_factorized_kernels_and_a_concat_feeding_a_layer():
    model = nn.Sequential(Factorized())
    assert receptive_field(model, "0.row", (4, 16, 16)).size == (1, 7)
    assert receptive_field(model, "0.col", (4, 16, 16)).size == (7, 7)
    assert receptive_field(model, "0.lone", (4, 16, 16)).size == (1, 7)
    assert receptive_field(model, "0", (4, 16, 16)).size == (7, 7)
    # Like Inception-ResNet: the concatenation is the input of a 1×1 conv, then a residual sum.
    concat = module_branches(model, "0", (4, 16, 16))
    assert (concat.layer, concat.is_input) == ("0.mix", True)
    assert [(b.name, b.field.size) for b in concat.branches] == [
        ("0.col", (7, 7)),
        ("0.lone", (1, 7)),
    ]


def test_adaptive_pooling_to_one_pixel_sees_the_whole_input():
    model = nn.Sequential(
        nn.Conv2d(1, 2, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2, 3)
    )
    pooled = receptive_field(model, "1", (1, 10, 12))
    assert pooled.grid == (1, 1) and pooled.covers_input
    assert pooled.size == (10, 12)
    assert receptive_field(model, "3", (1, 10, 12)).size == (10, 12)


def test_erf_of_linear_3x3_stack_is_the_trinomial_gaussian_and_smaller_than_the_field():
    # n convolutions with all-one 3×3 kernels: the gradient of the centre unit is the outer
    # product of the coefficients of (1 + x + x²)^n, a discrete Gaussian (Luo et al., 2016).
    n = 8
    model = conv_stack(n)
    for conv in model:
        nn.init.ones_(conv.weight)
    image = data.fashion_mnist("test", transform=data.test_transform())[0][0]
    erf = effective_receptive_field(model, str(n - 1), image)  # unit (13, 13) of the 28×28 grid
    coefficients = torch.tensor([1.0])
    for _ in range(n):
        coefficients = torch.nn.functional.conv1d(
            coefficients[None, None], torch.ones(1, 1, 3), padding=2
        )[0, 0]
    expected = torch.zeros(28, 28)
    expected[5:22, 5:22] = torch.outer(coefficients, coefficients)
    assert torch.allclose(erf, expected / expected.max(), atol=1e-6)
    field = receptive_field(model, str(n - 1), (1, 28, 28))
    assert field.size == (17, 17) and field.box(13, 13) == (5, 5, 22, 22)
    share = erf_fraction(erf, field, (13, 13))
    assert 0.15 < share < 0.5  # 95 % of the gradient in well under half of the field


def test_erf_fraction_reaches_the_whole_box_for_a_flat_field():
    field = ReceptiveField((3, 3), (1, 1), (1, 1), (5, 5), (5, 5))
    assert erf_fraction(torch.ones(5, 5), field, (2, 2), mass=1.0) == 1.0
    assert erf_fraction(torch.ones(5, 5), field, (2, 2), mass=0.5) == pytest.approx(5 / 9)
    with pytest.raises(ValueError, match="dead unit"):
        erf_fraction(torch.zeros(5, 5), field, (2, 2))


def test_clear_errors_for_names_units_and_shapes(googlenet):
    model = googlenet
    with pytest.raises(UnknownLayerError, match="Did you mean 'inception3a'") as info:
        receptive_field(model, "inceptoin3a", (3, 224, 224))
    assert "inception5b" in str(info.value) and "layer_names(model)" in str(info.value)
    with pytest.raises(ImageError, match=r"expected a 3×H×W image .* got 1×28×28"):
        receptive_field(model, "conv1", (1, 28, 28))
    field = receptive_field(model, "inception4a", (3, 224, 224))
    with pytest.raises(ValueError, match=r"outside the layer's 14×14 grid"):
        field.box(14, 0)
    with_aux = torchvision.models.googlenet(weights=None, init_weights=False, aux_logits=True)
    with pytest.raises(ValueError, match="'aux1' did not run in the forward pass"):
        receptive_field(with_aux, "aux1", (3, 224, 224))


def test_the_course_models():
    shape = (1, 28, 28)
    googlenet = models.create_model("googlenet_small")
    # Small stem: 3×3 (pad 1) → 3; 2×2/2 max-pool → 4, stride 2; 3×3 (pad 1) → 8, padding 3.
    stem = receptive_field(googlenet, "small_stem", shape)
    assert (stem.size, stem.stride, stem.padding) == ((8, 8), (2, 2), (3, 3))
    modules = inception_modules(googlenet, shape)
    assert modules[0] == "inception3a" and modules[-1] == "inception5b"
    sizes = [b.field.size for b in module_branches(googlenet, modules[0], shape).branches]
    assert sizes == [(1, 1), (3, 3), (5, 5), (3, 3)]  # the paper's 1×1, 3×3, 5×5, pool
    # Inception-v3's last block (Fig. 7): 1×1 | 1×3, 3×1 | 3×3 then 1×3, 3×1 | 3×3 pool.
    v3 = models.create_model("inception_v3_small")
    last = inception_modules(v3, shape)[-1]
    sizes = [b.field.size for b in module_branches(v3, last, shape).branches]
    assert sizes == [(1, 1), (1, 3), (3, 1), (3, 5), (5, 3), (3, 3)]
    # Inception-ResNet blocks feed their concatenated branches to a 1×1 conv, then add.
    resnet = models.create_model("inception_resnet_v2_small")
    concats = [module_branches(resnet, name, shape) for name in inception_modules(resnet, shape)]
    residual = [c for c in concats if c.is_input]
    assert residual and all(c.layer == f"{c.module}.conv2d" for c in residual)
    assert [b.name.split(".")[-1] for b in residual[0].branches] == [
        "branch0",
        "branch1",
        "branch2",
    ]


def test_plot_receptive_field_on_a_real_image():
    image = data.fashion_mnist("test", transform=data.test_transform())[0][0]
    model = nn.Sequential(conv_stack(3), nn.MaxPool2d(2), nn.Conv2d(1, 2, 3, padding=1))
    fig = plot_receptive_field(model, "2", image, (3, 4))
    assert "2, unit (3, 4): its 12×12 field covers 18% of the image" in fig._suptitle.get_text()
    assert len(fig.axes) == 2
    with pytest.raises(ValueError, match="14×14 grid"):
        plot_receptive_field(model, "2", image, (14, 0))
