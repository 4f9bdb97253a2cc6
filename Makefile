# One environment for everything: .venv, created on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test demo bench server venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch pinned first: the local CPU wheel; anything unpinned would pull CUDA packages.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest

demo: $(STAMP)
	$(PY) -m personalize_mock.demo

bench: $(STAMP)
	$(PY) -m pip install --quiet implicit || echo "implicit not installed: its baselines are skipped"
	$(PY) bench/run.py

server: $(STAMP)
	$(PY) server.py --port 4566

clean:
	rm -rf $(VENV) build *.egg-info bench/results
