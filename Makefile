# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck audit bench clean help browser-deps lock assets

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

# The review pages' GOV.UK Design System assets: govuk-frontend from the npm registry at this
# exact version, its tarball checked against the registry's published integrity, and its compiled
# CSS, JS, fonts and images copied into the package (gitignored, never committed). The compiled
# CSS asks for /assets/...; it is rewritten to the relative assets/ it is served beside. The GDS
# Transport font is "customised for exclusive use on gov.uk" (its licence, in the CSS), and
# inbound runs on any service's own domain: its files and @font-face rules are left out, and the
# pages use the Design System's own fallback, Arial.
# To upgrade: set the version, and the integrity from `npm view govuk-frontend@X.Y.Z dist.integrity`.
GOVUK_VERSION := 5.14.0
GOVUK_INTEGRITY := sha512-MgfaXswIM6KpXS2T5gltEnzgVLgfM3UoE9+rYkhBiR0suaJ8Let31VZXQZqz9QhiPDbv28fW1nRjIyLujfZIBA==
GOVUK_DIR := inbound/review/static/govuk
GOVUK_STAMP := $(GOVUK_DIR)/.version-$(GOVUK_VERSION)
GOVUK_CACHE := .cache/govuk-frontend

assets: $(GOVUK_STAMP) ## fetch the pinned govuk-frontend (npm) into the review pages' static folder

$(GOVUK_STAMP):
	@command -v npm >/dev/null || { echo "npm not found: install Node.js and npm (Debian: apt-get install npm)" >&2; exit 1; }
	rm -rf $(GOVUK_CACHE) && mkdir -p $(GOVUK_CACHE)
	cd $(GOVUK_CACHE) && npm pack --silent govuk-frontend@$(GOVUK_VERSION) >/dev/null
	test "sha512-$$(openssl dgst -sha512 -binary $(GOVUK_CACHE)/govuk-frontend-$(GOVUK_VERSION).tgz | base64 -w0)" = "$(GOVUK_INTEGRITY)" \
		|| { echo "govuk-frontend $(GOVUK_VERSION): the tarball does not match GOVUK_INTEGRITY" >&2; exit 1; }
	tar -xzf $(GOVUK_CACHE)/govuk-frontend-$(GOVUK_VERSION).tgz -C $(GOVUK_CACHE)
	rm -rf $(GOVUK_DIR) && mkdir -p $(GOVUK_DIR)
	cp $(GOVUK_CACHE)/package/dist/govuk/govuk-frontend.min.js $(GOVUK_DIR)/
	cp -R $(GOVUK_CACHE)/package/dist/govuk/assets $(GOVUK_DIR)/
	rm -rf $(GOVUK_DIR)/assets/fonts
	sed -e 's#url(/assets/#url(assets/#g' -e 's#/\*\# sourceMappingURL=[^*]*\*/##' \
		-e 's#/\*![^*]*exclusive use on gov\.uk[^*]*\*/##' -e 's#@font-face{[^}]*}##g' \
		-e 's#"\{0,1\}GDS Transport"\{0,1\},##g' \
		$(GOVUK_CACHE)/package/dist/govuk/govuk-frontend.min.css > $(GOVUK_DIR)/govuk-frontend.min.css
	! grep -q 'GDS Transport' $(GOVUK_DIR)/govuk-frontend.min.css
	rm -rf $(GOVUK_CACHE)
	touch $@

# Local-only settings: a secret so the generic webhook (and `inbound send`) work out of the box;
# callbacks recorded, not sent (the example rules' *.example hosts don't exist, and the action
# worker would retry them for hours); review-page cookies over plain http://localhost.
run: export INBOUND_GENERIC_SECRET ?= local-dev-secret
run: export INBOUND_LOG_FORMAT ?= console
run: export INBOUND_CALLBACKS ?= off
run: export INBOUND_COOKIE_SECURE ?= false
run: $(STAMP) assets ## install, migrate the embedded SQLite database and start everything on :8080
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

test: lint typecheck audit assets browser-deps ## lint, type-check, audit and run the whole suite against real services
	$(BIN)/pytest

# BENCH_ARGS, e.g. "--quick" or "--runs 5 --soak 100000"; wrk is used when installed.
bench: $(STAMP) ## measure ingest, end to end and rules against baselines (see bench/README.md)
	$(BIN)/python bench/run.py $(BENCH_ARGS)
	$(BIN)/python bench/suggestions.py  # learning from the review queue: no services, < 1 s

clean: ## remove the virtualenv and local database
	rm -rf $(VENV) inbound.db
