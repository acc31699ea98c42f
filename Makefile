# Two commands on a fresh clone:  make book   and   make test
# Both create .venv (pinned requirements.txt + this package, editable) when it is missing or stale.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SANITIZE := tests/nbval_sanitize.cfg
# charts carry the vega bundle in JupyterLab, which does not load the book's _static/
CHARTS_IN_LAB := REVIEW_EMBED_VEGA=1
# make serve needs only the standard library: the venv's Python if there is one, else $(PYTHON)
PYTHON_SERVE = $(if $(wildcard $(BIN)/python),$(BIN)/python,$(PYTHON))

.PHONY: book test test-slow lab clean execute bench validate freeze venv browser-test check-site page-weight serve check-deterministic

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

validate: $(STAMP)
	$(BIN)/python -m analysis validate data

## Build the static site into _build/html.  First every notebook whose stored outputs are not current for its code and
## data is executed (analysis/build.py: warm kernels, one per core; validates data/ first; a child process, while the
## render imports its modules), then Sphinx renders the stored outputs (tools/build_site.py: Jupyter Book never executes).  Any warning or failing cell fails the build, and
## so does a page that loads from the network, holds a script that is not the site's own or is over its weight.
## _build/html is written into an empty folder each time (parsed pages are reused; unchanged pages are carried over,
## book/_ext/carry_pages.py), so no file of an earlier build is left;
## it is kept as it is when nothing it is made from changed (tools/build_site.py site_key).
book: $(STAMP)
	$(BIN)/python tools/build_site.py --execute
	$(MAKE) --no-print-directory check-site page-weight

## Static checks of the built site: network references, foreign scripts, inline event handlers, javascript: URLs.
check-site: $(STAMP)
	$(BIN)/python tools/check_site.py _build/html

## Gzip weight of every built page with what it loads (text pages <= 150 KB, chart pages <= 500 KB).
page-weight: $(STAMP)
	$(BIN)/python tools/page_weight.py _build/html

## Unit tests of analysis/ and nbval over every notebook in book/ (outputs compared, not only executed).
## Slow end-to-end tests (minutes) are left to `make test-slow`.
## Bytecode is cached even where the environment sets PYTHONDONTWRITEBYTECODE (in the git-ignored __pycache__/
## folders, which `make clean` removes): otherwise every pytest process rewrites and compiles every test module and
## the package again, 4 of the 9 s each worker spends collecting (benchmarks/README.md).
## Whole files go to the workers, longest first (tests/pytest_startup.py, tests/durations.json); extra pytest
## arguments in PYTEST_ARGS (`make test PYTEST_ARGS=--record-durations` refreshes that record).
TEST_ENV := PYTHONDONTWRITEBYTECODE=
PYTEST_ARGS ?=
test: $(STAMP)
	$(TEST_ENV) $(BIN)/python -m pytest tests book --nbval --nbval-sanitize-with $(SANITIZE) -p no:cacheprovider -m "not slow" -n auto --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

## Slow end-to-end tests: the README's "Adding a study" steps walked in a temporary copy of the repository.
test-slow: $(STAMP)
	$(TEST_ENV) $(BIN)/python -m pytest tests -m slow -p no:cacheprovider -s

## Execute in place every notebook whose stored outputs are not current for its code and data (then commit them);
## `.venv/bin/python -m analysis execute --force` executes all of them.
execute: $(STAMP)
	$(BIN)/python -m analysis execute book

## Open every built page (1280 px and 390 px) in headless Chromium with every other host blocked: no console
## error, failed request or dialog; charts drawn; links and anchors resolve; search works; screenshots of the
## synthesis pages in _build/screenshots/. Needs Debian's chromium (Playwright never downloads a browser).
browser-test: $(STAMP)
	SITE_BROWSER=1 $(BIN)/python -m pytest tests/browser -p no:cacheprovider -q

## Build HEAD twice from fresh clones and compare every file (allowed differences: tools/deterministic_build.py).
check-deterministic: $(STAMP)
	SITE_DETERMINISTIC=1 $(BIN)/python -m pytest tests/site/test_deterministic_build.py -p no:cacheprovider -q -s

## Serve the built site on http://127.0.0.1:$(PORT)/ (make serve PORT=8001).
PORT ?= 8000
serve:
	@test -f _build/html/index.html || { echo "no built site: run make book first" >&2; exit 1; }
	$(PYTHON_SERVE) -m http.server $(PORT) --bind 127.0.0.1 --directory _build/html

lab: $(STAMP)
	$(CHARTS_IN_LAB) $(BIN)/jupyter lab book

## Benchmarks need the peers they are compared with (PyMARE; statsmodels is in the main lock for tests).
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -r requirements-bench.txt
	$(BIN)/python benchmarks/run.py

freeze: $(STAMP)
	{ echo "# Exact pins for a reproducible build (Python 3.11). Regenerate with: make freeze"; \
	  $(BIN)/python -m pip freeze --exclude-editable \
	    | grep -v -i -E "^($$(sed -n 's/^\([A-Za-z0-9_.-]*\)==.*/\1/p' requirements-bench.txt | paste -sd'|'))==" ; } > requirements.txt

clean:
	rm -rf _build .pytest_cache .jupyter_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
