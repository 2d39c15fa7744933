# DHO developer and CI entry points.
#   make setup && .venv/bin/dho demo   on a fresh machine: the whole system with simulated patients
#   make venv test        on a fresh machine: create .venv, install, run the tests
#   make check            lint + test
#   make bench            run every bench/*.py
#   make services         start PostgreSQL and Mosquitto if they are not answering
# CI runs `bash .ci/run`, which makes its own fresh venv and calls `make lint test PY=...`.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# The interpreter that creates the venv (Python 3.11 or newer).
PYTHON ?= python3
# The extras `make venv` installs ([dev]: the test and lint tools; `make setup` installs none).
EXTRAS ?= [dev]
# Where `make venv` puts the venv.
VENV ?= .venv
# The interpreter with the project and its [dev] extras installed; every target runs through it.
PY ?= $(VENV)/bin/python
# Extra arguments for pytest, e.g. `make test PYTEST_ARGS="-k news2 -x"`.
PYTEST_ARGS ?=

# import-linter has no `python -m` entry point; call its console script's function through $(PY)
# so the venv does not need to be on PATH.
LINT_IMPORTS := -c 'import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())'

.PHONY: help setup venv have-py node-deps lint test bench check services try

help:
	@echo "make setup     create $(VENV) with DHO (no dev tools) if missing; then .venv/bin/dho demo"
	@echo "make try       set up .venv if missing and show the triage core at work"
	@echo "make venv      create $(VENV) with $(PYTHON) and pip install -e '.[dev]'"
	@echo "make lint      ruff check, ruff format --check, mypy, lint-imports, clock-read check"
	@echo "make test      pytest (PYTEST_ARGS=... to pass arguments)"
	@echo "make bench     run every bench/*.py"
	@echo "make check     lint + test"
	@echo "make services  start PostgreSQL and Mosquitto when they are not answering"
	@echo "Variables: PY=$(PY) PYTHON=$(PYTHON) VENV=$(VENV)"

# The demo's first step (docs/demo.md): a venv with DHO and what it runs on, only when missing.
setup:
	@if [ -x $(VENV)/bin/dho ]; then echo "$(VENV) is ready (make venv reinstalls it with the dev tools)"; else \
		$(MAKE) venv EXTRAS= ; \
	fi

venv:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "DHO needs Python 3.11 or newer, $(PYTHON) is " + sys.version)'
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --disable-pip-version-check --progress-bar off --upgrade pip
	$(VENV)/bin/python -m pip install --disable-pip-version-check --progress-bar off -e ".$(EXTRAS)"

have-py:
	@command -v $(PY) >/dev/null 2>&1 || { echo "no Python at '$(PY)': run 'make venv' first, or pass PY=/path/to/python" >&2; exit 1; }

# Runs every check even after one fails, then fails if any did.
lint: have-py
	@failed=(); \
	run() { local name="$$1"; shift; echo "+ $$name"; "$$@" || failed+=("$$name"); }; \
	run "ruff check ." $(PY) -m ruff check .; \
	run "ruff format --check ." $(PY) -m ruff format --check .; \
	run "mypy" $(PY) -m mypy; \
	run "lint-imports" $(PY) $(LINT_IMPORTS); \
	run "scripts/check_no_clock_reads.py" $(PY) scripts/check_no_clock_reads.py; \
	if [ $${#failed[@]} -gt 0 ]; then printf 'make lint: FAILED: %s\n' "$${failed[@]}" >&2; exit 1; fi; \
	echo "make lint: all checks passed"

# The tests' Node.js parts, each installed from its own lock file when that changed:
# tests/fhir_server (the official FHIR R4 JSON Schema and the test FHIR server the journal
# write-back posts to) and tests/oidc_provider (the test OpenID Connect provider of the sign-in).
NODE_DIRS := tests/fhir_server tests/oidc_provider
node-deps:
	@if ! command -v npm >/dev/null 2>&1; then \
		msg="npm (Node.js 20) is missing: the FHIR schema, journal and sign-in tests need it"; \
		case "$${CI:-}" in true|1) echo "$$msg" >&2; exit 1;; *) echo "warning: $$msg; they skip" >&2; exit 0;; esac; \
	fi
	@for dir in $(NODE_DIRS); do \
		if [ ! -f $$dir/node_modules/.package-lock.json ] || [ $$dir/package-lock.json -nt $$dir/node_modules/.package-lock.json ]; then \
			echo "+ npm ci --prefix $$dir"; npm ci --prefix $$dir --ignore-scripts --no-audit --no-fund || exit 1; \
		fi; \
	done

# pytest exits 5 when it collected no tests: that is a failure here too.
test: have-py node-deps
	@rc=0; echo "+ $(PY) -m pytest $(PYTEST_ARGS)"; $(PY) -m pytest $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests; that counts as a failure" >&2; fi; \
	exit $$rc

# Every bench/*.py except helpers whose name starts with an underscore.
bench: have-py
	@shopt -s nullglob; found=0; \
	for script in bench/*.py; do \
		case "$$(basename "$$script")" in _*) continue;; esac; \
		found=1; echo "+ $(PY) $$script"; $(PY) "$$script"; \
	done; \
	if [ $$found -eq 0 ]; then echo "make bench: no bench/*.py scripts; nothing to run"; fi

check: lint test

services:
	@bash scripts/ensure_services.sh

# The triage core at work, without the service: a COVID-19 starting plan, and three readings
# classified against it with their reasons (the whole system: `make setup && .venv/bin/dho demo`).
try:
	@[ -x $(VENV)/bin/dho ] || $(MAKE) venv
	@mkdir -p data
	$(VENV)/bin/dho plan template covid19 > data/covid19-plan.json
	$(VENV)/bin/dho plan check data/covid19-plan.json
	$(VENV)/bin/dho classify --plan data/covid19-plan.json --kind spo2 --value spo2=97 --value pulse=72
	$(VENV)/bin/dho classify --plan data/covid19-plan.json --kind spo2 --value spo2=93 --value pulse=104
	$(VENV)/bin/dho classify --plan data/covid19-plan.json --kind spo2 --value spo2=91 --value pulse=118 --language en
	$(VENV)/bin/dho news2 --rr 22 --spo2 93 --sbp 105 --pulse 112 --temp 38.4
