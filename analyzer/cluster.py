"""``podmortem collect --cluster``: the node collector on many nodes at once, through Kubernetes.

One ``kubectl debug node/NODE`` per selected node (the debug pod has the node's filesystem at
/host), several at a time (``--concurrency``), each with its own time budget
(``--node-timeout``): a node that does not answer in time is recorded in the cluster manifest
and its kubectl process group is killed, never waited for. The cluster view (pods, events,
nodes, and each node's kubelet /configz and /stats/summary through the API server's node proxy)
is gathered once. Layout of ``--output DIR``::

    DIR/nodes/<node>.tar.gz                                  one collector bundle per node
    DIR/cluster/cluster-manifest.json                        node, status, seconds, error per node
    DIR/cluster/commands/kubectl-get-{nodes,pods,events}.json
    DIR/cluster/nodes/<node>/commands/kubelet-configz.json   (and kubelet-stats-summary.json)
    DIR/cluster/logs/<node>.stderr.txt                       what kubectl and the collector said

Why kubectl and not a Python Kubernetes client: kubectl is already on every machine that can
reach the cluster, reads the user's kubeconfig with every auth plugin (exec, OIDC, cloud
providers) exactly as the user's own commands do, and implements ``kubectl debug node`` (pod
spec, profiles, attach over SPDY/websockets) that a client library would have to re-implement;
the POSIX-shell path (collectors/cluster/podmortem-collect-cluster) then does the same with
kubectl alone, so both paths behave alike.

How the bundle comes back: kubectl prints "Creating debugging pod ..." on its stdout and falls
back to streaming the container's log when attaching fails (kubectl pkg/cmd/debug/debug.go,
handleAttachPod); logs are line-based. So the in-pod wrapper frames the tarball in base64
between marker lines and this side decodes what lies between them.
"""
from __future__ import annotations

import argparse
import binascii
import json
import os
import re
import signal
import subprocess
import tarfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from analyzer import __version__
from analyzer.collect import collector_script_path
from analyzer.errors import PodmortemError

BEGIN_MARK = "podmortem-bundle-begin"
END_MARK = "podmortem-bundle-end"
RE_DEBUG_POD = re.compile(r"Creating debugging pod (?P<pod>[a-z0-9.-]+) with container")
# a node name is an RFC 1123 DNS subdomain (k8s.io/apimachinery validation IsDNS1123Subdomain):
# anything else from the API is not put in an API path (it could walk the proxy elsewhere)
RE_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# node collector options that make sense on a remote node; others are refused (a typo would
# otherwise fail on every node)
FORWARDED_OPTIONS = {"--since", "--max-seconds", "--step-seconds", "--max-log-bytes", "--min-free-mb", "--samples",
                     "--interval", "--kubelet-config", "--kubelet-port"}
KILL_GRACE_S = 2.0  # after SIGKILL, how long we look for the process to be gone before moving on
DELETE_TIMEOUT_S = 20

# The command of the debug pod: read the collector (exactly SIZE bytes) from stdin, run it on the
# node's files at ROOT, print the bundle in base64 between markers. Reading stdin first also
# proves kubectl is attached before any output is written. Positional: ROOT SIZE [collector args].
IN_POD_WRAPPER = r"""root=$1 size=$2; shift 2
d=$(mktemp -d /tmp/podmortem.XXXXXX) || exit 3
trap 'rm -rf "$d"' EXIT
head -c "$size" > "$d/podmortem-collect" || exit 3
command -v base64 >/dev/null 2>&1 || { echo "podmortem: the debug image has no base64" >&2; exit 3; }
bundle=$(sh "$d/podmortem-collect" --root "$root" --output "$d" --quiet "$@" | tail -n 1)
[ -f "$bundle" ] || { echo "podmortem: the collector wrote no bundle" >&2; exit 4; }
echo """ + BEGIN_MARK + r"""
base64 < "$bundle"
echo """ + END_MARK + "\n"

def redact_text(text: str) -> str:
    """The collector's redaction rules (analyzer.redact reads them from the collector script).

    >>> redact_text('{"name": "DB_PASSWORD", "value": "hunter2"}')
    '{"name": "DB_PASSWORD", "value": "[REDACTED]"}'
    """
    from collections import Counter

    from analyzer.redact import load_rules, redact_text as redact_with

    return redact_with(text, load_rules(), Counter())


