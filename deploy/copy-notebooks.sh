#!/bin/sh
# Copies golab's notebooks into the user's home on the first start of their
# server, never over a file that is already there (the single-user image's
# postStart hook; the one-host hub's spawner does the same).
set -eu
src=${GOLAB_NOTEBOOKS:-/opt/golab/notebooks}
home=${HOME:-/home/jovyan}
marker="$home/.golab/notebooks-copied"
[ -e "$marker" ] && exit 0
for f in "$src"/*.ipynb "$src"/README.md; do
  [ -e "$f" ] || continue
  [ -e "$home/$(basename "$f")" ] || cp "$f" "$home/"
done
mkdir -p "$home/.golab"
date -u +%Y-%m-%dT%H:%M:%SZ > "$marker"
