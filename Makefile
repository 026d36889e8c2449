# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
# Test processes: more than the cores, since most tests wait on subprocesses, sockets and jobs.
TEST_WORKERS ?= 4

.PHONY: install run test test-fast bench errors-catalog clean

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

## Add the server's new error texts (`_("...")` in nexa/) to each locale's errors.po; then translate the new
## entries of pt_BR and es (tests/kit/test_error_texts.py fails while one is missing).
errors-catalog: install
	$(BIN)/pybabel extract --no-default-keywords -k _ --no-location --sort-output --omit-header -o errors.pot nexa
	$(BIN)/pybabel update --domain errors -i errors.pot -d nexa/web/translations --no-wrap --no-fuzzy-matching --ignore-obsolete
	rm -f errors.pot

clean:
	rm -rf $(VENV) .pytest_cache
