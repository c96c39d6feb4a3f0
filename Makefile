# Entry points: `make book` builds the book, `make test` runs the tests.
# Both create .venv and install everything on first use (CPU torch first, so no CUDA
# packages are pulled in).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PROFILE ?= book

.PHONY: install book test golden bench data clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
	$(PY) -m pip install --quiet torch==2.13.0 2>&1 | grep -v "^WARNING: Location" || true
	$(PY) -m pip install --quiet -e ".[book,test,dev]" 2>&1 | grep -v "^WARNING: Location" || true
	@$(PY) -c "import torch, seemrepro, jupyter_book, papermill, nbval" \
		|| { echo "installation failed"; exit 1; }
	@if $(PY) -m pip list 2>/dev/null | grep -qi nvidia; then \
		echo "CUDA packages were installed; install torch==2.13.0 (CPU) first"; exit 1; fi
	@touch $@

book: $(STAMP)
	$(PY) -m seemrepro.pipeline build --profile $(PROFILE)

test: $(STAMP)
	$(PY) -m pytest

golden: $(STAMP)
	$(PY) -m seemrepro.pipeline golden

bench: $(STAMP)
	$(PY) -m seemrepro.bench

data: $(STAMP)
	$(PY) -m seemrepro.datasets.generate

clean:
	rm -rf _build book/executed tests/.nbval
