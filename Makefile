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

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
export RAG_CACHE_DIR := $(CACHE)

.PHONY: help setup test run index search clean-index

help:
	@echo "make run    set everything up, build the index if needed, run the demo search"
	@echo "make test   set everything up and run the whole test suite"
	@echo "make setup  (idempotent) virtualenv, torch $(TORCH), the project, the offline embedding model"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

setup: $(STAMP)
	$(BIN)/python -m rag.e5_convert --cache-dir "$(CACHE)"

test: setup
	$(BIN)/python -m pytest

index: setup
	$(BIN)/rag ingest --if-needed

run: index
	$(BIN)/rag search "2023年太仓市一般公共预算收入是多少？"

clean-index:
	rm -rf index/
