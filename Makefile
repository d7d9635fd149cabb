# Two commands on a fresh machine (Python 3.11+, pip, make): `make run` and `make test`.
# `make run` installs only what serving needs (requirements.lock); `make test`, `make install` and the
# other developer targets add the tools (requirements-dev.lock). `make lock` regenerates both.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install -q --disable-pip-version-check
RUNTIME_STAMP := $(VENV)/.runtime-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)
STAMP := $(VENV)/.installed-$(shell cat requirements.lock requirements-dev.lock pyproject.toml | cksum | cut -d' ' -f1)
NODE_STAMP := tests/compat/node_modules/.installed-$(shell cat tests/compat/package-lock.json 2>/dev/null | cksum | cut -d' ' -f1)
PYTEST_ARGS ?=

.PHONY: install run test test-fast lint format bench bench-quick soak clean lock docs-assets

# One pip run, no resolver (the lock is complete; .ci/check-runtime proves it) and no byte-compiling of
# modules the server never imports: the first answer comes ~4 s sooner.
$(RUNTIME_STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) --no-deps --no-compile -r requirements.lock -e .
	rm -f $(VENV)/.runtime-* && touch $(RUNTIME_STAMP)

$(STAMP): $(RUNTIME_STAMP) requirements-dev.lock
	$(PIP) -r requirements.lock -r requirements-dev.lock
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

$(NODE_STAMP): $(STAMP) tests/compat/package-lock.json
	cd tests/compat && PATH=$(CURDIR)/$(BIN):$$PATH npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

## Serve the API on 127.0.0.1:8000 with the embedded SQLite database and worker.
run: $(RUNTIME_STAMP)
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

## Benchmarks against the raw database baseline, written to docs/performance.md (bench: ~20 min, both
## backends; bench-quick: < 2 min). They need wrk, curl and GNU time (installed here if missing) and PostgreSQL.
BENCH_TOOLS = command -v wrk >/dev/null && command -v curl >/dev/null && test -x /usr/bin/time || \
	(apt-get update -qq && apt-get install -y -qq wrk time curl >/dev/null)
BENCH_PG = pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null || \
	(pg_ctlcluster --skip-systemctl-redirect "$$(ls /etc/postgresql | tail -1)" main start && sleep 2) || true
## With the database BENCH_DISTANT_MS ms away (each direction) for the "database a network hop away" rows.
BENCH_DISTANT_MS ?= 1
bench: $(STAMP)
	@$(BENCH_TOOLS)
	@$(BENCH_PG)
	$(BIN)/python -m bench --distant-ms $(BENCH_DISTANT_MS)

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

## Regenerate both lock files from pyproject.toml (run after changing dependencies): requirements.lock
## pins what `promojobs serve` needs, requirements-dev.lock the tools on top of it (same runtime pins).
LOCK_VENV := /tmp/promojobs-lock
lock:
	rm -rf $(LOCK_VENV) && $(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install -q --upgrade pip
	$(LOCK_VENV)/bin/python -m pip install -q -e .
	$(LOCK_VENV)/bin/python -m pip freeze --exclude-editable | grep -v '^promojobs' > requirements.lock
	$(LOCK_VENV)/bin/python -m pip install -q -c requirements.lock -e '.[dev]'
	$(LOCK_VENV)/bin/python -m pip freeze --exclude-editable | grep -v '^promojobs' \
		| grep -vxF -f requirements.lock > requirements-dev.lock

## Fetch the Swagger UI and ReDoc builds that /docs and /redoc serve (committed under src/promojobs/api/static).
SWAGGER_UI_VERSION := 5.35.0
REDOC_VERSION := 2.5.4
ASSETS := src/promojobs/api/static
docs-assets:
	rm -rf /tmp/promojobs-assets && mkdir -p /tmp/promojobs-assets
	cd /tmp/promojobs-assets && npm pack --silent swagger-ui-dist@$(SWAGGER_UI_VERSION) redoc@$(REDOC_VERSION) \
		&& mkdir swagger-ui redoc && tar -xzf swagger-ui-dist-*.tgz -C swagger-ui && tar -xzf redoc-*.tgz -C redoc
	rm -rf $(ASSETS) && mkdir -p $(ASSETS)/swagger-ui $(ASSETS)/redoc
	cd /tmp/promojobs-assets/swagger-ui/package && cp swagger-ui-bundle.js swagger-ui.css favicon-32x32.png \
		LICENSE NOTICE $(CURDIR)/$(ASSETS)/swagger-ui/
	cd /tmp/promojobs-assets/redoc/package && cp bundles/redoc.standalone.js \
		bundles/redoc.standalone.js.LICENSE.txt LICENSE $(CURDIR)/$(ASSETS)/redoc/

clean:
	rm -rf $(VENV) tests/compat/node_modules data