class UsageError(PodmortemError):
    """A bad command line for ``collect --cluster``."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse would print usage and exit; the CLI does that
        raise UsageError(f"collect --cluster: {message}")


def _parser() -> _Parser:
    p = _Parser(prog="podmortem collect", allow_abbrev=False, add_help=False,
                description="Run the node collector on each selected node through kubectl debug node/NODE.")
    p.add_argument("--cluster", action="store_true", required=True, help="collect on many nodes through kubectl")
    p.add_argument("--output", "-o", required=True, help="directory to write (created; must not hold a previous collection)")
    p.add_argument("--selector", "-l", help="label selector of the nodes (kubectl get nodes -l)")
    p.add_argument("--nodes", help="comma-separated node names (default: every node, or those matching --selector)")
    p.add_argument("--concurrency", type=int, default=4, help="nodes collected at once (default 4)")
    p.add_argument("--node-timeout", type=float, default=180.0, help="seconds one node may take, pod start included (default 180)")
    p.add_argument("--view-timeout", type=float, default=60.0, help="seconds for each cluster-view request (default 60)")
    p.add_argument("--image", default="busybox:1.36", help="debug pod image: needs sh, head, tar, gzip, base64 (default busybox:1.36)")
    p.add_argument("--profile", default="sysadmin", help="kubectl debug --profile (default sysadmin: dmesg needs privileges)")
    p.add_argument("--namespace", "-n", help="namespace of the debug pods (default: the kubeconfig's)")
    p.add_argument("--context", help="kubeconfig context")
    p.add_argument("--kubeconfig", help="kubeconfig file")
    p.add_argument("--kubectl", default="kubectl", help="the kubectl to run (default: kubectl on PATH)")
    p.add_argument("--no-redact", action="store_true", help="keep env values and tokens (cluster view and node bundles)")
    p.add_argument("--help", "-h", action="store_true")
    return p


@dataclass
class ClusterOptions:
    output: Path
    selector: str | None = None
    nodes: list[str] | None = None
    concurrency: int = 4
    node_timeout_s: float = 180.0
    view_timeout_s: float = 60.0
    image: str = "busybox:1.36"
    profile: str = "sysadmin"
    namespace: str | None = None
    context: str | None = None
    kubeconfig: str | None = None
    kubectl: str = "kubectl"
    redact: bool = True
    collector_args: list[str] = field(default_factory=list)


def parse_cluster_args(args: list[str]) -> ClusterOptions | None:
    """Options of ``collect --cluster``; node collector options (--since, --samples...) pass on.

    >>> o = parse_cluster_args(["--cluster", "--output", "d", "--nodes", "a,b", "--since", "2h"])
    >>> o.nodes, o.collector_args, o.concurrency
    (['a', 'b'], ['--since', '2h'], 4)
    """
    if "--help" in args or "-h" in args:
        return None
    known, rest = _parser().parse_known_args(args)
    forwarded = _forwarded(rest)
    if known.concurrency < 1:
        raise UsageError("collect --cluster: --concurrency must be at least 1")
    if known.node_timeout <= 0 or known.view_timeout <= 0:
        raise UsageError("collect --cluster: timeouts must be positive")
    nodes = [n.strip() for n in known.nodes.split(",") if n.strip()] if known.nodes else None
    return ClusterOptions(output=Path(known.output), selector=known.selector, nodes=nodes, concurrency=known.concurrency,
                          node_timeout_s=known.node_timeout, view_timeout_s=known.view_timeout, image=known.image,
                          profile=known.profile, namespace=known.namespace, context=known.context,
                          kubeconfig=known.kubeconfig, kubectl=known.kubectl, redact=not known.no_redact,
                          collector_args=forwarded)


def _forwarded(rest: list[str]) -> list[str]:
    out, i = [], 0
    while i < len(rest):
        name, eq, _ = rest[i].partition("=")
        if name not in FORWARDED_OPTIONS:
            raise UsageError(f"collect --cluster: unknown option {rest[i]!r} (node collector options passed on: "
                             f"{', '.join(sorted(FORWARDED_OPTIONS))})")
        if eq:
            out.append(rest[i])
            i += 1
            continue
        if i + 1 >= len(rest):
            raise UsageError(f"collect --cluster: {name} needs a value")
        out += [name, rest[i + 1]]
        i += 2
    return out


def usage_text() -> str:
    return _parser().format_help() + (
        "\nNode collector options passed on to every node: " + ", ".join(sorted(FORWARDED_OPTIONS)) + "\n"
        "Exit status: 0 the directory and its cluster-manifest.json were written (nodes that failed or timed\n"
        "out are recorded there, status per node); 2 bad usage, no kubectl, output not usable, no node to collect.\n")


# --- running kubectl with a budget -----------------------------------------------------------


@dataclass
class CommandResult:
    status: str  # "ok", "failed", "timeout"
    seconds: float
    exit_code: int | None = None
    error: str | None = None


class ProcessTracker:
    """Every kubectl process group still running, so an interrupt kills them all."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: set[subprocess.Popen] = set()

    def add(self, proc: subprocess.Popen) -> None:
        with self._lock:
            self._running.add(proc)

    def discard(self, proc: subprocess.Popen) -> None:
        with self._lock:
            self._running.discard(proc)

    def kill_all(self) -> None:
        with self._lock:
            procs = list(self._running)
        for proc in procs:
            kill_group(proc)


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the process group the command leads (kubectl and anything it started)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run_bounded(argv: list[str], stdout_path: Path, stderr_path: Path, timeout_s: float, tracker: ProcessTracker,
                stdin_path: Path | None = None) -> CommandResult:
    """Run argv with stdout/stderr to files; after ``timeout_s`` kill its process group and return.

    Output goes to files, not pipes, so a killed command's orphans cannot keep us reading.
    """
    began = time.monotonic()
    stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
    try:
        with open(stdout_path, "wb") as out, open(stderr_path, "ab") as err:
            try:
                proc = subprocess.Popen(argv, stdin=stdin, stdout=out, stderr=err, start_new_session=True)
            except OSError as exc:
                return CommandResult("failed", time.monotonic() - began, error=f"cannot run {argv[0]}: {exc.strerror or exc}")
    finally:
        if stdin_path:
            stdin.close()
    tracker.add(proc)
    try:
        code = proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        try:
            proc.wait(timeout=KILL_GRACE_S)
            note = ""
        except subprocess.TimeoutExpired:
            note = f"; pid {proc.pid} did not exit after SIGKILL (left behind)"
        return CommandResult("timeout", time.monotonic() - began, error=f"no answer within {timeout_s:g}s: killed{note}")
    finally:
        tracker.discard(proc)
    seconds = time.monotonic() - began
    if code != 0:
        return CommandResult("failed", seconds, exit_code=code, error=_tail(stderr_path) or f"exit status {code}")
    return CommandResult("ok", seconds, exit_code=0)


