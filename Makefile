# golab — a deep-learning lab in Go for Jupyter.
#
#   make lab        install what is missing, build and register the kernel, open Jupyter
#   make test       everything CI checks
#   make kernel     build the kernel and install its kernelspec
#   make notebooks  run every notebook headless (QUICK=1: a subset and 1 epoch)
#   make bench      speed benchmarks beside the PyTorch reference, with ratios
#   make assignment-time  the whole assignment's training time, projected, beside PyTorch's
#
# Go 1.26 and 1.27 both work; for 1.27 run with GOTOOLCHAIN=go1.27.3.

SHELL := /bin/bash
.ONESHELL:
.SHELLFLAGS := -eu -o pipefail -c

GO        ?= go
# The Python that has Jupyter: a conda env's python3 when active, else Debian's.
PYTHON    ?= $(shell for p in python3 /usr/bin/python3; do $$p -c 'import jupyter_client' 2>/dev/null && { command -v $$p; break; }; done)
# CIFAR-10: $CIFAR10_DIR when set, else the shared copy beside the checkout when
# there is one, else lab.LoadCIFAR's cache folder (downloaded on first use).
SHARED_CIFAR := $(abspath ../shared/cifar-10-batches-bin)
ifeq ($(origin CIFAR10_DIR),undefined)
ifneq ($(wildcard $(SHARED_CIFAR)/test_batch.bin),)
CIFAR10_DIR := $(SHARED_CIFAR)
export CIFAR10_DIR
endif
endif
BIN       := $(CURDIR)/bin

.PHONY: all lab open-jupyter test kernel notebooks bench assignment-time deps vet gotest test-go127

all: kernel

## lab: the main job on a fresh machine: install what is missing (apt on
## Debian/Ubuntu; in a conda environment, environment.yml has it all), build
## and register the kernel, open Jupyter on notebooks/.
lab:
	command -v $(GO) >/dev/null || { echo "make lab: Go 1.26 or newer is needed: https://go.dev/dl/ (or 'conda env create -f environment.yml')"; exit 1; }
	if [ -z "$${CONDA_PREFIX:-}" ] && command -v apt-get >/dev/null; then ./.ci/install-deps; fi
	$(MAKE) --no-print-directory kernel
	$(MAKE) --no-print-directory open-jupyter

# JupyterLab when it is installed (conda), else the classic Notebook (Debian 12).
open-jupyter:
	test -n "$(PYTHON)" || { echo "no Python with Jupyter found: run 'make deps' or activate the conda environment (environment.yml)"; exit 1; }
	if $(PYTHON) -c 'import jupyterlab' 2>/dev/null; then app=lab; else app=notebook; fi
	echo "Opening Jupyter ($$app) on notebooks/ with the Go (golab) kernel"
	exec $(PYTHON) -m jupyter $$app --notebook-dir=notebooks

## deps: install the system packages golab needs (Debian/Ubuntu, needs root or sudo)
deps:
	./.ci/install-deps

vet:
	test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt would change:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...

gotest:
	$(GO) test ./...

# golab supports Go 1.26 and 1.27: CI also builds and tests on 1.27 (the Go
# proxy serves the toolchain). -short skips the longest learning test.
GO127 ?= go1.27.3
test-go127:
	GOTOOLCHAIN=$(GO127) $(GO) version
	GOTOOLCHAIN=$(GO127) $(GO) vet ./...
	GOTOOLCHAIN=$(GO127) $(GO) test -short ./lab/... ./kernel/...

test: vet gotest test-go127

# The Python that has PyTorch, for the reference timings of `make bench`.
TORCH_PYTHON ?= $(shell for p in python3 /usr/bin/python3; do $$p -c 'import torch' 2>/dev/null && { command -v $$p; break; }; done)
TORCH_REF    ?= $(abspath ../shared/bench/torch_ref.py)

## bench: the lab's training step and evaluation, and its kernels alone, beside
## PyTorch (torch_ref.py), one JSON line per measurement, then the ratios.
## BENCH_FLAGS passes options, e.g. BENCH_FLAGS="-rounds 5 -steps 50 -models cnn".
bench:
	$(GO) run ./bench -torch "$(TORCH_REF)" -python "$(TORCH_PYTHON)" $(BENCH_FLAGS)

## assignment-time: the five training runs of the assignment (CNNModel 20
## epochs, DropoutCNN p = 0.2, 0.5, 0.8 for 20, 29 and 20, ImprovedCNN 15),
## each projected from a measured sample of its training steps and
## validation on CIFAR-10, in golab and in the PyTorch reference, and the
## total; BENCH_FLAGS as for bench, e.g. "-steps 100 -rounds 2".
assignment-time:
	$(GO) run ./bench -assignment -torch "$(TORCH_REF)" -python "$(TORCH_PYTHON)" $(BENCH_FLAGS)

## ---- kernel (kernel/README.md) ----------------------------------------------
# make kernel                         build bin/golab-kernel and install the "golab"
#                                     kernelspec for the user ($JUPYTER_DATA_DIR when set)
# make kernel KERNEL_PREFIX=sys-prefix  into the active Python environment (conda, venv)
# make kernel KERNEL_PREFIX=/some/dir   into /some/dir/share/jupyter/kernels
# make kernel-bindings                re-generate kernel/internal/bindings (yaegi extract)
# make test-kernel                    Go tests, jupyter_kernel_test and the notebook test,
#                                     against a kernelspec in a throwaway JUPYTER_DATA_DIR
KERNEL_PREFIX ?= user
KERNEL_FUZZTIME ?= 10s

