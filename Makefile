# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck audit bench clean help browser-deps lock

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' Makefile | sed 's/:.*## /\t/'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Exactly the locked versions, checked against their hashes; then inbound itself, adding nothing.
$(STAMP): pyproject.toml requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# After changing the dependencies in pyproject.toml: re-resolve both lock files, for Python 3.11
# on every platform, with every file's hash. tests/unit/test_lock_files.py fails until this runs.
LOCK := $(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes \
	--custom-compile-command 'make lock' --quiet
lock: $(STAMP) ## re-resolve requirements.txt and requirements-dev.txt from pyproject.toml
	$(LOCK) -o requirements.txt
	$(LOCK) --extra dev -o requirements-dev.txt

# Local-only settings: a secret so the generic webhook (and `inbound send`) work out of the box;
# callbacks recorded, not sent (the example rules' *.example hosts don't exist, and the action
# worker would retry them for hours); review-page cookies over plain http://localhost.
run: export INBOUND_GENERIC_SECRET ?= local-dev-secret
run: export INBOUND_LOG_FORMAT ?= console
run: export INBOUND_CALLBACKS ?= off
run: export INBOUND_COOKIE_SECURE ?= false
run: $(STAMP) ## install, migrate the embedded SQLite database and start everything on :8080
	$(BIN)/inbound migrate
	$(BIN)/inbound run

lint: $(STAMP) ## ruff lint and format check
	$(BIN)/ruff check inbound tests bench
	$(BIN)/ruff format --check inbound tests bench

typecheck: $(STAMP) ## mypy --strict on the package
	$(BIN)/mypy inbound

# Browser tests drive Debian's Chromium (never a Playwright download) and check pages with
# axe-core from the npm registry; both are fetched here, neither is committed.
AXE := .cache/axe/node_modules/axe-core/axe.min.js
browser-deps: ## install Debian's Chromium and axe-core for the browser tests
	command -v chromium || (apt-get update && apt-get install -y chromium)
	test -f $(AXE) || npm install --silent --prefix .cache/axe axe-core

audit: $(STAMP) ## known vulnerabilities in the installed dependencies (pip-audit)
	$(BIN)/python .ci/audit.py

test: lint typecheck audit browser-deps ## lint, type-check, audit and run the whole suite against real services
	$(BIN)/pytest

# BENCH_ARGS, e.g. "--quick" or "--runs 5 --soak 100000"; wrk is used when installed.
bench: $(STAMP) ## measure ingest, end to end and rules against baselines (see bench/README.md)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean: ## remove the virtualenv and local database
	rm -rf $(VENV) inbound.db
