# golab — a deep-learning lab in Go for Jupyter.
#
#   make lab        install what is missing, build and register the kernel, open JupyterLab
#   make lab LAB_CHECK=1   the same without a browser: start the server, check that it
#                   serves JupyterLab and runs a cell in a golab kernel, stop it (make test runs it)
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

## ---- Python: the project's virtual environment -------------------------------
# Jupyter and the test drivers run on $(PYTHON): by default the Python of .venv,
# a virtual environment made from $(BOOTSTRAP_PYTHON) (3.11 or 3.12) on first use
# and re-made when requirements.txt changes. requirements.txt pins every package
# exactly, direct and transitive (requirements.in lists the direct ones; `make
# lock` rebuilds it in a clean environment). In an active conda environment made
# from environment.yml (one whose python imports jupyterlab and nbclient), that
# environment's python is used instead and no .venv is made. PYTHON=/path/to/python
# on the command line overrides both.
#
# The contract with the PyTorch side (TORCH_PYTHON, make bench, the parity and
# safetensors interop tests): .venv holds safetensors 0.8.0 and numpy 1.26.4
# (numpy < 2, so that Debian's PyTorch can import it); the PyTorch of make test is
# Debian's python3-torch (apt, the reference PyTorch, in /usr/bin/python3), never a
# pip one; the newest PyTorch from PyPI is for make bench only, in an environment
# of its own.
VENV             ?= .venv
BOOTSTRAP_PYTHON ?= python3
VENV_DIR         := $(abspath $(VENV))
VENV_STAMP       := $(VENV_DIR)/.golab-requirements.txt
ifeq ($(origin PYTHON),undefined)
ifneq ($(CONDA_PREFIX),)
ifeq ($(shell "$(CONDA_PREFIX)/bin/python" -c 'import jupyterlab, nbclient' 2>/dev/null && echo yes),yes)
PYTHON := $(CONDA_PREFIX)/bin/python
endif
endif
endif
ifeq ($(origin PYTHON),undefined)
PYTHON := $(VENV_DIR)/bin/python
endif
# python-env makes or checks the Python environment; targets that run Python
# depend on it.
ifeq ($(PYTHON),$(VENV_DIR)/bin/python)
PY_ENV := $(VENV_STAMP)
else
PY_ENV := python-check
endif

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

.PHONY: all lab lab-check python-env python-check lock test kernel notebooks bench assignment-time deps vet gotest test-go127

all: kernel

## lab: the main job on a fresh machine. Installs with apt what pip cannot give
## (OpenBLAS, a C compiler for cgo; as root, or it says what is missing and what
## golab does without it), makes .venv, builds the kernel and installs its
## kernelspec into the environment (JUPYTER_DATA_DIR instead when set), and opens
## JupyterLab on notebooks/. LAB_CHECK=1: no browser; start the server, check
## the /lab page, start a golab kernel through the REST API and run a cell
## through its websocket, stop the server. LAB_ARGS passes options to jupyter lab.
LAB_CHECK ?=
LAB_ARGS  ?=
lab:
	@command -v $(GO) >/dev/null || { echo "make lab: Go 1.26 or newer is needed: https://go.dev/dl/ (or 'conda env create -f environment.yml')"; exit 1; }
	# The build steps of the single-user image too (deploy/Dockerfile).
	GO=$(GO) PYTHON="$(PYTHON)" ./deploy/build-kernel.sh --deps
	if [ -n "$(LAB_CHECK)" ] && [ "$(LAB_CHECK)" != 0 ]; then
	  exec "$(PYTHON)" notebooks/tests/lab_check.py --notebook-dir notebooks --kernel "$(BIN)/golab-kernel"
	fi
	root=; [ "$$(id -u)" != 0 ] || root=--allow-root
	echo "Opening JupyterLab on notebooks/ with the Go (golab) kernel (Ctrl-C twice stops it)"
	exec "$(PYTHON)" -m jupyterlab --ServerApp.root_dir=notebooks $$root $(LAB_ARGS)

lab-check:
	@$(MAKE) --no-print-directory lab LAB_CHECK=1

python-env: $(PY_ENV)

