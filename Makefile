# The README's commands live here. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
FLASK := $(BIN)/flask --app wsgi

.DEFAULT_GOAL := help
.PHONY: help install lock run test test-fast test-e2e lint format translations compile-translations assets clean

help: ## List the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-22s %s\n", $$1, $$2}'

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade 'pip>=24,<27'

# Exact versions come from requirements.lock (refresh with `make lock`); the portal itself is
# installed editable on top, without resolving anything again.
$(VENV)/.installed: $(BIN)/activate pyproject.toml requirements.lock
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

install: $(VENV)/.installed ## Create .venv and install the portal with its test tools

lock: $(BIN)/activate ## Refresh requirements.lock (exact versions) from pyproject.toml
	$(BIN)/pip install --quiet 'pip-tools>=7.4,<8'
	$(BIN)/pip-compile --quiet --strip-extras --extra dev --extra production \
		--no-emit-index-url --no-emit-find-links -o requirements.lock pyproject.toml

compile-translations: $(VENV)/.installed ## Compile the .po catalogs to .mo
	$(BIN)/pybabel compile -d translations

translations: $(VENV)/.installed ## Extract strings, update the catalogs, compile them
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k lazy_pgettext:1c,2 --no-wrap --sort-by-file --ignore-dirs '.*' \
		--project "Survivor Advisory Council Portal" -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-wrap --ignore-obsolete
	$(BIN)/pybabel compile -d translations --statistics

run: install compile-translations ## Migrate, load demo data into an empty database, serve on 127.0.0.1:$PORT
	$(FLASK) db upgrade
	$(FLASK) seed-demo --if-empty
	@echo "Serving on http://127.0.0.1:$(PORT) — demo accounts are listed in README.md"
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

test: install compile-translations ## Run the whole suite (SQLite; PostgreSQL too when PORTAL_TEST_DATABASE_URL is set; browser tests when Chromium is installed)
	$(BIN)/pytest

test-fast: install compile-translations ## Everything except the real-browser tests
	$(BIN)/pytest -m "not e2e"

test-e2e: install compile-translations ## Only the real-browser tests
	$(BIN)/pytest -m e2e

lint: install ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install ## Apply ruff's formatting and safe fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

assets: ## Rebuild the vendored U.S. Web Design System subset (assets/uswds/) from the npm registry (needs node and npm)
	scripts/update-assets.sh

clean: ## Remove the virtual environment and caches (keeps the instance folder and its data)
	rm -rf $(VENV) .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
