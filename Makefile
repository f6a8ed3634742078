# The two commands of the README: `make demo` and `make test`.
# Both create the virtual environment in .venv when it is missing.
# `make docs` builds the documentation site into docs/_build/html.
# `make test-thorough` runs the tests with 1,000 examples per property (long).
# `make test-django-latest` runs the Django kit's tests on the latest Django release.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

# pytest-xdist workers: one per core (at most 4, to spare the PostgreSQL server's
# connections); WORKERS=0 runs everything in one process. The 15 slowest tests are
# listed at the end, to keep an eye on them.
WORKERS ?= auto
PYTEST  := $(BIN)/python -m pytest -n $(WORKERS) --maxprocesses 4 --dist loadgroup --durations 15

.PHONY: demo test test-thorough test-django-latest lint typecheck pytest docs venv clean

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
	$(BIN)/ruff check src tests examples benchmarks conftest.py docs/conf.py docs/conftest.py
	$(BIN)/ruff format --check src tests examples benchmarks conftest.py docs/conf.py docs/conftest.py

typecheck: $(STAMP)
	$(BIN)/mypy --strict src examples

# The pytest run includes the documentation's examples (docs/conftest.py).
pytest: $(STAMP)
	$(PYTEST)

# The documentation site, with every warning an error. -E rereads every page, so that
# a warning of an unchanged page fails the build again.
docs: $(STAMP)
	$(BIN)/sphinx-build -E -W --keep-going -b html docs docs/_build/html -q

# lint, typecheck, docs and pytest in this order (the first failure stops the
# run); the total wall time, venv creation included, is printed in any case.
test:
	@start=$$(date +%s); status=0; \
	$(MAKE) --no-print-directory lint typecheck docs pytest || status=$$?; \
	echo "make test: $$(( $$(date +%s) - start )) s"; \
	exit $$status

# The same tests with the `thorough` hypothesis profile (tests/conftest.py).
test-thorough: $(STAMP)
	@start=$$(date +%s); status=0; \
	HYPOTHESIS_PROFILE=thorough $(PYTEST) || status=$$?; \
	echo "make test-thorough: $$(( $$(date +%s) - start )) s"; \
	exit $$status

# The Django kit and examples/django_gym on the latest Django release, which needs
# Python 3.12 or newer: the first such Python of PYTHON_LATEST, python3.14..3.12 and
# pyenv's versions gets its own virtual environment, .venv-django-latest. Skipped,
# with a message, when there is none. Not part of `make test`; CI (.ci/run) runs it
# after `make test`.
PYTHON_LATEST ?=
VENV_LATEST   := .venv-django-latest
test-django-latest:
	@start=$$(date +%s); py=""; \
	for candidate in $(PYTHON_LATEST) python3.14 python3.13 python3.12 \
	    $$(ls -d $$HOME/.pyenv/versions/3.1[2-9]*/bin/python 2>/dev/null | sort -rV); do \
	  if "$$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then \
	    py=$$candidate; break; \
	  fi; \
	done; \
	if [ -z "$$py" ]; then \
	  echo "make test-django-latest: skipped, no Python 3.12 or newer (set PYTHON_LATEST=...)"; \
	  exit 0; \
	fi; \
	test -x $(VENV_LATEST)/bin/python || "$$py" -m venv $(VENV_LATEST) || exit 1; \
	$(VENV_LATEST)/bin/python -m pip install --quiet --upgrade pip && \
	$(VENV_LATEST)/bin/python -m pip install --quiet -e '.[test,postgres,cli,django]' 'django>=6.1' && \
	$(VENV_LATEST)/bin/python -c 'import django, sys; print("Django", django.get_version(), "on Python", sys.version.split()[0])' && \
	$(VENV_LATEST)/bin/python -m pytest -n $(WORKERS) --maxprocesses 4 --dist loadgroup -p no:cacheprovider examples/django_gym; \
	status=$$?; echo "make test-django-latest: $$(( $$(date +%s) - start )) s"; exit $$status

clean:
	rm -rf $(VENV) $(VENV_LATEST) .mypy_cache .ruff_cache .pytest_cache .hypothesis docs/_build