# .venv from requirements.txt. Re-made from scratch when the lock changes, so
# that it holds exactly what the lock says (packages added to it by hand are lost).
$(VENV_STAMP): requirements.txt
	@if [ -f "$@" ] && cmp -s requirements.txt "$@" && "$(VENV_DIR)/bin/python" -c '' 2>/dev/null; then touch "$@"; exit 0; fi
	py="$(BOOTSTRAP_PYTHON)"
	command -v "$$py" >/dev/null || { echo "make: $$py not found. golab needs Python 3.11 or 3.12 with venv and pip to make $(VENV) (Debian/Ubuntu: apt install python3 python3-venv); or set BOOTSTRAP_PYTHON=/path/to/python3, or use conda (environment.yml)"; exit 1; }
	"$$py" -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 12))' || { echo "make: $$py is Python $$("$$py" -c 'import platform; print(platform.python_version())'); requirements.txt is locked for Python 3.11 and 3.12: set BOOTSTRAP_PYTHON to one of those, or use conda (environment.yml)"; exit 1; }
	"$$py" -c 'import venv, ensurepip' 2>/dev/null || { echo "make: $$py cannot make virtual environments (no venv or ensurepip module). Debian/Ubuntu: apt install python3-venv (make deps does it); or set BOOTSTRAP_PYTHON to another Python 3.11 or 3.12"; exit 1; }
	if [ -e "$(VENV_DIR)" ]; then echo "requirements.txt changed: re-making $(VENV) from scratch"; rm -rf "$(VENV_DIR)"; fi
	echo "Making $(VENV) with $$("$$py" -c 'import sys; print(sys.executable, sys.version.split()[0])'): pip install -r requirements.txt (exact versions; a minute or two the first time)"
	"$$py" -m venv "$(VENV_DIR)"
	"$(VENV_DIR)/bin/python" -m pip install --disable-pip-version-check --no-input -q -r requirements.txt
	cp requirements.txt "$@"

python-check:
	@"$(PYTHON)" -c 'import jupyterlab, notebook, nbclient, nbformat, jupyter_client, jupyter_kernel_test, playwright, websocket, safetensors, numpy' 2>/dev/null || {
	  echo "make: $(PYTHON) lacks some of golab's Python packages (jupyterlab, notebook, nbclient, jupyter_kernel_test, playwright, websocket-client, safetensors, numpy)."
	  echo "      conda: conda env update -f environment.yml; or run make with PYTHON= unset outside conda to use .venv"; exit 1; }

## lock: rebuild requirements.txt, the pip lock, from requirements.in in a clean
## virtual environment (needs PyPI). Lines of requirements.in with an environment
## marker (packages of other platforms) are copied as they are.
lock:
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT
	"$(BOOTSTRAP_PYTHON)" -m venv "$$tmp/venv"
	"$$tmp/venv/bin/python" -m pip install --disable-pip-version-check --no-input -q -r requirements.in
	marked=$$(grep -E '^[A-Za-z0-9_.-]+==[^;#]+;' requirements.in || true)
	names=$$(sed -E 's/[=; ].*//' <<< "$$marked" | tr 'A-Z_' 'a-z-' | paste -sd'|' -)
	{ echo "# The pip lock of golab's Python environment (.venv): every package, exact versions."
	  echo "# Generated by 'make lock' from requirements.in with $$("$$tmp/venv/bin/python" -c 'import sys, platform; print("Python", platform.python_version(), "on", sys.platform)'), $$(date -u +%Y-%m-%d)."
	  echo "# Do not edit by hand: change requirements.in and run make lock."
	  "$$tmp/venv/bin/python" -m pip freeze | { if [ -n "$$names" ]; then grep -viE "^($$names)=="; else cat; fi; }
	  [ -z "$$marked" ] || echo "$$marked"
	} > requirements.txt
	echo "requirements.txt: $$(grep -cvE '^(#|$$)' requirements.txt) packages"

## deps: install with apt what pip cannot give, for make lab and make test
## (Debian/Ubuntu, as root or with sudo): OpenBLAS, a C compiler for cgo,
## python3-venv when python3 lacks it, Chromium for the browser tests and
## Debian's PyTorch (the reference). .ci/install-deps says what each is for.
deps:
	./.ci/install-deps test

