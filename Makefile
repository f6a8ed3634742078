# The two commands of the README: `make demo` and `make test`.
# Both create the virtual environment in .venv when it is missing.
# `make docs` builds the documentation site into docs/_build/html.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test lint typecheck pytest docs venv clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (set PYTHON=...)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,postgres,cli,docs,django]'
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/member-anonymization demo

lint: $(STAMP)
	$(BIN)/ruff check src tests examples benchmarks docs/conf.py docs/conftest.py
	$(BIN)/ruff format --check src tests examples benchmarks docs/conf.py docs/conftest.py

typecheck: $(STAMP)
	$(BIN)/mypy --strict src examples

# The pytest run includes the documentation's examples (docs/conftest.py).
pytest: $(STAMP)
	$(BIN)/python -m pytest

# The documentation site, with every warning an error. -E rereads every page, so that
# a warning of an unchanged page fails the build again.
docs: $(STAMP)
	$(BIN)/sphinx-build -E -W --keep-going -b html docs docs/_build/html -q

test: lint typecheck docs pytest

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis docs/_build
