# The two commands a newcomer needs: `make serve` and `make test`.
# Both create .venv when it is missing: `make serve` installs what serving needs, `make test`
# adds the test tools (pytest, Playwright, ruff, the Oxigraph server).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
SERVING := $(VENV)/.installed-serve
# The query page's editor: the npm package codemirror (version 5), pinned in package.json and
# package-lock.json, installed into node_modules/ (never committed) and served by the page.
EDITOR := node_modules/.installed

.PHONY: serve test check lint types bench clean screenshots translations

$(SERVING): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(SERVING)

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(INSTALLED)

$(EDITOR): package.json package-lock.json
	@if command -v npm >/dev/null; then \
		npm ci --ignore-scripts --no-audit --no-fund --loglevel=error && touch $(EDITOR); \
	else \
		echo "npm not found: the query page keeps its plain text box (no editor)"; \
	fi

# Validates the data, builds the store and serves http://127.0.0.1:5000. The ZIGRAPH_*
# variables choose the rest: ZIGRAPH_PORT=8080 make serve, ZIGRAPH_DATA=mydata make serve.
serve: $(SERVING) $(EDITOR)
	$(BIN)/zigraph serve

# The whole suite, as CI runs it: lint, types, then every test (Chromium, the Oxigraph server
# and Virtuoso included).
test: $(INSTALLED) $(EDITOR) lint types
	$(BIN)/python -m pytest

# The edit-test loop: lint, types and the tests that need neither a browser nor another
# engine's server (about a minute).
check: $(INSTALLED) $(EDITOR) lint types
	$(BIN)/python -m pytest -q -n auto -m "not browser and not engines and not slow"

lint: $(INSTALLED)
	$(BIN)/ruff check service tests bench
	$(BIN)/ruff format --check service tests bench

types: $(INSTALLED)
	$(BIN)/mypy service

# Benchmarks against peer SPARQL servers on 1 million triples (about 40 minutes on 2 cores);
# see bench/README.md.
bench: $(INSTALLED)
	$(BIN)/python bench/run.py --scale 1M --duration 3 --concurrency 1,8 --quiet-load 1.5 --quiet-wait 60

clean:
	rm -rf $(VENV) node_modules dist build .pytest_cache .ruff_cache test-artifacts

# Refresh the README's screenshots (docs/img/) from the browser tests.
screenshots: $(INSTALLED) $(EDITOR)
	ZIGRAPH_UPDATE_DOCS_IMAGES=1 $(BIN)/python -m pytest tests/test_browser.py

# Compile the interface's message catalogues (service/translations/*/LC_MESSAGES/messages.po);
# the .mo files are committed so that a checkout and the wheel work without this step.
translations: $(INSTALLED)
	$(BIN)/pybabel compile --statistics --directory service/translations --domain messages