vet:
	test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt would change:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...

# A bounded fuzz run of the safetensors reader (crafted files must give an
# error, never a panic) follows the tests. The fuzz runs are bounded by a
# count of inputs (about 10 s here), not a duration: Go 1.26's fuzzer can
# fail a target with "context deadline exceeded" as a duration runs out
# (go.dev/issue/75804, fixed in Go 1.27), which it did in a CI run of
# 2026-11-30.
LAB_FUZZTIME ?= 300000x

gotest: compile-cache
	$(GO) test ./...
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(LAB_FUZZTIME) ./lab/internal/safetensors

# golab supports Go 1.26 and 1.27: CI also builds and tests on 1.27 (the Go
# proxy serves the toolchain). -short skips the longest learning test.
GO127 ?= go1.27.3
test-go127:
	GOTOOLCHAIN=$(GO127) $(GO) version
	GOTOOLCHAIN=$(GO127) $(MAKE) --no-print-directory compile-cache
	GOTOOLCHAIN=$(GO127) $(GO) vet ./...
	GOTOOLCHAIN=$(GO127) $(GO) test -short ./lab/... ./kernel/...

test: vet gotest test-go127

## ---- PyTorch reference (bench/torchref/README.md) ---------------------------
# TORCH_PYTHON runs golab's PyTorch reference (bench/torchref) for the parity
# and safetensors interop tests in `go test` and for make bench. Unset, it is
# python3 when that has torch and safetensors (an active conda environment),
# else .venv-torch-debian, which `make torch-env` makes on first use: Debian's
# /usr/bin/python3 with python3-torch (apt) plus the pinned safetensors (PyPI).
# TORCH_PYPI_PYTHON is the newest PyTorch from PyPI, for make bench only:
# .venv-torch-pypi, made on first use (about 3 GB to download, 5.4 GB on disk).
ifeq ($(origin TORCH_PYTHON),undefined)
TORCH_PYTHON := $(shell python3 -c 'import importlib.util as u, sys; sys.exit(not (u.find_spec("torch") and u.find_spec("safetensors")))' 2>/dev/null && command -v python3 || echo $(CURDIR)/.venv-torch-debian/bin/python)
endif
export TORCH_PYTHON
TORCH_PYPI_PYTHON ?= $(CURDIR)/.venv-torch-pypi/bin/python

.PHONY: torch-env torch-pypi-env
torch-env:
	bench/torchref/mkenv test "$(TORCH_PYTHON)"
torch-pypi-env:
	bench/torchref/mkenv pypi "$(TORCH_PYPI_PYTHON)"

# go test runs the parity and interop tests with $TORCH_PYTHON.
gotest: torch-env

## bench: the lab's training step and evaluation, and its kernels alone, beside
## golab's PyTorch reference on Debian's PyTorch and on the newest from PyPI,
## one JSON line per measurement, then the ratios against each. BENCH_FLAGS
## passes options, e.g. BENCH_FLAGS="-rounds 5 -steps 50 -models cnn".
bench: torch-env torch-pypi-env
	$(GO) run ./bench -torch-python "$(TORCH_PYTHON)" -torch-pypi-python "$(TORCH_PYPI_PYTHON)" $(BENCH_FLAGS)

## assignment-time: the five training runs of the assignment (CNNModel 20
## epochs, DropoutCNN p = 0.2, 0.5, 0.8 for 20, 29 and 20, ImprovedCNN 15),
## each projected from a measured sample of its training steps and
## validation on CIFAR-10, in golab and in golab's PyTorch reference on
## Debian's PyTorch and, when .venv-torch-pypi (or $TORCH_PYPI_PYTHON)
## exists, on the newest from PyPI, and the totals; BENCH_FLAGS as for
## bench, e.g. "-steps 100 -rounds 2".
assignment-time: torch-env
	$(GO) run ./bench -assignment -torch-python "$(TORCH_PYTHON)" $(if $(wildcard $(TORCH_PYPI_PYTHON)),-torch-pypi-python "$(TORCH_PYPI_PYTHON)") $(BENCH_FLAGS)

