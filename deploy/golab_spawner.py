"""The spawner golab's one-host hub uses (deploy/jupyterhub_config.py).

GolabSpawner is JupyterHub's SimpleLocalProcessSpawner (every user's server
runs as the hub's own Unix user, with a home folder of its own; no system
accounts needed) plus what a class needs:

- each user's notebooks are copied from the repository's notebooks/ on the
  first start (files already in the home are never overwritten);
- per-user limits are enforced with cgroups where the hub can write them:
  memory (hard: the kernel OOM-kills inside that user's group only), CPU
  (a CFS quota of cpu_limit cores) and a process count. cgroup v1 (what
  this host has) and v2 (with a delegated parent) are both handled; where
  neither is writable the limits are only advisory (MEM_LIMIT, CPU_LIMIT and
  GOMEMLIMIT in the environment) and the hub log says so at the first spawn.

RLIMIT_AS is not used: a Go process reserves far more address space than it
touches, and the mapped CIFAR-10 files count too, so an address-space limit
kills healthy kernels instead of limiting memory.
"""

import atexit
import os
import random
import shutil
import signal
import socket
import time

from jupyterhub.spawner import SimpleLocalProcessSpawner
from traitlets import Integer, Unicode

GROUP = "golab-hub-%d" % os.getpid()  # one parent group per hub process


def _own_cgroup(controller):
    """The hub's own cgroup path for a v1 controller ('' for v2), or None."""
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            if controller in ctrls.split(","):
                return path
    return None


def _write(path, value):
    with open(path, "w") as f:
        f.write(str(value))


def _remove_parents(dirs):
    for d in dirs:
        try:
            os.rmdir(d)
        except OSError:
            pass


def probe_cgroups(parent_v2=""):
    """Where per-user cgroups can be made: a dict controller -> parent folder
    ({'v2': folder} for the unified hierarchy), and a sentence saying what
    is enforced."""
    dirs = {}
    if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):  # pure v2
        parent = parent_v2 or None
        if parent:
            try:
                os.makedirs(os.path.join(parent, GROUP), exist_ok=True)
                for d in (parent, os.path.join(parent, GROUP)):
                    _write(os.path.join(d, "cgroup.subtree_control"), "+memory +cpu +pids")
                dirs["v2"] = os.path.join(parent, GROUP)
            except OSError as e:
                return {}, f"cgroup v2: cannot delegate memory/cpu under {parent} ({e}); limits are advisory only"
        else:
            return {}, "cgroup v2 without a delegated parent (set GOLAB_CGROUP_PARENT); limits are advisory only"
    else:
        # cpuacct only counts (per-user CPU time for make hub-load).
        for ctrl in ("memory", "cpu", "cpuacct", "pids"):
            own = _own_cgroup(ctrl)
            base = f"/sys/fs/cgroup/{ctrl}"
            if own is None or not os.path.isdir(base):
                continue
            d = os.path.join(base + own, GROUP)
            try:
                os.makedirs(d, exist_ok=True)
                probe = os.path.join(d, "probe-%d" % os.getpid())
                os.mkdir(probe)
                os.rmdir(probe)
                dirs[ctrl] = d
            except OSError:
                pass
    atexit.register(_remove_parents, list(dirs.values()))
    if not dirs:
        return {}, "no writable cgroup; limits are advisory only (MEM_LIMIT, CPU_LIMIT, GOMEMLIMIT)"
    names = ", ".join(sorted(dirs))
    return dirs, f"enforced with cgroups ({'v2' if 'v2' in dirs else 'v1'}: {names})"


