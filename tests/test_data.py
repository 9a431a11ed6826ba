import gzip
import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from inception_edu import data

FULL_PRESENT = Path(data.DEBIAN_DIR, "train-images-idx3-ubyte.gz").is_file()


def test_shipped_sample_is_balanced_real_fashion_mnist():
    train = data.fashion_mnist("trainval")
    assert len(train) == 30_000
    assert torch.bincount(train.targets).tolist() == [3_000] * 10
    x, y = train[0]
    assert x.shape == (1, 28, 28) and x.dtype == torch.float32
    assert 0.0 <= x.min() and x.max() <= 1.0 and isinstance(y, int)
    # The sample's pixel statistics are those of the full training set.
    assert train.images.float().div(255).mean().item() == pytest.approx(data.MEAN, abs=0.002)
    assert train.images.float().div(255).std().item() == pytest.approx(data.STD, abs=0.002)


def test_shipped_test_set_is_the_official_one():
    test = data.fashion_mnist("test")
    assert len(test) == 10_000
    assert torch.bincount(test.targets).tolist() == [1_000] * 10
    header = bytes([0, 0, 8, 3]) + b"".join(d.to_bytes(4, "big") for d in (10_000, 28, 28))
    digest = hashlib.sha256(header + test.images.numpy().tobytes()).hexdigest()
    assert digest == data.FULL_CONTENT_SHA256["t10k-images-idx3-ubyte"]


def test_validation_split_is_fixed_class_balanced_and_disjoint_from_train():
    whole = data.fashion_mnist("trainval")
    train, val = data.fashion_mnist("train"), data.fashion_mnist("val")
    assert (len(train), len(val)) == (25_000, 5_000)
    assert torch.bincount(train.targets).tolist() == [2_500] * 10
    assert torch.bincount(val.targets).tolist() == [data.VAL_PER_CLASS] * 10
    val_index = data.validation_indices(whole.targets)
    assert torch.equal(val.images, whole.images[val_index])
    # The last 500 of each class, in file order; the rest, in order, is the training split.
    last_of_class_0 = torch.nonzero(whole.targets == 0).flatten()[-500:]
    assert set(last_of_class_0.tolist()) <= set(val_index.tolist())
    rest = torch.ones(len(whole), dtype=torch.bool)
    rest[val_index] = False
    assert torch.equal(train.images, whole.images[rest])


def test_loaders_evaluate_on_validation_unless_told_test():
    train, val = data.loaders(batch_size=64, train_size=1_000)
    assert len(val.dataset) == 5_000 and val.dataset.split == "val"
    assert len(train) == 1_000 // 64  # the last, partial batch is dropped
    _, test = data.loaders(batch_size=64, eval_split="test")
    assert len(test.dataset) == 10_000
    with pytest.raises(ValueError, match="eval_split must be 'val' or 'test'"):
        data.loaders(eval_split="train")


def test_loaders_normalize_and_augment():
    train, test = data.loaders(batch_size=64, augment=True, train_size=1_000, eval_split="test")
    x, y = next(iter(train))
    assert x.shape == (64, 1, 28, 28) and y.shape == (64,)
    assert len(train.dataset) == 1_000 and len(test.dataset) == 10_000
    xt, _ = next(iter(test))
    # Normalized with the training set's mean and std: roughly zero mean, unit spread.
    assert abs(xt.mean().item()) < 0.1 and 0.8 < xt.std().item() < 1.2
    raw_first, _ = data.fashion_mnist("test")[0]
    assert torch.allclose(data.denormalize(xt[0]), raw_first, atol=1e-6)


def test_loaders_shuffle_repeatably():
    first = next(iter(data.loaders(batch_size=32, seed=3)[0]))[1]
    second = next(iter(data.loaders(batch_size=32, seed=3)[0]))[1]
    other = next(iter(data.loaders(batch_size=32, seed=4)[0]))[1]
    assert torch.equal(first, second) and not torch.equal(first, other)


