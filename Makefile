# `make lab` and `make test` are the whole set-up: both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Notebook kernels must start from this environment's Python.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: lab test bench lint clean

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

# The linter runs first, so that CI (which runs `make test`) keeps the code within its rules.
test: lint
	$(BIN)/python -m pytest --nbval tests notebooks

# Speed goals are measured here, not asserted in tests; the last script takes about half an hour.
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_train.py
	$(BIN)/python benchmarks/bench_forward.py
	$(BIN)/python benchmarks/bench_widgets.py
	$(BIN)/python benchmarks/bench_time_to_accuracy.py

lint: $(STAMP)
	$(BIN)/ruff check inception_edu tests benchmarks scripts

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || \
		{ echo "inception-edu needs Python 3.10 or newer; set PYTHON=python3.11 (or similar)."; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[lab,test]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) .pytest_cache
