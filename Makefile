# Two commands on a fresh clone:  make book   and   make test
# Both create .venv (pinned requirements.txt + this package, editable) when it is missing or stale.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SANITIZE := tests/nbval_sanitize.cfg
# charts carry the vega bundle in JupyterLab, which does not load the book's _static/
CHARTS_IN_LAB := REVIEW_EMBED_VEGA=1

.PHONY: book test test-slow lab clean execute bench validate freeze venv browser-test

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

validate: $(STAMP)
	$(BIN)/python -m analysis validate data

## Build the static site into _build/html, re-executing every notebook; any warning or failing cell fails the build.
book: $(STAMP) validate
	rm -rf _build/.jupyter_cache
	$(BIN)/jupyter-book build --all -W -n --keep-going .
	$(BIN)/python -m analysis check-site _build/html

## Unit tests of analysis/ and nbval over every notebook in book/ (outputs compared, not only executed).
## Slow end-to-end tests (minutes) are left to `make test-slow`.
test: $(STAMP)
	$(BIN)/python -m pytest tests book --nbval --nbval-sanitize-with $(SANITIZE) -p no:cacheprovider -m "not slow"

## Slow end-to-end tests: the README's "Adding a study" steps walked in a temporary copy of the repository.
test-slow: $(STAMP)
	$(BIN)/python -m pytest tests -m slow -p no:cacheprovider -s

## Re-execute every notebook in place so its stored outputs match the data (then commit them).
execute: $(STAMP)
	$(BIN)/python -m analysis execute book

## Open every built page in headless Chromium with the network blocked; every chart must render.
browser-test: $(STAMP)
	$(BIN)/python tests/browser/check_offline.py _build/html

lab: $(STAMP)
	$(CHARTS_IN_LAB) $(BIN)/jupyter lab book

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

freeze: $(STAMP)
	{ echo "# Exact pins for a reproducible build (Python 3.11). Regenerate with: make freeze"; \
	  $(BIN)/python -m pip freeze --exclude-editable; } > requirements.txt

clean:
	rm -rf _build .pytest_cache .jupyter_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
