# Two commands on a fresh machine: `make demo` and `make test`. Each builds .venv when missing.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip

.PHONY: demo test bench lint clean

$(VENV)/.core: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[test]'
	touch $@

# PyTorch first, pinned, so that the `dl` extra's range is already met by the local CPU build.
$(VENV)/.all: $(VENV)/.core
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -e '.[all,dev]'
	touch $@

demo: $(VENV)/.core
	$(VENV)/bin/medscale demo --out demo-output

test: $(VENV)/.all
	$(PY) -m pytest -n 2 -q

bench: $(VENV)/.all
	for b in benchmarks/bench_*.py; do $(PY) $$b || exit 1; done

# ruff, ruff format, mypy and the import contracts of pyproject.toml (also .pre-commit-config.yaml).
lint: $(VENV)/.all
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/mypy src/medscale
	$(VENV)/bin/lint-imports --no-cache

clean:
	rm -rf $(VENV) demo-output .pytest_cache