## ---- kernel (kernel/README.md) ----------------------------------------------
# make kernel                         build bin/golab-kernel and install the "golab"
#                                     kernelspec into $(PYTHON)'s environment (.venv, or the
#                                     conda environment); into $JUPYTER_DATA_DIR when it is set
# make kernel KERNEL_PREFIX=user        for the user (~/.local/share/jupyter, or
#                                     $JUPYTER_DATA_DIR), seen by any Jupyter of that user
# make kernel KERNEL_PREFIX=/some/dir   into /some/dir/share/jupyter/kernels
# make kernel-bindings                re-generate kernel/internal/bindings (yaegi extract)
# make test-kernel                    Go tests, jupyter_kernel_test and the notebook test,
#                                     against a kernelspec in a throwaway JUPYTER_DATA_DIR
ifeq ($(origin KERNEL_PREFIX),undefined)
KERNEL_PREFIX := $(if $(JUPYTER_DATA_DIR),user,sys-prefix)
endif
# A count of inputs, not a duration: see LAB_FUZZTIME.
KERNEL_FUZZTIME ?= 300000x

.PHONY: kernel-bindings test-kernel bench-kernel compile-cache

kernel-bindings:
	cd kernel/internal/bindings && $(GO) generate .

# make kernel needs only jupyter_client from $(PYTHON) (the single-user image and
# the hub install the kernelspec with Pythons of their own); it makes .venv when
# that is the Python.
# The binary records the toolchain, the module folder and the Go caches it was
# built with: functions marked //golab:compile are built into plugins with them
# (see kernel/internal/compiled), also for users whose HOME is another (a hub). prepare-compile then builds the packages cells can
# import for dynamic linking, once per toolchain and change of the lab (minutes
# the first time), so that the first compile in a session takes seconds.
kernel: kernel-bindings $(filter $(VENV_STAMP),$(PY_ENV))
	@goroot=$$($(GO) env GOROOT); modcache=$$($(GO) env GOMODCACHE); gocache=$$($(GO) env GOCACHE)
	$(GO) build -ldflags "-X 'golab/kernel/internal/compiled.goRoot=$$goroot' -X 'golab/kernel/internal/compiled.moduleRoot=$(CURDIR)' -X 'golab/kernel/internal/compiled.modCache=$$modcache' -X 'golab/kernel/internal/compiled.buildCache=$$gocache'" \
	  -o $(BIN)/golab-kernel ./kernel/cmd/golab-kernel
	$(BIN)/golab-kernel prepare-compile
	"$(PYTHON)" -c 'import jupyter_client' 2>/dev/null || { echo "make kernel: $(PYTHON) cannot import jupyter_client, which installs the kernelspec: make it with make python-env (.venv), or install jupyter_client into it"; exit 1; }
	spec=$$(mktemp -d); trap 'rm -rf "$$spec"' EXIT
	$(BIN)/golab-kernel kernelspec "$$spec/golab"
	case "$(KERNEL_PREFIX)" in
	  user) where=--user ;;
	  sys-prefix) where=--sys-prefix ;;
	  *) where="--prefix=$(KERNEL_PREFIX)" ;;
	esac
	# Modules, not `python -m jupyter kernelspec`: that runs the first
	# jupyter-kernelspec on PATH, which may belong to another Python.
	"$(PYTHON)" -W ignore::DeprecationWarning -m jupyter_client.kernelspecapp install $$where --name golab "$$spec/golab"
	# A golab kernelspec found earlier on Jupyter's path (an older install for the
	# user, say) would hide this one from this Python's Jupyter: say so.
	"$(PYTHON)" notebooks/tests/lab_check.py --spec-only --kernel "$(BIN)/golab-kernel"

# compile-cache: what make kernel's prepare-compile does, with a throwaway kernel
# binary: the build cache of the packages plugins import, for the Go in use. The
# tests of //golab:compile build plugins; without it their first build takes
# minutes (see kernel/README.md).
compile-cache:
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT
	$(GO) build -o "$$tmp/golab-kernel" ./kernel/cmd/golab-kernel
	"$$tmp/golab-kernel" prepare-compile

