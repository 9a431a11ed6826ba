import pytest
import torch

from inception_edu import checkpoints
from inception_edu.checkpoints import CheckpointError
from inception_edu.models import NaiveInceptionNet, create_model


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    model = create_model("inception_resnet_v1_small").eval()
    path = tmp_path / "model.pt"
    digest = checkpoints.save(model, path, name="inception_resnet_v1_small")
    return model, path, digest


def test_round_trip_rebuilds_the_named_model_with_the_same_outputs(saved):
    model, path, digest = saved
    assert digest == checkpoints.file_sha256(path) and len(digest) == 64
    loaded = checkpoints.load(path, sha256=digest)
    assert type(loaded) is type(model) and not loaded.training
    x = torch.randn(2, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))


def test_loads_into_a_given_model_or_name(saved):
    model, path, _ = saved
    into = create_model("inception_resnet_v1_small")
    assert checkpoints.load(path, into) is into
    theirs = model.state_dict()
    assert all(torch.equal(value, theirs[key]) for key, value in into.state_dict().items())
    assert isinstance(checkpoints.load(path, "inception_resnet_v1_small"), type(model))


def test_a_hash_mismatch_is_refused(saved):
    _, path, digest = saved
    wrong = ("0" if digest[0] != "0" else "1") + digest[1:]
    with pytest.raises(CheckpointError, match="corrupt, truncated or a different checkpoint"):
        checkpoints.load(path, sha256=wrong)


def test_a_truncated_file_is_refused_even_without_a_hash(saved):
    _, path, digest = saved
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        checkpoints.load(path)
    with pytest.raises(CheckpointError, match="sha256"):
        checkpoints.load(path, sha256=digest)


def test_a_different_architecture_says_what_does_not_fit(saved):
    _, path, _ = saved
    with pytest.raises(
        CheckpointError, match="does not fit this GoogLeNet.*saved from 'inception_resnet_v1_small'"
    ):
        checkpoints.load(path, "googlenet_small")


def test_missing_file_unnamed_checkpoint_foreign_file_and_unknown_name(tmp_path):
    with pytest.raises(FileNotFoundError, match="No checkpoint at"):
        checkpoints.load(tmp_path / "nothing.pt")
    model = NaiveInceptionNet()  # built directly, not by create_model: it has no name
    unnamed = tmp_path / "unnamed.pt"
    checkpoints.save(model, unnamed)
    with pytest.raises(CheckpointError, match="does not name its architecture"):
        checkpoints.load(unnamed)
    bare = tmp_path / "bare.pt"
    torch.save(model.state_dict(), bare)
    with pytest.raises(CheckpointError, match="not written by inception_edu.checkpoints.save"):
        checkpoints.load(bare, model)
    with pytest.raises(ValueError, match="unknown model name 'resnet50'"):
        checkpoints.save(model, tmp_path / "x.pt", name="resnet50")


def test_pickled_code_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("this must not run",))

    path = tmp_path / "evil.pt"
    torch.save({"format": checkpoints.FORMAT, "model": None, "state_dict": Evil()}, path)
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        checkpoints.load(path, create_model("naive_small"))


def test_a_name_that_does_not_fit_the_model_is_refused_at_save_time(tmp_path):
    model = create_model("googlenet_small")
    path = tmp_path / "wrong.pt"
    with pytest.raises(
        ValueError, match=r"not a naive_small built with \{.num_classes.: 10\} \(missing"
    ):
        checkpoints.save(model, path, name="naive_small")
    with pytest.raises(ValueError, match=r"not a googlenet_small built with \{'aux_logits': True"):
        checkpoints.save(model, path, name="googlenet_small", arguments={"aux_logits": True})
    with pytest.raises(ValueError, match=r"fails \(.*unexpected keyword argument 'colour'"):
        checkpoints.save(model, path, name="googlenet_small", arguments={"colour": 1})
    assert not path.exists()


def test_constructor_arguments_are_stored_so_every_file_reloads_by_name(tmp_path):
    torch.manual_seed(0)
    model = create_model("inception_v3_small", aux_logits=True, width=0.25)
    model.reset_classifier(4)
    path = tmp_path / "v3.pt"
    digest = checkpoints.save(model, path)
    saved = checkpoints.read(path, sha256=digest)
    assert saved.name == "inception_v3_small"
    assert saved.arguments == {"aux_logits": True, "width": 0.25, "num_classes": 4}
    loaded = checkpoints.load(path)
    assert loaded.num_classes == 4 and loaded.AuxLogits is not None
    x = torch.randn(2, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(loaded(x), model.eval()(x))


def test_extra_training_state_round_trips(tmp_path):
    model = create_model("naive_small")
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.randn(2, 1, 28, 28)).sum().backward()
    opt.step()
    extra = {"optimizer": opt.state_dict(), "step": 7, "config": {"lr": 0.1, "tags": ["a"]}}
    path = tmp_path / "state.pt"
    checkpoints.save(model, path, extra=extra)
    saved = checkpoints.read(path)
    assert saved.extra["step"] == 7 and saved.extra["config"] == {"lr": 0.1, "tags": ["a"]}
    restored = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    restored.load_state_dict(saved.extra["optimizer"])
    assert torch.equal(
        restored.state_dict()["state"][0]["momentum_buffer"],
        opt.state_dict()["state"][0]["momentum_buffer"],
    )
    assert not list(tmp_path.glob("*.partial"))


def test_extra_that_a_safe_load_could_not_read_is_refused_at_save_time(tmp_path):
    model = create_model("naive_small")
    path = tmp_path / "x.pt"
    with pytest.raises(TypeError, match=r"extra\['torch'\] is a TorchVersion.*str\(torch"):
        checkpoints.save(model, path, extra={"torch": torch.__version__})
    with pytest.raises(TypeError, match=r"extra\['steps'\]\[1\] is a object"):
        checkpoints.save(model, path, extra={"steps": [1, object()]})
    assert not path.exists()
    checkpoints.save(model, path, extra={"torch": str(torch.__version__), "t": torch.ones(2)})
    assert checkpoints.read(path).extra["torch"] == str(torch.__version__)


def test_verify_false_skips_building_the_named_model(tmp_path, monkeypatch):
    model = create_model("naive_small")
    built = []
    monkeypatch.setattr(checkpoints, "_check_recipe", lambda *args: built.append(args))
    checkpoints.save(model, tmp_path / "a.pt")
    checkpoints.save(model, tmp_path / "b.pt", verify=False)
    assert len(built) == 1
