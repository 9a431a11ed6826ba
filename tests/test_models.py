"""Tests of inception_edu.models: parity with torchvision and timm, small configurations, errors.

ImageNet-size forwards run at batch 1, in eval mode, under no_grad; only the checks that need a
full 299×299 input use one. No test downloads anything.
"""

from __future__ import annotations

import importlib
import warnings
from urllib.error import URLError

import pytest
import timm
import torch
import torchvision
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torchvision.models.googlenet import GoogLeNetOutputs
from torchvision.models.inception import InceptionOutputs

from inception_edu.cost import count
from inception_edu.models import (
    MODEL_NAMES,
    REDUCTION_A,
    TABLE_1,
    GoogLeNet,
    Inception,
    InceptionResNetA,
    InceptionResNetB,
    InceptionResNetC,
    InceptionResNetV1,
    InceptionResNetV2,
    InceptionV3,
    InceptionV3A,
    InceptionV3B,
    InceptionV3C,
    InceptionV3ReductionA,
    InceptionV3ReductionB,
    InceptionV4,
    InceptionV4Stem,
    NaiveInception,
    NaiveInceptionNet,
    ReductionA,
    create_model,
    googlenet,
    inception_resnet_v1,
    inception_resnet_v2,
    inception_v3,
    inception_v4,
)

SMALL = [name for name in MODEL_NAMES if name.endswith("_small")]
SMALL_WITH_AUX = ["googlenet_small", "inception_v3_small"]
IMAGENET = [name for name in MODEL_NAMES if not name.endswith("_small")]
# The modules that call ``check_input``: the tightness tests switch it off in all of them.
CHECKING_MODULES = ("network", "googlenet", "inception_v3")


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def gmacs(model: nn.Module, shape: tuple[int, ...]) -> float:
    return round(count(model, shape).macs / 1e9, 4)


def seeded(build, seed: int = 0, **kwargs):
    torch.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torchvision's FutureWarning about init_weights
        return build(**kwargs)


def same_state(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def max_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a - b).abs().max().item()


def without_checks(monkeypatch) -> None:
    """Switch off the networks' input checks, to reach torch's own error."""
    for name in CHECKING_MODULES:
        module = importlib.import_module(f"inception_edu.models.{name}")
        monkeypatch.setattr(module, "check_input", lambda *args, **kwargs: None)


_BUILT: dict[str, nn.Module] = {}


def built(name: str) -> nn.Module:
    """Return network ``name`` without aux heads, built once per session (big ones build slowly)."""
    if name not in _BUILT:
        no_aux = {"aux_logits": False} if name in ("googlenet", "inception_v3") else {}
        _BUILT[name] = create_model(name, **no_aux)
    return _BUILT[name]


def runs(model: nn.Module, size: int, batch: int = 1, train: bool = False) -> bool:
    model.train(train)
    try:
        with torch.no_grad():
            model(torch.zeros(batch, getattr(model, "in_channels", 3), size, size))
    except (RuntimeError, ValueError):
        return False
    return True


# ---------------------------------------------------------------------------------------------
# Reference pairs, built once per module: ours and the reference, same seed, reference weights
# loaded into ours with strict=True.


@pytest.fixture(scope="module")
def googlenet_pair():
    ref = seeded(torchvision.models.googlenet, weights=None, aux_logits=True, init_weights=False)
    ours = seeded(googlenet, branch3_kernel=3, aux_logits=True, dropout=0.2)
    ours.load_state_dict(ref.state_dict(), strict=True)
    return ours, ref


@pytest.fixture(scope="module")
def inception_v3_pair():
    ref = seeded(torchvision.models.inception_v3, weights=None, aux_logits=True, init_weights=False)
    ours = seeded(inception_v3, aux_logits=True)
    ours.load_state_dict(ref.state_dict(), strict=True)
    return ours, ref


@pytest.fixture(scope="module")
def timm_pairs():
    """Ours and timm's Inception-v4 / Inception-ResNet-v2, and whether their seeded inits agree."""
    pairs = {}
    for name, build in (
        ("inception_v4", inception_v4),
        ("inception_resnet_v2", inception_resnet_v2),
    ):
        ref = seeded(timm.create_model, model_name=name, pretrained=False)
        ours = seeded(build)
        init_equal = same_state(ours, ref)
        ours.load_state_dict(ref.state_dict(), strict=True)
        pairs[name] = (ours.eval(), ref.eval(), init_equal)
    return pairs