test-kernel: python-env
	export JUPYTER_DATA_DIR=$$(mktemp -d) PYDEVD_DISABLE_FILE_VALIDATION=1
	trap 'rm -rf "$$JUPYTER_DATA_DIR"' EXIT
	$(MAKE) --no-print-directory kernel KERNEL_PREFIX=user
	GOLAB_KERNEL_BIN=$(BIN)/golab-kernel $(GO) test ./kernel/...
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(KERNEL_FUZZTIME) ./kernel/internal/wire
	GOLAB_KERNEL_TEST=1 "$(PYTHON)" -m unittest discover -s kernel/tests -p 'test_*.py'

# Kernel benchmarks: start to kernel_info_reply, trivial-cell round trip (Go
# client, then Python jupyter_client: execute_request to status idle), memory
# over 1,000 cells (numbers in kernel/README.md).
bench-kernel: python-env
	export JUPYTER_DATA_DIR=$$(mktemp -d)
	trap 'rm -rf "$$JUPYTER_DATA_DIR"' EXIT
	$(MAKE) --no-print-directory kernel KERNEL_PREFIX=user
	GOLAB_KERNEL_BIN=$(BIN)/golab-kernel $(GO) test ./kernel/internal/kernel -run '^$$' -bench . -benchtime 1x -count 1
	"$(PYTHON)" kernel/tests/bench_roundtrip.py --cells 500
	# The floor: a kernel that sends the same messages and runs nothing.
	$(GO) build -o $(BIN)/golab-floorkernel ./kernel/tests/floorkernel
	mkdir -p "$$JUPYTER_DATA_DIR/kernels/golab-floor"
	printf '{"argv": ["%s", "-f", "{connection_file}"], "display_name": "golab floor", "language": "go"}\n' "$(BIN)/golab-floorkernel" > "$$JUPYTER_DATA_DIR/kernels/golab-floor/kernel.json"
	"$(PYTHON)" kernel/tests/bench_roundtrip.py --cells 500 --kernel golab-floor

test: test-kernel

## ---- notebooks (notebooks/README.md) ------------------------------------------
# make notebooks          execute every notebook headless with the assignment's settings
#                         (hours, unless notebooks/runs holds the runs); executed copies go
#                         to notebooks/.executed, the committed notebooks are not modified
# make notebooks QUICK=1  the same on a subset of the data, 1 epoch (a few minutes)
# make test-notebooks     every notebook in QUICK mode through nbclient, checked (in make test)
# make test-browser       JupyterLab 4 and Notebook 7 in headless Chromium, driven by
#                         Playwright: 01-dataset and 03-training in QUICK mode, figures, the
#                         live view, interrupt, completion, tooltips, restart, an untrusted
#                         reopen (in make test). Screenshots go to BROWSER_SHOTS; make
#                         test-browser BROWSER_SHOTS=docs updates the README's. Needs Chromium
#                         (CHROMIUM, default /usr/bin/chromium; make deps installs it);
#                         SKIP_BROWSER=1 skips it, saying so.
# make test-lab           make lab LAB_CHECK=1 (in make test)
# They build the kernel into a throwaway JUPYTER_DATA_DIR and run on $(PYTHON).
NB_OUT        ?= notebooks/.executed
BROWSER_SHOTS ?= $(NB_OUT)/browser
CHROMIUM      ?= /usr/bin/chromium
SKIP_BROWSER  ?=

.PHONY: test-notebooks test-browser test-lab

notebooks: python-env
	export JUPYTER_DATA_DIR=$$(mktemp -d) PYDEVD_DISABLE_FILE_VALIDATION=1 QUICK=$(QUICK)
	trap 'rm -rf "$$JUPYTER_DATA_DIR"' EXIT
	$(MAKE) --no-print-directory kernel KERNEL_PREFIX=user
	if [ "$(QUICK)" = 1 ]; then export GOLAB_RUNS=$${GOLAB_RUNS:-$(CURDIR)/$(NB_OUT)/runs}; fi
	"$(PYTHON)" notebooks/tests/run_notebooks.py --out $(NB_OUT)

