#!/usr/bin/python3
"""Checks the deploy files that cannot run here (make hub-check, in make test).

No Docker engine or Kubernetes is reachable from the project's machines, so
this checks what can be checked without them:

- deploy/z2jh-values.yaml parses, uses only keys the Zero to JupyterHub 4.4.0
  chart knows, with the types it expects (a small table written from the
  chart's values.schema.yaml); requests are at most the limits and cover the
  per-student memory measured by make hub-load (deploy/results/); the data
  set is a read-only volume whose mount path is CIFAR10_DIR; culling is on.
- deploy/Dockerfile parses: known instructions, FROM first, pinned base
  images, COPY sources that exist, exec-form CMD, a non-root USER, and the
  kernel built by deploy/build-kernel.sh, the script `make lab` runs; the
  .dockerignore keeps the hub's state (secrets) and local envs out.
- every Python and npm dependency of deploy/ is pinned exactly.
- the hub's configuration compiles; the shell scripts parse.

With --schema and --chart-values (the chart's values.schema.yaml and
values.yaml) and jsonschema installed, the values merged over the chart's
defaults are also validated against the chart's full schema.
--self-test breaks copies of the files in memory and checks each break is
caught. Needs PyYAML (Debian: python3-yaml).
"""

import argparse
import copy
import glob
import json
import os
import re
import subprocess
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

# Keys of the z2jh 4.4.0 chart this project may set, with their types; a
# dict value means "an object with these keys", "object" a free-form one.
QUANTITY = "quantity"
SCHEMA = {
    "hub": {"config": "object", "baseUrl": str, "extraConfig": "object", "extraEnv": "object"},
    "singleuser": {
        "image": {"name": str, "tag": str, "pullPolicy": (str, type(None))},
        "defaultUrl": str, "cmd": (str, list), "startTimeout": int,
        "memory": {"guarantee": QUANTITY, "limit": QUANTITY},
        "cpu": {"guarantee": (int, float), "limit": (int, float)},
        "extraEnv": "object",
        "storage": {"capacity": QUANTITY, "type": str, "homeMountPath": str,
                    "extraVolumes": list, "extraVolumeMounts": list},
        "lifecycleHooks": "object", "extraFiles": "object", "profileList": list, "uid": int, "fsGid": int,
    },
    "cull": {"enabled": bool, "timeout": int, "every": int, "maxAge": int, "users": bool,
             "adminUsers": bool, "concurrency": int, "removeNamedServers": bool},
    "scheduling": {"userScheduler": {"enabled": bool}, "podPriority": {"enabled": bool},
                   "userPlaceholder": {"enabled": bool, "replicas": int}},
    "prePuller": {"hook": {"enabled": bool}, "continuous": {"enabled": bool}},
    "proxy": "object", "ingress": "object",
}
INSTRUCTIONS = {"FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME",
                "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL"}


