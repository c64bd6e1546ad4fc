# gridcare: `make run` starts the platform, `make test` installs what the tests need and runs them all.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
NATIVE := $(VENV)/.native-stamp
PYTEST_ARGS ?=

.PHONY: run test lint typecheck unit system-deps clean

$(STAMP): pyproject.toml constraints.txt setup.py
	@bash scripts/install-system-deps.sh build $(PYTHON)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	@touch $(STAMP) $(NATIVE)

# The native DL/T 645 decoder (C), rebuilt in place when its source changes after the install.
$(NATIVE): $(STAMP) src/gridcare/protocols/dlt645/_accel.c
	$(BIN)/python -m pip install -q --no-deps -c constraints.txt -e .
	@touch $(NATIVE)

run: $(NATIVE)
	$(BIN)/gridcare run

system-deps:
	@bash scripts/install-system-deps.sh

lint: $(STAMP)
	$(BIN)/ruff check src tests bench setup.py
	$(BIN)/ruff format --check src tests bench setup.py

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(NATIVE) system-deps lint typecheck
	$(BIN)/pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build src/gridcare/protocols/dlt645/_accel.*.so