test-notebooks: python-env
	export JUPYTER_DATA_DIR=$$(mktemp -d) GOLAB_RUNS=$$(mktemp -d) PYDEVD_DISABLE_FILE_VALIDATION=1
	trap 'rm -rf "$$JUPYTER_DATA_DIR" "$$GOLAB_RUNS"' EXIT
	$(MAKE) --no-print-directory kernel KERNEL_PREFIX=user
	"$(PYTHON)" notebooks/tests/run_notebooks.py --quick --check --out $(NB_OUT)/test

test-browser: python-env
	if [ -n "$(SKIP_BROWSER)" ] && [ "$(SKIP_BROWSER)" != 0 ]; then echo "test-browser: SKIPPED (SKIP_BROWSER=$(SKIP_BROWSER)): JupyterLab and Notebook 7 were not tested in a browser"; exit 0; fi
	test -x "$(CHROMIUM)" || { echo "test-browser: no Chromium at $(CHROMIUM): install it (make deps, or apt install chromium) or set CHROMIUM=/path/to/chromium; SKIP_BROWSER=1 skips the browser tests"; exit 1; }
	export JUPYTER_DATA_DIR=$$(mktemp -d) PYDEVD_DISABLE_FILE_VALIDATION=1
	trap 'rm -rf "$$JUPYTER_DATA_DIR"' EXIT
	$(MAKE) --no-print-directory kernel KERNEL_PREFIX=user
	"$(PYTHON)" notebooks/tests/browser_test.py --kernelspec "$$JUPYTER_DATA_DIR/kernels/golab" \
	  --chromium "$(CHROMIUM)" --shots "$(BROWSER_SHOTS)"

test-lab:
	@$(MAKE) --no-print-directory lab LAB_CHECK=1

test: test-notebooks test-browser test-lab

## ---- hub: a class on one host (deploy/README.md) --------------------------------
# make hub            JupyterHub on localhost (free port, URL printed): JupyterLab with the
#                     golab kernel for every user, notebooks copied on first login
# make hub-load N=30  N students at once through the hub's REST and websocket APIs, measured
# make hub-pss        memory of KERNELS (5) golab kernels holding CIFAR-10 at once
# make hub-check      the deploy files parsed and checked (Dockerfile, helm values; in make test)
# make hub-deps       deploy/.venv (deploy/requirements.txt) and deploy/node_modules (package-lock.json)
HUB_PYTHON ?= python3
HUB_VENV   := deploy/.venv
N          ?= 30
KERNELS    ?= 5

.PHONY: hub hub-deps hub-kernel hub-load hub-pss hub-check

hub-deps: $(HUB_VENV)/.installed deploy/node_modules/.installed

$(HUB_VENV)/.installed: deploy/requirements.txt
	$(HUB_PYTHON) -m venv $(HUB_VENV)
	$(HUB_VENV)/bin/pip install -q --disable-pip-version-check -r deploy/requirements.txt
	touch $@

deploy/node_modules/.installed: deploy/package.json deploy/package-lock.json
	(cd deploy && npm ci --no-audit --no-fund --loglevel=error)
	touch $@

hub-kernel: hub-deps
	PYTHON=$(CURDIR)/$(HUB_VENV)/bin/python GO=$(GO) ./deploy/build-kernel.sh $(CURDIR)/$(HUB_VENV)

hub: hub-kernel
	./deploy/hub.sh

hub-load: hub-kernel
	$(HUB_VENV)/bin/python deploy/hub_load.py -n $(N) $(HUB_LOAD_FLAGS)

hub-pss: python-env
	export JUPYTER_DATA_DIR=$$(mktemp -d); trap 'rm -rf "$$JUPYTER_DATA_DIR"' EXIT
	$(MAKE) --no-print-directory kernel KERNEL_PREFIX=user
	"$(PYTHON)" deploy/pss_kernels.py -n $(KERNELS) $(HUB_PSS_FLAGS)

hub-check: python-env
	"$(PYTHON)" deploy/check_deploy.py --self-test

test: hub-check
