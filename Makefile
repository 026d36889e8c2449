# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
# Test processes: more than the cores, since most tests wait on subprocesses, sockets and jobs.
TEST_WORKERS ?= 4

.PHONY: install run test test-fast bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

## Start Nexa on SQLite under ./data with the in-process worker (honours NEXA_HOST, NEXA_PORT, NEXA_DATA_DIR).
run: install
	$(BIN)/nexa serve

## The whole suite: SQLite always; PostgreSQL and Redis too when NEXA_TEST_DATABASE_URL / NEXA_TEST_REDIS_URL are set.
test: install
	$(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal

## Everything but the multi-process tests.
test-fast: install
	$(BIN)/pytest -n $(TEST_WORKERS) -m "not slow"

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache
