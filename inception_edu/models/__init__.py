"""Every network of the three Inception papers, built from blocks named as the papers name them.

=========================  =================================================================
file                       contents
=========================  =================================================================
``basic.py``               ``BasicConv2d`` (conv → BN → ReLU), the ``scaled`` width rule
``naive.py``               the naive module (GoogLeNet Fig. 2a) and a small network of it
``googlenet.py``           Inception-v1: the module with reductions, aux heads, ``GoogLeNet``
``inception_v3.py``        Inception-v3 blocks (A/B/C, Reduction-A/B, aux head), ``InceptionV3``
``inception_v4.py``        Inception-v4 stem, A/B/C, Reduction-A/B and ``InceptionV4``
``inception_resnet.py``    Inception-ResNet A/B/C (``scale``), Reduction-B, v1 and v2
``small_stem.py``          the light 3×3 stem of the 1×28×28 configurations
``network.py``             ``Network``: checked input, ``forward_features``/``forward_head`` (timm)
``input_checks.py``        early, explanatory errors for inputs a network cannot take
``torchvision_weights.py`` torchvision's ImageNet weights and ``transform_input``
``registry.py``            ``create_model(name)`` and ``MODEL_NAMES``
=========================  =================================================================
"""

from .basic import BasicConv2d, scaled
from .googlenet import (
    TABLE_1,
    GoogLeNet,
    GoogLeNetAux,
    GoogLeNetOutputs,
    Inception,
    googlenet,
    googlenet_small,
)
from .inception_resnet import (
    InceptionResNetA,
    InceptionResNetB,
    InceptionResNetC,
    InceptionResNetReductionB,
    InceptionResNetV1,
    InceptionResNetV2,
    InceptionResNetV2StemBlock,
    inception_resnet_v1,
    inception_resnet_v1_small,
    inception_resnet_v2,
    inception_resnet_v2_small,
)
from .inception_v3 import (
    InceptionOutputs,
    InceptionV3,
    InceptionV3A,
    InceptionV3Aux,
    InceptionV3B,
    InceptionV3C,
    InceptionV3ReductionA,
    InceptionV3ReductionB,
    inception_v3,
    inception_v3_small,
)
from .inception_v4 import (
    REDUCTION_A,
    InceptionV4,
    InceptionV4A,
    InceptionV4B,
    InceptionV4C,
    InceptionV4ReductionB,
    InceptionV4Stem,
    ReductionA,
    inception_v4,
    inception_v4_small,
)
from .input_checks import InputLimits
from .naive import NaiveInception, NaiveInceptionNet, naive_small
from .network import Network
from .registry import MODEL_NAMES, create_model
from .small_stem import STEM_TYPES, SmallStem
from .torchvision_weights import MODELS_WITH_WEIGHTS, transform_input

__all__ = [
    "MODELS_WITH_WEIGHTS",
    "MODEL_NAMES",
    "REDUCTION_A",
    "STEM_TYPES",
    "TABLE_1",
    "BasicConv2d",
    "GoogLeNet",
    "GoogLeNetAux",
    "GoogLeNetOutputs",
    "Inception",
    "InceptionOutputs",
    "InceptionResNetA",
    "InceptionResNetB",
    "InceptionResNetC",
    "InceptionResNetReductionB",
    "InceptionResNetV1",
    "InceptionResNetV2",
    "InceptionResNetV2StemBlock",
    "InceptionV3",
    "InceptionV3A",
    "InceptionV3Aux",
    "InceptionV3B",
    "InceptionV3C",
    "InceptionV3ReductionA",
    "InceptionV3ReductionB",
    "InceptionV4",
    "InceptionV4A",
    "InceptionV4B",
    "InceptionV4C",
    "InceptionV4ReductionB",
    "InceptionV4Stem",
    "InputLimits",
    "Network",
    "NaiveInception",
    "NaiveInceptionNet",
    "ReductionA",
    "SmallStem",
    "create_model",
    "googlenet",
    "googlenet_small",
    "inception_resnet_v1",
    "inception_resnet_v1_small",
    "inception_resnet_v2",
    "inception_resnet_v2_small",
    "inception_v3",
    "inception_v3_small",
    "inception_v4",
    "inception_v4_small",
    "naive_small",
    "scaled",
    "transform_input",
]
