# evalkit — two commands on a fresh machine with Python 3.11:
#   make run    create .venv, install evalkit (with the marking room), run the built-in Gaokao paper offline,
#               print where results are (then: .venv/bin/evalkit grade serve results/<run>)
#   make test   install the dev extras and run the whole test suite (what CI runs)
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: run test lint bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) install -e '.[serve]'
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(PIP) install -e '.[dev,serve]'
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/evalkit run --task gaokao-math --model reference --model random:1

test: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .

bench: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/runner_overhead.py
	$(BIN)/python benchmarks/throughput.py
	$(BIN)/python benchmarks/grading_conformance.py
	$(BIN)/python benchmarks/reproduce_gaokao_bench.py
	$(BIN)/python benchmarks/gaokao_grading_speed.py
	$(BIN)/python benchmarks/image_path.py
	$(BIN)/python benchmarks/report_scale.py
	$(BIN)/python benchmarks/sweep_scaling.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
