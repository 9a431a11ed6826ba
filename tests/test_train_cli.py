"""Tests of ``python -m inception_edu.train_cli`` and its recipes (``inception_edu.recipes``).

The runs train small models for a few steps on a tiny ImageFolder of real Fashion-MNIST images,
in this process (``train_cli.run``) and, for the distributed test, in two processes started by
torchrun on the gloo backend.
"""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import pytest
import torch
from PIL import Image

from inception_edu import checkpoints, data, train_cli
from inception_edu.recipes import RECIPES, default_recipe, input_size, lr_factor, scaled_lr
from inception_edu.train_cli import TrainCliError, UnreadableImageWarning

pytestmark = pytest.mark.usefixtures("one_thread")

REPO = Path(__file__).resolve().parent.parent
CLASSES = (0, 1, 7)  # T-shirt/top, Trouser, Sneaker


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """An ImageFolder of Fashion-MNIST PNGs, 3 classes: 40 images each in train/, 8 in val/."""
    root = tmp_path_factory.mktemp("fashion_folder")
    for split, source, count in (("train", "train", 40), ("val", "test", 8)):
        images = data.fashion_mnist(source)
        for label in CLASSES:
            target = root / split / data.CLASSES[label].replace("/", "-")
            target.mkdir(parents=True)
            for index in (images.targets == label).nonzero().flatten()[:count].tolist():
                Image.fromarray(images.images[index].numpy()).save(target / f"{index}.png")
    return root


def train(out: Path, *flags: str) -> dict:
    """Run train_cli in this process, on the CPU, with ``flags``; return its metrics."""
    base = ["--out", str(out), "--workers", "0", "--no-progress", "--cpu"]
    return train_cli.run([*base, *map(str, flags)])


def log(out: Path, name: str = "log.csv") -> list[dict[str, str]]:
    with open(out / name, newline="") as f:
        return list(csv.DictReader(f))


# --- distributed training equals single-process training ---------------------------------------


def test_two_processes_keep_identical_weights_and_the_loss_curve_of_one_process(folder, tmp_path):
    """torchrun, 2 processes × 20 images, against 1 process × 40 images: the same global batch.

    Exact comparison needs a network without BatchNorm: each process would normalise with the
    statistics of its own 20 images, one process with those of all 40 (SyncBatchNorm would fix
    that, but it does not run on CPUs). GoogLeNet without BatchNorm is the paper's own network.
    Dropout is off too: its masks are drawn per process. In float64 the only difference left is
    the order of the sums (2 × 20 images then an all-reduce, or 40 at once): measured 4e-16 on the
    losses. In float32 the training steps amplify that rounding: a trial run at the same learning
    rate drifted apart by 6e-4 after 10 steps.
    """
    common = [
        "--data", folder, "--model", "googlenet_small", "--model-arg", "batch_norm=false",
        "--model-arg", "dropout=0", "--recipe", "googlenet", "--lr", "0.04", "--ema-decay", "0",
        "--color-jitter", "0.4", "--dtype", "float64", "--steps", "4", "--log-every", "1",
    ]  # fmt: skip
    # 120 images and a global batch of 40: 3 steps per epoch, so step 4 starts a new shuffle.
    two = tmp_path / "two"
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        "-m", "inception_edu.train_cli", *map(str, common), "--batch-size", "20", "--out", str(two),
        "--workers", "0", "--no-progress", "--cpu",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    one = train(tmp_path / "one", *common, "--batch-size", "40")

    with open(two / "metrics.json") as f:
        metrics = json.load(f)
    assert (metrics["world_size"], metrics["global_batch"]) == (2, 40)
    assert (one["world_size"], one["global_batch"]) == (1, 40)
    assert metrics["lr"] == one["lr"] == pytest.approx(0.04 * 40 / 32)
    # Rank 1's parameters against rank 0's, after the last step: DDP keeps them equal.
    assert metrics["max_parameter_difference_between_ranks"] == 0.0

    losses_two = [float(row["loss"]) for row in log(two)]
    losses_one = [float(row["loss"]) for row in log(tmp_path / "one")]
    assert len(losses_one) == len(losses_two) == 4
    loss_gap = max(abs(a - b) for a, b in zip(losses_one, losses_two, strict=True))
    ours, theirs = (checkpoints.read(p / "final.pt").state_dict for p in (tmp_path / "one", two))
    weight_gap = max((ours[k] - theirs[k]).abs().max().item() for k in ours)
    # Shown with `pytest -s`: the numbers the README quotes.
    print(
        f"2 processes × 20 vs 1 × 40, 4 steps in float64: losses differ by at most "
        f"{loss_gap:.1e}, final weights by at most {weight_gap:.1e}"
    )
    assert loss_gap < 1e-9 and weight_gap < 1e-9