# ---------------------------------------------------------------------------------------------
# Parity: parameters to the unit, MACs to 4 decimals in G


def test_googlenet_params_and_macs(googlenet_pair):
    ours, _ = googlenet_pair
    assert n_params(ours) == 13_004_888
    no_aux = googlenet(branch3_kernel=3, aux_logits=False)
    assert n_params(no_aux) == 6_624_904
    assert gmacs(no_aux, (3, 224, 224)) == 1.4984


def test_inception_v3_params_and_macs(inception_v3_pair):
    ours, _ = inception_v3_pair
    assert n_params(ours) == 27_161_264
    no_aux = inception_v3(aux_logits=False)
    assert n_params(no_aux) == 23_834_568
    assert gmacs(no_aux, (3, 299, 299)) == 5.7132


@pytest.mark.parametrize(
    ("name", "params", "macs"),
    [("inception_v4", 42_679_816, 12.2540), ("inception_resnet_v2", 55_843_464, 13.1558)],
)
def test_timm_params_and_macs(timm_pairs, name, params, macs):
    ours, ref, _ = timm_pairs[name]
    assert n_params(ours) == n_params(ref) == params
    assert gmacs(ours, (3, 299, 299)) == macs


def test_paper_googlenet_has_5x5_branch():
    model = googlenet(aux_logits=False)
    assert model.inception3a.branch3[1].conv.kernel_size == (5, 5)
    assert googlenet(branch3_kernel=3).inception3a.branch3[1].conv.kernel_size == (3, 3)
    # Table 1's 5×5 convolutions add 380,928 parameters to torchvision's 3×3 variant.
    extra = sum(16 * ch5x5red * ch5x5 for *_, ch5x5red, ch5x5, _ in TABLE_1.values())
    assert n_params(model) == 6_624_904 + extra


# ---------------------------------------------------------------------------------------------
# Parity: same outputs as torchvision and timm


def test_googlenet_matches_torchvision_in_eval(googlenet_pair):
    ours, ref = googlenet_pair
    x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        out, expected = ours.eval()(x), ref.eval()(x)
    assert isinstance(out, torch.Tensor) and out.shape == (2, 1000)
    assert max_diff(out, expected) <= 1e-5


def test_googlenet_transform_input_matches_torchvision(googlenet_pair):
    _, ref = googlenet_pair
    ref_t = seeded(
        torchvision.models.googlenet, weights=None, aux_logits=False, transform_input=True
    )
    ref_t.load_state_dict({k: v for k, v in ref.state_dict().items() if "aux" not in k})
    ours = googlenet(branch3_kernel=3, aux_logits=False, transform_input=True)
    ours.load_state_dict(ref_t.state_dict(), strict=True)
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        assert max_diff(ours.eval()(x), ref_t.eval()(x)) <= 1e-5


def test_googlenet_train_outputs_match_torchvision(googlenet_pair):
    ours, ref = googlenet_pair
    x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(2))
    outs = []
    for model in (ours, ref):
        torch.manual_seed(3)  # same dropout masks, drawn in the same order
        with torch.no_grad():
            outs.append(model.train()(x))
    out, expected = outs
    assert type(out) is GoogLeNetOutputs and out._fields == ("logits", "aux_logits2", "aux_logits1")
    for mine, theirs in zip(out, expected):
        assert mine.shape == theirs.shape == (2, 1000)
        assert max_diff(mine, theirs) <= 1e-5