def test_balanced_subset_rejects_sizes_it_cannot_balance():
    train = data.fashion_mnist("train")
    assert (
        torch.bincount(train.targets[data.balanced_subset(train, 500).indices]).tolist()
        == [50] * 10
    )
    with pytest.raises(ValueError, match="multiple of 10"):
        data.balanced_subset(train, 505)


def test_class_names():
    assert (
        data.CLASSES[0] == "T-shirt/top"
        and data.CLASSES[9] == "Ankle boot"
        and len(data.CLASSES) == 10
    )


def _copy_shipped(tmp_path: Path) -> Path:
    for name in (*data.SAMPLE_FILES["train"], *data.SAMPLE_FILES["test"]):
        shutil.copyfile(data.shipped_path("fashion_mnist") / name, tmp_path / name)
    return tmp_path


def test_missing_file_says_where_it_looked_and_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        data.fashion_mnist("train", source="full", root=tmp_path)
    message = str(err.value)
    assert str(tmp_path / "train-images-idx3-ubyte") in message
    assert "FashionMNIST/raw" in message and "apt-get install dataset-fashion-mnist" in message

    folder = _copy_shipped(tmp_path)
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte.gz is not in"):
        data.fashion_mnist("test", root=folder)


def test_corrupt_shipped_file_fails_its_checksum(tmp_path):
    folder = _copy_shipped(tmp_path)
    path = folder / "train-sample-labels-idx1-ubyte.gz"
    raw = bytearray(path.read_bytes())
    raw[-20] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(
        data.DataFileError, match="train-sample-labels-idx1-ubyte.gz does not match its sha256"
    ):
        data.fashion_mnist("train", root=folder)


def test_truncated_full_file_names_the_file(tmp_path):
    full = data.shipped_path("fashion_mnist") / "t10k-images-idx3-ubyte.gz"
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(full.read_bytes()[:100_000])
    shutil.copyfile(
        data.shipped_path("fashion_mnist") / "t10k-labels-idx1-ubyte.gz",
        tmp_path / "t10k-labels-idx1-ubyte.gz",
    )
    with pytest.raises(data.DataFileError, match="t10k-images-idx3-ubyte.gz cannot be read"):
        data.fashion_mnist("test", source="full", root=tmp_path)


def test_idx_length_must_match_its_header(tmp_path):
    raw = gzip.decompress(
        (data.shipped_path("fashion_mnist") / "t10k-labels-idx1-ubyte.gz").read_bytes()
    )
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(raw[:-10])
    shutil.copyfile(
        data.shipped_path("fashion_mnist") / "t10k-images-idx3-ubyte.gz",
        tmp_path / "t10k-images-idx3-ubyte.gz",
    )
    with pytest.raises(data.DataFileError, match="t10k-labels-idx1-ubyte holds 9,998 bytes"):
        data.fashion_mnist("test", source="full", root=tmp_path)


def test_wrong_but_readable_full_file_is_rejected(tmp_path):
    raw = bytearray(
        gzip.decompress(
            (data.shipped_path("fashion_mnist") / "t10k-labels-idx1-ubyte.gz").read_bytes()
        )
    )
    raw[8], raw[9] = raw[9], raw[8]  # swap two labels: still a valid IDX file, but wrong data
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(bytes(raw))
    shutil.copyfile(
        data.shipped_path("fashion_mnist") / "t10k-images-idx3-ubyte.gz",
        tmp_path / "t10k-images-idx3-ubyte.gz",
    )
    if raw[8] == raw[9]:
        pytest.skip("the first two labels are equal; the swap changes nothing")
    with pytest.raises(data.DataFileError, match="not the official t10k-labels-idx1-ubyte"):
        data.fashion_mnist("test", source="full", root=tmp_path)


