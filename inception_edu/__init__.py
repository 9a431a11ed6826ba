"""inception-edu: rebuild the Inception family of CNNs step by step.

Import the parts you need: ``from inception_edu import cost, data, train, models``.
"""

__version__ = "0.1.0"


def versions() -> str:
    """Return one line with the versions in use: the course, Python, torch, torchvision, widgets."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    parts = [f"inception_edu {__version__}", f"Python {platform.python_version()}"]
    for package in ("torch", "torchvision", "numpy", "ipywidgets", "captum"):
        try:
            parts.append(f"{package} {version(package)}")
        except PackageNotFoundError:
            parts.append(f"{package} missing")
    return " · ".join(parts)