def test_inception_v3_matches_torchvision_in_eval(inception_v3_pair):
    ours, ref = inception_v3_pair
    x = torch.randn(1, 3, 299, 299, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        out, expected = ours.eval()(x), ref.eval()(x)
    assert isinstance(out, torch.Tensor) and out.shape == (1, 1000)
    assert max_diff(out, expected) <= 1e-5


def test_inception_v3_train_outputs_match_torchvision(inception_v3_pair):
    ours, ref = inception_v3_pair
    x = torch.randn(2, 3, 299, 299, generator=torch.Generator().manual_seed(2))
    outs = []
    for model in (ours, ref):
        torch.manual_seed(3)
        with torch.no_grad():
            outs.append(model.train()(x))
    out, expected = outs
    assert type(out) is InceptionOutputs and out._fields == ("logits", "aux_logits")
    for mine, theirs in zip(out, expected):
        assert mine.shape == theirs.shape == (2, 1000)
        assert max_diff(mine, theirs) <= 1e-5


def test_init_matches_torchvision():
    """Same seed, same weights: our init is torchvision's (init_weights=True), module for module."""
    for ours, ref in [
        (
            seeded(googlenet, branch3_kernel=3),
            seeded(torchvision.models.googlenet, weights=None, init_weights=True),
        ),
        (
            seeded(inception_v3),
            seeded(torchvision.models.inception_v3, weights=None, init_weights=True),
        ),
    ]:
        assert same_state(ours, ref)


@pytest.mark.parametrize("name", ["inception_v4", "inception_resnet_v2"])
def test_matches_timm(timm_pairs, name):
    ours, ref, init_equal = timm_pairs[name]
    assert init_equal, "same seed should give timm's default initialisation"
    # Stage outputs: v4's ``features`` entries; Inception-ResNet-v2's top-level stages.
    stages = [f"features.{i}" for i in range(len(ours.features))] if name == "inception_v4" else [
        "conv2d_4a", "mixed_5b", "repeat", "mixed_6a",
        "repeat_1", "mixed_7a", "repeat_2", "conv2d_7b",
    ]  # fmt: skip
    shapes = []
    x = torch.randn(1, 3, 299, 299, generator=torch.Generator().manual_seed(1))
    outs = []
    for model in (ours, ref):
        recorded: list[tuple[int, ...]] = []
        modules = dict(model.named_modules())
        hooks = [
            modules[s].register_forward_hook(
                lambda m, i, o, rec=recorded: rec.append(tuple(o.shape))
            )
            for s in stages
        ]
        with torch.no_grad():
            outs.append(model(x))
        for h in hooks:
            h.remove()
        shapes.append(recorded)
    assert shapes[0] == shapes[1]
    assert max_diff(*outs) <= 1e-5
    if name == "inception_v4":  # 35²×384 (4× A) → 17²×1024 (7× B) → 8²×1536 (3× C)
        assert shapes[0][9] == (1, 384, 35, 35)
        assert shapes[0][17] == (1, 1024, 17, 17)
        assert shapes[0][21] == (1, 1536, 8, 8)
    else:  # 35²×320 → 17²×1088 → 8²×2080 → 1536
        assert [shapes[0][i] for i in (2, 4, 6, 7)] == [
            (1, 320, 35, 35),
            (1, 1088, 17, 17),
            (1, 2080, 8, 8),
            (1, 1536, 8, 8),
        ]


def test_inception_resnet_v1_follows_the_paper():
    model = inception_resnet_v1()
    cost = count(model, (3, 299, 299), depth=1)
    shapes = {row.name: row.output_shape for row in cost.rows}
    assert shapes["conv2d_4b"] == shapes["repeat"] == (256, 35, 35)
    assert shapes["mixed_6a"] == shapes["repeat_1"] == (896, 17, 17)
    assert shapes["mixed_7a"] == shapes["repeat_2"] == (1792, 8, 8)
    assert shapes["classif"] == (1000,)
    assert (len(model.repeat), len(model.repeat_1), len(model.repeat_2)) == (5, 10, 5)
    # "roughly the cost of Inception-v3" (23.8 M parameters, 5.71 G MACs)
    assert 20e6 < cost.params < 26e6 and 5.0e9 < cost.macs < 7.0e9


def test_reduction_a_widths_are_table_1():
    assert REDUCTION_A == {
        "inception_v4": (192, 224, 256, 384),
        "inception_resnet_v1": (192, 192, 256, 384),
        "inception_resnet_v2": (256, 256, 384, 384),
    }


# ---------------------------------------------------------------------------------------------
# Blocks


def test_blocks_shapes():
    x = torch.randn(2, 192, 28, 28)
    with torch.no_grad():
        assert NaiveInception(192, 64, 128, 32).eval()(x).shape == (2, 64 + 128 + 32 + 192, 28, 28)
        assert Inception(192, *TABLE_1["inception3a"]).eval()(x).shape == (2, 256, 28, 28)
        x35 = torch.randn(1, 288, 35, 35)
        assert InceptionV3A(288, pool_features=64).eval()(x35).shape == (1, 288, 35, 35)
        x17 = InceptionV3ReductionA(288).eval()(x35)
        assert x17.shape == (1, 768, 17, 17)
        assert InceptionV3B(768, channels_7x7=128).eval()(x17).shape == (1, 768, 17, 17)
        x8 = InceptionV3ReductionB(768).eval()(x17)
        assert x8.shape == (1, 1280, 8, 8)
        assert InceptionV3C(1280).eval()(x8).shape == (1, 2048, 8, 8)
        reduction_a = ReductionA(384, *REDUCTION_A["inception_v4"]).eval()
        assert reduction_a(torch.randn(1, 384, 35, 35)).shape == (1, 1024, 17, 17)


def test_inception_v4_stem():
    stem = InceptionV4Stem()
    assert stem.out_channels == 384
    with torch.no_grad():
        assert stem.eval()(torch.randn(1, 3, 299, 299)).shape == (1, 384, 35, 35)


@pytest.mark.parametrize(
    ("block", "channels", "size"),
    [(InceptionResNetA, 320, 35), (InceptionResNetB, 1088, 17), (InceptionResNetC, 2080, 8)],
)
def test_residual_blocks_scale(block, channels, size):
    x = torch.randn(1, channels, size, size)
    with torch.no_grad():
        # scale=0 leaves only the shortcut: relu(x), or x itself without the final activation.
        assert torch.equal(block(channels, scale=0.0).eval()(x), torch.relu(x))
        if block is InceptionResNetC:
            assert torch.equal(block(channels, scale=0.0, activation=False).eval()(x), x)
        a, b = block(channels, scale=0.1).eval(), block(channels, scale=0.3).eval()
        b.load_state_dict(a.state_dict())
        branches = [m for name, m in a.named_children() if name.startswith("branch")]
        pre = a.conv2d(torch.cat([branch(x) for branch in branches], 1))
        assert max_diff(b(x), torch.relu(x + 0.3 * pre)) <= 1e-5


# ---------------------------------------------------------------------------------------------
# Every network runs at its size, with adjustable classes and input channels


@pytest.mark.parametrize(
    ("name", "size"), [("googlenet", 224), ("inception_v3", 75), ("inception_resnet_v1", 75)]
)
def test_classes_and_channels_are_adjustable(name, size):
    # Every network also runs at its full size in the parity tests above (googlenet: 5×5 here).
    model = create_model(name, num_classes=7, in_channels=1).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 1, size, size)).shape == (1, 7)


