"""Tests of inception_edu.deploy: fused networks compute what the originals compute, with fewer ops.

Every network gets random BatchNorm affine parameters and the running statistics of real images
(Fashion-MNIST test images; upscaled to RGB for the ImageNet-size networks), so that folding is not
the identity and activations have realistic sizes.

The small networks are compared in float32 on Fashion-MNIST. The ImageNet-size ones are compared
in float64: a randomly initialised Inception-v3 or -v4 with BatchNorm amplifies rounding errors
(BatchNorm networks are chaotic at initialisation), so that in float32 the original network is
itself about 1e-3 away from its own float64 result, fused or not. In float64 a correct rewrite
agrees to about 1e-12, and a wrong one (a forgotten eps, a shuffled split) differs by O(1).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from inception_edu import data
from inception_edu.deploy import (
    FusedNetwork,
    compile_frozen,
    count_kernels,
    count_ops,
    fuse,
)
from inception_edu.models import MODEL_NAMES, create_model

TOLERANCE = 1e-4
#: ImageNet-size inputs: the smallest size every network takes in eval mode (a 1×1 last stage).
IMAGENET_SIZE = 75
AUX_HEADS = {"googlenet": ("aux1", "aux2"), "inception_v3": ("AuxLogits",)}


@dataclass
class Case:
    name: str
    model: nn.Module  # eval mode, BatchNorm statistics of real images
    fused: FusedNetwork
    images: torch.Tensor
    state_before: dict[str, torch.Tensor]


def real_images(name: str, test_set: data.FashionMNIST, n: int) -> torch.Tensor:
    """Return ``n`` Fashion-MNIST test images shaped as network ``name`` expects them."""
    images = torch.stack([test_set[i][0] for i in range(n)])
    if name.endswith("_small"):
        return images
    images = F.interpolate(images, size=IMAGENET_SIZE, mode="bilinear", align_corners=False)
    return images.expand(-1, 3, -1, -1).contiguous().double()


def calibrate(model: nn.Module, images: torch.Tensor, seed: int = 0) -> nn.Module:
    """Give every BatchNorm random affine parameters and the statistics of ``images``; eval mode."""
    generator = torch.Generator().manual_seed(seed)
    model.eval()
    with torch.no_grad():
        for bn in (m for m in model.modules() if isinstance(m, nn.BatchNorm2d)):
            bn.weight.copy_(torch.rand(bn.num_features, generator=generator) + 0.5)
            bn.bias.copy_(0.2 * torch.randn(bn.num_features, generator=generator))
            bn.reset_running_stats()
            bn.momentum = None  # cumulative average: after one batch, exactly its statistics
            bn.train()
        model(images)  # the model itself stays in eval mode: auxiliary heads do not run
    return model.eval()


@pytest.fixture(scope="module", params=MODEL_NAMES)
def case(request: pytest.FixtureRequest, test_set: data.FashionMNIST) -> Case:
    name = request.param
    torch.manual_seed(0)
    model = create_model(name)
    if name.endswith("_small"):
        images = real_images(name, test_set, 128)
        calibrate(model, images[64:])  # statistics from other images than those compared
        images = images[:64]
    else:
        images = real_images(name, test_set, 2)
        calibrate(model.double(), images)
    state_before = {k: v.clone() for k, v in model.state_dict().items()}
    return Case(name, model, fuse(model), images, state_before)


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def max_difference(a: nn.Module, b: nn.Module, x: torch.Tensor) -> float:
    with torch.no_grad():
        return (a(x) - b(x)).abs().max().item()


def test_fused_model_gives_the_same_outputs(case: Case) -> None:
    assert max_difference(case.model, case.fused, case.images) <= TOLERANCE


def test_parameters_lose_batch_norm_and_gain_conv_biases(case: Case) -> None:
    # Each folded BatchNorm drops its weight and bias (2C) and gives its conv a bias (C);
    # auxiliary heads only run in training, so the fused model has none.
    aux = [case.model.get_submodule(n) for n in AUX_HEADS.get(case.name, ())]
    in_aux = {id(m) for head in aux for m in head.modules()}
    bn_channels = sum(
        m.num_features
        for m in case.model.modules()
        if isinstance(m, nn.BatchNorm2d) and id(m) not in in_aux
    )
    expected = n_params(case.model) - sum(map(n_params, aux)) - bn_channels
    assert n_params(case.fused) == expected


def test_original_model_is_untouched(case: Case) -> None:
    assert case.fused is not case.model
    state = case.model.state_dict()
    assert state.keys() == case.state_before.keys()
    assert all(torch.equal(state[k], case.state_before[k]) for k in state)
    assert not any(m.training for m in case.model.modules())
    originals = {p.data_ptr() for p in case.model.parameters()}
    assert not originals & {p.data_ptr() for p in case.fused.parameters()}


def test_fused_graph_has_no_batch_norm_and_fewer_kernels(case: Case) -> None:
    before, after = count_ops(case.model), count_ops(case.fused)
    assert before["BatchNorm2d"] > 0 and after["BatchNorm2d"] == 0
    assert after["Dropout"] == 0
    # Each merge of k convolutions removes k - 1 of them and adds one split with k pieces.
    merged_away = after["getitem"] - after["split"]
    assert after["Conv2d"] == before["Conv2d"] - merged_away
    assert count_kernels(case.fused) < count_kernels(case.model)


def test_fused_model_checks_its_input_like_the_original(case: Case) -> None:
    wrong = case.images[:, :1].repeat(1, 2, 1, 1)  # two channels: no network takes that
    with pytest.raises(ValueError) as original:
        case.model(wrong)
    with pytest.raises(ValueError) as fused:
        case.fused(wrong)
    assert "input channels" in str(original.value) and "input channels" in str(fused.value)


def test_fused_small_model_classifies_the_test_images_alike(test_set: data.FashionMNIST) -> None:
    torch.manual_seed(0)
    model = create_model("inception_v3_small")
    images = real_images("inception_v3_small", test_set, 320)
    calibrate(model, images[256:])
    images = images[:256]
    with torch.no_grad():
        logits, fused_logits = model(images), fuse(model)(images)
    assert (logits - fused_logits).abs().max().item() <= TOLERANCE
    assert torch.equal(logits.argmax(1), fused_logits.argmax(1))


def test_inception_v3_merges_the_1x1_convolutions_that_read_the_block_input() -> None:
    model = create_model("inception_v3", width=0.25, aux_logits=False).eval()
    fused = fuse(model)
    merged = [n for n, m in fused.graph_module.named_modules() if "+" in n]
    assert merged == (
        [f"Mixed_5{b}.branch1x1+branch5x5_1+branch3x3dbl_1" for b in "bcd"]
        + [f"Mixed_6{b}.branch1x1+branch7x7_1+branch7x7dbl_1" for b in "bcde"]
        + [
            "Mixed_7a.branch3x3_1+branch7x7x3_1",
            "Mixed_7b.branch1x1+branch3x3_1+branch3x3dbl_1",
            "Mixed_7c.branch1x1+branch3x3_1+branch3x3dbl_1",
        ]
    )
    block = model.Mixed_5b
    conv = fused.graph_module.get_submodule("Mixed_5b.branch1x1+branch5x5_1+branch3x3dbl_1")
    parts = (block.branch1x1, block.branch5x5_1, block.branch3x3dbl_1)
    assert conv.in_channels == block.branch1x1.conv.in_channels
    assert conv.out_channels == sum(p.conv.out_channels for p in parts)
    assert conv.kernel_size == (1, 1)


def test_horizontal_false_only_folds(test_set: data.FashionMNIST) -> None:
    images = real_images("googlenet_small", test_set, 128)
    model = calibrate(create_model("googlenet_small"), images[64:])
    folded = fuse(model, horizontal=False, channels_last=False)
    ops = count_ops(folded)
    assert ops["split"] == 0 and ops["BatchNorm2d"] == 0
    assert ops["Conv2d"] == count_ops(model)["Conv2d"]
    assert max_difference(model, folded, images[:64]) <= TOLERANCE


def test_residual_scale_is_folded_into_the_projection() -> None:
    model = create_model("inception_resnet_v2_small").eval()
    before, after = count_ops(model), count_ops(fuse(model))
    assert before["mul"] == 4 and after["mul"] == 0
    assert after["add"] == before["add"]


def test_fused_weights_are_channels_last() -> None:
    fused = fuse(create_model("naive_small").eval())
    convs = [m for m in fused.modules() if isinstance(m, nn.Conv2d)]
    assert convs and all(c.weight.is_contiguous(memory_format=torch.channels_last) for c in convs)


def test_fuse_refuses_a_model_in_train_mode() -> None:
    model = create_model("naive_small")
    with pytest.raises(ValueError, match=r"model\.eval\(\)"):
        fuse(model)
    model.eval()
    model.stem.bn.train()
    with pytest.raises(ValueError, match=r"stem\.bn is in train mode"):
        fuse(model)


def test_fuse_refuses_what_is_not_a_module() -> None:
    with pytest.raises(TypeError, match="torch.nn.Module"):
        fuse(lambda x: x)


def test_fuse_explains_a_model_torch_fx_cannot_trace() -> None:
    class DataDependent(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x if x.sum() > 0 else -x  # control flow on values: no static graph

    with pytest.raises(ValueError, match="could not trace DataDependent"):
        fuse(DataDependent().eval())


def test_fused_model_refuses_training_but_accepts_eval() -> None:
    fused = fuse(create_model("naive_small").eval())
    with pytest.raises(RuntimeError, match="inference only.*fuse"):
        fused.train()
    assert fused.eval() is fused and not fused.training


def test_merge_keeps_an_unmergeable_sibling_apart() -> None:
    # Two 1×1 convs and a 3×3 read x: only the two 1×1 merge; the 3×3 keeps its own kernel.
    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a, self.b = nn.Conv2d(4, 3, 1), nn.Conv2d(4, 5, 1)
            self.c = nn.Conv2d(4, 2, 3, padding=1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.cat([self.a(x), torch.relu(self.b(x)), self.c(x)], 1)

    torch.manual_seed(0)
    block = Block().eval()
    fused = fuse(block)
    ops = count_ops(fused)
    assert (ops["Conv2d"], ops["split"], ops["getitem"]) == (2, 1, 2)
    assert max_difference(block, fused, torch.randn(2, 4, 6, 6)) <= 1e-6


def test_a_module_called_twice_is_not_rewritten() -> None:
    # Folding a shared conv's BatchNorm would change the conv for its other caller too.
    class Shared(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv, self.bn = nn.Conv2d(3, 3, 1, bias=False), nn.BatchNorm2d(3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.conv(self.bn(self.conv(x)))

    torch.manual_seed(0)
    model = Shared().eval()
    model.bn.running_mean.normal_()
    fused = fuse(model)
    assert count_ops(fused)["BatchNorm2d"] == 1
    assert max_difference(model, fused, torch.randn(2, 3, 5, 5)) <= 1e-6


def test_count_ops_names_modules_by_class_and_functions_by_name() -> None:
    ops = count_ops(create_model("naive_small").eval())
    assert ops["Conv2d"] == ops["BatchNorm2d"] == ops["ReLU"] == 7  # stem + 2 modules × 3 branches
    assert ops["cat"] == 2 and ops["MaxPool2d"] == 4


def test_compile_frozen_refuses_a_model_in_train_mode() -> None:
    with pytest.raises(ValueError, match=r"model\.eval\(\)"):
        compile_frozen(nn.Conv2d(1, 1, 1), torch.zeros(1, 1, 2, 2))