# --- resume -------------------------------------------------------------------------------------


# Everything that carries state is on: RMSProp, gradient clipping, label smoothing, dropout,
# BatchNorm statistics, weight averaging, random crops, flips and colour jitter. 120 images in
# batches of 24: 5 steps per epoch.
STATEFUL = [
    "--model", "naive_small", "--model-arg", "in_channels=3", "--recipe", "inception-v3",
    "--batch-size", "24", "--ema-decay", "0.9", "--color-jitter", "0.4", "--log-every", "1",
]  # fmt: skip


def test_a_resumed_run_repeats_the_uninterrupted_run_exactly(folder, tmp_path):
    """A run cut after step 6, whose last checkpoint is at step 4, resumed to step 7.

    The resumed run skips the 4 batches of the epoch already seen and then crosses into a new
    epoch.
    """
    common = ["--data", folder, *STATEFUL, "--checkpoint-every", "4"]
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    train(whole, *common, "--steps", "7")
    train(cut, *common, "--steps", "6")
    assert checkpoints.read(cut / "checkpoint.pt").extra["step"] == 4
    assert len(log(cut)) == 6  # what a run killed after step 6 leaves behind
    digest, name = (cut / "checkpoint.pt.sha256").read_text().split()
    assert (digest, name) == (checkpoints.file_sha256(cut / "checkpoint.pt"), "checkpoint.pt")

    train(cut, *common, "--steps", "7", "--resume", cut / "checkpoint.pt")
    assert [row["step"] for row in log(cut)] == [str(step) for step in range(1, 8)]
    assert log(cut) == log(whole)  # every digit of every loss, accuracy and lr
    assert log(cut, "eval.csv") == log(whole, "eval.csv")
    for name in ("final.pt", "final_ema.pt"):
        ours, theirs = checkpoints.read(cut / name), checkpoints.read(whole / name)
        assert all(torch.equal(ours.state_dict[k], theirs.state_dict[k]) for k in ours.state_dict)

    # A checkpoint that no longer matches the sha256 written beside it is refused.
    with open(whole / "checkpoint.pt", "r+b") as file:
        file.seek(-1, os.SEEK_END)
        last = file.read(1)
        file.seek(-1, os.SEEK_END)
        file.write(bytes([last[0] ^ 0xFF]))
    with pytest.raises(TrainCliError, match=r"checkpoint.pt has sha256 .* was expected"):
        train(tmp_path / "again", *common, "--steps", "7", "--resume", whole / "checkpoint.pt")


