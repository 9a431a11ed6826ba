import pytest
import torch

from inception_edu import checkpoints
from inception_edu.checkpoints import CheckpointError
from inception_edu.models import create_model


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
    with pytest.raises(CheckpointError, match="does not fit this GoogLeNet.*saved from 'inception_resnet_v1_small'"):
        checkpoints.load(path, "googlenet_small")


def test_missing_file_unnamed_checkpoint_foreign_file_and_unknown_name(tmp_path):
    with pytest.raises(FileNotFoundError, match="No checkpoint at"):
        checkpoints.load(tmp_path / "nothing.pt")
    model = create_model("naive_small")
    unnamed = tmp_path / "unnamed.pt"
    checkpoints.save(model, unnamed)
    with pytest.raises(CheckpointError, match="does not name its architecture"):
        checkpoints.load(unnamed)
    bare = tmp_path / "bare.pt"
    torch.save(model.state_dict(), bare)
    with pytest.raises(CheckpointError, match="not written by inception_edu.checkpoints.save"):
        checkpoints.load(bare, model)
    with pytest.raises(ValueError, match="Unknown model name 'resnet50'"):
        checkpoints.save(model, tmp_path / "x.pt", name="resnet50")


def test_pickled_code_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("this must not run",))

    path = tmp_path / "evil.pt"
    torch.save({"format": checkpoints.FORMAT, "model": None, "state_dict": Evil()}, path)
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        checkpoints.load(path, create_model("naive_small"))
