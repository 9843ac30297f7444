# registry-scraper: `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PLUGINS := plugins/local plugins/s3
SYSTEM_PACKAGES := docker-registry skopeo umoci
STAMP := $(VENV)/.installed

.PHONY: run-local-storage-registry run-s3-storage-registry
.PHONY: bench
.PHONY: help install system-deps venv lint test test-unit test-local test-s3 demo clean

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  %-18s %s\n", $$1, $$2}'

system-deps: ## Install the registry and skopeo (Debian packages) if missing
	@missing=""; for bin in docker-registry skopeo umoci; do \
		command -v $$bin >/dev/null || missing="$$missing $$bin"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing$$missing with apt-get"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null; \
	fi

$(STAMP): pyproject.toml $(foreach p,$(PLUGINS),$(p)/pyproject.toml)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]' -e 'plugins/local[zst]' \
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

test: system-deps $(STAMP) lint ## Lint, then every test (unit, drivers, end to end)
	$(BIN)/pytest -q

test-unit: $(STAMP) ## Unit tests only (no registry, no S3)
	$(BIN)/pytest -q -m "not e2e and not s3"

test-local: system-deps $(STAMP) ## End-to-end tests through the real registry on local storage
	$(BIN)/pytest -q -m "e2e and not s3"

test-s3: system-deps $(STAMP) ## S3 driver and S3 end-to-end tests
	$(BIN)/pytest -q -m s3

demo: system-deps $(STAMP) ## Build a sample registry, scrape one image, serve the copy, pull it
	$(BIN)/python scripts/demo.py

bench: system-deps $(STAMP) ## Benchmarks side by side (cp, skopeo, boto3); QUICK=1 for a smoke run
	$(BIN)/python -m bench.run $(if $(QUICK),--quick) --json bench-results.json

DIR ?= ./data-copy
BUCKET ?=
PORT ?= 5000
run-local-storage-registry: system-deps ## Serve DIR (default ./data-copy) on 127.0.0.1:PORT
	scripts/serve-registry.sh local $(DIR) $(PORT)

run-s3-storage-registry: system-deps ## Serve BUCKET[/ROOT] (AWS_* env) on 127.0.0.1:PORT
	scripts/serve-registry.sh s3 $(BUCKET) $(PORT)

clean: ## Remove the venv and caches
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache build *.egg-info