.PHONY: kernel-bindings test-kernel bench-kernel

kernel-bindings:
	cd kernel/internal/bindings && $(GO) generate .

kernel: kernel-bindings
	$(GO) build -o $(BIN)/golab-kernel ./kernel/cmd/golab-kernel
	test -n "$(PYTHON)" || { echo "make kernel: no Python with Jupyter found; run 'make deps' (Debian) or activate the conda environment"; exit 1; }
	spec=$$(mktemp -d); trap 'rm -rf "$$spec"' EXIT
	$(BIN)/golab-kernel kernelspec "$$spec/golab"
	case "$(KERNEL_PREFIX)" in
	  user) where=--user ;;
	  sys-prefix) where=--sys-prefix ;;
	  *) where="--prefix=$(KERNEL_PREFIX)" ;;
	esac
	$(PYTHON) -m jupyter kernelspec install $$where --name golab --replace "$$spec/golab"

test-kernel:
	test -n "$(PYTHON)" || { echo "make test-kernel: no Python with Jupyter found; run 'make deps'"; exit 1; }
	export JUPYTER_DATA_DIR=$$(mktemp -d) PYDEVD_DISABLE_FILE_VALIDATION=1
	trap 'rm -rf "$$JUPYTER_DATA_DIR"' EXIT
	$(MAKE) --no-print-directory kernel KERNEL_PREFIX=user
	GOLAB_KERNEL_BIN=$(BIN)/golab-kernel $(GO) test ./kernel/...
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(KERNEL_FUZZTIME) ./kernel/internal/wire
	GOLAB_KERNEL_TEST=1 $(PYTHON) -m unittest discover -s kernel/tests -p 'test_*.py'

# Kernel benchmarks: start to kernel_info_reply, trivial-cell round trip, memory
# over 1,000 cells (numbers in kernel/README.md).
bench-kernel:
	$(GO) build -o $(BIN)/golab-kernel ./kernel/cmd/golab-kernel
	GOLAB_KERNEL_BIN=$(BIN)/golab-kernel $(GO) test ./kernel/internal/kernel -run '^$$' -bench . -benchtime 1x -count 1

test: test-kernel

## ---- notebooks (notebooks/README.md) ------------------------------------------
# make notebooks          execute every notebook headless with the assignment's settings
#                         (hours, unless notebooks/runs holds the runs); executed copies go
#                         to notebooks/.executed, the committed notebooks are not modified
# make notebooks QUICK=1  the same on a subset of the data, 1 epoch (a few minutes)
# make test-notebooks     every notebook in QUICK mode through nbclient, checked (in make test)
# make test-browser       01-dataset in the Notebook server and headless Chromium (in make test)
# Both build the kernel into a throwaway JUPYTER_DATA_DIR; they need Debian's Jupyter
# (python3-nbclient, python3-notebook) and chromium, chromium-driver: make deps.
NB_PYTHON ?= $(PYTHON)
NB_OUT    ?= notebooks/.executed

.PHONY: test-notebooks test-browser

notebooks:
	export JUPYTER_DATA_DIR=$$(mktemp -d) PYDEVD_DISABLE_FILE_VALIDATION=1 QUICK=$(QUICK)
	trap 'rm -rf "$$JUPYTER_DATA_DIR"' EXIT
	$(MAKE) --no-print-directory kernel KERNEL_PREFIX=user
	if [ "$(QUICK)" = 1 ]; then export GOLAB_RUNS=$${GOLAB_RUNS:-$(CURDIR)/$(NB_OUT)/runs}; fi
	$(NB_PYTHON) notebooks/tests/run_notebooks.py --out $(NB_OUT)

test-notebooks:
	export JUPYTER_DATA_DIR=$$(mktemp -d) GOLAB_RUNS=$$(mktemp -d) PYDEVD_DISABLE_FILE_VALIDATION=1
	trap 'rm -rf "$$JUPYTER_DATA_DIR" "$$GOLAB_RUNS"' EXIT
	$(MAKE) --no-print-directory kernel KERNEL_PREFIX=user
	$(NB_PYTHON) notebooks/tests/run_notebooks.py --quick --check --out $(NB_OUT)/test

test-browser:
	export JUPYTER_DATA_DIR=$$(mktemp -d) PYDEVD_DISABLE_FILE_VALIDATION=1
	trap 'rm -rf "$$JUPYTER_DATA_DIR"' EXIT
	$(MAKE) --no-print-directory kernel KERNEL_PREFIX=user
	size=$$($(GO) run ./notebooks/tests/gridsize -n 4)
	$(NB_PYTHON) notebooks/tests/browser_test.py --notebook notebooks/01-dataset.ipynb \
	  --kernelspec "$$JUPYTER_DATA_DIR/kernels/golab" --cell 'viz.ShowImages(data.Train, picks...)' \
	  --size "$$size" --screenshot docs/browser-01-dataset.png

test: test-notebooks test-browser
