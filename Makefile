# The README's two commands: `make run` and `make test`. Everything a fresh machine needs is set up here.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DB := $(CURDIR)/var/register.sqlite
export TRACKER_DEMO_DB_URL := sqlite:///$(DEMO_DB)

.PHONY: run test pytest lint bench clean install install-test postgres zbar dmtx faketime

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

# The tests also exercise the optional extras: sllurp (GPL-3.0, LLRP readers) and pyzbar (the second camera decoder);
# the test extra brings pylibdmtx (the labels' second DataMatrix decoder).
$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test,llrp,zbar]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

# Opens the main job on an embedded SQLite register under ./var with demo data made on first run.
run: install
	@mkdir -p var
	@# the demo register is ours: bring it to this version's schema (a no-op when it already is)
	@TRACKER_DATABASE_URL=$(TRACKER_DEMO_DB_URL) $(BIN)/tracker db upgrade
	TRACKER_DATABASE_URL=$(TRACKER_DEMO_DB_URL) $(BIN)/tracker demo --if-empty
	TRACKER_DATABASE_URL=$(TRACKER_DEMO_DB_URL) $(BIN)/tracker tui

# PostgreSQL binaries for the integration suite: installed from Debian when missing and we may (root + apt).
postgres:
	@bash scripts/ensure-postgres

# The zbar C library for the optional camera decoder's tests (Debian's libzbar0), the same way.
zbar:
	@bash scripts/ensure-zbar

# The libdmtx C library for the labels' second DataMatrix decoder (Debian's libdmtx0b), the same way.
dmtx:
	@bash scripts/ensure-dmtx

# libfaketime, to run the time-sensitive tests with the machine's clock a year ahead (tests/e2e/test_suite_clock.py).
faketime:
	@bash scripts/ensure-faketime

test: install-test postgres zbar dmtx faketime lint pytest

pytest: install-test
	$(BIN)/python -m pytest -q -n 2 -p no:cacheprovider

lint: install-test
	$(BIN)/ruff check tracker drivers labels tui tests bench
	$(BIN)/mypy

# Every benchmark runs even when one misses its target (or fails); the command fails at the end, naming them.
bench: install-test postgres
	@failed=""; for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || failed="$$failed $$b"; done; \
	if [ -n "$$failed" ]; then echo "missed a target or failed:$$failed"; exit 1; fi

clean:
	rm -rf $(VENV) var build *.egg-info
