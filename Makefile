# `make run` and `make test` set everything up on a fresh machine (Python 3.11+ with venv).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install run test lint fuzz bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

install: $(BIN)/.installed

## Serve Baton on the embedded SQLite database (BATON_HOST:BATON_PORT, default 127.0.0.1:8080).
run: install
	$(BIN)/baton serve

## The whole suite on SQLite, and again on PostgreSQL when BATON_TEST_POSTGRES_URL is set.
test: install
	$(BIN)/pytest

## Longer fuzzing of /engine-rest (schemathesis, loopback server, seeded; BATON_FUZZ_EXAMPLES per operation and mode).
fuzz: install
	BATON_FUZZ_EXAMPLES=$${BATON_FUZZ_EXAMPLES:-500} $(BIN)/pytest tests/fuzz -q

lint: install
	$(BIN)/ruff check app tests benchmarks

bench: install
	$(BIN)/python benchmarks/throughput.py

clean:
	rm -rf $(VENV) instance .pytest_cache
