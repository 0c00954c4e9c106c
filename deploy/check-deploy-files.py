#!/usr/bin/env python3
"""Checks the deployment files as far as is possible without a container
engine or a Kubernetes cluster: they parse, carry the fields that matter,
agree with each other, and the example configs pass the node's own config
validation.

    python3 deploy/check-deploy-files.py [--cafmcp PATH] [--deploy-dir DIR]

Prints one line per check; exits 1 after listing every failure.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml  # Debian: python3-yaml

failures = []


def check(ok, what, why=""):
    print(("ok    " if ok else "FAIL  ") + what + ("" if ok or not why else ": " + why))
    if not ok:
        failures.append(what + (": " + why if why else ""))
    return ok


def dig(obj, *path):
    for key in path:
        if isinstance(obj, dict) and key in obj:
            obj = obj[key]
        elif isinstance(obj, list) and isinstance(key, int) and key < len(obj):
            obj = obj[key]
        else:
            return None
    return obj


def with_stand_ins(value, mounts, tmp):
    """`value` with every path under one of `mounts` (Secrets mounted in the
    pod, absent here) replaced by a stand-in file in `tmp` holding a token."""
    if isinstance(value, dict):
        return {k: with_stand_ins(v, mounts, tmp) for k, v in value.items()}
    if isinstance(value, list):
        return [with_stand_ins(v, mounts, tmp) for v in value]
    if isinstance(value, str) and any(value.startswith(m.rstrip("/") + "/") for m in mounts):
        stand_in = os.path.join(tmp, "stand-in-%d" % len(os.listdir(tmp)))
        with open(stand_in, "w") as f:
            f.write("stand-in-token-for-the-check\n")
        return stand_in
    return value


def validate_config(cafmcp, path, label, secret_mounts=()):
    if not cafmcp:
        print("skip  " + label + " passes the node's config validation (no --cafmcp given)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        with open(path) as f:
            config = with_stand_ins(json.load(f), secret_mounts, tmp)
        copy = os.path.join(tmp, "config.json")
        with open(copy, "w") as f:
            json.dump(config, f)
        r = subprocess.run([cafmcp, "node", "--config", copy, "--print-config"], capture_output=True, text=True,
                           timeout=30)
    check(r.returncode == 0, label + " passes the node's config validation", r.stderr.strip())


def check_exposed(config, label, secret_mounts=None):
    """A node serving on a non-loopback address guards its MCP port with
    bearer tokens and, with secret_mounts, its metrics with a token from a
    mounted Secret."""
    check(dig(config, "mcp", "auth", "enabled") is True,
          label + ": a node serving MCP beyond loopback turns on mcp.auth (bearer tokens)")
    if secret_mounts is not None:
        token_file = dig(config, "observability", "token_file") or ""
        check(any(token_file.startswith(m.rstrip("/") + "/") for m in secret_mounts),
              label + ": observability.token_file (the /metrics token) lies on a mounted Secret",
              token_file or "(unset)")


# -- Kubernetes ---------------------------------------------------------------

def check_kubernetes(deploy, cafmcp):
    kdir = os.path.join(deploy, "kubernetes")
    docs = []
    for name in sorted(os.listdir(kdir)):
        if not name.endswith((".yaml", ".yml")):
            continue
        path = os.path.join(kdir, name)
        try:
            with open(path) as f:
                docs += [(name, d) for d in yaml.safe_load_all(f) if d is not None]
            check(True, "kubernetes/" + name + " parses as YAML")
        except yaml.YAMLError as e:
            check(False, "kubernetes/" + name + " parses as YAML", str(e).replace("\n", " "))
    by_kind = {}
    for name, d in docs:
        where = "kubernetes/%s: %s %s" % (name, d.get("kind", "?"), dig(d, "metadata", "name") or "?")
        check(all(d.get(k) for k in ("apiVersion", "kind")) and dig(d, "metadata", "name"),
              where + " has apiVersion, kind and metadata.name")
        by_kind.setdefault(d.get("kind"), []).append(d)

    for kind in ("StatefulSet", "Service", "ConfigMap", "Secret", "PodDisruptionBudget", "NetworkPolicy"):
        check(kind in by_kind, "kubernetes: a " + kind + " is defined")
    if "StatefulSet" not in by_kind:
        return
    sts = by_kind["StatefulSet"][0]
    spec = sts.get("spec", {})
    pod = dig(spec, "template", "spec") or {}
    labels = dig(spec, "template", "metadata", "labels") or {}
    selector = dig(spec, "selector", "matchLabels") or {}
    check(selector and all(labels.get(k) == v for k, v in selector.items()),
          "StatefulSet selector matches its pod template's labels")
    headless = [s for s in by_kind.get("Service", [])
                if dig(s, "spec", "clusterIP") == "None" and dig(s, "metadata", "name") == spec.get("serviceName")]
    check(bool(headless), "StatefulSet serviceName names a headless Service (clusterIP: None)",
          "serviceName " + str(spec.get("serviceName")))
    if headless:
        sel = dig(headless[0], "spec", "selector") or {}
        check(all(labels.get(k) == v for k, v in sel.items()) and sel, "the headless Service selects the pods")
        check(dig(headless[0], "spec", "publishNotReadyAddresses") is True,
              "the headless Service publishes not-ready pods (members find each other before they are ready)")
    sc = pod.get("securityContext", {})
    check(sc.get("runAsNonRoot") is True and sc.get("runAsUser", 0) != 0, "pods run as a non-root user")
    grace = pod.get("terminationGracePeriodSeconds", 30)
    containers = pod.get("containers") or []
    check(bool(containers), "the StatefulSet has containers")
    volumes = {v.get("name"): v for v in pod.get("volumes", [])}
    # Paths the config names under these exist in the pod only.
    secret_mounts = [m.get("mountPath", "") for c in containers for m in c.get("volumeMounts", [])
                     if "secret" in volumes.get(m.get("name"), {})]
    config_json = None
    for cm in by_kind.get("ConfigMap", []):
        for key, text in (cm.get("data") or {}).items():
            if key.endswith(".json"):
                try:
                    config_json = json.loads(text)
                    check(True, "ConfigMap %s: %s is valid JSON" % (dig(cm, "metadata", "name"), key))
                    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
                        f.write(text)
                    label = "ConfigMap %s: %s" % (dig(cm, "metadata", "name"), key)
                    validate_config(cafmcp, f.name, label, secret_mounts)
                    os.unlink(f.name)
                    check_exposed(config_json, label, secret_mounts)
                except json.JSONDecodeError as e:
                    check(False, "ConfigMap %s: %s is valid JSON" % (dig(cm, "metadata", "name"), key), str(e))
    shutdown_grace_ms = dig(config_json or {}, "supervision", "shutdown_grace_ms") or 30000
    check(grace * 1000 > shutdown_grace_ms, "terminationGracePeriodSeconds (%s s) exceeds the node's shutdown grace "
          "(%s ms)" % (grace, shutdown_grace_ms))
    for c in containers:
        name = "container " + str(c.get("name"))
        check(bool(c.get("image")), name + " has an image")
        check(bool(c.get("readinessProbe")) and bool(c.get("livenessProbe")), name + " has readiness and liveness probes")
        check(bool(dig(c, "resources", "requests")) and bool(dig(c, "resources", "limits")),
              name + " has resource requests and limits")
        csc = c.get("securityContext", {})
        check(csc.get("allowPrivilegeEscalation") is False and "ALL" in (dig(csc, "capabilities", "drop") or []),
              name + " drops all capabilities and privilege escalation")
        args = " ".join(str(a) for a in c.get("args", []))
        for flag in ("--name=$(POD_NAME)", "--cluster-host=", "--seeds=", "--cookie-file=", "--certs-dir="):
            check(flag in args, name + " passes " + flag.rstrip("="))
        env = {e.get("name"): e for e in c.get("env", [])}
        for var in sorted(set(re.findall(r"\$\((\w+)\)", args))):
            check(var in env, name + " defines $(%s) used in its args" % var)
        # Every probe port is a declared container port.
        ports = {p.get("name") for p in c.get("ports", [])} | {p.get("containerPort") for p in c.get("ports", [])}
        for probe in ("readinessProbe", "livenessProbe"):
            port = dig(c, probe, "tcpSocket", "port") or dig(c, probe, "httpGet", "port")
            check(port in ports, "%s %s targets a declared port" % (name, probe), str(port))
        # Liveness means "the process serves": /health and /ready also fail on
        # a lost quorum or an error burst, and restarting pods then prolongs it.
        live_path = dig(c, "livenessProbe", "httpGet", "path")
        check(live_path == "/live", name + " livenessProbe asks /live", str(live_path))
        mounts = {m.get("name"): m for m in c.get("volumeMounts", [])}
        for m in mounts:
            check(m in volumes or m in [dig(t, "metadata", "name") for t in spec.get("volumeClaimTemplates", [])],
                  "%s mounts volume %s that exists" % (name, m))
        if csc.get("readOnlyRootFilesystem"):
            audit = dig(config_json or {}, "admin", "audit_log") or ""
            check(any(audit.startswith(m.get("mountPath", "//") + "/") for m in mounts.values()
                      if not m.get("readOnly")),
                  name + ": with a read-only root, admin.audit_log lies on a writable volume", audit or "(default)")
    secrets = [v for v in volumes.values() if "secret" in v]
    check(bool(secrets), "the cookie Secret is mounted as a volume")
    for v in secrets:
        mode = dig(v, "secret", "defaultMode")
        check(mode is not None and mode & 0o007 == 0, "Secret volume %s is not readable by others (defaultMode %s)"
              % (v.get("name"), oct(mode) if mode is not None else "unset"))
    for pdb in by_kind.get("PodDisruptionBudget", []):
        sel = dig(pdb, "spec", "selector", "matchLabels") or {}
        check(sel and all(labels.get(k) == v for k, v in sel.items()), "the PodDisruptionBudget selects the pods")
        check("maxUnavailable" in pdb.get("spec", {}) or "minAvailable" in pdb.get("spec", {}),
              "the PodDisruptionBudget sets maxUnavailable or minAvailable")


# -- container image ------------------------------------------------------------

def check_container(deploy, cafmcp):
    path = os.path.join(deploy, "container", "Containerfile")
    with open(path) as f:
        lines = [l.strip() for l in f if l.strip() and not l.strip().startswith("#")]
    froms = [l.split()[1] for l in lines if l.upper().startswith("FROM ")]
    check(len(froms) >= 2, "Containerfile is multi-stage", "%d FROM lines" % len(froms))
    check(all(re.match(r"^(docker\.io/library/)?debian:12(-slim)?$", f) for f in froms),
          "every stage is built from Debian 12", ", ".join(froms))
    final = lines[max(i for i, l in enumerate(lines) if l.upper().startswith("FROM ")):]
    users = [l.split()[1] for l in final if l.upper().startswith("USER ")]
    check(bool(users) and users[-1].split(":")[0] not in ("root", "0"), "the final stage runs as a non-root USER",
          users[-1] if users else "no USER")
    text = "\n".join(lines)
    check(not re.search(r"\b(curl|wget)\b", text), "nothing is downloaded (no curl or wget)")
    check("ENTRYPOINT" in text and "EXPOSE" in text, "ENTRYPOINT and EXPOSE are set")
    for src in re.findall(r"^COPY\s+(?!--from)(\S+)\s", text, re.M):
        if src != ".":
            # Paths are relative to the repository root, the deploy directory's parent.
            local = os.path.join(deploy, src[len("deploy/"):]) if src.startswith("deploy/") else \
                os.path.join(deploy, "..", src)
            check(os.path.exists(local), "Containerfile copies %s, which exists" % src)
            if src.endswith(".json") and os.path.exists(local):
                validate_config(cafmcp, local, src)


# -- systemd ------------------------------------------------------------------------

def check_systemd(deploy, cafmcp):
    path = os.path.join(deploy, "systemd", "cafmcp.service")
    with open(path) as f:
        unit = f.read()
    keys = {}
    for line in unit.splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";")):
            k, v = line.split("=", 1)
            keys.setdefault(k.strip(), []).append(v.strip())
    required = {
        "User": None, "Restart": None, "NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
        "PrivateTmp": "yes", "PrivateDevices": "yes", "CapabilityBoundingSet": "", "LimitNOFILE": None,
        "RestrictAddressFamilies": None, "SystemCallFilter": None, "MemoryDenyWriteExecute": "yes",
        "StateDirectory": None, "TimeoutStopSec": None,
    }
    for k, v in required.items():
        present = k in keys and (v is None or v in keys[k])
        check(present, "systemd unit sets %s%s" % (k, "" if v is None else "=" + v), "missing or different")
    check(keys.get("User", ["root"])[0] not in ("root", "0"), "systemd unit runs as a dedicated user")
    if "TimeoutStopSec" in keys:
        check(int(re.sub(r"\D", "", keys["TimeoutStopSec"][0]) or 0) > 30,
              "TimeoutStopSec exceeds the default shutdown grace (30 s)")
    sysusers = os.path.join(deploy, "systemd", "cafmcp.sysusers.conf")
    check(os.path.exists(sysusers) and re.search(r"^u\s+cafmcp\s", open(sysusers).read(), re.M),
          "sysusers.d file creates the cafmcp user")
    for cfg in sorted(os.listdir(os.path.join(deploy, "systemd"))):
        if cfg.endswith(".json"):
            path = os.path.join(deploy, "systemd", cfg)
            validate_config(cafmcp, path, "systemd/" + cfg)
            with open(path) as f:
                config = json.load(f)
            if dig(config, "http", "host") not in (None, "127.0.0.1", "::1", "localhost"):
                check_exposed(config, "systemd/" + cfg)
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        print("skip  systemd-analyze verify (systemd-analyze is not installed)")
        return
    if not cafmcp:
        print("skip  systemd-analyze verify (needs --cafmcp: ExecStart must name a real executable)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        copy = os.path.join(tmp, "cafmcp.service")
        with open(copy, "w") as f:
            f.write(unit.replace("/usr/local/bin/cafmcp", os.path.abspath(cafmcp)))
        r = subprocess.run([analyze, "verify", copy], capture_output=True, text=True, timeout=60)
        # verify exits 0 on some problems it only warns about: any word about our unit is a failure.
        complaints = [l for l in (r.stdout + r.stderr).splitlines() if "cafmcp.service" in l]
        check(r.returncode == 0 and not complaints, "systemd-analyze verify passes", " | ".join(complaints))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cafmcp", help="a built cafmcp binary: validates the example configs and runs systemd-analyze")
    ap.add_argument("--deploy-dir", default=os.path.dirname(os.path.abspath(__file__)))
    a = ap.parse_args()
    if a.cafmcp and not os.access(a.cafmcp, os.X_OK):
        print("check-deploy-files: --cafmcp %s is not an executable" % a.cafmcp, file=sys.stderr)
        return 2
    for part in (check_kubernetes, check_container, check_systemd):
        try:
            part(a.deploy_dir, a.cafmcp)
        except (OSError, KeyError, TypeError, ValueError) as e:
            check(False, part.__name__, "%s: %s" % (type(e).__name__, e))
    if failures:
        print("\n%d check(s) failed:" % len(failures))
        for f in failures:
            print("  - " + f)
        return 1
    print("\nall deployment checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
