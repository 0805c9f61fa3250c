# overlapvae. The two commands of the README set up everything they need:
#   make train   the main job: the overlap_vs_loss demo sweep (L1/MSE x spacing 1/8) at the CPU scale,
#                two jobs at a time, then its results table and plots (under 20 minutes on 2 cores)
#   make test    lint and the whole test suite
# Another experiment or scale: make train EXPERIMENT=overlap_vs_loss SCALE=paper ARGS="seed=0"

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH_VERSION ?= 2.13.0
# Machines without an NVIDIA GPU get the CPU build of torch (never the multi-GB CUDA build).
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu
HAS_GPU := $(shell nvidia-smi -L >/dev/null 2>&1 && echo yes)
ARGS ?=
EXPERIMENT ?= overlap_vs_loss_demo
SCALE ?= cpu
SWEEP_DIR = $${OVERLAPVAE_ROOT:-.}/logs/train/sweeps/$(EXPERIMENT)_$(SCALE)

.PHONY: install slurm train test lint format benchmark benchmark-disent clean-logs

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

# The sweep's exit status is kept: a failed job fails the target, after its results are collected.
train: install
	$(BIN)/overlapvae-train -m experiment=$(EXPERIMENT) scale=$(SCALE) hydra/launcher=joblib $(ARGS); \
	status=$$?; $(BIN)/overlapvae-collect $(SWEEP_DIR) && exit $$status

# The SLURM tests start a one-node cluster; its Debian packages are installed where that is possible
# (root with apt-get), else those tests skip and say why.
SLURM_PACKAGES := slurmctld slurmd slurm-client munge
# The suite runs on one worker per core this process may use (nproc, at most 4), a test file per
# worker at a time (module fixtures stay in one process), the files in the order tests/conftest.py
# gives them: the SLURM tests, which wait on their jobs, start first beside the others.
# PARALLEL_TESTS=-n0 runs them in this process.
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 1); echo $$(( n < 4 ? n : 4 )))
PARALLEL_TESTS ?= -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder
slurm:
	@command -v sbatch >/dev/null && command -v munged >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SLURM_PACKAGES) >/dev/null \
	    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SLURM_PACKAGES) >/dev/null; }; \
	  else echo "SLURM tests will skip: install $(SLURM_PACKAGES) as root to run them"; fi; }

test: install slurm
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -q $(PARALLEL_TESTS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

BENCHMARKS ?= data_throughput array_throughput train_speed metrics distances kernel_loss loss_calibration
benchmark: install
	for script in $(BENCHMARKS); do $(BIN)/python benchmarks/$$script.py || exit 1; done

# The same benchmarks with the disent library's own code timed beside overlapvae in each process
# (benchmarks/disent_reference.py). disent needs torchvision, so they run in a second environment
# with the torch/torchvision pair below (the CPU builds where the CPU index is reachable, else PyPI's).
DISENT_VENV ?= .venv-disent
DISENT_TORCH ?= torch==2.14.1 torchvision==0.29.1
$(DISENT_VENV)/.installed: pyproject.toml
	[ -x $(DISENT_VENV)/bin/python ] || $(PYTHON) -m venv $(DISENT_VENV)
	$(DISENT_VENV)/bin/pip install --quiet --retries 0 --timeout 20 --index-url $(TORCH_CPU_INDEX) $(DISENT_TORCH) \
		|| $(DISENT_VENV)/bin/pip install --quiet $(DISENT_TORCH)
	$(DISENT_VENV)/bin/pip install --quiet disent==0.8.0 -e .
	touch $@

benchmark-disent: $(DISENT_VENV)/.installed
	for script in $(BENCHMARKS); do $(DISENT_VENV)/bin/python benchmarks/$$script.py || exit 1; done

clean-logs:
	rm -rf logs
