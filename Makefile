# The README's two commands: `make repro` and `make test`. Both create .venv when missing.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: results repro test test-fast ui lint format bench data server server-stop preset exp-show cost plan

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -qq --upgrade pip
	$(PY) -m pip install -qq -e '.[dev,server,ray]'  # -qq: no setuptools editable-install banner
	touch $(STAMP)

repro: $(STAMP) data
	dvc repro

# Test files run in parallel, one worker per core; a file stays on one worker (an end-to-end
# file's tests share one workspace).
test: $(STAMP) data
	$(PY) -m pytest -n auto --dist loadfile

# FashionMNIST offline: Debian's dataset-fashion-mnist, or torchvision's download folder. With
# neither, torchvision downloads it when the network allows; else, as root with apt-get, the
# Debian package is installed. Otherwise prepare stops with the error that names the fixes.
FMNIST_DEB := /usr/share/datasets/fashion-mnist
data: $(STAMP)
	@if [ -d $(FMNIST_DEB) ] || ls data/raw/FashionMNIST/raw/*-ubyte* >/dev/null 2>&1; then \
	  exit 0; fi; \
	if $(PY) -c "import sys, urllib.request, torchvision.datasets as d; \
	  urllib.request.urlopen(d.FashionMNIST.mirrors[0], timeout=5)" 2>/dev/null; then \
	  echo "FashionMNIST is not on this machine: torchvision will download it"; exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "FashionMNIST: no copy here and no network: installing Debian's dataset-fashion-mnist"; \
	  apt-get install -y -q dataset-fashion-mnist || \
	    { apt-get update -q && apt-get install -y -q dataset-fashion-mnist; }; \
	else \
	  echo "FashionMNIST: no copy here and no network; see docs/errors-and-recovery.md for the fixes"; fi

test-fast: $(STAMP)
	$(PY) -m pytest -m "not slow"

# The MLflow UI on the local store, opening on the comparison (actlab/tools/ui.py prints the URL).
ui: $(STAMP)
	$(PY) -m actlab.tools.ui $(if $(PORT_UI),--port $(PORT_UI))

lint: $(STAMP)
	ruff check actlab stages tests bench
	ruff format --check actlab stages tests bench

format: $(STAMP)
	ruff format actlab stages tests bench

bench: $(STAMP)  # needs the prepared data (dvc repro prepare); CPU numbers unless a GPU is visible
	$(PY) bench/speed.py
	$(PY) bench/extras.py

# The team's shared tracking server: PostgreSQL + `mlflow server` with the artifact proxy, on
# 127.0.0.1, state in .actlab/server/ (as root the cluster in /var/lib/actlab/server/;
# docs/scaling-out.md). Prints the export line to use; `python -m actlab.tools.server stop --purge`
# also deletes the data.
PORT ?= 5050
PG_PORT ?= 54329
server: $(STAMP)
	$(PY) -m actlab.tools.server start --port $(PORT) --pg-port $(PG_PORT)

server-stop: $(STAMP)
	$(PY) -m actlab.tools.server stop

# The tutorials, each as a DVC experiment (docs/results.md):
#   make preset                                   lists them
#   make preset PRESET=mnist-shallow-deep [DATASET=fashion_mnist]
preset: $(STAMP)
	$(PY) -m actlab.tools.presets $(PRESET) $(if $(DATASET),--dataset $(DATASET)) $(if $(NAME),--name $(NAME))

# The result tables of docs/results.md are the pipeline's (metrics/results/*.md),
# copied between markers, never typed; a test checks the committed ones match.
results: $(STAMP)
	$(PY) -m actlab.tools.docs_tables

# `dvc exp show` in the terminal's width (100 columns without one): the params that differ
# first, then the mean test accuracy per configuration, best first (actlab/tools/exp_show.py).
# KEEP='relu|tanh' picks configurations, WIDTH=200 widens, ARGS='-A' goes to dvc exp show.
exp-show: $(STAMP)
	$(PY) -m actlab.tools.exp_show $(if $(WIDTH),--width $(WIDTH)) $(if $(KEEP),--keep '$(KEEP)') $(if $(ARGS),-- $(ARGS))

# Training cost per configuration (seconds per epoch, time to a validation accuracy) from
# metrics/timing/ and metrics/curves/, into metrics/cost.md (docs/results.md). No DVC stage
# declares or reads that file, on purpose: wall times differ between identical reruns.
# THRESHOLD=0.88 sets the validation accuracy (default 0.85).
cost: $(STAMP)
	$(PY) -m actlab.tools.cost --out metrics/cost.md $(if $(THRESHOLD),--threshold $(THRESHOLD))

# A confirmation planned from the finished run (the pilot): per comparison the seeds that
# decide it, and the `dvc exp run` of fresh seeds (docs/results.md, "Plan, then confirm").
# CAP=10 caps the seeds per configuration; OUT=FILE writes the plan there; ARCH=base plans
# that architecture's comparisons only; FIRST=51 starts the fresh seeds there (past the seeds
# an earlier confirmation used, which are seen).
plan: $(STAMP)
	$(PY) -m actlab.tools.plan $(if $(CAP),--cap $(CAP)) $(if $(OUT),--out $(OUT)) $(if $(ARCH),--architectures $(ARCH)) $(if $(FIRST),--first $(FIRST))