@pytest.mark.parametrize("name", SMALL)
def test_small_config(name):
    model = create_model(name)
    macs = count(model, (1, 28, 28)).macs
    assert 5e6 <= macs <= 40e6, f"{name}: {macs / 1e6:.1f} MMACs per image"
    x = torch.randn(2, 1, 28, 28)
    with torch.no_grad():
        assert model.eval()(x).shape == (2, 10)
    out = model.train()(x)
    assert isinstance(out, torch.Tensor) and out.shape == (2, 10)
    out.sum().backward()


@pytest.mark.parametrize(
    ("name", "outputs"),
    [("googlenet_small", GoogLeNetOutputs), ("inception_v3_small", InceptionOutputs)],
)
def test_small_config_aux_heads(name, outputs):
    model = create_model(name, aux_logits=True).train()
    out = model(torch.randn(4, 1, 28, 28))
    assert type(out) is outputs and all(o.shape == (4, 10) for o in out)
    with torch.no_grad():
        assert model.eval()(torch.randn(1, 1, 28, 28)).shape == (1, 10)


def test_inception_v3_depths_keep_torchvision_names():
    model = create_model("inception_v3_small", depths=(2, 1, 2))
    assert (model.blocks_35, model.blocks_17, model.blocks_8) == (
        ("Mixed_5b", "Mixed_5c"),
        ("Mixed_6b",),
        ("Mixed_7b", "Mixed_7c"),
    )
    assert not hasattr(model, "Mixed_5d") and not hasattr(model, "Mixed_6c")
    with torch.no_grad():
        assert model.eval()(torch.randn(1, 1, 28, 28)).shape == (1, 10)
    with pytest.raises(ValueError, match=r"three whole numbers ≥ 1 and at most \(3, 4, 2\)"):
        InceptionV3(depths=(3, 5, 2))