def _tail(path: Path, limit: int = 400) -> str:
    try:
        data = path.read_bytes()[-limit:]
    except OSError:
        return ""
    return data.decode("utf-8", "replace").strip()


# --- the collection ----------------------------------------------------------------------


@dataclass
class NodeRecord:
    node: str
    status: str  # "ok", "failed", "timeout", "invalid_name"
    seconds: float = 0.0
    error: str | None = None
    file: str | None = None
    bytes: int | None = None
    debug_pod: str | None = None
    debug_pod_deleted: bool | None = None


@dataclass
class ViewRecord:
    name: str
    status: str
    seconds: float
    file: str | None = None
    node: str | None = None
    error: str | None = None


def is_valid_node_name(name: str) -> bool:
    """RFC 1123 subdomain, at most 253 characters (what the API server accepts for a Node).

    >>> is_valid_node_name("ip-10-0-1-5.ec2.internal"), is_valid_node_name("../../secrets"), is_valid_node_name("A")
    (True, False, False)
    """
    return 0 < len(name) <= 253 and RE_DNS1123_SUBDOMAIN.match(name) is not None


def file_names(nodes: list[str]) -> dict[str, str]:
    """A distinct, safe file-name part per node name (names are untrusted: from the API).

    >>> file_names(["a", "a/", "b"])
    {'a': 'a', 'a/': 'a-2', 'b': 'b'}
    """
    from analyzer.cli import safe_name_part

    taken: set[str] = set()
    names = {}
    for node in nodes:
        base = safe_name_part(node, "node")
        candidate, n = base, 2
        while candidate in taken:
            candidate, n = f"{base}-{n}", n + 1
        taken.add(candidate)
        names[node] = candidate
    return names


