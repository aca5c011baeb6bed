# Bình Yên: the two commands are `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
DEMO_HOUSEHOLDS ?= 300

.PHONY: run test install install-dev i18n i18n-compile clean vendor screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall whenever pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

i18n-compile: install
	$(BIN)/pybabel compile --use-fuzzy -d locales -D messages --statistics

# Extract new interface text into the catalogs (then translate locales/en), and compile.
i18n: install
	$(BIN)/pybabel extract -F babel.cfg -k _ -k __ -k N_ -k NP_:1,2 --no-location --sort-output --no-wrap \
		--project binhyen -o locales/messages.pot base bot content db delivery desk handlers scheduler
	$(BIN)/pybabel update -i locales/messages.pot -d locales -D messages --no-fuzzy-matching \
		--no-wrap --ignore-obsolete
	$(MAKE) i18n-compile

# The demo's tip keys, made once in a git-ignored folder; the settings read .demo-keys/tip.env.
.demo-keys/tip.env: | $(VENV)/.installed
	$(BIN)/binhyen tips keygen --out .demo-keys

# The console chat, and beside it the desk on BINHYEN_WEB_LISTEN; the login link is the demo
# admin's (console user 4), valid 10 minutes: type /dashboard as a staff user for a new one.
run: install i18n-compile .demo-keys/tip.env
	$(BIN)/binhyen db upgrade
	$(BIN)/binhyen demo-data --households $(DEMO_HOUSEHOLDS)
	@echo "Đăng nhập bàn làm việc / desk login link (quản trị mẫu / demo admin):"
	@$(BIN)/binhyen web link --user 4 --channel console
	$(BIN)/binhyen run

# The desk's browser libraries, copied from the npm registry at their pinned versions
# (scripts/vendor.py records versions, licences and hashes in desk/static/vendor/vendor.lock.json).
vendor:
	$(BIN)/python scripts/vendor.py

# The README's screenshots of the desk (docs/screenshots/), taken by the browser tests.
screenshots: install-dev i18n-compile
	BINHYEN_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest -q tests/desk/test_browser.py

# The layer contracts first (pyproject.toml, [tool.importlinter]), then the suite.
test: install-dev i18n-compile
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) binhyen.db binhyen.db-wal binhyen.db-shm binhyen-jobs.db .demo-keys
	find locales -name '*.mo' -delete