def test_googlenet_without_batch_norm():
    model = create_model("googlenet_small", batch_norm=False).train()
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert model.inception3a.branch1.conv.bias is not None
    # He initialisation keeps the signal alive through the 22 layers without BatchNorm.
    assert model(torch.randn(8, 1, 28, 28)).std() > 0.01


def test_same_seed_same_weights():
    for name in SMALL:
        assert same_state(seeded(create_model, name=name), seeded(create_model, name=name))


# ---------------------------------------------------------------------------------------------
# Clear errors


@pytest.mark.parametrize("name", IMAGENET + SMALL)
def test_minimum_input_size_is_checked_and_tight(name, monkeypatch):
    model = built(name)
    low = model.input_limits.min_size
    assert runs(model, low)
    with pytest.raises(ValueError, match=rf"at least {low}×{low} pixels, got {low - 1}×{low - 1}"):
        model.eval()(torch.zeros(1, model.in_channels, low - 1, low - 1))
    without_checks(monkeypatch)  # one pixel less also fails inside torch: the limit is tight
    assert not runs(model, low - 1)


@pytest.mark.parametrize("name", ["googlenet", "inception_v4", "inception_resnet_v1"] + SMALL)
def test_batch_of_one_in_train_mode_is_checked_and_tight(name, monkeypatch):
    model = built(name)
    size = model.input_limits.min_size_batch_one
    assert runs(model, size, batch=1, train=True) and runs(model, size - 1, batch=2, train=True)
    with pytest.raises(ValueError, match="batch of one image in train mode"):
        model.train()(torch.zeros(1, model.in_channels, size - 1, size - 1))
    without_checks(monkeypatch)
    assert not runs(model, size - 1, batch=1, train=True)


def test_inception_v3_aux_limits_are_tight(inception_v3_pair, monkeypatch):
    """Train mode with the aux head needs 299 px, 347 px for a batch of one; torchvision agrees."""
    ours, ref = inception_v3_pair
    limits = ours.input_limits
    assert (limits.min_size, limits.min_size_train, limits.min_size_batch_one) == (75, 299, 347)
    with pytest.raises(ValueError, match=r"auxiliary heads needs inputs of at least 299×299"):
        ours.train()(torch.zeros(2, 3, 298, 298))
    with pytest.raises(ValueError, match=r"batch of one.*auxiliary head.*at least 347×347"):
        ours.train()(torch.zeros(1, 3, 299, 299))
    assert not runs(ref, 298, batch=2, train=True)  # torchvision fails there too, deep inside
    assert not runs(ref, 346, batch=1, train=True)
    assert runs(ours, 347, batch=1, train=True)


def test_small_inception_v3_aux_never_takes_a_batch_of_one():
    model = create_model("inception_v3_small", aux_logits=True).train()
    assert model.input_limits.min_size_batch_one is None
    with pytest.raises(ValueError, match="Use a batch of 2 or more, call model.eval()"):
        model(torch.zeros(1, 1, 28, 28))


def test_errors_come_before_any_layer_runs():
    model = create_model("inception_v3_small", aux_logits=True).train()
    calls = []
    hooks = [
        m.register_forward_pre_hook(lambda *a: calls.append(1))
        for m in model.modules()
        if m is not model
    ]
    for bad in (torch.zeros(1, 1, 28, 28), torch.zeros(2, 3, 28, 28), torch.zeros(2, 1, 1, 1)):
        with pytest.raises(ValueError):
            model(bad)
    for h in hooks:
        h.remove()
    assert calls == []


