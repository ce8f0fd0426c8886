# Two-command quick start (README "Quick start"):
#
#   make run     set up .venv on first use, then train examples/transformer.toml on the embedded
#                synthetic organism (no download)
#   make test    set up the same .venv on first use, then run the test suite (python -m pytest -q)
#
# The first target that needs it creates .venv and installs, in this order: PyTorch, chosen
# explicitly (default: the CPU build of torch 2.13.0, the build docs/results.md and
# docs/benchmarks.md were made with), then this project, editable, with its dev and metabolism
# extras. A stamp file in .venv records that; editing pyproject.toml re-runs the install.
#
# Choosing the PyTorch build (only the first setup reads these; `make clean-venv` to switch):
#   make run                                  CPU build of torch 2.13.0 (the default, TORCH=cpu)
#   make run TORCH=cuda                       torch 2.13.0 from PyPI: its default CUDA build on Linux
#   make run TORCH=cuda TORCH_INDEX_URL=https://download.pytorch.org/whl/cu128
#                                             a given CUDA version (index from pytorch.org's selector)
#   make run TORCH_VERSION=2.x.y              another torch version (the figures in docs/ may then differ)
#   make run TORCH_SPEC='torch>=2.4'          any pip requirement for torch
#   make run TORCH_INDEX_URL=                 only the indexes pip is configured with

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.cellreg-installed

TORCH ?= cpu
TORCH_VERSION ?= 2.13.0
TORCH_SPEC ?= torch==$(TORCH_VERSION)
ifeq ($(TORCH),cpu)
TORCH_INDEX_URL ?= https://download.pytorch.org/whl/cpu
else ifeq ($(TORCH),cuda)
TORCH_INDEX_URL ?=
else
$(error TORCH is cpu or cuda, not '$(TORCH)'; TORCH_SPEC and TORCH_INDEX_URL choose any other build)
endif
EXTRAS ?= dev,metabolism,features

CONFIG ?= examples/transformer.toml
RUN_ARGS ?=
TEST_ARGS ?=

.PHONY: run test setup clean-venv help

help:
	@sed -n '2,20s/^# \{0,1\}//p' $(firstword $(MAKEFILE_LIST))

run: $(STAMP)
	$(BIN)/cellreg run $(CONFIG) $(RUN_ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest -q $(TEST_ARGS)

setup: $(STAMP)

# --extra-index-url for torch alone: torch from TORCH_INDEX_URL (a local-version build such as
# 2.13.0+cpu ranks above PyPI's 2.13.0), its dependencies from pip's usual indexes.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install "$(TORCH_SPEC)" $(if $(strip $(TORCH_INDEX_URL)),--extra-index-url $(TORCH_INDEX_URL))
	$(BIN)/python -m pip install -e ".[$(EXTRAS)]"
	$(BIN)/python -c "import torch; print('torch', torch.__version__, '(CUDA ' + str(torch.version.cuda) + ')')"
	touch $@

clean-venv:
	rm -rf $(VENV)