class ClusterCollection:
    """One run of ``collect --cluster`` into ``options.output``."""

    def __init__(self, options: ClusterOptions, log=None) -> None:
        self.o = options
        self.log = log or (lambda message: None)
        self.tracker = ProcessTracker()
        self.out = options.output
        self.cluster_dir = self.out / "cluster"
        self.view: list[ViewRecord] = []
        self.records: list[NodeRecord] = []
        self.script = self.cluster_dir / ".podmortem-collect"  # a snapshot: size and bytes sent stay in step
        self._lock = threading.Lock()

    # kubectl argv with the user's context flags
    def kubectl(self, *args: str) -> list[str]:
        argv = [self.o.kubectl]
        if self.o.kubeconfig:
            argv += ["--kubeconfig", self.o.kubeconfig]
        if self.o.context:
            argv += ["--context", self.o.context]
        return argv + list(args)

    def prepare(self) -> None:
        if (self.cluster_dir / "cluster-manifest.json").exists():
            raise UsageError(f"{self.out} already holds a cluster collection (cluster/cluster-manifest.json): choose a new --output")
        try:
            for sub in ("nodes", "cluster/commands", "cluster/nodes", "cluster/logs"):
                (self.out / sub).mkdir(parents=True, exist_ok=True)
            self.script.write_bytes(collector_script_path().read_bytes())
        except OSError as err:
            raise UsageError(f"cannot create {self.out}: {err.strerror or err}") from None

    def run(self) -> dict:
        self.prepare()
        started = datetime.now(timezone.utc)
        began = time.monotonic()
        try:
            nodes = self.select_nodes()
            self.collect(nodes)
        finally:
            manifest = self.write_manifest(started, time.monotonic() - began)
            self.script.unlink(missing_ok=True)
        return manifest

    # --- the view ---------------------------------------------------------------------------

    def fetch(self, name: str, rel: str, argv: list[str], node: str | None = None, log_prefix: str = "cluster") -> ViewRecord:
        """Run one view request into cluster/<rel> (redacted), recorded in the manifest."""
        target = self.cluster_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        raw = target.with_name("." + target.name + ".partial")
        errf = self.cluster_dir / "logs" / f"{log_prefix}-{name}.stderr.txt"
        result = run_bounded(argv, raw, errf, self.o.view_timeout_s, self.tracker)
        record = ViewRecord(name=name, status=result.status, seconds=round(result.seconds, 3), node=node, error=result.error)
        if result.status == "ok":
            text = raw.read_bytes().decode("utf-8", "replace")
            target.write_text(redact_text(text) if self.o.redact else text)
            record.file = f"cluster/{rel}"
        raw.unlink(missing_ok=True)
        with self._lock:
            self.view.append(record)
        return record

    def view_argv(self, what: str, node: str | None = None) -> list[str]:
        """The kubectl command of one cluster-view request (``nodes``, ``nodes-selected``, ``pods``,
        ``events``, or a node's ``configz`` / ``stats/summary`` through the API server's node proxy)."""
        timeout = f"--request-timeout={int(self.o.view_timeout_s)}s"
        if what == "nodes-selected":
            return self.kubectl("get", "nodes", "-l", self.o.selector or "", "-o", "json", timeout)
        if what in ("nodes", "pods", "events"):
            return self.kubectl("get", what, *(["-A"] if what != "nodes" else []), "-o", "json", timeout)
        return self.kubectl("get", "--raw", f"/api/v1/nodes/{node}/proxy/{what}", timeout)

    def select_nodes(self) -> list[str]:
        listed = self.fetch("kubectl-get-nodes", "commands/kubectl-get-nodes.json", self.view_argv("nodes"))
        if self.o.nodes:
            return self.o.nodes
        source = listed
        if self.o.selector:
            source = self.fetch("kubectl-get-nodes-selected", "commands/kubectl-get-nodes-selected.json", self.view_argv("nodes-selected"))
        if source.status != "ok":
            raise PodmortemError(f"cannot list the nodes: {source.error}")
        names = node_names(json.loads((self.out / source.file).read_text() or "{}"))
        if not names:
            raise PodmortemError("no node to collect" + (f" matches the selector {self.o.selector!r}" if self.o.selector else ""))
        return names

    # --- the nodes --------------------------------------------------------------------------

    def collect(self, nodes: list[str]) -> None:
        safe = file_names(nodes)
        jobs = [lambda: self.fetch("kubectl-get-pods", "commands/kubectl-get-pods.json", self.view_argv("pods")),
                lambda: self.fetch("kubectl-get-events", "commands/kubectl-get-events.json", self.view_argv("events"))]
        for node in nodes:
            if not is_valid_node_name(node):
                self.records.append(NodeRecord(node=node, status="invalid_name",
                                               error="not an RFC 1123 node name: not used in any API path"))
                continue
            jobs.append(lambda n=node: self.collect_node(n, safe[n]))
            for endpoint in ("configz", "stats/summary"):
                name = f"kubelet-{endpoint.replace('/', '-')}"
                jobs.append(lambda n=node, e=endpoint, name=name: self.fetch(
                    name, f"nodes/{safe[n]}/commands/{name}.json", self.view_argv(e, n), node=n, log_prefix=safe[n]))
        pool = ThreadPoolExecutor(max_workers=self.o.concurrency)
        try:
            for future in [pool.submit(job) for job in jobs]:
                future.result()
        except BaseException:  # Ctrl-C: kill every kubectl now rather than wait for their budgets
            pool.shutdown(wait=False, cancel_futures=True)
            self.tracker.kill_all()
            raise
        pool.shutdown()

    def debug_argv(self, node: str) -> list[str]:
        argv = self.kubectl("debug", f"node/{node}", "-i", f"--image={self.o.image}", f"--profile={self.o.profile}")
        if self.o.namespace:
            argv += ["--namespace", self.o.namespace]
        size = self.script.stat().st_size
        return argv + ["--", "sh", "-c", IN_POD_WRAPPER, "podmortem-collect", "/host", str(size), "--node", node, *self.node_args]

    @property
    def node_args(self) -> list[str]:
        """The node collector's options on every node: the user's, a run budget inside the node's, --no-redact."""
        args = list(self.o.collector_args)
        if not any(a.split("=")[0] == "--max-seconds" for a in args):
            args += ["--max-seconds", str(max(5, min(60, int(self.o.node_timeout_s / 2))))]
        if not self.o.redact:
            args.append("--no-redact")
        return args

    def collect_node(self, node: str, safe: str) -> NodeRecord:
        self.log(f"{node}: collecting")
        stdout = self.out / "nodes" / f".{safe}.stdout.partial"
        stderr = self.cluster_dir / "logs" / f"{safe}.stderr.txt"
        result = run_bounded(self.debug_argv(node), stdout, stderr, self.o.node_timeout_s, self.tracker, stdin_path=self.script)
        record = NodeRecord(node=node, status=result.status, seconds=round(result.seconds, 3), error=result.error)
        try:
            text = stdout.read_bytes().decode("ascii", "replace")
        except OSError:
            text = ""
        pod = RE_DEBUG_POD.search(text[:4096])
        record.debug_pod = pod.group("pod") if pod else None
        if result.status == "ok":
            self._keep_bundle(record, text, safe)
        stdout.unlink(missing_ok=True)
        if record.debug_pod:
            record.debug_pod_deleted = self.delete_pod(record.debug_pod, stderr)
        self.log(f"{node}: {record.status}" + (f" ({record.error})" if record.error else ""))
        with self._lock:
            self.records.append(record)
        return record

    def _keep_bundle(self, record: NodeRecord, text: str, safe: str) -> None:
        try:
            data = decode_framed_bundle(text)
        except ValueError as err:
            record.status, record.error = "failed", str(err)
            return
        partial = self.out / "nodes" / f".{safe}.tar.gz.partial"
        partial.write_bytes(data)
        problem = check_tarball(partial)
        if problem:
            partial.unlink(missing_ok=True)
            record.status, record.error = "failed", problem
            return
        final = self.out / "nodes" / f"{safe}.tar.gz"
        os.replace(partial, final)
        record.file, record.bytes = f"nodes/{final.name}", len(data)

    def delete_argv(self, pod: str) -> list[str]:
        argv = self.kubectl("delete", "pod", pod, "--wait=false", "--ignore-not-found")
        return argv + (["--namespace", self.o.namespace] if self.o.namespace else [])

    def delete_pod(self, pod: str, stderr: Path) -> bool:
        result = run_bounded(self.delete_argv(pod), Path(os.devnull), stderr, DELETE_TIMEOUT_S, self.tracker)
        return result.status == "ok"

    # --- manifest ---------------------------------------------------------------------------

    def write_manifest(self, started: datetime, seconds: float) -> dict:
        manifest = {
            "collector": "podmortem collect --cluster",
            "version": __version__,
            "started_at": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "duration_s": round(seconds, 3),
            "selector": self.o.selector,
            "concurrency": self.o.concurrency,
            "node_timeout_s": self.o.node_timeout_s,
            "view_timeout_s": self.o.view_timeout_s,
            "image": self.o.image,
            "profile": self.o.profile,
            "redacted": self.o.redact,
            "collector_args": self.node_args,
            "nodes": [asdict(r) for r in sorted(self.records, key=lambda r: r.node)],
            "cluster_view": [asdict(v) for v in sorted(self.view, key=lambda v: (v.node or "", v.name))],
        }
        target = self.cluster_dir / "cluster-manifest.json"
        tmp = target.with_name(".cluster-manifest.json.partial")
        tmp.write_text(json.dumps(manifest, indent=2) + "\n")
        os.replace(tmp, target)
        return manifest