@pytest.mark.parametrize("name", SMALL)
def test_wrong_channel_count(name):
    model = create_model(name)
    with pytest.raises(ValueError, match=r"expects 1 input channels, got 3.*in_channels=3"):
        model(torch.zeros(2, 3, 28, 28))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\), got \(1, 28, 28\)"):
        model(torch.zeros(1, 28, 28))


def test_unknown_names():
    with pytest.raises(
        ValueError, match=r"unknown model name 'inception_v5'\. Did you mean 'inception_v4'\?"
    ) as err:
        create_model("inception_v5")
    assert all(name in str(err.value) for name in MODEL_NAMES)
    with pytest.raises(
        ValueError, match=r"unknown stem_type 'tiny'; valid stem types are 'imagenet', 'small'"
    ):
        GoogLeNet(stem_type="tiny")
    with pytest.raises(ValueError, match="unknown weights 'imagenet'"):
        googlenet(weights="imagenet")
    with pytest.raises(ValueError, match="branch3_kernel must be odd"):
        googlenet(branch3_kernel=4)


def test_registry():
    assert MODEL_NAMES == (
        "googlenet", "googlenet_small", "inception_v3", "inception_v3_small", "inception_v4",
        "inception_v4_small", "inception_resnet_v1", "inception_resnet_v1_small",
        "inception_resnet_v2", "inception_resnet_v2_small", "naive_small",
    )  # fmt: skip
    expected = {
        "googlenet_small": GoogLeNet,
        "inception_v3_small": InceptionV3,
        "inception_v4_small": InceptionV4,
        "inception_resnet_v1_small": InceptionResNetV1,
        "inception_resnet_v2_small": InceptionResNetV2,
        "naive_small": NaiveInceptionNet,
    }
    for name, cls in expected.items():
        model = create_model(name, num_classes=3)
        assert type(model) is cls and model.in_channels == 1
        assert (
            next(
                m for m in reversed(list(model.modules())) if isinstance(m, nn.Linear)
            ).out_features
            == 3
        )


# ---------------------------------------------------------------------------------------------
# Every activation is its own nn.ReLU module, and no module runs twice in a forward pass


class _CountRelu(TorchDispatchMode):
    def __init__(self) -> None:
        super().__init__()
        self.n = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func.overloadpacket in (torch.ops.aten.relu, torch.ops.aten.relu_):
            self.n += 1
        return func(*args, **(kwargs or {}))


def assert_hookable(model: nn.Module, x: torch.Tensor, skip: tuple[str, ...] = ()) -> None:
    """Every leaf runs exactly once (``skip``: never), all ReLUs are modules, none in-place."""
    leaves = {name: m for name, m in model.named_modules() if not list(m.children())}
    assert len(list(model.named_modules(remove_duplicate=False))) == len(
        list(model.named_modules())
    )
    calls = dict.fromkeys(leaves, 0)

    def counter(name):
        def hook(module, inputs, output):
            calls[name] += 1

        return hook

    hooks = [m.register_forward_hook(counter(name)) for name, m in leaves.items()]
    try:
        with _CountRelu() as relus:
            model(x)
    finally:
        for h in hooks:
            h.remove()
    expected = {name: 0 if name.startswith(skip) else 1 for name in leaves}
    assert calls == expected
    relu_modules = [name for name, m in leaves.items() if isinstance(m, nn.ReLU)]
    assert relu_modules and not any(leaves[name].inplace for name in relu_modules)
    assert relus.n == sum(calls[name] for name in relu_modules), (
        "an activation is not an nn.ReLU module"
    )


@pytest.mark.parametrize("name", SMALL)
def test_small_configs_are_hookable(name):
    kwargs = {"aux_logits": True} if name in SMALL_WITH_AUX else {}
    model = create_model(name, **kwargs).train()
    assert_hookable(model, torch.randn(2, 1, 28, 28))


@pytest.mark.parametrize("name", IMAGENET)
def test_imagenet_configs_are_hookable(name):
    model = built(name).eval()  # aux heads: googlenet's below, the small configurations'
    with torch.no_grad():
        assert_hookable(model, torch.randn(1, 3, 75, 75))


def test_googlenet_aux_heads_are_hookable():
    assert_hookable(googlenet(aux_logits=True).train(), torch.randn(2, 3, 64, 64))


