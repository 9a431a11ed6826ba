"""inception-edu: rebuild the Inception family of CNNs step by step.

Import the parts you need: ``from inception_edu import cost, data, train, models``.
"""

__version__ = "0.1.0"
