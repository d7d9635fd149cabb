# Two commands on a fresh machine (Python 3.11+, pip, make): `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)
NODE_STAMP := tests/compat/node_modules/.installed-$(shell cat tests/compat/package-lock.json 2>/dev/null | cksum | cut -d' ' -f1)
PYTEST_ARGS ?=

.PHONY: install run test test-fast lint format bench bench-quick soak clean lock

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

$(NODE_STAMP): $(STAMP) tests/compat/package-lock.json
	cd tests/compat && PATH=$(CURDIR)/$(BIN):$$PATH npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

## Serve the API on 127.0.0.1:8000 with the embedded SQLite database and worker.
run: $(STAMP)
	$(BIN)/promojobs serve

## Run the whole test suite, on SQLite and PostgreSQL, plus lint and types.
## The console's browser tests need Debian's chromium (Playwright drives it; it cannot download one).
BROWSER = test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)
test: $(STAMP) $(NODE_STAMP) lint
	@$(BROWSER)
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

## The fast tier alone: everything not marked slow (no big jobs, worker processes or fuzzing).
test-fast: $(STAMP) $(NODE_STAMP)
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m pytest -n 2 -m "not slow" $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

## Benchmarks against the raw database baseline, written to docs/performance.md (bench: < 10 min, both
## backends; bench-quick: < 2 min). They need wrk and GNU time (installed here if missing) and PostgreSQL.
BENCH_TOOLS = command -v wrk >/dev/null && test -x /usr/bin/time || \
	(apt-get update -qq && apt-get install -y -qq wrk time >/dev/null)
BENCH_PG = pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null || \
	(pg_ctlcluster --skip-systemctl-redirect "$$(ls /etc/postgresql | tail -1)" main start && sleep 2) || true
bench: $(STAMP)
	@$(BENCH_TOOLS)
	@$(BENCH_PG)
	$(BIN)/python -m bench

bench-quick: $(STAMP)
	@$(BENCH_TOOLS)
	@$(BENCH_PG)
	$(BIN)/python -m bench --quick

## Soak test: a real server under mixed load (reads, code additions, generate/export/cancel jobs) from 10
## stores for 5 minutes; fails on any 5xx, a wrong job count or memory growth after warm-up.
## e.g. make soak SOAK_ARGS="--seconds 60" or SOAK_ARGS="--backend postgresql". Results: docs/reliability.md.
SOAK_ARGS ?=
soak: $(STAMP)
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m tests.soak $(SOAK_ARGS)

## Regenerate the lock file from pyproject.toml (run after changing dependencies).
lock:
	rm -rf /tmp/promojobs-lock && $(PYTHON) -m venv /tmp/promojobs-lock
	/tmp/promojobs-lock/bin/python -m pip install -q --upgrade pip
	/tmp/promojobs-lock/bin/python -m pip install -q -e '.[dev]'
	/tmp/promojobs-lock/bin/python -m pip freeze --exclude-editable | grep -v '^promojobs' > requirements.lock

clean:
	rm -rf $(VENV) tests/compat/node_modules data
