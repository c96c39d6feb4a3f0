# Entry points: `make book` builds the book, `make test` runs the tests.
# Both create .venv and install everything on first use (CPU torch first, so no CUDA
# packages are pulled in), and .venv-bench: d3rlpy for the peer comparison, kept apart
# because d3rlpy 2.8.1 pins gymnasium 1.0.0 and needs the old gym.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
BENCH_VENV := .venv-bench
BENCH_PY := $(BENCH_VENV)/bin/python
BENCH_STAMP := $(BENCH_VENV)/.installed
PROFILE ?= book
# MathJax ships with the HTML so formulas render offline: one file (SVG output needs no fonts)
# from the npm package, checked against its SHA-256; `_config.yml` points Sphinx at it.
MATHJAX_VERSION := 3.2.2
MATHJAX_SHA256 := a4354ff94fd868aea0cc6eaaa79a57fda0588646fc46ee3700a349ee0a11cbe6
MATHJAX := _build/static/mathjax/tex-svg-full.js
RECOMPUTE ?= 0
K ?= 1

.PHONY: install mathjax bench-venv book test golden bench data results verify-results clean

install: $(STAMP) $(MATHJAX)

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

mathjax: $(MATHJAX)

$(MATHJAX):
	@command -v npm >/dev/null || { echo "fetching MathJax needs npm (Node.js)"; exit 1; }
	@mkdir -p $(@D)
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT \
		&& npm pack --silent --pack-destination "$$tmp" mathjax@$(MATHJAX_VERSION) >/dev/null \
		&& tar -xzf "$$tmp/mathjax-$(MATHJAX_VERSION).tgz" -C "$$tmp" \
			package/es5/tex-svg-full.js package/LICENSE \
		&& echo "$(MATHJAX_SHA256)  $$tmp/package/es5/tex-svg-full.js" | sha256sum --check --quiet \
		&& cp "$$tmp/package/LICENSE" $(@D)/LICENSE \
		&& cp "$$tmp/package/es5/tex-svg-full.js" $@
	@echo "MathJax $(MATHJAX_VERSION): $@"

# torch first (the CPU wheel, as above), then d3rlpy; about a minute. pandas lets
# examples/d3rlpy_callback.py import seemrepro's monitor from src/ there.
bench-venv: $(BENCH_STAMP)

$(BENCH_STAMP):
	@test -x $(BENCH_PY) || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_PY) -m pip install --quiet torch==2.13.0 2>&1 | grep -v "^WARNING: Location" || true
	$(BENCH_PY) -m pip install --quiet d3rlpy==2.8.1 "pandas>=2.0" 2>&1 | grep -v "^WARNING: Location" || true
	@$(BENCH_PY) -c "import d3rlpy, pandas, torch; assert d3rlpy.__version__ == '2.8.1'" 2>/dev/null \
		|| { echo "installation of d3rlpy 2.8.1 into $(BENCH_VENV) failed"; exit 1; }
	@if $(BENCH_PY) -m pip list 2>/dev/null | grep -qi nvidia; then \
		echo "CUDA packages were installed in $(BENCH_VENV); install torch==2.13.0 (CPU) first"; \
		exit 1; fi
	@touch $@

# RECOMPUTE=1: ignore committed results and the run store, train every run again.
book: $(STAMP) $(BENCH_STAMP) $(MATHJAX)
	$(PY) -m seemrepro.tools.pipeline build --profile $(PROFILE) \
		$(if $(filter-out 0,$(RECOMPUTE)),--recompute,)

# The smoke chapters and committed results read these datasets (about five minutes, once); the
# agents part (A1/A2, A5) reads version 1
TEST_DATASETS = hopper/medium walker2d/medium halfcheetah/medium hopper/medium-expert \
	walker2d/medium-expert hopper/medium-replay walker2d/medium-replay pointmaze/umaze \
	pointmaze/medium pointmaze/large hopper/medium-v1 hopper/medium-replay-v1 \
	walker2d/medium-replay-v1

test: $(STAMP) $(BENCH_STAMP)
	$(PY) -m seemrepro.datasets.generate --only $(TEST_DATASETS) --missing
	$(PY) -m pytest

golden: $(STAMP) $(BENCH_STAMP)
	$(PY) -m seemrepro.datasets.generate --only $(TEST_DATASETS) --missing
	$(PY) -m seemrepro.tools.pipeline golden

# Every section (SEEM, training, engine); results also in _build/bench.json.
bench: $(STAMP) $(BENCH_STAMP)
	$(PY) -m seemrepro.tools.bench --section all --json _build/bench.json

data: $(STAMP)
	$(PY) -m seemrepro.datasets.generate

# make results CLAIM=T10 PROFILE=book: train what is missing, then export to data/results.
results: $(STAMP)
	@test -n "$(CLAIM)" || { echo "name a claim: make results CLAIM=T10 PROFILE=book"; exit 2; }
	$(VENV)/bin/seemrepro reproduce $(CLAIM) --profile $(PROFILE)
	$(VENV)/bin/seemrepro results export $(CLAIM) --profile $(PROFILE)

# Retrain the cheapest K committed runs per claim and profile (K=all: every run) and compare.
verify-results: $(STAMP)
	$(VENV)/bin/seemrepro results verify --k $(K) $(CLAIM)

clean:
	rm -rf _build book/executed tests/.nbval
