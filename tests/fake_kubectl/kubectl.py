"""FAKE kubectl for tests: replays RECORDED (hand-written) API responses; not a real cluster.

No API server can run on the test machine (no kube-apiserver, k3s or kind package on the
registries it reaches), so tests put this fake first on PATH (see ``install``). It answers the
calls ``podmortem collect --cluster`` and collectors/cluster/podmortem-collect-cluster make:

- ``get nodes -o json [-l k=v,...]``, ``get pods -A -o json``, ``get events -A -o json``: the
  files in recorded/ (HAND-WRITTEN from the shapes of real API objects: Node, Pod, Event Lists);
- ``get --raw /api/v1/nodes/N/proxy/configz|stats/summary``: recorded/configz.json and
  summary.json with the node name filled in (the kubelet's /configz and /stats/summary shapes);
- ``debug node/N -i ... -- sh -c WRAPPER NAME ROOT SIZE ARGS``: prints kubectl's own
  "Creating debugging pod ..." line on stdout, then runs the wrapper LOCALLY with its stdin and
  stdout, ROOT (the debug pod's /host) replaced by a fake node tree: $FAKE_KUBECTL_ROOTS/N;
- ``delete pod P``: logged, nothing else.

Environment: FAKE_KUBECTL_LOG (JSON lines: every call with start/end times and pids),
FAKE_KUBECTL_ROOTS, FAKE_KUBECTL_HANG / FAKE_KUBECTL_FAIL (comma-separated nodes whose debug
pod hangs forever / is refused), FAKE_KUBECTL_DEBUG_DELAY_S (extra seconds inside each debug,
so overlaps are measurable), FAKE_KUBECTL_NODES (a recorded node list to use instead).
"""
from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RECORDED = HERE / "recorded"
NAMES_JSONPATH = 'jsonpath={range .items[*]}{.metadata.name}{"\\n"}{end}'  # what kubectl prints: one name a line
GLOBAL_FLAGS_WITH_VALUE = {"--kubeconfig", "--context", "--namespace", "-n", "--request-timeout"}


