# Two commands do all set-up: `make demo` and `make test`. Both create .venv with the system
# Python 3.11, install the CPU build of torch first (so nothing pulls a CUDA build), then the
# project, then build the embedder once (skipped when its recipe is unchanged).
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup browser embedder demo test test-fast lint bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

# Browser tests drive Debian's Chromium (Playwright's own browser download is not possible here),
# and pages need a Japanese font to render. Installed when missing and we are root; otherwise the
# browser test says loudly that it was skipped.
browser:
	@if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi "noto sans cjk"; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null) \
	      || echo "WARNING: could not install chromium/fonts-noto-cjk; browser tests will be skipped" >&2; \
	  else echo "WARNING: chromium or fonts-noto-cjk missing and not root; browser tests will be skipped" >&2; fi; \
	fi

embedder: setup
	$(PY) scripts/build_embedder.py

demo: embedder
	$(VENV)/bin/matcher demo

# The whole suite on two worker processes (pytest-xdist): the machine has two cores, and most of
# the suite's time is model loading and subprocesses rather than shared state.
test: embedder browser
	$(VENV)/bin/pytest -q -n 2 --dist worksteal --durations=15

# The fast tier: pure unit tests (no embedder, database server, subprocess or browser), for the
# edit-test loop; `make test` still runs everything.
test-fast: setup
	$(VENV)/bin/pytest -q -m "not slow" --durations=5

lint: setup
	$(VENV)/bin/ruff check matcher api scripts tests

bench: embedder
	$(PY) scripts/bench_embed.py
	$(PY) scripts/bench_index.py

clean:
	rm -rf $(VENV) var models/e5-small-ja