def test_a_run_killed_mid_epoch_loses_only_the_steps_since_its_last_checkpoint(folder, tmp_path):
    """SIGKILL, not a clean stop: the process dies wherever it is, perhaps while saving.

    Killed once it has logged a step past its first checkpoint (every 3 steps) that does not end
    an epoch (5 steps), then resumed in this process: the log is that of an uninterrupted run.
    """
    common = ["--data", folder, *STATEFUL, "--checkpoint-every", "3"]
    killed = tmp_path / "killed"
    command = [
        sys.executable, "-m", "inception_edu.train_cli", *map(str, common), "--steps", "1000",
        "--out", str(killed), "--workers", "0", "--no-progress", "--cpu",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(command, cwd=REPO, env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        while not _logged_mid_epoch_after_a_checkpoint(killed):
            assert process.poll() is None, f"the run ended by itself: {process.stderr.read()}"
            assert time.monotonic() < deadline, "no checkpoint within 300 s"
            time.sleep(0.005)
    finally:
        process.kill()
        process.communicate()
    saved = checkpoints.read(killed / "checkpoint.pt").extra["step"]
    logged = len(log(killed))
    assert saved % 3 == 0 and saved <= logged

    steps = logged + 2  # past the step the kill interrupted
    train(killed, *common, "--steps", steps, "--resume", killed / "checkpoint.pt")
    train(tmp_path / "whole", *common, "--steps", steps)
    assert [row["step"] for row in log(killed)] == [str(step) for step in range(1, steps + 1)]
    assert log(killed) == log(tmp_path / "whole")


def _logged_mid_epoch_after_a_checkpoint(out: Path) -> bool:
    if not (out / "checkpoint.pt.sha256").is_file():
        return False
    lines = (out / "log.csv").read_text().count("\n") - 1  # rows written so far, header aside
    return lines > 3 and lines % 5 != 0


@pytest.mark.parametrize(
    ("dies_before", "resumes_at"),
    [("checkpoint.pt", 3), ("checkpoint.pt.sha256", 6)],
    ids=["before-the-new-checkpoint", "before-its-sha256"],
)
def test_a_run_killed_while_saving_resumes_from_a_checkpoint_its_sha256_vouches_for(
    folder, tmp_path, monkeypatch, dies_before, resumes_at
):
    """The second save (step 6) dies just before it replaces the old checkpoint, or between
    replacing the checkpoint and replacing its sha256: the two moments a kill could leave a
    checkpoint and a sha256 that disagree."""
    common = ["--data", folder, *STATEFUL, "--checkpoint-every", "3"]
    run = tmp_path / "run"
    replace, saves = os.replace, []

    def killed_on_the_second_save(source, target):
        if Path(target).name == dies_before:
            saves.append(target)
            if len(saves) == 2:
                raise KeyboardInterrupt  # nothing after this line of the save happens
        replace(source, target)

    with monkeypatch.context() as patched, pytest.raises(KeyboardInterrupt):
        patched.setattr(os, "replace", killed_on_the_second_save)
        train(run, *common, "--steps", "7")

    assert checkpoints.read(run / "checkpoint.pt").extra["step"] == resumes_at
    train(run, *common, "--steps", "7", "--resume", run / "checkpoint.pt")
    train(tmp_path / "whole", *common, "--steps", "7")
    assert log(run) == log(tmp_path / "whole")


def test_each_epoch_is_shuffled_anew_and_a_resumed_epoch_skips_the_seen_images():
    def order(epoch, skip=0, rank=0):
        shuffled = torch.utils.data.DistributedSampler(range(40), 2, rank, seed=3, drop_last=True)
        sampler = train_cli._SkippingSampler(shuffled)
        sampler.set_epoch(epoch, skip=skip)
        return list(sampler)

    first, second = order(0), order(1)
    assert first != second and order(1) == second  # set_epoch reached the seeded shuffle
    assert order(1, skip=5) == second[5:]
    assert sorted(order(1) + order(1, rank=1)) == list(range(40))  # the ranks share the images


def test_evaluation_resizes_to_size_over_0_875_then_keeps_the_centre():
    image = Image.new("RGB", (400, 300), "black")
    image.paste((255, 255, 255), (180, 130, 220, 170))  # a white square at the centre
    image.paste((255, 0, 0), (0, 0, 60, 300))  # a red band along the left edge
    x = train_cli.eval_transform(299, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))(image)
    # 300 px high → 342 (= 299 / 0.875), so 400 → 456 wide; the centre crop drops 78 px a side,
    # more than the red band's 60 × 342/300 = 68 px.
    assert x.shape == (3, 299, 299)
    assert torch.allclose(x[:, 149, 149], torch.ones(3), atol=0.01)
    assert float((x[0] - x[1]).max()) < 0.05  # no red pixel left: the band was cropped away
    tall = train_cli.eval_transform(28, (0.5,), (0.5,))(Image.new("L", (20, 60), 255))
    assert tall.shape == (1, 28, 28) and torch.allclose(tall, torch.ones(1, 28, 28))


# --- recipes ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("recipe", "model", "extra"),
    [
        ("googlenet", "googlenet_small", ["--model-arg", "aux_logits=true"]),
        ("inception-v3", "inception_v3_small", ["--model-arg", "aux_logits=true"]),
        ("inception-v4", "inception_v4_small", []),
    ],
)
def test_a_dry_run_of_each_recipe_trains_saves_and_reloads(folder, tmp_path, recipe, model, extra):
    out = tmp_path / recipe
    metrics = train(out, "--data", folder, "--model", model, "--recipe", recipe, "--steps", 2,
                    "--batch-size", 8, "--log-every", 1, *extra)  # fmt: skip
    preset = RECIPES[recipe]
    config = json.loads((out / "config.json").read_text())
    expected = {**asdict(preset), "batch_size": 8}  # --batch-size replaced the recipe's 32
    for field, value in expected.items():
        assert config[{"name": "recipe", "source": "recipe_source"}.get(field, field)] == value
    assert config["lr"] == pytest.approx(preset.base_lr * 8 / preset.base_batch)
    assert config["image_size"] == 28 and config["classes"] == ["Sneaker", "T-shirt-top", "Trouser"]

    rows = log(out)
    assert [row["step"] for row in rows] == ["1", "2"]
    assert all(math.isfinite(float(row["loss"])) for row in rows)
    assert all(float(row["lr"]) == pytest.approx(config["lr"]) for row in rows)
    assert metrics["eval"]["images"] == 24 and metrics["eval_split"] == "val"

    trained = checkpoints.load(out / "final.pt", sha256=metrics["final_sha256"])
    assert trained(torch.zeros(2, 3, 28, 28)).shape == (2, 3)
    assert (out / "final_ema.pt").exists() == (preset.ema_decay is not None)


