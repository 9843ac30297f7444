# registry-scraper: `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PLUGINS := plugins/local plugins/s3 plugins/gcs plugins/azure plugins/registry
# command:Debian package. Only missing commands are installed: a Node.js from elsewhere
# (nodesource ships npm inside nodejs) must not be fought over.
SYSTEM_COMMANDS := docker-registry:docker-registry skopeo:skopeo umoci:umoci node:nodejs npm:npm \
	ssh-keygen:openssh-client
# Azurite, the Azure Blob emulator the azure tests run against, pinned; installed beside the
# repository (gitignored), never globally.
AZURITE_VERSION := 3.35.0
NPM_PREFIX := .npm-tools
AZURITE := $(NPM_PREFIX)/node_modules/.bin/azurite-blob
STAMP := $(VENV)/.installed

.PHONY: run-local-storage-registry run-s3-storage-registry
.PHONY: bench
.PHONY: help install system-deps npm-deps venv lint test test-unit test-local test-s3 test-gcs
.PHONY: test-azure demo clean dist

help: ## List the targets
	@grep -E '^[a-zA-Z0-9_.-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  %-28s %s\n", $$1, $$2}'

system-deps: ## Install the registry, skopeo, umoci and Node.js (Debian packages) if missing
	@missing=""; for pair in $(SYSTEM_COMMANDS); do \
		command -v $${pair%%:*} >/dev/null || missing="$$missing $${pair#*:}"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing$$missing with apt-get"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

npm-deps: $(AZURITE) ## Install Azurite (npm) into .npm-tools for the azure tests

$(AZURITE): | system-deps
	npm install --prefix $(NPM_PREFIX) --no-audit --no-fund --loglevel=error \
		azurite@$(AZURITE_VERSION)
	touch $(AZURITE)

$(STAMP): pyproject.toml $(foreach p,$(PLUGINS),$(p)/pyproject.toml)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade 'pip>=25.1'  # 25.1: --group
	$(BIN)/pip install -q --group dev -e . -e 'plugins/local[zst]' \
		$(foreach p,$(filter-out plugins/local,$(PLUGINS)),-e $(p))
	touch $(STAMP)

venv: $(STAMP)

install: $(STAMP) ## Install the core and the shipped drivers into .venv
	@echo "scrape is at $(abspath $(BIN)/scrape)"

lint: $(STAMP) ## ruff, mypy --strict, and the 100-character limit on every tracked file
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy scraper_core $(foreach p,$(PLUGINS),$(p)/registry_scraper_$(notdir $(p)))
	@long=$$(git ls-files -co --exclude-standard | grep -v -E '\.(lock|svg|png|jpg)$$' | \
		xargs -r awk 'length > 100 {print FILENAME":"FNR}'); \
	if [ -n "$$long" ]; then echo "lines over 100 characters:"; echo "$$long"; exit 1; fi

test: system-deps npm-deps $(STAMP) lint ## Lint, every test; rewrites docs/reliability.md figures
	$(BIN)/pytest -q

test-unit: $(STAMP) ## Unit tests only (no registry, no object store)
	$(BIN)/pytest -q -m "not e2e and not s3 and not gcs and not azure"

test-local: system-deps $(STAMP) ## End-to-end tests through the real registry on local storage
	$(BIN)/pytest -q -m "e2e and not s3 and not gcs and not azure"

test-s3: system-deps $(STAMP) ## S3 driver and S3 end-to-end tests
	$(BIN)/pytest -q -m s3

test-gcs: system-deps $(STAMP) ## GCS driver and GCS end-to-end tests (fake-gcs-server)
	$(BIN)/pytest -q -m gcs

test-azure: system-deps npm-deps $(STAMP) ## Azure driver and Azure end-to-end tests (Azurite)
	$(BIN)/pytest -q -m azure

# The wheels need only the build backend pyproject.toml names: installed once into a folder of
# its own (no venv, no dev environment), and put first on the path of pip's in-tree builds.
DIST ?= dist
BUILD_BACKEND ?= .build-backend
BUILD_STAMP := $(BUILD_BACKEND)/.installed
$(BUILD_STAMP): pyproject.toml
	rm -rf $(BUILD_BACKEND)
	set -o pipefail; $(PYTHON) -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", \
		"rb"))["build-system"]["requires"], sep="\n")' | PIP_ROOT_USER_ACTION=ignore \
		$(PYTHON) -m pip install -q --target $(BUILD_BACKEND) -r /dev/stdin
	touch $(BUILD_STAMP)

# setuptools builds in each project's build/: a module deleted since the last build would ship.
dist: $(BUILD_STAMP) ## Build wheels of the core and every plugin into DIST (default ./dist)
	rm -rf $(DIST)/*.whl build $(addsuffix /build,$(PLUGINS))
	PYTHONPATH=$(abspath $(BUILD_BACKEND)) $(PYTHON) -m pip wheel -q --no-deps \
		--no-build-isolation -w $(DIST) . $(PLUGINS)
	@ls $(DIST)/*.whl

demo: system-deps $(STAMP) ## Build a sample registry, scrape one image, serve the copy, pull it
	$(BIN)/python scripts/demo.py

bench: system-deps $(STAMP) ## Benchmarks, rewriting BENCHMARKS.md; QUICK=1: bench-quick.md
	$(BIN)/python -m bench.run $(if $(QUICK),--quick) --json bench-results.json \
		--markdown $(if $(QUICK),bench-quick.md,BENCHMARKS.md)

DIR ?= ./data-copy
BUCKET ?=
PORT ?= 5000
run-local-storage-registry: system-deps ## Serve DIR (default ./data-copy) on 127.0.0.1:PORT
	scripts/serve-registry.sh local $(DIR) $(PORT)

run-s3-storage-registry: system-deps ## Serve BUCKET[/ROOT] (AWS_* env) on 127.0.0.1:PORT
	scripts/serve-registry.sh s3 $(BUCKET) $(PORT)

clean: ## Remove the venv and caches
	rm -rf $(VENV) $(BUILD_BACKEND) .pytest_cache .ruff_cache .mypy_cache build *.egg-info dist