def ephemeral_ports():
    """The kernel's range of ports for bind(0): (first, last)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = (int(x) for x in f.read().split())
            return lo, hi
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


def port_is_free(port, ip="127.0.0.1"):
    with socket.socket() as s:
        try:
            s.bind((ip, port))
        except OSError:
            return False
    return True


class GolabSpawner(SimpleLocalProcessSpawner):
    """SimpleLocalProcessSpawner with notebooks copied in and cgroup limits."""

    notebooks_dir = Unicode("", config=True, help="Folder whose notebooks each user gets on first start.")
    cgroup_parent_v2 = Unicode("", config=True, help="A delegated cgroup v2 folder for per-user groups.")
    pids_limit = Integer(1024, config=True, help="Most processes and threads per user (cgroups).")

    _probe = None  # shared by all spawners: (dirs, sentence)
    _ports = set()  # ports given to servers of this hub that still run
    _picked = 0  # the port server_port gave this spawner's server

    def server_port(self):
        """A free port for a server, below the ephemeral range.

        JupyterHub's own choice binds port 0, which takes a port from the
        ephemeral range, where every kernel's ZeroMQ sockets (jupyter_client
        picks them the same way) and outgoing connections take theirs: with
        30 servers starting at once on 2 cores a server binds minutes after
        its port was chosen, and make hub-load saw a kernel's socket take it
        first (the hub then waits for a server it can never reach). Nothing
        takes ports below that range unasked; the ports handed out here are
        remembered until their server stops.
        """
        lo, _ = ephemeral_ports()
        first = max(1024, lo - 12000)
        for _ in range(1000):
            port = random.randrange(first, lo)
            if port not in self._ports and port_is_free(port, self.ip or "127.0.0.1"):
                self._ports.add(port)
                return port
        raise RuntimeError(f"golab: no free port for a server in {first}-{lo - 1}")

    def _cgroups(self):
        cls = type(self)
        if cls._probe is None:
            cls._probe = probe_cgroups(self.cgroup_parent_v2)
            self.log.info("golab: per-user limits %s", cls._probe[1])
        return cls._probe[0]

    def _user_groups(self):
        return {c: os.path.join(d, self.user.name) for c, d in self._cgroups().items()}

    def copy_notebooks(self):
        home = self.home_dir
        os.makedirs(home, 0o755, exist_ok=True)
        marker = os.path.join(home, ".golab", "notebooks-copied")
        if os.path.exists(marker) or not self.notebooks_dir:
            return
        n = 0
        for name in sorted(os.listdir(self.notebooks_dir)):
            if not (name.endswith(".ipynb") or name == "README.md"):
                continue
            dst = os.path.join(home, name)
            if not os.path.exists(dst):
                shutil.copy2(os.path.join(self.notebooks_dir, name), dst)
                n += 1
        os.makedirs(os.path.dirname(marker), exist_ok=True)
        with open(marker, "w") as f:
            f.write(time.strftime("%Y-%m-%dT%H:%M:%S\n"))
        self.log.info("golab: copied %d notebooks to %s", n, home)

    def make_cgroups(self):
        groups = self._user_groups()
        for ctrl, d in groups.items():
            os.makedirs(d, exist_ok=True)
            if ctrl == "memory" and self.mem_limit:
                _write(os.path.join(d, "memory.limit_in_bytes"), self.mem_limit)
            elif ctrl == "cpu" and self.cpu_limit:
                period = 100000
                _write(os.path.join(d, "cpu.cfs_period_us"), period)
                _write(os.path.join(d, "cpu.cfs_quota_us"), int(self.cpu_limit * period))
            elif ctrl == "pids":
                _write(os.path.join(d, "pids.max"), self.pids_limit)
            elif ctrl == "v2":
                if self.mem_limit:
                    _write(os.path.join(d, "memory.max"), self.mem_limit)
                if self.cpu_limit:
                    _write(os.path.join(d, "cpu.max"), f"{int(self.cpu_limit * 100000)} 100000")
                _write(os.path.join(d, "pids.max"), self.pids_limit)
        return groups

    def get_env(self):
        env = super().get_env()
        if self.mem_limit:
            # Go's soft limit: collect harder before the cgroup's hard one.
            env["GOMEMLIMIT"] = str(int(self.mem_limit * 0.85))
        if self.cpu_limit:
            threads = str(max(1, int(self.cpu_limit)))
            env.setdefault("OPENBLAS_NUM_THREADS", threads)
        return env

    def make_preexec_fn(self, name):
        base = super().make_preexec_fn(name)
        procs = [os.path.join(d, "cgroup.procs") for d in self._user_groups().values()]

        def preexec():
            base()
            # Join the user's groups before exec: every process the server
            # starts (kernels) inherits them.
            for p in procs:
                with open(p, "w") as f:
                    f.write(str(os.getpid()))

        return preexec

    async def start(self):
        self.copy_notebooks()
        self.make_cgroups()
        if self.port == 0:
            self.port = self._picked = self.server_port()
        return await super().start()

    async def stop(self, now=False):
        await super().stop(now=now)
        if self._picked and self.port == self._picked:
            # The next start picks a free port again.
            self._ports.discard(self.port)
            self.port = self._picked = 0
        self.remove_cgroups()

    def remove_cgroups(self):
        """Kill what is left in the user's groups (kernels the server did not
        stop) and remove them."""
        for d in self._user_groups().values():
            if not os.path.isdir(d):
                continue
            for _ in range(50):
                try:
                    with open(os.path.join(d, "cgroup.procs")) as f:
                        pids = [int(p) for p in f.read().split()]
                except OSError:
                    break
                if not pids:
                    break
                for p in pids:
                    try:
                        os.kill(p, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                time.sleep(0.1)
            try:
                os.rmdir(d)
            except OSError as e:
                self.log.warning("golab: could not remove cgroup %s: %s", d, e)