def install(bin_dir: Path) -> Path:
    """Write an executable ``kubectl`` in bin_dir that runs this fake with the current Python."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    exe = bin_dir / "kubectl"
    exe.write_text(f"#!/bin/sh\nexec {sys.executable} {HERE / 'kubectl.py'} \"$@\"\n")
    exe.chmod(0o755)
    return exe


def log(entry: dict) -> None:
    path = os.environ.get("FAKE_KUBECTL_LOG")
    if path:
        with open(path, "a") as out:  # O_APPEND: one short line per write, safe across processes
            out.write(json.dumps(entry) + "\n")


def csv_env(name: str) -> set[str]:
    return {n for n in os.environ.get(name, "").split(",") if n}


def strip_globals(args: list[str]) -> tuple[list[str], dict[str, str]]:
    rest, flags, i = [], {}, 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest += args[i:]
            break
        name, eq, value = arg.partition("=")
        if name in GLOBAL_FLAGS_WITH_VALUE:
            if eq:
                flags[name] = value
            else:
                flags[name] = args[i + 1] if i + 1 < len(args) else ""
                i += 1
        else:
            rest.append(arg)
        i += 1
    return rest, flags


def recorded_nodes() -> dict:
    return json.loads(Path(os.environ.get("FAKE_KUBECTL_NODES") or RECORDED / "nodes.json").read_text())


def node_names() -> set[str]:
    return {item["metadata"]["name"] for item in recorded_nodes()["items"]}


def matches(labels: dict, selector: str) -> bool:
    for term in selector.split(","):
        key, _, value = term.partition("=")
        if labels.get(key.strip()) != value.strip():
            return False
    return True


def get(args: list[str]) -> int:
    if args[:1] == ["--raw"]:
        return get_raw(args[1])
    what = args[0] if args else ""
    if what in ("nodes", "node", "no"):
        nodes = recorded_nodes()
        if "-l" in args:
            selector = args[args.index("-l") + 1]
            nodes["items"] = [n for n in nodes["items"] if matches(n["metadata"].get("labels", {}), selector)]
        output = args[args.index("-o") + 1] if "-o" in args else "json"
        if output == NAMES_JSONPATH:
            sys.stdout.write("".join(n["metadata"]["name"] + "\n" for n in nodes["items"]))
            return 0
        if output != "json":
            sys.stderr.write(f"fake kubectl: output {output!r} not recorded\n")
            return 1
        sys.stdout.write(json.dumps(nodes, indent=4) + "\n")
        return 0
    if what in ("pods", "pod", "po"):
        sys.stdout.write((RECORDED / "pods.json").read_text())
        return 0
    if what in ("events", "event", "ev"):
        sys.stdout.write((RECORDED / "events.json").read_text())
        return 0
    sys.stderr.write(f'error: the server doesn\'t have a resource type "{what}"\n')
    return 1


def get_raw(path: str) -> int:
    parts = path.strip("/").split("/")  # api v1 nodes NAME proxy ENDPOINT...
    if len(parts) < 6 or parts[:3] != ["api", "v1", "nodes"] or parts[4] != "proxy":
        sys.stderr.write("Error from server (NotFound): the server could not find the requested resource\n")
        return 1
    node, endpoint = parts[3], "/".join(parts[5:])
    if node not in node_names():
        sys.stderr.write(f'Error from server (NotFound): nodes "{node}" not found\n')
        return 1
    if node in csv_env("FAKE_KUBECTL_HANG"):
        time.sleep(3600)
    if node in csv_env("FAKE_KUBECTL_FAIL"):
        sys.stderr.write("Error from server (ServiceUnavailable): the server is currently unable to handle the request\n")
        return 1
    file = {"configz": "configz.json", "stats/summary": "summary.json"}.get(endpoint)
    if file is None:
        sys.stderr.write("Error from server (NotFound): the server could not find the requested resource\n")
        return 1
    sys.stdout.write((RECORDED / file).read_text().replace("NODE_NAME", node))
    return 0


def debug(args: list[str], flags: dict[str, str]) -> int:
    target = args[0]
    node = target.split("/", 1)[1]
    command = args[args.index("--") + 1:]
    pod = f"node-debugger-{node}-{secrets.token_hex(3)[:5]}"
    began = time.time()
    entry = {"call": "debug", "node": node, "pid": os.getpid(), "pod": pod, "start": began, "argv": args,
             "namespace": flags.get("--namespace") or flags.get("-n")}
    if node not in node_names():
        sys.stderr.write(f'Error from server (NotFound): nodes "{node}" not found\n')
        return 1
    sys.stdout.write(f"Creating debugging pod {pod} with container debugger on node {node}.\n")
    sys.stdout.flush()
    delay = float(os.environ.get("FAKE_KUBECTL_DEBUG_DELAY_S", "0"))
    if node in csv_env("FAKE_KUBECTL_HANG"):
        sleeper = subprocess.Popen(["sleep", "3600"])  # a child in our process group: it must die with us
        log({**entry, "event": "hanging", "sleeper_pid": sleeper.pid})
        sleeper.wait()
        return 1
    if node in csv_env("FAKE_KUBECTL_FAIL"):
        time.sleep(delay)
        sys.stderr.write(f'Error from server (Forbidden): pods "{pod}" is forbidden: violates PodSecurity "baseline:latest": '
                         'host namespaces (hostNetwork=true, hostPID=true), hostPath volumes (volume "host-root")\n')
        log({**entry, "event": "failed", "end": time.time()})
        return 1
    root = Path(os.environ["FAKE_KUBECTL_ROOTS"]) / node
    # the wrapper's positional ROOT (the pod's /host) becomes this node's fake tree
    if command[:2] == ["sh", "-c"] and len(command) >= 5 and command[4] == "/host":
        command[4] = str(root)
    time.sleep(delay)
    code = subprocess.call(command, env={**os.environ, "PATH": path_without_fake()})
    log({**entry, "event": "done", "end": time.time(), "exit": code})
    return code


def path_without_fake() -> str:
    """PATH without this fake: a debug pod's image has no kubectl, so the collector skips its kubectl steps."""
    def is_fake(directory: str) -> bool:
        try:
            return "fake_kubectl" in (Path(directory) / "kubectl").read_text()[:400]
        except (OSError, UnicodeDecodeError):
            return False

    return ":".join(d for d in os.environ.get("PATH", "").split(":") if not is_fake(d))


def main(argv: list[str]) -> int:
    args, flags = strip_globals(argv)
    log({"call": args[0] if args else "", "args": args, "flags": flags, "time": time.time(), "pid": os.getpid()})
    if not args:
        sys.stderr.write("fake kubectl: no command\n")
        return 1
    if args[0] == "get":
        return get(args[1:])
    if args[0] == "debug":
        return debug(args[1:], flags)
    if args[0] == "delete":
        return 0
    if args[0] == "version":
        sys.stdout.write("Client Version: v1.32.4 (FAKE)\nServer Version: v1.32.4 (FAKE, recorded)\n")
        return 0
    sys.stderr.write(f"fake kubectl: unsupported command {args[0]!r}\n")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
