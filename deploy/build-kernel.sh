#!/usr/bin/env bash
# Builds golab's kernel and registers its kernelspec with Jupyter: the build
# steps `make lab` runs, and the ones the single-user image runs
# (deploy/Dockerfile).
#
#   deploy/build-kernel.sh [--deps] [PREFIX]
#
# --deps   first install the system packages that are missing (Debian/Ubuntu,
#          apt; skipped inside a conda environment, which has them all)
# PREFIX   where the kernelspec goes: user (default), sys-prefix (the active
#          Python environment) or a folder (DIR/share/jupyter/kernels/golab)
# PYTHON   (environment) the Python whose Jupyter registers the kernelspec
set -euo pipefail
cd "$(dirname "$0")/.."
deps=0
if [ "${1:-}" = --deps ]; then deps=1; shift; fi
prefix=${1:-user}
command -v "${GO:-go}" >/dev/null || {
  echo "golab: Go 1.26 or newer is needed: https://go.dev/dl/ (or 'conda env create -f environment.yml')" >&2; exit 1; }
if [ "$deps" = 1 ] && [ -z "${CONDA_PREFIX:-}" ] && command -v apt-get >/dev/null; then
  ./.ci/install-deps
fi
make --no-print-directory kernel KERNEL_PREFIX="$prefix" ${PYTHON:+PYTHON="$PYTHON"}
