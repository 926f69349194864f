# golab — a deep-learning lab in Go for Jupyter.
#
#   make lab        install what is missing, build and register the kernel, open Jupyter
#   make test       everything CI checks
#   make kernel     build the kernel and install its kernelspec
#   make notebooks  run every notebook headless (QUICK=1: a subset and 1 epoch)
#   make bench      speed benchmarks beside the PyTorch reference, with ratios
#
# Go 1.26 and 1.27 both work; for 1.27 run with GOTOOLCHAIN=go1.27.3.

SHELL := /bin/bash
.ONESHELL:
.SHELLFLAGS := -eu -o pipefail -c

GO        ?= go
# The Python that has Jupyter: a conda env's python3 when active, else Debian's.
PYTHON    ?= $(shell for p in python3 /usr/bin/python3; do $$p -c 'import jupyter_client' 2>/dev/null && { command -v $$p; break; }; done)
CIFAR10_DIR ?= $(abspath ../shared/cifar-10-batches-bin)
BIN       := $(CURDIR)/bin
export CIFAR10_DIR

.PHONY: all lab test kernel notebooks bench deps check-deps vet gotest

all: kernel

## deps: install the system packages golab needs (Debian/Ubuntu, needs root or sudo)
deps:
	./.ci/install-deps

vet:
	test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt would change:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...

gotest:
	$(GO) test ./...

test: vet gotest

# The Python that has PyTorch, for the reference timings of `make bench`.
TORCH_PYTHON ?= $(shell for p in python3 /usr/bin/python3; do $$p -c 'import torch' 2>/dev/null && { command -v $$p; break; }; done)
TORCH_REF    ?= $(abspath ../shared/bench/torch_ref.py)

## bench: the lab's training step and evaluation, and its kernels alone, beside
## PyTorch (torch_ref.py), one JSON line per measurement, then the ratios.
## BENCH_FLAGS passes options, e.g. BENCH_FLAGS="-rounds 5 -steps 50 -models cnn".
bench:
	$(GO) run ./bench -torch "$(TORCH_REF)" -python "$(TORCH_PYTHON)" $(BENCH_FLAGS)
