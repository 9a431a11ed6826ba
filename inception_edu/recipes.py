"""The papers' training recipes as named presets, each value with its source.

    recipe = RECIPES["inception-v3"]
    lr = scaled_lr(recipe.base_lr, global_batch=256, base_batch=recipe.base_batch)   # 0.36

A recipe holds what the paper states and, where it is silent, our choice with the reason, so
that a reader can tell the two apart. ``python -m inception_edu.train_cli`` trains with them;
every field is one of its flags.

Learning rate and batch size: a paper gives one learning rate for one batch size. Training on
more GPUs multiplies the global batch, and ``scaled_lr`` multiplies the learning rate by the same
factor (the linear scaling rule of Goyal et al., arXiv 1706.02677 §2.1, who pair it with a gradual
warm-up, §2.2, for large batches: ``warmup_epochs``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

__all__ = [
    "RECIPES",
    "Recipe",
    "default_recipe",
    "input_size",
    "lr_factor",
    "scaled_lr",
]


@dataclass(frozen=True)
class Recipe:
    """A training recipe: optimizer, learning-rate schedule, regularisation and averaging."""

    name: str
    #: Where the values come from (paper, section; reference code for what the paper leaves out).
    source: str
    optimizer: str  # "sgd" (heavy-ball momentum) or "rmsprop"
    #: Learning rate for a global batch of ``base_batch`` images (scaled linearly for others).
    base_lr: float
    base_batch: int
    momentum: float
    #: RMSProp's decay of the squared-gradient average (PyTorch calls it ``alpha``).
    rmsprop_decay: float
    #: RMSProp's ε (unused by SGD).
    eps: float
    weight_decay: float
    #: The learning rate is multiplied by ``lr_decay`` every ``decay_epochs`` epochs (staircase).
    lr_decay: float
    decay_epochs: float
    #: Linear warm-up from 0 over this many epochs (0 = none, as in the papers).
    warmup_epochs: float
    epochs: int
    #: Images per process (per GPU); the global batch is this × the number of processes.
    batch_size: int
    label_smoothing: float
    #: Weight of each auxiliary head's loss (models without aux heads ignore it).
    aux_weight: float
    #: Clip the global L2 norm of the gradients to this value (None = no clipping).
    clip_grad_norm: float | None
    #: Decay of the exponential moving average of the weights, per step (None = no averaging).
    ema_decay: float | None

    def with_overrides(self, **values: Any) -> Recipe:
        """Return a copy with the given fields replaced (None values are ignored)."""
        unknown = sorted(set(values) - set(asdict(self)))
        if unknown:
            raise ValueError(f"Recipe has no field(s) {', '.join(unknown)}")
        return replace(self, **{k: v for k, v in values.items() if v is not None})


# GoogLeNet, arXiv 1409.4842 §6: "asynchronous stochastic gradient descent with 0.9 momentum",
# the learning rate decreased "by 4% every 8 epochs", Polyak averaging "to create the final model
# used at inference time"; §5: auxiliary losses "weighted by 0.3". The paper gives no learning
# rate, batch size, weight decay or length. We take them from BVLC's Caffe replication of GoogLeNet
# (models/bvlc_googlenet: solver.prototxt base_lr 0.01, weight_decay 0.0002, gamma 0.96 every
# 320,000 iterations; train_val.prototxt batch 32, so 320,000 × 32 images ≈ 8 ImageNet epochs,
# the paper's schedule; max_iter 10,000,000 × 32 ≈ 250 epochs). One difference stays: our
# DistributedDataParallel averages the gradients of all GPUs synchronously, every step.
GOOGLENET = Recipe(
    name="googlenet",
    source=(
        "arXiv 1409.4842 §6 (momentum 0.9, lr ×0.96 every 8 epochs, Polyak averaging), §5 "
        "(aux weight 0.3); lr 0.01 at batch 32, weight decay 2e-4 and 250 epochs from BVLC "
        "Caffe's bvlc_googlenet solver (the paper gives none)"
    ),
    optimizer="sgd",
    base_lr=0.01,
    base_batch=32,
    momentum=0.9,
    rmsprop_decay=0.9,  # unused by SGD
    eps=1e-8,  # unused by SGD
    weight_decay=2e-4,
    lr_decay=0.96,
    decay_epochs=8,
    warmup_epochs=0,
    epochs=250,
    batch_size=32,
    label_smoothing=0.0,
    aux_weight=0.3,
    clip_grad_norm=None,
    # Polyak averaging, as an exponential moving average: the paper gives no horizon. 0.9999 per
    # step (a horizon of 10,000 steps, 2 epochs at a global batch of 256) is our choice: the
    # MOVING_AVERAGE_DECAY of Google's Inception-v3 training code (tensorflow/models, inception/).
    ema_decay=0.9999,
)

# Inception-v3, arXiv 1512.00567 §8: RMSProp with decay 0.9 and ε = 1.0, a learning rate of 0.045
# decayed every two epochs by an exponential rate of 0.94, gradient clipping with threshold 2.0,
# batch size 32 (per replica, 50 replicas) for 100 epochs, and "Model evaluations are performed
# using a running average of the parameters computed over time" (horizon ours, 0.9999 per step as
# for GoogLeNet: the MOVING_AVERAGE_DECAY of the same code); §7: label smoothing ε = 0.1. The paper
# gives no auxiliary-loss weight and no weight decay: 0.4 and 4e-5 are those of Google's own
# training code (tensorflow/models: inception/inception/inception_model.py, and TensorFlow-slim's
# research/slim/train_image_classifier.py). The paper states no RMSProp momentum, so 0 (Google's
# code used 0.9: --momentum 0.9), nor which gradient norm it clips: we clip the global L2 norm of
# all gradients. PyTorch's RMSprop adds ε outside the square root, g / (√v + ε), TensorFlow's
# inside, g / √(v + ε): with ε = 1, PyTorch's step is between 1/√2 (at v = 1) and 1 times
# TensorFlow's.
INCEPTION_V3 = Recipe(
    name="inception-v3",
    source=(
        "arXiv 1512.00567 §8 (RMSProp decay 0.9, ε 1.0, lr 0.045 ×0.94 every 2 epochs, clipping "
        "2.0, batch 32, 100 epochs, running average of the parameters), §7 (label smoothing 0.1); "
        "aux weight 0.4 and weight decay 4e-5 from Google's TensorFlow training code (the paper "
        "gives neither)"
    ),
    optimizer="rmsprop",
    base_lr=0.045,
    base_batch=32,
    momentum=0.0,
    rmsprop_decay=0.9,
    eps=1.0,
    weight_decay=4e-5,
    lr_decay=0.94,
    decay_epochs=2,
    warmup_epochs=0,
    epochs=100,
    batch_size=32,
    label_smoothing=0.1,
    aux_weight=0.4,
    clip_grad_norm=2.0,
    ema_decay=0.9999,  # the running average of §8; the horizon is our choice
)

# Inception-v4 and Inception-ResNet, arXiv 1602.07261 §4: RMSProp with decay 0.9 and ε = 1.0, a
# learning rate of 0.045 decayed every two epochs by 0.94, and evaluation with a running average of
# the parameters. The paper gives no batch size, epochs, weight decay, label smoothing or
# clipping: we keep Inception-v3's batch 32, 100 epochs and label smoothing 0.1 (the same
# authors' previous recipe, 1512.00567 §7-8) and slim's weight decay 4e-5; no clipping.
INCEPTION_V4 = Recipe(
    name="inception-v4",
    source=(
        "arXiv 1602.07261 §4 (RMSProp decay 0.9, ε 1.0, lr 0.045 ×0.94 every 2 epochs, running "
        "average of the parameters); batch 32, 100 epochs and label smoothing 0.1 from "
        "Inception-v3's recipe, weight decay 4e-5 from TensorFlow-slim (the paper gives none)"
    ),
    optimizer="rmsprop",
    base_lr=0.045,
    base_batch=32,
    momentum=0.0,
    rmsprop_decay=0.9,
    eps=1.0,
    weight_decay=4e-5,
    lr_decay=0.94,
    decay_epochs=2,
    warmup_epochs=0,
    epochs=100,
    batch_size=32,
    label_smoothing=0.1,
    aux_weight=0.0,  # Inception-v4 and Inception-ResNet have no auxiliary heads here
    clip_grad_norm=None,
    ema_decay=0.9999,  # the running average of §4; the horizon is our choice, as for GoogLeNet
)

#: The presets by name.
RECIPES: dict[str, Recipe] = {r.name: r for r in (GOOGLENET, INCEPTION_V3, INCEPTION_V4)}

# The paper that introduced each family, for the default recipe of a model.
_FAMILY_RECIPE = {
    "naive": "googlenet",
    "googlenet": "googlenet",
    "inception_v3": "inception-v3",
    "inception_v4": "inception-v4",
    "inception_resnet": "inception-v4",
}


def default_recipe(model_name: str) -> str:
    """Return the name of the recipe of the paper that introduced ``model_name``."""
    for prefix, recipe in _FAMILY_RECIPE.items():
        if model_name.startswith(prefix):
            return recipe
    raise ValueError(f"no default recipe for {model_name!r}: pass --recipe ({', '.join(RECIPES)})")


def input_size(model_name: str) -> int:
    """Return the side of the images the model was designed for: 224, 299, or 28 for ``*_small``."""
    if model_name.endswith("_small"):
        return 28
    return 224 if model_name == "googlenet" else 299


def scaled_lr(base_lr: float, global_batch: int, base_batch: int) -> float:
    """Return ``base_lr × global_batch / base_batch``: the linear scaling rule."""
    if global_batch < 1 or base_batch < 1:
        raise ValueError(
            f"batch sizes must be ≥ 1, got global batch {global_batch}, base batch {base_batch}"
        )
    return base_lr * global_batch / base_batch


def lr_factor(step: int, decay_steps: int, lr_decay: float, warmup_steps: int = 0) -> float:
    """Return the learning-rate multiplier at ``step``: linear warm-up × staircase decay.

    The rate is multiplied by ``lr_decay`` after every ``decay_steps`` optimizer steps, and ramps
    up linearly over the first ``warmup_steps`` (a factor of 1/warmup_steps at step 0).
    """
    warmup = min(1.0, (step + 1) / warmup_steps) if warmup_steps > 0 else 1.0
    return warmup * lr_decay ** (step // max(1, decay_steps))
