import json

import pytest

from inception_edu import experiments
from inception_edu.data import shipped_path
from inception_edu.experiments import EXPERIMENTS, registry
from inception_edu.experiments.__main__ import main


def recorded_files():
    folder = shipped_path("results")
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


@pytest.mark.parametrize("path", recorded_files(), ids=lambda p: p.stem)
def test_every_results_file_has_the_schema_and_the_experiments_current_config(path):
    raw = json.loads(path.read_text())
    assert raw["schema"] == registry.SCHEMA and raw["experiment"] == path.stem
    assert path.stem in EXPERIMENTS, f"{path.name} records an experiment that no longer exists"
    results = experiments.load(path.stem)  # raises if the config changed since the recording
    assert results.config == EXPERIMENTS[path.stem].config
    assert results.command.startswith(f"python -m inception_edu.experiments run {path.stem}")
    assert len(results.runs) >= 3, "a comparison rests on at least three seeds"
    assert results.seeds == list(range(results.config.get("seeds", 3))), "the configured seeds"
    assert len(set(results.seeds)) == len(results.seeds)
    for key in ("commit", "date", "torch", "torchvision", "numpy", "python", "cpu"):
        assert results.provenance[key], key
    metrics = [set(run["metrics"]) for run in results.runs]
    assert all(m == metrics[0] for m in metrics), "every seed reports the same metrics"


def test_every_experiment_names_its_notebook_and_has_a_plain_config():
    assert EXPERIMENTS, "no experiment is registered"
    for exp in EXPERIMENTS.values():
        assert exp.notebook.isdigit() and len(exp.notebook) == 2
        assert json.loads(json.dumps(exp.config)) == exp.config
        assert exp.description


@pytest.fixture
def toy(monkeypatch, tmp_path):
    """A registered toy experiment whose results go to tmp_path."""
    monkeypatch.setattr(registry, "EXPERIMENTS", dict(registry.EXPERIMENTS))

    @registry.experiment("toy", notebook="99", config={"offset": 0.5})
    def toy_run(config, seed):
        """A number that depends on the seed."""
        return {"score": config["offset"] + seed / 10, "curve": [seed, seed + 1]}

    monkeypatch.setattr(registry, "results_path", lambda name: tmp_path / f"{name}.json")
    return registry.EXPERIMENTS["toy"]


def test_record_then_load_round_trips_with_provenance(toy, tmp_path):
    lines = []
    results = registry.record("toy", [0, 1, 2], progress=lines.append)
    assert [run["metrics"]["score"] for run in results.runs] == [0.5, 0.6, 0.7]
    assert len(lines) == 3 and lines[0].startswith("toy seed 0: score=0.5")
    loaded = registry.load("toy")
    assert loaded.values("score") == [0.5, 0.6, 0.7] and loaded.seeds == [0, 1, 2]
    assert loaded.summary("score") == (0.6, 0.5, 0.7)
    assert loaded.command == "python -m inception_edu.experiments run toy --seeds 3"
    assert loaded.provenance["torch_threads"] >= 1
    with pytest.raises(KeyError, match="no metric 'loss'.*curve, score"):
        loaded.values("loss")


def test_a_live_run_must_land_inside_the_recorded_range(toy):
    results = registry.record("toy", [0, 1, 2], progress=lambda line: None)
    assert "inside the 3 recorded seeds' range" in results.check_live(
        {"score": 0.71}, "score", 0.02
    )
    with pytest.raises(
        AssertionError, match=r"outside the recorded seeds' range \[0.5000, 0.7000\]"
    ):
        results.check_live({"score": 0.9}, "score", 0.02)


def test_results_of_an_older_config_are_refused(toy, monkeypatch):
    registry.record("toy", [0, 1, 2], progress=lambda line: None)
    changed = registry.Experiment("toy", "99", {"offset": 0.7}, toy.function, toy.description)
    monkeypatch.setitem(registry.EXPERIMENTS, "toy", changed)
    with pytest.raises(ValueError, match="no longer describe the code. Rerun: python -m"):
        registry.load("toy")


def test_missing_and_corrupt_results_files_say_what_to_run(toy, tmp_path):
    with pytest.raises(
        FileNotFoundError, match="run `python -m inception_edu.experiments run toy`"
    ):
        registry.load("toy")
    (tmp_path / "toy.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        registry.load("toy")
    (tmp_path / "toy.json").write_text('{"schema": "other"}')
    with pytest.raises(ValueError, match="not a results file"):
        registry.load("toy")
    with pytest.raises(KeyError, match="no experiment called 'nope'"):
        registry.get("nope")


def test_command_line_lists_runs_and_refuses_unknown_names(toy, capsys):
    assert main(["list"]) == 0
    assert "99  toy" in capsys.readouterr().out
    assert main(["run", "toy", "--seeds", "0,2"]) == 0
    assert registry.load("toy").seeds == [0, 2]
    assert main(["run", "toy"]) == 0  # the experiment's own count, 3 when its config has none
    assert registry.load("toy").seeds == [0, 1, 2]
    toy.config["seeds"] = 4
    assert main(["run", "toy"]) == 0
    assert registry.load("toy").seeds == [0, 1, 2, 3]
    assert registry.load("toy").command == "python -m inception_edu.experiments run toy --seeds 4"
    assert main(["run", "nope"]) == 2
    assert main(["run", "toy", "--seeds", "x"]) == 2


def test_summary_of_a_metric_with_a_diverged_seed_says_which_seeds(toy):
    results = registry.record("toy", [0, 1, 2], progress=lambda line: None)
    results.runs[1]["metrics"]["score"] = None
    expected = r"'score' has no value in seeds \[1\] \(those runs diverged\)"
    with pytest.raises(ValueError, match=expected):
        results.summary("score")
    with pytest.raises(ValueError, match="diverged"):
        results.check_live({"score": 0.6}, "score", tolerance=0.1)
