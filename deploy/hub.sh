#!/usr/bin/env bash
# Starts golab's JupyterHub on localhost (make hub): JupyterLab for every
# user, the golab kernel by default, notebooks copied from notebooks/ on first
# login. Ctrl-C stops it (and every user's server).
#
# Needs deploy/.venv and deploy/node_modules (make hub-deps) and the golab
# kernelspec in deploy/.venv (make hub-kernel); make hub does all three.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export GOLAB_HUB_RUN=${GOLAB_HUB_RUN:-$here/.run}
mkdir -p "$GOLAB_HUB_RUN"
chmod 700 "$GOLAB_HUB_RUN"
py="$here/.venv/bin/python"
[ -x "$py" ] && [ -x "$here/node_modules/.bin/configurable-http-proxy" ] || {
  echo "hub: deploy/.venv or deploy/node_modules is missing: run 'make hub-deps'" >&2; exit 1; }
"$py" -c 'import jupyter_client.kernelspec as k, sys; sys.exit("golab" not in k.KernelSpecManager().find_kernel_specs())' || {
  echo "hub: the golab kernelspec is not in deploy/.venv: run 'make hub-kernel'" >&2; exit 1; }

# secret NAME: $GOLAB_HUB_<NAME> if set, else the one kept in the run
# folder, else a new random one kept there (mode 600).
secret() {
  local var="GOLAB_HUB_$1" file="$GOLAB_HUB_RUN/$(echo "$1" | tr A-Z a-z)"
  if [ -n "${!var:-}" ]; then return; fi
  [ -s "$file" ] || (umask 077; "$py" -c "import secrets; print(secrets.token_urlsafe($2))" > "$file")
  export "$var=$(cat "$file")"
}
secret PASSWORD 9
secret TOKEN 32
if [ -z "${GOLAB_HUB_PORT:-}" ]; then
  GOLAB_HUB_PORT=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
fi
export GOLAB_HUB_PORT
if [ -z "${CIFAR10_DIR:-}" ]; then
  echo "hub: CIFAR10_DIR is not set: each kernel's lab.LoadCIFAR will use (or download to) its user's cache" >&2
fi

cat <<MSG
golab hub: http://127.0.0.1:$GOLAB_HUB_PORT/
  log in with any user name and the password: $GOLAB_HUB_PASSWORD
  (kept in $GOLAB_HUB_RUN/password; set GOLAB_HUB_PASSWORD to choose one)
  per user: ${GOLAB_HUB_MEM:-2G} memory, ${GOLAB_HUB_CPU:-1} CPU; homes in $GOLAB_HUB_RUN/users
  data: ${CIFAR10_DIR:-(per-user cache)}
  Ctrl-C stops the hub and every user's server.
MSG
cd "$GOLAB_HUB_RUN"
exec "$here/.venv/bin/jupyterhub" -f "$here/jupyterhub_config.py" "$@"