def node_names(node_list: dict) -> list[str]:
    """Names of a ``kubectl get nodes -o json`` List (strings only, in API order).

    >>> node_names({"items": [{"metadata": {"name": "n1"}}, {"metadata": {}}, "junk"]})
    ['n1']
    """
    items = node_list.get("items") if isinstance(node_list, dict) else None
    names = []
    for item in items if isinstance(items, list) else []:
        name = item.get("metadata", {}).get("name") if isinstance(item, dict) else None
        if isinstance(name, str) and name:
            names.append(name)
    return names


def decode_framed_bundle(text: str) -> bytes:
    """The bytes between the wrapper's marker lines, base64-decoded.

    >>> decode_framed_bundle("Creating debugging pod x\\npodmortem-bundle-begin\\naGk=\\npodmortem-bundle-end\\n")
    b'hi'
    """
    lines = text.splitlines()
    try:
        start = lines.index(BEGIN_MARK)
        end = lines.index(END_MARK, start)
    except ValueError:
        raise ValueError("no bundle in kubectl's output (markers missing: the collector or the pod failed; see cluster/logs)") from None
    try:
        return binascii.a2b_base64("".join(lines[start + 1:end]).encode())
    except binascii.Error as err:
        raise ValueError(f"the bundle's base64 is damaged: {err}") from None