def test_full_set_in_torchvision_layout_and_env_var(tmp_path, monkeypatch):
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for name in data.SAMPLE_FILES["test"]:
        (raw / name.removesuffix(".gz")).write_bytes(
            gzip.decompress((data.shipped_path("fashion_mnist") / name).read_bytes())
        )
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path))
    monkeypatch.setattr(data, "DEBIAN_DIR", str(tmp_path / "absent"))
    test = data.fashion_mnist("test", source="full")
    assert len(test) == 10_000 and test.origin == "full official set"


def test_bad_arguments_are_explained(tmp_path):
    with pytest.raises(ValueError, match="split must be one of 'train', 'val', 'trainval', 'test'"):
        data.fashion_mnist("validation")
    missing = tmp_path / "no" / "such" / "dir"
    for source in ("sample", "full"):
        with pytest.raises(FileNotFoundError, match=rf"root='{missing}' is not a folder"):
            data.fashion_mnist("test", source=source, root=missing)
    with pytest.raises(ValueError, match="source must be 'sample' or 'full'"):
        data.fashion_mnist("train", source="tiny")


@pytest.mark.skipif(not FULL_PRESENT, reason="needs Debian's dataset-fashion-mnist package")
def test_full_set_from_debian_and_sample_rebuild_is_exact(tmp_path):
    full = data.fashion_mnist("trainval", source="full")
    assert len(full) == 60_000
    assert len(data.fashion_mnist("train", source="full")) == 55_000
    root = Path(__file__).resolve().parent.parent
    subprocess.run(
        [sys.executable, str(root / "scripts" / "make_fashion_sample.py"), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    for name, digest in data.SHIPPED_SHA256.items():
        assert hashlib.sha256((tmp_path / name).read_bytes()).hexdigest() == digest, name


def test_dataset_info_denormalizes_and_blanks_per_channel():
    info = data.FASHION_MNIST
    x = data.fashion_mnist("test", transform=data.test_transform())[0][0]
    assert torch.allclose(info.denormalize(x), data.fashion_mnist("test")[0][0], atol=1e-6)
    assert torch.allclose(info.denormalize(info.blank(x)), torch.zeros_like(x), atol=1e-6)
    imagenet = data.imagenet_info()
    assert len(imagenet.classes) == 1000 and imagenet.class_name(1) == "goldfish"
    rgb = torch.zeros(3, 4, 4)
    blank = imagenet.blank(rgb)
    assert torch.allclose(blank[:, 0, 0], -torch.tensor(imagenet.mean) / torch.tensor(imagenet.std))
    with pytest.raises(ValueError, match="these images have 3 channels but the dataset info"):
        info.denormalize(rgb)
    assert info.class_name(12) == "12"


def test_a_non_editable_install_finds_the_shipped_data(tmp_path):
    """Build the wheel, install it with --no-deps into a folder, use it from outside the repo."""
    root = Path(__file__).resolve().parent.parent
    wheels, site = tmp_path / "wheels", tmp_path / "site"
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
    subprocess.run([*build, "-w", str(wheels), str(root)], check=True, capture_output=True)
    (wheel,) = wheels.glob("inception_edu-*.whl")
    install = [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site)]
    subprocess.run([*install, str(wheel)], check=True, capture_output=True)
    script = (
        "import importlib, pkgutil, inception_edu\n"
        "from inception_edu import data\n"
        "print(inception_edu.__file__)\n"
        "print(data.shipped_path('fashion_mnist'))\n"
        "print(len(data.fashion_mnist('test')), len(data.fashion_mnist('train')))\n"
        "for m in pkgutil.walk_packages(inception_edu.__path__, 'inception_edu.'):\n"
        "    if not m.name.endswith('__main__'):\n"
        "        importlib.import_module(m.name)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    package, shipped, sizes = done.stdout.splitlines()
    assert package.startswith(str(site)) and shipped.startswith(str(site))
    assert sizes == "10000 25000"
