# overlapvae. The two commands of the README set up everything they need:
#   make train   the main job (a short beta-VAE on XYSquares, minutes on a laptop CPU)
#   make test    lint and the whole test suite
# Extra overrides for the main job: make train ARGS="seed=1 trainer.max_steps=500"

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH_VERSION ?= 2.13.0
# Machines without an NVIDIA GPU get the CPU build of torch (never the multi-GB CUDA build).
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu
HAS_GPU := $(shell nvidia-smi -L >/dev/null 2>&1 && echo yes)
ARGS ?=

.PHONY: install train test lint format benchmark clean-logs

install: $(VENV)/.installed

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.torch: | $(BIN)/python
ifeq ($(HAS_GPU),yes)
	$(BIN)/pip install --quiet "torch==$(TORCH_VERSION)"
else
	$(BIN)/pip install --quiet --retries 0 --timeout 20 --index-url $(TORCH_CPU_INDEX) "torch==$(TORCH_VERSION)" \
		|| $(BIN)/pip install --quiet "torch==$(TORCH_VERSION)"
	$(BIN)/python -c "import torch, sys; sys.exit('a CUDA build of torch was installed on a machine without a GPU' if torch.version.cuda else 0)"
endif
	touch $@

$(VENV)/.installed: pyproject.toml $(VENV)/.torch
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

train: install
	$(BIN)/overlapvae-train experiment=quickstart $(ARGS)

test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

benchmark: install
	$(BIN)/python benchmarks/data_throughput.py
	$(BIN)/python benchmarks/train_speed.py
	$(BIN)/python benchmarks/metrics.py
	$(BIN)/python benchmarks/distances.py

clean-logs:
	rm -rf logs