# ---------------------------------------------------------------------------------------------
# Pretrained weights


@pytest.mark.parametrize(
    ("build", "kwargs"), [(googlenet, {"branch3_kernel": 3}), (inception_v3, {})]
)
def test_torchvision_weights_offline_error(build, kwargs, monkeypatch, tmp_path):
    attempts = []

    def offline(url, *args, **kw):
        attempts.append(url)
        raise URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(torch.hub, "_hub_dir", None)  # so that get_dir() reads TORCH_HOME
    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(RuntimeError, match=r"Are you offline\?.*weights=None") as err:
        build(weights="torchvision", **kwargs)
    assert attempts and attempts[0] in str(err.value) and str(tmp_path) in str(err.value)


@pytest.mark.parametrize(
    ("arch", "kwargs"), [("googlenet", {"branch3_kernel": 3}), ("inception_v3", {})]
)
def test_torchvision_weights_set_transform_input(arch, kwargs, monkeypatch):
    module = importlib.import_module(f"inception_edu.models.{arch}")
    loaded = []
    monkeypatch.setattr(
        module, "load_torchvision_weights", lambda model, name, progress: loaded.append(name)
    )
    build = googlenet if arch == "googlenet" else inception_v3
    model = build(weights="torchvision", aux_logits=False, **kwargs)
    assert loaded == [arch] and model.transform_input and not model.aux_logits
    assert (
        build(
            weights="torchvision", transform_input=False, aux_logits=False, **kwargs
        ).transform_input
        is False
    )
    assert build(**kwargs).transform_input is False


def test_torchvision_weights_argument_errors():
    with pytest.raises(ValueError, match="pass branch3_kernel=3"):
        googlenet(weights="torchvision")  # the paper's 5×5 branch has no torchvision weights
    with pytest.raises(ValueError, match="need num_classes=1000, got 10"):
        inception_v3(weights="torchvision", num_classes=10)
    with pytest.raises(ValueError, match="transform_input=True needs 3 input channels"):
        inception_v3(transform_input=True, in_channels=1)


# ---------------------------------------------------------------------------------------------
# The PyTorch ecosystem: torch.fx, torch.export, timm's classifier interface


def input_for(model: nn.Module, batch: int = 2) -> torch.Tensor:
    size = 28 if model.in_channels == 1 else 107
    return torch.randn(
        batch, model.in_channels, size, size, generator=torch.Generator().manual_seed(0)
    )


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_symbolic_trace_gives_the_same_outputs(name):
    model = built(name).eval()
    traced = torch.fx.symbolic_trace(model)
    x = input_for(model)
    with torch.no_grad():
        assert torch.equal(traced(x), model(x))
    assert not any("check_input" in str(node.target) for node in traced.graph.nodes)
    with pytest.raises(ValueError, match="expects a batch of images shaped"):
        model(x[0])  # eager calls still check their input


@pytest.mark.parametrize("name", SMALL + ["inception_v3"])
def test_torch_export_keeps_working(name):
    model = built(name).eval()
    x = input_for(model, batch=1)
    exported = torch.export.export(model, (x,))
    with torch.no_grad():
        assert max_diff(exported.module()(x), model(x)) <= 1e-5


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_timm_classifier_interface(name):
    model = create_model(name).eval()
    x = input_for(model)
    with torch.no_grad():
        features = model.forward_features(x)
        assert features.dim() == 4 and features.shape[:2] == (2, model.num_features)
        assert torch.equal(model.forward_head(features), model(x))
        pooled = model.forward_head(features, pre_logits=True)
        assert pooled.shape == (2, model.num_features)
        assert torch.equal(model.get_classifier()(pooled), model(x))
        model.reset_classifier(5)
        assert model.num_classes == 5 and model(x).shape == (2, 5)
        assert model.get_classifier().out_features == 5
        model.reset_classifier(0)
        assert model(x).shape == (2, model.num_features)
    with pytest.raises(ValueError, match="num_classes must be a whole number ≥ 0"):
        model.reset_classifier(-1)


