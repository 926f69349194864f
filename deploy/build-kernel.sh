#!/usr/bin/env bash
# Builds golab's kernel and registers its kernelspec with Jupyter: the build
# steps `make lab` runs, and the ones the single-user image runs
# (deploy/Dockerfile).
#
#   deploy/build-kernel.sh [--deps] [PREFIX]
#
# --deps   first install the system packages that are missing (Debian/Ubuntu,
#          apt; skipped inside a conda environment, which has them all)
# PREFIX   where the kernelspec goes: user, sys-prefix (the environment of
#          PYTHON) or a folder (DIR/share/jupyter/kernels/golab); default: the
#          Makefile's (.venv's environment, or JUPYTER_DATA_DIR when set)
# PYTHON   (environment) the Python whose Jupyter registers the kernelspec;
#          default: the Makefile's (.venv, made on first use)
set -euo pipefail
cd "$(dirname "$0")/.."
deps=0
if [ "${1:-}" = --deps ]; then deps=1; shift; fi
prefix=${1:-}
command -v "${GO:-go}" >/dev/null || {
  echo "golab: Go 1.26 or newer is needed: https://go.dev/dl/ (or 'conda env create -f environment.yml')" >&2; exit 1; }
if [ "$deps" = 1 ] && [ -z "${CONDA_PREFIX:-}" ] && command -v apt-get >/dev/null; then
  ./.ci/install-deps lab
fi
make --no-print-directory kernel ${prefix:+KERNEL_PREFIX="$prefix"} ${PYTHON:+PYTHON="$PYTHON"}
