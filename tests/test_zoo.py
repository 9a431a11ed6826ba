"""The shipped checkpoints (inception_edu.zoo): every file loads, sha256-checked, and classifies the
test set as its manifest says (within 3 of 10,000 images: another CPU or thread count can flip a
near-tie); a tampered, missing or unknown file fails clearly."""

import json
import shutil
from pathlib import Path

import pytest
import torch

from inception_edu import checkpoints, train, zoo
from inception_edu.checkpoints import CheckpointError

MANIFEST = zoo.load_manifest()
ENTRIES = sorted(MANIFEST["checkpoints"].items())
#: How many of the 10,000 test images may be classified differently than on the machine that
#: made the checkpoints: another CPU or thread count sums in another order, which can flip an
#: image whose two best logits are within rounding of each other. On the same machine: 0.
TOLERANCE_IMAGES = 3
#: The checkpoints folder must stay small enough to ship in the repository.
MAX_FOLDER_BYTES = 25 * 2**20


@pytest.fixture(scope="module")
def test_loader(test_set):
    return torch.utils.data.DataLoader(test_set, batch_size=1000)


@pytest.mark.parametrize("file, entry", ENTRIES, ids=[file for file, _ in ENTRIES])
def test_every_checkpoint_reproduces_its_test_accuracy(file, entry, test_loader):
    path = zoo.folder() / file
    model = checkpoints.load(path, sha256=entry["sha256"])  # refuses any other bytes
    # A checkpoint stores its head size with the arguments it was made with.
    assert model.model_name == entry["model"]
    assert model.model_kwargs == {**entry["arguments"], "num_classes": 10}
    logits, targets = train.collect_logits(model, test_loader)
    correct = int((logits.argmax(1) == targets).sum())
    assert len(targets) == 10_000
    assert abs(correct - entry["test_correct"]) <= TOLERANCE_IMAGES, (
        f"{file}: {correct} test images right now, {entry['test_correct']} in the manifest"
    )
    assert entry["test_accuracy"] == entry["test_correct"] / 10_000


def test_the_manifest_lists_every_planned_checkpoint_with_its_provenance():
    planned = {zoo.file_name(name, seed, arguments) for name, arguments, seed in zoo._plan()}
    assert planned == set(MANIFEST["checkpoints"])
    assert MANIFEST["recipe"] == zoo.RECIPE
    for file, entry in ENTRIES:
        assert len(entry["sha256"]) == 64
        assert entry["recipe"] == zoo.RECIPE
        assert 0.1 < entry["val_accuracy"] < 1 and 0.1 < entry["test_accuracy"] < 1
        assert entry["train_seconds"] > 0
        assert {"inception_edu", "python", "torch", "torchvision", "numpy"} <= set(
            entry["versions"]
        )
        # The recorded command trains exactly this checkpoint again.
        argv = entry["command"].removeprefix("python -m inception_edu.zoo ").split()
        assert zoo.parse_runs(argv) == [(entry["model"], entry["arguments"], entry["seed"])]
        assert zoo.file_name(entry["model"], entry["seed"], entry["arguments"]) == file


def test_the_folder_stays_under_25_mb():
    size = sum(p.stat().st_size for p in zoo.folder().iterdir())
    assert size < MAX_FOLDER_BYTES, f"data/checkpoints holds {size / 2**20:.1f} MB"


def test_load_trained_returns_the_listed_model_in_eval_mode():
    model = zoo.load_trained("googlenet_small", seed=0)
    assert model.model_name == "googlenet_small" and not model.training
    entry = zoo.entry("googlenet_small", seed=0)
    assert entry["file"] == "googlenet_small-s0.pt" and entry["seed"] == 0
    assert ("googlenet_small", {}, 0) in zoo.available()


@pytest.fixture
def copied(tmp_path, monkeypatch):
    """A copy of the checkpoints folder that the zoo reads instead of the shipped one."""
    shutil.copytree(zoo.folder(), tmp_path / "checkpoints")
    monkeypatch.setattr(zoo, "folder", lambda: tmp_path / "checkpoints")
    return tmp_path / "checkpoints"


def test_a_tampered_checkpoint_is_refused(copied):
    path = copied / "naive_small-s0.pt"
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # one flipped byte, deep inside the weights
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="naive_small-s0.pt has sha256 .* was expected"):
        zoo.load_trained("naive_small", seed=0)


def test_a_missing_checkpoint_says_how_to_get_it_back(copied):
    (copied / "naive_small-s1.pt").unlink()
    with pytest.raises(FileNotFoundError, match=r"naive_small-s1.pt is listed .* missing") as info:
        zoo.load_trained("naive_small", seed=1)
    assert "python -m inception_edu.zoo train naive_small --seed 1" in str(info.value)


def test_an_unlisted_checkpoint_lists_the_available_ones():
    with pytest.raises(zoo.ZooError, match=r"no shipped checkpoint naive_small-s7.pt .* lists:"):
        zoo.load_trained("naive_small", seed=7)


def test_a_missing_or_foreign_manifest_is_a_clear_error(tmp_path):
    with pytest.raises(zoo.ZooError, match="no checkpoint manifest"):
        zoo.load_manifest(tmp_path / "manifest.json")
    (tmp_path / "manifest.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(zoo.ZooError, match="not a checkpoint manifest"):
        zoo.load_manifest(tmp_path / "manifest.json")


def test_the_command_line_parses_model_arguments():
    runs = zoo.parse_runs(["train", "googlenet_small", "--seed", "2", "--model-arg", "width=0.25"])
    assert runs == [("googlenet_small", {"width": 0.25}, 2)]
    assert zoo.file_name("googlenet_small", 2, {"width": 0.25}) == "googlenet_small_width0.25-s2.pt"
    assert len(zoo.parse_runs(["make"])) == len(zoo._plan())


def test_files_are_named_after_model_arguments_and_seed():
    assert Path(zoo.file_name("inception_v3_small", 1)).name == "inception_v3_small-s1.pt"