@pytest.mark.parametrize("name", SMALL_WITH_AUX)
def test_reset_classifier_resets_the_aux_heads_too(name):
    model = create_model(name, aux_logits=True)
    model.reset_classifier(3)
    out = model.train()(torch.randn(2, 1, 28, 28))
    assert all(o.shape == (2, 3) for o in out)


def test_a_new_head_fine_tunes_on_a_frozen_small_model(test_set):
    torch.manual_seed(0)
    model = create_model("inception_v3_small")
    model.reset_classifier(10)
    for p in model.parameters():
        p.requires_grad_(False)
    for p in model.get_classifier().parameters():
        p.requires_grad_(True)
    trunk = {k: v.clone() for k, v in model.state_dict().items() if not k.startswith("fc.")}
    x = torch.stack([test_set[i][0] for i in range(256)])
    y = torch.tensor([test_set[i][1] for i in range(256)])
    with torch.no_grad():
        features = model.eval().forward_features(x)  # frozen trunk: compute once
    # An untrained trunk's features are small (fresh BatchNorm statistics): a high rate for Adam.
    opt = torch.optim.Adam(model.get_classifier().parameters(), lr=0.2)
    losses = []
    for _ in range(100):
        loss = nn.functional.cross_entropy(model.forward_head(features), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]
    assert (model.forward_head(features).argmax(1) == y).float().mean() > 0.5  # chance: 0.1
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in trunk.items())


def test_full_size_features_match_torchvision_and_timm(inception_v3_pair, timm_pairs):
    x = torch.randn(2, 3, 299, 299, generator=torch.Generator().manual_seed(4))
    ours, _ = inception_v3_pair  # other tests ran it in train mode: take its current weights
    reference = timm.create_model("inception_v3", pretrained=False, aux_logits=False).eval()
    reference.load_state_dict(
        {k: v for k, v in ours.state_dict().items() if not k.startswith("AuxLogits")}
    )
    with torch.no_grad():
        mine, theirs = ours.eval().forward_features(x), reference.forward_features(x)
        assert mine.shape == theirs.shape == (2, 2048, 8, 8)
        assert max_diff(mine, theirs) <= 1e-4
        for name in ("inception_v4", "inception_resnet_v2"):
            ours, ref, _ = timm_pairs[name]
            mine, theirs = ours.forward_features(x), ref.forward_features(x)
            assert mine.shape == theirs.shape == (2, 1536, 8, 8)
            assert max_diff(mine, theirs) <= 1e-4


# ---------------------------------------------------------------------------------------------
# Clear errors for bad arguments and inputs


@pytest.mark.parametrize("name", SMALL)
@pytest.mark.parametrize(
    ("dtype", "message"),
    [
        (torch.float64, r"has torch.float32 weights but got a torch.float64 batch.*x.to"),
        (torch.uint8, r"expects a batch of torch.float32 images, got torch.uint8.*Normalize"),
    ],
)
def test_a_batch_of_the_wrong_dtype_is_explained(name, dtype, message):
    model = create_model(name).eval()
    with pytest.raises(ValueError, match=message):
        model(torch.zeros(2, 1, 28, 28, dtype=dtype))
    with torch.no_grad():
        assert model.double()(torch.zeros(2, 1, 28, 28, dtype=torch.float64)).dtype == torch.float64


@pytest.mark.parametrize("name", [n for n in MODEL_NAMES if n not in ("googlenet", "inception_v3")])
def test_weights_on_a_model_without_pretrained_weights(name):
    with pytest.raises(ValueError, match=r"has no pretrained weights.*googlenet, inception_v3"):
        create_model(name, weights="torchvision")


@pytest.mark.parametrize("build", [inception_v4, inception_resnet_v1, inception_resnet_v2])
@pytest.mark.parametrize("depths", [(1, 2), (0, 0, 0), (1, -1, 1), (1.5, 2, 1), "121"])
def test_bad_depths_are_refused(build, depths):
    with pytest.raises(ValueError, match=r"needs depths=\(A, B, C\).*three whole numbers ≥ 1"):
        build(depths=depths)


def test_models_remember_how_they_were_made():
    model = create_model("inception_v3_small", aux_logits=True)
    assert model.model_name == "inception_v3_small"
    assert model.model_kwargs == {"aux_logits": True}
