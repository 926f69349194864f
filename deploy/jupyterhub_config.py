# JupyterHub configuration for golab on one host (make hub, make hub-load).
#
# Everything is on localhost: the proxy (configurable-http-proxy from
# deploy/node_modules) on a free port, the hub's API and the proxy's API on
# free ports too, every user's JupyterLab server on a random port. State
# (database, cookie secret, users' homes) lives in $GOLAB_HUB_RUN.
#
# Environment (deploy/hub.sh sets the defaults):
#   GOLAB_HUB_RUN        state folder (default deploy/.run)
#   GOLAB_HUB_PORT       the public port (default: a free one)
#   GOLAB_HUB_PASSWORD   the test users' shared password (8+ characters)
#   GOLAB_HUB_TOKEN      API token of the golab-admin service (the load test)
#   GOLAB_HUB_MEM        per-user memory limit (default 2G)
#   GOLAB_HUB_CPU        per-user CPU limit in cores (default 1)
#   GOLAB_HUB_CULL       idle servers are stopped after this many seconds (default 3600)
#   GOLAB_HUB_START_TIMEOUT  seconds a server may take to start (default 300)
#   CIFAR10_DIR          the data set, shared read-only by every kernel
import os
import socket
import sys

here = os.path.dirname(os.path.abspath(__file__))
repo = os.path.dirname(here)
sys.path.insert(0, here)
from golab_spawner import GolabSpawner  # noqa: E402

c = get_config()  # noqa: F821

venv_bin = os.path.dirname(sys.executable)
run = os.path.abspath(os.environ.get("GOLAB_HUB_RUN", os.path.join(here, ".run")))
os.makedirs(run, exist_ok=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- network: loopback only, no fixed ports -----------------------------------
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = int(os.environ.get("GOLAB_HUB_PORT") or free_port())
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = free_port()
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{free_port()}"
c.ConfigurableHTTPProxy.command = [os.path.join(here, "node_modules", ".bin", "configurable-http-proxy")]
c.ConfigurableHTTPProxy.pid_file = os.path.join(run, "proxy.pid")
c.JupyterHub.db_url = "sqlite:///" + os.path.join(run, "jupyterhub.sqlite")
c.JupyterHub.cookie_secret_file = os.path.join(run, "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = os.path.join(run, "jupyterhub.pid")
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True

# --- who logs in ----------------------------------------------------------------
# Test users: any name with the shared password. A course replaces this with
# its real login (deploy/README.md: OAuthenticator for the university's
# OAuth/OIDC or GitHub, LTIAuthenticator from the learning platform).
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = os.environ["GOLAB_HUB_PASSWORD"]
c.Authenticator.allow_all = True

# An admin service whose token drives the REST API (make hub-load).
c.JupyterHub.services = [{"name": "golab-admin", "api_token": os.environ["GOLAB_HUB_TOKEN"]}]
cull = os.environ.get("GOLAB_HUB_CULL", "3600")
if cull != "0":
    c.JupyterHub.services.append({
        "name": "idle-culler",
        "command": [sys.executable, "-m", "jupyterhub_idle_culler", f"--timeout={cull}", "--cull-every=300"],
    })
c.JupyterHub.load_roles = [
    {"name": "golab-admin", "services": ["golab-admin"],
     "scopes": ["admin:users", "admin:servers", "access:servers", "read:users", "list:users"]},
]
if cull != "0":
    c.JupyterHub.load_roles.append(
        {"name": "idle-culler", "services": ["idle-culler"],
         "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"]})

# --- each user's server: JupyterLab, the golab kernel by default ----------------
c.JupyterHub.spawner_class = GolabSpawner
c.GolabSpawner.home_dir_template = os.path.join(run, "users", "{username}")
c.GolabSpawner.notebooks_dir = os.path.join(repo, "notebooks")
c.GolabSpawner.cgroup_parent_v2 = os.environ.get("GOLAB_CGROUP_PARENT", "")
c.Spawner.cmd = [os.path.join(venv_bin, "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.args = [
    "--MappingKernelManager.default_kernel_name=golab",
    # A kernel idle for an hour is shut down (its memory freed); the
    # notebook stays.
    "--MappingKernelManager.cull_idle_timeout=3600",
    "--MappingKernelManager.cull_interval=300",
]
if os.geteuid() == 0:
    # Every server runs as the hub's own user (SimpleLocalProcessSpawner);
    # here that is root, which Jupyter refuses unless told.
    c.Spawner.args.append("--allow-root")
c.Spawner.mem_limit = os.environ.get("GOLAB_HUB_MEM", "2G")
c.Spawner.cpu_limit = float(os.environ.get("GOLAB_HUB_CPU", "1"))
# 30 servers starting at once on 2 cores take minutes (deploy/README.md).
c.Spawner.start_timeout = int(os.environ.get("GOLAB_HUB_START_TIMEOUT", "300"))
c.Spawner.http_timeout = c.Spawner.start_timeout
c.Spawner.environment = {
    "CIFAR10_DIR": os.environ.get("CIFAR10_DIR", ""),
    "PATH": venv_bin + os.pathsep + os.environ.get("PATH", "/usr/bin:/bin"),
}
