# Two entry points for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test install bench lint

$(BIN)/gwstream: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

install: $(BIN)/gwstream

demo: install
	$(BIN)/gwstream demo

test: install
	bash scripts/ensure-chromium
	$(BIN)/pytest

bench: install
	$(BIN)/python bench/throughput.py

lint: install
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/mypy src