def test_the_learning_rate_scales_with_the_batch_warms_up_and_decays_in_steps(folder, tmp_path):
    # 120 images in batches of 12: 10 steps per epoch; decay every 0.2 epoch = 2 steps, warm-up 3.
    # --grayscale reads the folder as one channel, which naive_small expects by default.
    train(tmp_path, "--data", folder, "--model", "naive_small", "--grayscale",
          "--recipe", "inception-v3", "--batch-size", 12, "--decay-epochs", 0.2,
          "--warmup-epochs", 0.3, "--steps", 6, "--log-every", 1)  # fmt: skip
    lrs = [float(row["lr"]) for row in log(tmp_path)]
    expected = [0.045 * 12 / 32 * min(1, (s + 1) / 3) * 0.94 ** (s // 2) for s in range(6)]
    assert lrs == pytest.approx(expected, rel=1e-12)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["channels"] == config["model_arguments"]["in_channels"] == 1


# What each paper states, written out here rather than read from the presets.
PAPER_VALUES = {
    # arXiv 1409.4842 §6 (momentum, 4 % every 8 epochs, Polyak averaging), §5 (aux weight 0.3)
    "googlenet": {"optimizer": "sgd", "momentum": 0.9, "lr_decay": 0.96, "decay_epochs": 8,
                  "aux_weight": 0.3},
    # arXiv 1512.00567 §8 (RMSProp, lr, decay, clipping, batch, epochs, averaging), §7 (smoothing)
    "inception-v3": {"optimizer": "rmsprop", "rmsprop_decay": 0.9, "eps": 1.0, "base_lr": 0.045,
                     "base_batch": 32, "lr_decay": 0.94, "decay_epochs": 2, "clip_grad_norm": 2.0,
                     "batch_size": 32, "epochs": 100, "label_smoothing": 0.1},
    # arXiv 1602.07261 §4 (RMSProp, lr, decay, averaging)
    "inception-v4": {"optimizer": "rmsprop", "rmsprop_decay": 0.9, "eps": 1.0, "base_lr": 0.045,
                     "lr_decay": 0.94, "decay_epochs": 2},
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(PAPER_VALUES))
def test_each_recipe_holds_its_papers_values_and_they_reach_the_optimizer(name):
    recipe = RECIPES[name]
    assert {field: getattr(recipe, field) for field in PAPER_VALUES[name]} == PAPER_VALUES[name]
    assert recipe.ema_decay is not None  # all three papers evaluate an average of the weights
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    optimizer = train_cli._optimizer(model, recipe, lr=0.01)
    weights, others = optimizer.param_groups
    assert [p.ndim for p in weights["params"]] == [4] and len(others["params"]) == 3
    assert (weights["weight_decay"], others["weight_decay"]) == (recipe.weight_decay, 0.0)
    if recipe.optimizer == "sgd":
        assert isinstance(optimizer, torch.optim.SGD) and weights["momentum"] == recipe.momentum
    else:
        assert isinstance(optimizer, torch.optim.RMSprop)
        assert (weights["alpha"], weights["eps"]) == (recipe.rmsprop_decay, recipe.eps)


def test_recipe_helpers():
    assert scaled_lr(0.045, global_batch=256, base_batch=32) == pytest.approx(0.36)
    assert [lr_factor(s, decay_steps=2, lr_decay=0.94) for s in (0, 1, 2, 5)] == pytest.approx(
        [1, 1, 0.94, 0.94**2]
    )
    assert [default_recipe(m) for m in ("naive_small", "googlenet", "inception_v3_small")] == [
        "googlenet", "googlenet", "inception-v3",
    ]  # fmt: skip
    assert default_recipe("inception_resnet_v2") == "inception-v4"
    assert [input_size(m) for m in ("googlenet", "inception_v4", "googlenet_small")] == [
        224,
        299,
        28,
    ]
    with pytest.raises(ValueError, match="batch sizes must be ≥ 1"):
        scaled_lr(0.1, global_batch=0, base_batch=32)
    with pytest.raises(ValueError, match="no field"):
        RECIPES["googlenet"].with_overrides(learning_rate=0.1)


def test_fashion_mnist_trains_at_28_px_on_one_channel(tmp_path):
    metrics = train(tmp_path, "--data", "fashion-mnist", "--model", "naive_small", "--steps", 2,
                    "--batch-size", 32, "--augment", "light", "--eval-images", 64)  # fmt: skip
    config = json.loads((tmp_path / "config.json").read_text())
    assert (config["channels"], config["image_size"], config["recipe"]) == (1, 28, "googlenet")
    assert config["classes"] == list(data.CLASSES)
    assert config["train_images"] == len(data.fashion_mnist("train"))
    assert (metrics["eval_split"], metrics["eval"]["images"]) == ("val", 64)


# --- bad input ----------------------------------------------------------------------------------


def test_an_image_that_does_not_decode_is_skipped_with_a_warning(folder, tmp_path):
    root = tmp_path / "data"
    for split, count in (("train", 4), ("val", 4)):
        for name in ("Trouser", "Sneaker"):
            (root / split / name).mkdir(parents=True)
            for image in sorted((folder / split / name).iterdir())[:count]:
                (root / split / name / image.name).write_bytes(image.read_bytes())
    (root / "train" / "Trouser" / "not_an_image.png").write_bytes(b"this is not a PNG file")
    whole = sorted((root / "val" / "Sneaker").iterdir())[0].read_bytes()
    (root / "val" / "Sneaker" / "cut_short.png").write_bytes(whole[: len(whole) // 2])

    # 9 training files in batches of 3: one epoch reads every one of them.
    flags = ["--model", "naive_small", "--model-arg", "in_channels=3", "--batch-size", 3]
    with pytest.warns(UnreadableImageWarning) as caught:
        metrics = train(tmp_path / "run", "--data", root, *flags, "--epochs", 1)
    messages = " ".join(str(w.message) for w in caught)
    assert "not_an_image.png" in messages and "cut_short.png" in messages
    assert metrics["skipped_train_images"] == 1
    assert (metrics["eval"]["skipped"], metrics["eval"]["images"]) == (1, 8)
    assert metrics["step"] == 3 and math.isfinite(metrics["train"]["loss"])


def test_a_missing_or_badly_laid_out_data_folder_says_what_layout_is_expected(folder, tmp_path):
    flags = ("--model", "naive_small")
    with pytest.raises(TrainCliError, match="no such folder.*DIR/train/<class>/<image>"):
        train(tmp_path / "a", "--data", tmp_path / "nowhere", *flags)
    (tmp_path / "flat").mkdir()
    with pytest.raises(TrainCliError, match="has no train/ folder"):
        train(tmp_path / "b", "--data", tmp_path / "flat", *flags)
    (tmp_path / "empty" / "train").mkdir(parents=True)
    with pytest.raises(TrainCliError, match="empty/train: .*Lay the data out as DIR/train/<class>"):
        train(tmp_path / "c", "--data", tmp_path / "empty", *flags)


def test_a_folder_with_one_class_or_different_val_classes_is_refused(folder, tmp_path):
    one = tmp_path / "one" / "train" / "Trouser"
    one.mkdir(parents=True)
    (one / "a.png").write_bytes((next((folder / "train" / "Trouser").iterdir())).read_bytes())
    with pytest.raises(TrainCliError, match=r"one class folder \(Trouser\).*at least two"):
        train(tmp_path / "a", "--data", tmp_path / "one", "--model", "naive_small")
    mixed = tmp_path / "mixed"
    for split, names in (("train", ("Trouser", "Sneaker")), ("val", ("Trouser", "Bag"))):
        for name in names:
            (mixed / split / name).mkdir(parents=True)
            (mixed / split / name / "a.png").write_bytes(one.joinpath("a.png").read_bytes())
    with pytest.raises(TrainCliError, match="both need the same class folders"):
        train(tmp_path / "b", "--data", mixed, "--model", "naive_small")


def test_images_too_small_for_a_full_size_model_are_refused_before_training(folder, tmp_path):
    expected = r"inception_v3 needs training images of at least 299×299 pixels \(its auxiliary head"
    with pytest.raises(TrainCliError, match=expected + ".*28×28.*--image-size 299"):
        train(tmp_path, "--data", folder, "--model", "inception_v3", "--image-size", 28)
    assert not (tmp_path / "config.json").exists()


def test_resuming_from_another_model_or_other_settings_is_refused(folder, tmp_path):
    base = ["--data", folder, "--model", "naive_small", "--model-arg", "in_channels=3",
            "--batch-size", 8]  # fmt: skip
    train(tmp_path / "naive", *base, "--steps", 1)
    saved = tmp_path / "naive" / "final.pt"
    with pytest.raises(
        TrainCliError, match="holds a naive_small .* but this run trains a googlenet_small"
    ):
        train(tmp_path / "other", "--data", folder, "--model", "googlenet_small",
              "--model-arg", "in_channels=3", "--resume", saved)  # fmt: skip
    with pytest.raises(
        TrainCliError, match=r"cannot continue exactly.*base_lr: 0.01 in the checkpoint, 0.02 now"
    ):
        train(tmp_path / "naive", *base, "--lr", 0.02, "--resume", saved)
    bare = tmp_path / "bare.pt"
    checkpoints.save(checkpoints.load(saved), bare)
    with pytest.raises(TrainCliError, match="no training state"):
        train(tmp_path / "naive", *base, "--resume", bare)
    with pytest.raises(TrainCliError, match="no such file"):
        train(tmp_path / "naive", *base, "--resume", tmp_path / "missing.pt")
    with pytest.raises(TrainCliError, match="already holds a run.*--resume"):
        train(tmp_path / "naive", *base)


def test_model_arguments_that_contradict_the_data_or_the_model_are_refused(folder, tmp_path):
    with pytest.raises(TrainCliError, match="in_channels=1 contradicts the data"):
        train(tmp_path, "--data", folder, "--model", "naive_small", "--model-arg", "in_channels=1")
    with pytest.raises(TrainCliError, match="create_model\\('naive_small'\\) says"):
        train(tmp_path, "--data", folder, "--model", "naive_small", "--model-arg", "widht=2")
    with pytest.raises(TrainCliError, match="expected KEY=VALUE"):
        train(tmp_path, "--data", folder, "--model", "naive_small", "--model-arg", "aux_logits")
    with pytest.raises(TrainCliError, match="fewer than one global batch of 500"):
        train(tmp_path, "--data", folder, "--model", "naive_small", "--batch-size", 500)


def test_gpu_only_options_are_refused_on_the_cpu(folder, tmp_path):
    with pytest.raises(TrainCliError, match="SyncBatchNorm does not run on the CPU"):
        train(tmp_path, "--data", folder, "--model", "naive_small", "--sync-bn")
    with pytest.raises(TrainCliError, match="--amp fp16 needs a GPU"):
        train(tmp_path, "--data", folder, "--model", "naive_small", "--amp", "fp16")


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--batch-size", "0"], "--batch-size: expected a whole number ≥ 1, got '0'"),
        (["--label-smoothing", "1"], "--label-smoothing: expected a number in [0, 1), got 1"),
        (["--lr", "-0.1"], "--lr: expected a number > 0, got -0.1"),
        (["--lr-decay", "nan"], "--lr-decay: expected a finite number, got 'nan'"),
        (["--model", "inception_v5"], "--model: invalid choice: 'inception_v5'"),
    ],
)
def test_bad_flag_values_stop_with_a_usage_message(capsys, flags, message):
    argv = ["--data", "fashion-mnist", "--model", "naive_small", *flags]
    with pytest.raises(SystemExit) as stopped:
        train_cli.run(argv)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert message in err, err


def test_tensorboard_is_optional(folder, tmp_path):
    flags = ["--data", folder, "--model", "naive_small", "--model-arg", "in_channels=3",
             "--batch-size", 8, "--steps", 1, "--tensorboard"]  # fmt: skip
    try:
        import torch.utils.tensorboard  # noqa: F401
    except ImportError:
        with pytest.raises(TrainCliError, match="pip install tensorboard"):
            train(tmp_path, *flags)
    else:
        train(tmp_path, *flags)
        assert any((tmp_path / "tensorboard").iterdir())


def test_main_prints_the_error_and_returns_2(capsys, tmp_path):
    assert train_cli.main(["--data", str(tmp_path / "nowhere"), "--model", "naive_small"]) == 2
    assert capsys.readouterr().err.startswith(f"error: --data {tmp_path / 'nowhere'}: no such")
