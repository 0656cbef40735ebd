# Two entry points for a fresh machine: `make run` and `make test`.
# Both create .venv when it is missing and install the project with locked versions.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The web page's browser tests drive Debian's chromium through its chromium-driver; both
# come from the system's package manager, never downloaded by a Python package.
CHROMIUM := /usr/bin/chromium
CHROMEDRIVER := /usr/bin/chromedriver
SUDO := $(shell test "$$(id -u)" = 0 || echo sudo)

.PHONY: run test lint bench lock clean browser bytecode

$(STAMP): pyproject.toml requirements.lock
	test -x $(CHROMIUM) && test -x $(CHROMEDRIVER) || $(MAKE) browser
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	$(MAKE) bytecode
	touch $(STAMP)

# An editable install leaves the package's own modules uncompiled, and where the
# environment forbids writing bytecode (PYTHONDONTWRITEBYTECODE) every process would
# compile them again at each start (the command, and a run's pool of workers): compiled
# once here, as a regular install does. A module edited since is compiled in memory.
bytecode:
	$(BIN)/python -m compileall -q simulation

browser:
	$(SUDO) apt-get update
	$(SUDO) apt-get install -y chromium chromium-driver

run: $(STAMP)
	$(BIN)/pathways run scenarios/baseline.yaml

lint: $(STAMP)
	$(BIN)/ruff check simulation calibration tests benchmarks
	$(BIN)/ruff format --check simulation calibration tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev,bench]'
	$(MAKE) bytecode
	$(BIN)/python benchmarks/bench_model.py

# Regenerate the lock after changing dependencies in pyproject.toml.
lock: $(STAMP)
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^pathways' > requirements.lock

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
