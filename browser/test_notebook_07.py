"""Notebook 07 in a real browser: every explorer renders, and every control redraws its figure.

Run with ``make test-browser`` (not part of ``make test``: it needs Chromium, and takes a few
minutes). The notebook runs from a temporary copy in JupyterLab, in headless Chromium; then every
dropdown, slider and toggle of its three explorers is changed ``CHANGES`` times and each change
must bring a new figure, with no error. The latency of each change is printed, never asserted:
``benchmarks/bench_widgets.py --browser`` measures it with more repeats.
"""

from __future__ import annotations

import pytest
from lab_driver import NOTEBOOK, Unavailable, check_available, run_explorers, summary

CHANGES = 3
EXPLORERS = 3  # receptive fields, activations, attributions


def test_every_control_of_every_explorer_redraws_its_figure_in_chromium():
    try:
        check_available()
    except Unavailable as err:
        pytest.skip(f"no browser check: {err}")
    if not NOTEBOOK.exists():
        pytest.skip(f"no browser check: {NOTEBOOK.name} is not in this checkout")
    report = run_explorers(NOTEBOOK, changes=CHANGES, think=0.5)
    print("\n" + summary(report))

    assert report.errors == [], "the notebook or an explorer shows an error"
    assert report.unexecuted == [], "run all stopped before these cells"
    assert report.expected_explorers == EXPLORERS
    assert report.rendered_explorers == [True] * EXPLORERS, "an explorer shows no figure"
    controls = report.per_control()
    assert {explorer for explorer, _ in controls} == set(range(EXPLORERS))
    for (explorer, control), changes in controls.items():
        missed = [c.value for c in changes if c.ms is None or c.error]
        assert not missed, f"explorer {explorer}: {control} → {missed} drew no new figure"
    # A control is left alone only when it has a single choice (one model to pick from).
    assert all(s.endswith("nothing to change to") for s in report.skipped_controls)
