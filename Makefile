# stabgraph: `make run` serves the app, `make test` runs every test. Both set up first.
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8050
# `make run ROOT=path/to/runs` serves a folder of logs; without it, simulated runs
ROOT ?=

.PHONY: setup run test test-core test-browser lint format bench docker-lint clean

setup:
	@bash scripts/setup.sh

run: setup
	$(VENV)/bin/stabgraph serve $(ROOT) --host $(HOST) --port $(PORT)

test: setup
	$(PY) -m pytest -q tests

test-core: setup
	$(PY) -m pytest -q tests -m "not browser"

test-browser: setup
	$(PY) -m pytest -q tests -m browser

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: setup
	@for b in benchmarks/bench_*.py benchmarks/eval_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

docker-lint: setup
	$(VENV)/bin/hadolint Dockerfile

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build dist *.egg-info