def check_tarball(path: Path) -> str | None:
    """None when ``path`` is a readable .tar.gz (listed, nothing extracted), else why not."""
    try:
        with tarfile.open(path, "r:gz") as tar:
            for _ in tar:
                pass
    except (tarfile.TarError, OSError, EOFError) as err:
        return f"the bundle is not a readable .tar.gz: {err}"
    return None


def _echo(message: str, err: bool = False) -> None:
    import sys

    print(message, file=sys.stderr if err else sys.stdout, flush=True)


def run_cluster_collect(args: list[str], echo=_echo) -> int:
    """Entry point of ``podmortem collect --cluster ...``: returns the exit status.

    ``echo(message, err=False)`` prints (typer.echo in the CLI): progress on stderr, the summary on stdout.
    """
    options = parse_cluster_args(args)
    if options is None:
        echo(usage_text())
        return 0
    import shutil

    if shutil.which(options.kubectl) is None:
        raise UsageError(f"kubectl not found ({options.kubectl!r}): collect --cluster runs everything through kubectl")
    run = ClusterCollection(options, log=lambda message: echo(f"podmortem: {message}", err=True))
    manifest = run.run()
    ok = sum(1 for n in manifest["nodes"] if n["status"] == "ok")
    failed = [f"{n['node']} ({n['status']})" for n in manifest["nodes"] if n["status"] != "ok"]
    echo(f"{ok} of {len(manifest['nodes'])} nodes collected in {manifest['duration_s']:.0f}s"
         + (f"; not collected: {', '.join(failed)}" if failed else "") + f"; manifest: {options.output / 'cluster' / 'cluster-manifest.json'}")
    return 0
