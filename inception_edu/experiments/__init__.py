"""The course's seeded experiments: each a function of a config and a seed, results recorded.

``python -m inception_edu.experiments list`` lists them; ``run NAME --seeds 5`` records five seeds
in ``data/results/NAME.json``; ``load(NAME)`` reads them back in a notebook. See ``registry``.
The experiments themselves live in this package's ``nbNN_*.py`` modules, one per notebook, and
register themselves when imported; importing the package imports them all.
"""

import importlib
import pkgutil

from .registry import EXPERIMENTS, Experiment, Results, experiment, get, load, record
from .training import train_run

__all__ = [
    "EXPERIMENTS",
    "Experiment",
    "Results",
    "experiment",
    "get",
    "load",
    "record",
    "train_run",
]

for _module in pkgutil.iter_modules(__path__):
    if _module.name.startswith("nb"):
        importlib.import_module(f"{__name__}.{_module.name}")
