"""Fixtures shared by the test modules, and the thread count of parallel test workers."""

import os

import pytest
import torch

from inception_edu import data


def pytest_configure(config):
    """Give each pytest-xdist worker its share of the cores (``make test`` runs several workers)."""
    workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if workers:
        # Workers that each start a thread per core would queue for the same cores.
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // int(workers)))


@pytest.fixture(scope="module")
def one_thread():
    """Run a module's tests on one thread: a pass over a few small images gains nothing from two."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def close_figures():
    """Close every matplotlib figure a test opened."""
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.fixture(scope="session")
def test_set():
    """The 10,000 shipped Fashion-MNIST test images, normalized."""
    return data.fashion_mnist("test", transform=data.test_transform())
