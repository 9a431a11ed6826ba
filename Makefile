# `make lab` and `make test` are the whole set-up: both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CLASSROOM := $(VENV)/.classroom
# Notebook kernels must start from this environment's Python.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: lab test bench lint clean experiments checkpoints test-browser test-colab-stack solve grade export-nbgrader

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

# The linter runs first, so that CI (which runs `make test`) keeps the code within its rules.
# The unit tests run on several cores (pytest-xdist, tests handed out one by one, at most 4 workers);
# the notebooks run one at a time, since each one's time and memory budget is for a machine of its own.
TEST_WORKERS ?= $(shell $(PYTHON) -c 'import os; print(min(4, os.cpu_count() or 1))')
test: lint $(CLASSROOM)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist load tests
	$(BIN)/python -m pytest --nbval notebooks

# Teachers (README, "For teachers"): solved copies, a gradebook, an nbgrader course.
solve: $(CLASSROOM)
	$(BIN)/python -m inception_edu.classroom solve notebooks/0[1-9]*.ipynb --out build/solved

# JOBS=N runs N submissions at once, each kernel with its share of the cores.
JOBS ?= 1
grade: $(CLASSROOM)
	$(BIN)/python -m inception_edu.classroom grade $(SUBMISSIONS) --out build/grades.csv --jobs $(JOBS)

export-nbgrader: $(CLASSROOM)
	$(BIN)/python -m inception_edu.classroom export-nbgrader notebooks/0[1-9]*.ipynb --out build/nbgrader/source/course

# nbgrader brings a JupyterLab extension; students' JupyterLab does not need its menus.
$(CLASSROOM): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[classroom]'
	-$(BIN)/jupyter labextension disable --level=sys_prefix @jupyter/nbgrader
	touch $(CLASSROOM)

# Speed goals are measured here, not asserted in tests; the last script takes about half an hour.
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_train.py
	$(BIN)/python benchmarks/bench_forward.py --extra
	$(BIN)/python benchmarks/bench_family.py
	$(BIN)/python benchmarks/bench_widgets.py
	$(BIN)/python benchmarks/bench_time_to_accuracy.py

# Re-record every experiment's seeds in data/results/ (about an hour here: their files record 3,150 s).
# One thread, as they were recorded: the same seed sums in another order on more threads and lands
# elsewhere.
experiments: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python -m inception_edu.experiments run-all

# Train every shipped checkpoint again, with the manifest (about 12 minutes here; one thread, as
# they were made). `$(BIN)/python -m inception_edu.zoo make --missing` trains only the absent ones.
checkpoints: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python -m inception_edu.zoo make

# Notebook 07 in a real browser: JupyterLab from .venv, headless Chromium (Debian's `chromium`)
# driven by Playwright's Python package; every control of every explorer is moved and timed.
# Without Chromium or Playwright the test is skipped and says what is missing.
test-browser: $(STAMP)
	$(BIN)/python -c 'import playwright' 2>/dev/null || $(BIN)/python -m pip install --quiet playwright \
		|| echo "Playwright could not be installed: the browser test will be skipped."
	$(BIN)/ruff check browser
	$(BIN)/python -m pytest -s -rs browser

# Colab's widget stack beside ours: ipywidgets 7.7.1 with its widgetsnbextension 3.6, notebook 6.5,
# ipykernel 6.17, IPython 7.34 and numpy 2.1 (Colab's published list), torch and torchvision as new
# as this machine offers, and this machine's Python 3.11 (Colab's is 3.13). The unit tests and
# notebook 07 run in it. It is a second venv of about 6 GB.
COLAB_VENV := .venv-colab
COLAB_STAMP := $(COLAB_VENV)/.installed
COLAB_PINS := ipywidgets==7.7.1 'widgetsnbextension==3.6.*' 'notebook==6.5.*' 'ipykernel==6.17.*' \
	'ipython==7.34.*' 'numpy==2.1.*' torch==2.14.1 torchvision==0.29.1

test-colab-stack: $(COLAB_STAMP)
	PATH="$(CURDIR)/$(COLAB_VENV)/bin:$$PATH" $(COLAB_VENV)/bin/python -m pytest --nbval \
		tests $(wildcard notebooks/07_looking_inside.ipynb)

$(COLAB_STAMP): pyproject.toml Makefile
	test -x $(COLAB_VENV)/bin/python || $(PYTHON) -m venv $(COLAB_VENV)
	$(COLAB_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(COLAB_VENV)/bin/python -m pip install --quiet -e '.[test]' $(COLAB_PINS)
	$(COLAB_VENV)/bin/python -c 'import ipywidgets as w; assert w.__version__ == "7.7.1", w.__version__'
	touch $(COLAB_STAMP)

lint: $(STAMP)
	$(BIN)/ruff check inception_edu tests benchmarks scripts solutions

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || \
		{ echo "inception-edu needs Python 3.10 or newer; set PYTHON=python3.11 (or similar)."; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[lab,test]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) .pytest_cache