def quantity_bytes(q):
    """A Kubernetes memory quantity in bytes, or None if it is not one."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGTPE]i?)?", str(q))
    if not m:
        return None
    mult = {"": 1, None: 1}
    for i, p in enumerate("KMGTPE", 1):
        mult[p], mult[p + "i"] = 1000**i, 1024**i
    return float(m.group(1)) * mult[m.group(2)]


def check_types(node, schema, path, errors):
    if schema == "object":
        if not isinstance(node, dict):
            errors.append(f"{path}: must be a mapping, not {type(node).__name__}")
        return
    if isinstance(schema, dict):
        if not isinstance(node, dict):
            errors.append(f"{path}: must be a mapping, not {type(node).__name__}")
            return
        for k, v in node.items():
            if k not in schema:
                errors.append(f"{path}.{k}: not a key of the z2jh 4.4.0 chart here (known: {', '.join(sorted(schema))})".lstrip("."))
            else:
                check_types(v, schema[k], f"{path}.{k}".lstrip("."), errors)
        return
    if schema == QUANTITY:
        if quantity_bytes(node) is None:
            errors.append(f"{path}: {node!r} is not a Kubernetes quantity such as 512M or 2Gi")
        return
    if isinstance(node, bool) and schema is not bool and bool not in (schema if isinstance(schema, tuple) else (schema,)):
        errors.append(f"{path}: {node!r} must be {schema}")
    elif not isinstance(node, schema):
        errors.append(f"{path}: {node!r} must be {schema}")


def check_values(values, measured):
    errors = []
    if not isinstance(values, dict):
        return ["z2jh-values.yaml: not a mapping"]
    check_types(values, SCHEMA, "", errors)
    su = values.get("singleuser", {})
    mem, cpu = su.get("memory", {}), su.get("cpu", {})
    g, lim = quantity_bytes(mem.get("guarantee", "")), quantity_bytes(mem.get("limit", ""))
    if not (g and lim and g <= lim):
        errors.append("singleuser.memory: needs guarantee ≤ limit")
    if not (0 < cpu.get("guarantee", 0) <= cpu.get("limit", 0)):
        errors.append("singleuser.cpu: needs 0 < guarantee ≤ limit")
    if measured and g:
        need = measured * 2**20
        if g < need:
            errors.append(f"singleuser.memory.guarantee {mem['guarantee']} is below the measured per-student memory ({measured:.0f} MB)")
    tag = str(su.get("image", {}).get("tag", ""))
    if tag in ("", "latest"):
        errors.append("singleuser.image.tag: pin a tag, not latest")
    vols = {v.get("name"): v for v in su.get("storage", {}).get("extraVolumes") or []}
    mounts = su.get("storage", {}).get("extraVolumeMounts") or []
    data = su.get("extraEnv", {}).get("CIFAR10_DIR")
    data_mount = [m for m in mounts if m.get("mountPath") == data]
    if not data_mount:
        errors.append(f"singleuser.extraEnv.CIFAR10_DIR ({data}) is not the mountPath of a volume")
    for m in data_mount:
        v = vols.get(m.get("name"))
        if v is None:
            errors.append(f"volume mount {m.get('name')}: no such extraVolume")
        elif m.get("readOnly") is not True or not (v.get("persistentVolumeClaim", {}).get("readOnly") is True or "nfs" in v and v["nfs"].get("readOnly")):
            errors.append(f"the data volume {m.get('name')} must be mounted read-only (mount and claim)")
    cull = values.get("cull", {})
    if not (cull.get("enabled") is True and cull.get("timeout", 0) > 0):
        errors.append("cull: idle servers must be culled (enabled: true, timeout > 0)")
    return errors


def dockerfile_instructions(text):
    """(line number, INSTRUCTION, arguments) with continuations joined."""
    out, buf, start = [], "", 0
    for n, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not buf and (not s or s.startswith("#")):
            continue
        if buf and s.startswith("#"):
            continue
        if not buf:
            start = n
        if s.endswith("\\"):
            buf += s[:-1] + " "
            continue
        buf += s
        word, _, rest = buf.partition(" ")
        out.append((start, word, rest.strip()))
        buf = ""
    if buf:
        out.append((start, "<unterminated>", buf))
    return out


def check_dockerfile(text, makefile):
    errors = []
    ins = dockerfile_instructions(text)
    args = set()
    seen_from = False
    for n, word, rest in ins:
        if word.upper() not in INSTRUCTIONS:
            errors.append(f"Dockerfile:{n}: unknown instruction {word!r}")
            continue
        if word != word.upper():
            errors.append(f"Dockerfile:{n}: write instructions in capitals ({word})")
        w = word.upper()
        if not seen_from and w not in ("ARG", "FROM"):
            errors.append(f"Dockerfile:{n}: {w} before the first FROM")
        if w == "ARG":
            args.add(rest.split("=")[0])
        if w == "FROM":
            seen_from = True
            image = rest.split()[0]
            for var in re.findall(r"\$\{?(\w+)", image):
                if var not in args:
                    errors.append(f"Dockerfile:{n}: FROM uses ${var}, never declared by an ARG before it")
            name = re.sub(r"\$\{?\w+\}?", "X", image)
            if ":" not in name.split("/")[-1] or name.endswith(":latest"):
                errors.append(f"Dockerfile:{n}: pin the base image {image} to a version tag")
        if w in ("COPY", "ADD") and "--from=" not in rest:
            parts = [p for p in rest.split() if not p.startswith("--")]
            for src in parts[:-1]:
                if not glob.glob(os.path.join(REPO, src)):
                    errors.append(f"Dockerfile:{n}: COPY source {src} does not exist in the repository")
        if w == "CMD" or w == "ENTRYPOINT":
            try:
                json.loads(rest)
            except ValueError:
                errors.append(f"Dockerfile:{n}: write {w} in exec form (a JSON list)")
    words = [w.upper() for _, w, _ in ins]
    if not words or words[-1] == "<UNTERMINATED>":
        errors.append("Dockerfile: ends inside a continued line")
    if "deploy/build-kernel.sh" not in " ".join(r for _, w, r in ins if w.upper() == "RUN"):
        errors.append("Dockerfile: no RUN builds the kernel with deploy/build-kernel.sh")
    users = [r for _, w, r in ins if w.upper() == "USER"]
    if not users or users[-1] in ("root", "0"):
        errors.append("Dockerfile: the image must end as a non-root USER (z2jh runs uid 1000)")
    ignore = os.path.join(REPO, ".dockerignore")
    ignored = set(open(ignore).read().split()) if os.path.exists(ignore) else set()
    for secret in ("deploy/.run", "deploy/.venv", "deploy/node_modules", ".git"):
        if secret not in ignored:
            errors.append(f".dockerignore: must leave out {secret} (COPY . would put it in the image)")
    lab = re.search(r"^lab:.*?(?=^\S)", makefile, re.M | re.S)
    if not lab or "deploy/build-kernel.sh" not in lab.group(0):
        errors.append("Makefile: make lab does not run deploy/build-kernel.sh, the Dockerfile's build script")
    return errors


def check_pins():
    errors = []
    for f in ("requirements.txt", "requirements-singleuser.txt", "requirements-singleuser.lock", "requirements.in",
              "requirements-screenshot.txt"):
        for n, line in enumerate(open(os.path.join(HERE, f)), 1):
            s = line.split("#")[0].strip()
            if s and not re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[A-Za-z0-9_.+!\-]+", s):
                errors.append(f"deploy/{f}:{n}: {s!r} is not pinned exactly (name==version)")
    pkg = json.load(open(os.path.join(HERE, "package.json")))
    lock = json.load(open(os.path.join(HERE, "package-lock.json")))
    for name, ver in pkg.get("dependencies", {}).items():
        if not re.fullmatch(r"\d+\.\d+\.\d+", ver):
            errors.append(f"deploy/package.json: {name} {ver!r} is not an exact version")
        locked = lock.get("packages", {}).get(f"node_modules/{name}", {}).get("version")
        if locked != ver:
            errors.append(f"deploy/package-lock.json: {name} is locked at {locked}, package.json says {ver}")
    return errors


def check_scripts():
    errors = []
    for f in ("jupyterhub_config.py", "golab_spawner.py", "hub_load.py", "pss_kernels.py", "hub_screenshot.py"):
        path = os.path.join(HERE, f)
        try:
            compile(open(path).read(), path, "exec")
        except SyntaxError as e:
            errors.append(f"deploy/{f}:{e.lineno}: {e.msg}")
    for f in ("hub.sh", "build-kernel.sh", "copy-notebooks.sh"):
        r = subprocess.run(["bash", "-n", os.path.join(HERE, f)], capture_output=True, text=True)
        if r.returncode:
            errors.append(f"deploy/{f}: {r.stderr.strip()}")
    return errors


def measured_per_student():
    """The per-student memory (server + kernel, anonymous, p50) of the newest
    hub-load result in deploy/results/, in MB, or None."""
    files = sorted(glob.glob(os.path.join(HERE, "results", "hub-load-*.json")))
    if not files:
        return None
    r = json.load(open(files[-1]))
    kinds = r["per_student_peak_by_kind_mb"]
    return kinds["server"]["uss"] + kinds["kernels"]["uss"]


def full_schema(values, schema_path, defaults_path):
    import jsonschema

    schema = yaml.safe_load(open(schema_path))
    defaults = yaml.safe_load(open(defaults_path))

    def merge(a, b):
        out = copy.deepcopy(a)
        for k, v in b.items():
            out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
        return out

    v = jsonschema.Draft7Validator(schema)
    return [f"schema: {'.'.join(map(str, e.path))}: {e.message[:200]}" for e in v.iter_errors(merge(defaults, values))]


def self_test(values, dockerfile, makefile, measured):
    """Each break must be caught."""
    breaks = {
        "a misspelt key": lambda v, d, m: (v["singleuser"]["memory"].update(limt="2G"), d, m),
        "an unpinned image tag": lambda v, d, m: (v["singleuser"]["image"].update(tag="latest"), d, m),
        "a writable data mount": lambda v, d, m: (v["singleuser"]["storage"]["extraVolumeMounts"][0].update(readOnly=False), d, m),
        "a guarantee above the limit": lambda v, d, m: (v["singleuser"]["memory"].update(guarantee="3G"), d, m),
        "a bad quantity": lambda v, d, m: (v["singleuser"]["memory"].update(limit="2 gigs"), d, m),
        "culling off": lambda v, d, m: (v["cull"].update(enabled=False), d, m),
        "CIFAR10_DIR elsewhere": lambda v, d, m: (v["singleuser"]["extraEnv"].update(CIFAR10_DIR="/data"), d, m),
        "a missing COPY source": lambda v, d, m: (None, d.replace("COPY . /opt/golab", "COPY nothere/ /opt/golab"), m),
        "an unpinned base image": lambda v, d, m: (None, d.replace("slim-bookworm", "slim-bookworm:latest", 1).replace("python:3.11.7-", "python:", 1), m),
        "no build script": lambda v, d, m: (None, d.replace("./deploy/build-kernel.sh", "make kernel"), m),
        "a shell-form CMD": lambda v, d, m: (None, d.replace('CMD ["jupyterhub-singleuser"]', "CMD jupyterhub-singleuser"), m),
        "make lab without the script": lambda v, d, m: (None, d, m.replace("./deploy/build-kernel.sh --deps", "./.ci/install-deps")),
        "an unknown instruction": lambda v, d, m: (None, d + "\nRUNN true\n", m),
    }
    failed = []
    for name, brk in breaks.items():
        v, d, m = copy.deepcopy(values), dockerfile, makefile
        _, d, m = brk(v, d, m)
        if d == dockerfile and m == makefile and v == values:
            failed.append(f"self-test: the break {name!r} changed nothing (the files moved on?)")
            continue
        if not (check_values(v, measured) + check_dockerfile(d, m)):
            failed.append(f"self-test: {name} was not caught")
    return failed, len(breaks)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--schema", help="the chart's values.schema.yaml")
    ap.add_argument("--chart-values", help="the chart's values.yaml")
    ap.add_argument("--self-test", action="store_true")
    a = ap.parse_args()
    values = yaml.safe_load(open(os.path.join(HERE, "z2jh-values.yaml")))
    dockerfile = open(os.path.join(HERE, "Dockerfile")).read()
    makefile = open(os.path.join(REPO, "Makefile")).read()
    measured = measured_per_student()
    errors = check_values(values, measured) + check_dockerfile(dockerfile, makefile) + check_pins() + check_scripts()
    if measured is None:
        errors.append("deploy/results/ has no hub-load-*.json to check the requests against")
    checks = 5
    if a.schema and a.chart_values:
        errors += full_schema(values, a.schema, a.chart_values)
        checks += 1
    if a.self_test:
        failed, n = self_test(values, dockerfile, makefile, measured)
        errors += failed
        checks += n
    for e in errors:
        print("hub-check:", e)
    print(f"hub-check: {max(checks - len(errors), 0)} passed, {len(errors)} failed")
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
