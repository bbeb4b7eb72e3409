"""Benchmark bundles for issue 8 (performance): two SYNTHETIC node bundles in the collector's layout.

SYNTHETIC, said plainly: no node produced these bundles. They are generated here, deterministically
(fixed seed per bundle; gzip mtime 0; fixed tar mtimes and owners: the same bytes on every run), to
measure the analyzer on realistic volumes, and they record the answers a correct analysis must give
in a sidecar JSON next to each bundle (``<name>.expected.json``). Nothing in them may be used as
evidence of how a real node behaves.

    .venv/bin/python benchmarks/make_bundles.py [--only typical|big] [--cache-dir DIR] [--force]

- ``typical``: 110 running pods x 2 containers (plus each pod's pause container), a Burstable /
  BestEffort / Guaranteed mix, 3 kernel OOM kills at container limits, 1 kubelet eviction, about
  50 MB of kernel and kubelet logs.
- ``big``: 500 running pods x 2 containers, 1 GiB of kernel and kubelet logs (uncompressed) with 200
  OOM kills and 20 evictions spread over the week they cover. Logs are written streaming to
  temporary files (never held in memory) and then tarred; the result is cached in
  ``benchmarks/.cache/`` and reused while the generator version and the parameters match.

Layout (what ``collectors/node/podmortem-collect`` writes, cgroup v1, cgroupfs driver):
``<top>/manifest.json`` (steps and files with sizes and sha256, as the collector's
``write_manifest``), ``sys/fs/cgroup/memory/{,kubepods/{,burstable/,besteffort/}pod<uid>/<64-hex id>/}``
with the collector's 13 v1 files (``V1_FILES``), ``system.slice`` units, ``proc/{meminfo,vmstat,
loadavg,uptime,stat,version,pressure/memory,sys/vm/*}``, ``proc/<pid>/{status,oom_score,
oom_score_adj,cgroup,cmdline}`` for every pid in a kubepods ``cgroup.procs`` (``step_processes``),
``commands/{dmesg,dmesg-T,journalctl-k,journalctl-u-kubelet,kubectl-version}.txt``,
``commands/{kubelet-configz,kubelet-stats-summary,kubelet-pods,kubectl-get-pods}.json`` and a
``.status`` file per command. Not generated: containerd/crio journals, crictl output, events,
``kubectl describe`` (the analyzer's incidents do not need them).

Where each part's format comes from:

- Kernel OOM reports: the structure of the real report in ``fixtures/lab/lab-oom-128mi.tar.gz``
  (kernel 6.18.44-fc-v595, memcg v1: header, ``CPU:`` line, call trace, registers, ``memory:`` /
  ``memory+swap:`` / ``kmem:`` counters, ``Memory cgroup stats for`` with the same keys in the same
  order, the ``Tasks state`` table with rss_anon/rss_file/rss_shmem columns, the ``oom-kill:``
  summary and the ``Killed process`` line), read from that fixture at generation time. The call
  trace and ``Code:`` bytes are copied; pids, uids, comm, CPU, user-space registers, the cgroup
  paths, every counter and the per-line microsecond offsets are substituted consistently with the
  generated pods (kernel formats: mm/oom_kill.c ``dump_header``/``dump_task``/``dump_oom_summary``/
  ``__oom_kill_process``, mm/memcontrol-v1.c). ``cpuset=`` names the container cgroup (the real
  value on a Kubernetes node; the lab's container had no cpuset cgroup). The kernel's boot
  messages at the start of ``journalctl -k`` are the lab kernel's own boot lines, re-stamped.
- Kernel noise: bridge/veth lines of kernel >= 6.5 (net/bridge/br_stp.c ``br_log_state``,
  net/core/dev.c promiscuity/allmulti ``netdev_info``), formats as seen in public 6.x logs
  (``kube-bridge: port 1(vethdc1c21c8) entered blocking state``, ``vethX: entered allmulticast
  mode``, ``vethX (unregistering): left promiscuous mode``; the 4.8-era variants are in
  ../shared/corpus/kernel-oom/4.8-memcg-v1-cadvisor-oomparser-test-docker-interleaved.log), our CNI
  bridge being ``cni0``; ``nf_conntrack: nf_conntrack: table full, dropping packet`` (a public
  CentOS 8 /var/log/messages sample); ``<comm> (<pid>): drop_caches: 3`` (fs/drop_caches.c, in the
  lab's own dmesg).
- Log prefixes: ``journalctl -o short-iso-precise`` (``2026-11-24T12:42:53.123456+00:00 host
  kernel: ...``), as the collector runs it; ``dmesg`` ``[%5lu.%06lu]`` and ``dmesg -T``
  ``[Tue Nov 24 11:46:47 2026]`` as in the lab bundle. ``dmesg`` holds only the ring buffer's last
  512 KiB (it wrapped long ago); the last OOM of each bundle is recent enough to be in it too, as
  the same OOM is seen in dmesg, dmesg -T and journalctl -k on a real node.
- Kubelet journal noise: structured klog lines (``I1124 12:42:53.123456    2186 file.go:N] "msg"
  key=value``) of the kinds a kubelet logs at the default verbosity, each template copied from a
  public kubelet log of 2023-2025 (AKS, GKE, kind, kubeadm nodes seen through the code search):
  "SyncLoop (PLEG): event for pod" (kubelet.go), "SyncLoop UPDATE"/"DELETE" (kubelet.go),
  "Probe failed" (prober.go), "Observed pod startup duration" (pod_startup_latency_tracker.go),
  "Killing container with a grace period" (kuberuntime_container.go), "RemoveContainer"
  (scope.go), "Error syncing pod, skipping" with CrashLoopBackOff (pod_workers.go), "No ready
  sandbox for pod can be found" (util.go), "operationExecutor.VerifyControllerAttachedVolume
  started" and "Volume detached" (reconciler_common.go), "Cleaned up orphaned pod volumes dir"
  (kubelet_volumes.go), "Pod status updated" (kubelet_getters.go), "Nameserver limits exceeded"
  (dns.go). The ``file.go:N`` line numbers are those of the samples where one was seen, otherwise
  plausible neighbours (they differ between kubelet releases anyway).
- Evictions: the eviction manager's structured lines in the formats of
  ../shared/corpus/k8s/kubelet-eviction-log-k8s132001-structured.log and the docstring of
  analyzer/parsers/kubelet_log.py ("attempting to reclaim" resourceName=, "must evict pod(s) to
  reclaim", "pods ranked for eviction" pods=["ns/a",...], "pod is evicted successfully" pod=,
  "pods evicted, waiting for pod to be cleaned up", "pods successfully cleaned up"; FACTS.md §4),
  the kill and PLEG lines between them as in a public AKS eviction log; the evicted pod's status
  (phase Failed, reason Evicted, the ``evictionMessage`` text of recent kubelets "Container X was
  using NKi, request is R, has larger consumption of memory.", a DisruptionTarget condition,
  containers terminated ContainerStatusUnknown/137) as in the same AKS sample and
  ../shared/corpus/k8s/podjson-openshiftrelease76967-evicted-threshold-yq.txt.
- cgroup v1 files: the 13 files and memory.stat keys (order included) of the lab bundle's
  container cgroups; values invented but consistent (usage = rss + cache + kmem, totals of a parent
  = sum of its children, limits from the pod specs, failcnt and ``oom_kill`` where kills happened).
- Pod JSON (``kubectl get pods -o json``, 4-space indent; the kubelet's /pods compact), /configz
  (the shape of ../shared/corpus/k8s/configz-kubeadm-v1.16-cgroupfs.json with current fields),
  /stats/summary (the shape of ../shared/corpus/k8s/stats-summary-beats-gke-2017.json, numbers
  from the generated cgroups: workingSet = usage - total_inactive_file), /proc files (the lab's
  shapes): invented values. oom_score_adj per container follows the kubelet's
  pkg/kubelet/qos/policy.go ``GetContainerOOMScoreAdjust`` (FACTS.md §5).
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import random
import re
import sys
import tarfile
import tempfile
import time
import uuid
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

GENERATOR_VERSION = 3  # bump on any change to what is generated: cached bundles are rebuilt
ROOT = Path(__file__).resolve().parent.parent
LAB_BUNDLE = ROOT / "fixtures" / "lab" / "lab-oom-128mi.tar.gz"
DEFAULT_CACHE = ROOT / "benchmarks" / ".cache"

KiB, MiB, GiB = 1024, 1024**2, 1024**3
PAGE = 4096
UNLIMITED = 9223372036854771712  # v1 "no limit" as read back (PAGE_COUNTER_MAX pages; FACTS.md §1)
UNLIMITED_KB = 9007199254740988  # the same in the kernel report's kB
FLOOR_RE = re.compile(r"Killed process|Kill process|eviction manager")  # perf_bench's grep -E floor
RING_BYTES = 512 * KiB  # dmesg: what is left in the kernel ring buffer
COLLECTED_AT = datetime(2026, 11, 24, 12, 42, 53, tzinfo=timezone.utc)
UPTIME_S = 6 * 86400 + 3 * 3600 + 17.43  # booted six days before collection; the journal window is 168h
HOST = "k8s-worker-bench-1"
NODE_IP = "10.20.31.7"
KERNEL_RELEASE = "6.18.44-fc-v595"  # the lab kernel whose report format is copied
KUBELET_PID = 2186
CONTAINERD_PID = 1107
SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # k8s.io/apimachinery/pkg/util/rand (generated name suffixes)


@dataclass(frozen=True)
class Spec:
    name: str
    seed: int
    pods: int  # running pods (with cgroups); evicted pods come on top, in the pod JSON only
    containers: int
    ooms: int
    evictions: int
    log_bytes: int  # kernel + kubelet logs, uncompressed, all log files together
    mem_total_kib: int
    max_pods: int
    kernel_share: float = 0.36  # of the journals (journalctl -k vs journalctl -u kubelet)


SPECS = {
    "typical": Spec("typical", seed=80_001, pods=110, containers=2, ooms=3, evictions=1, log_bytes=50_000_000,
                    mem_total_kib=131_919_188, max_pods=110),
    "big": Spec("big", seed=80_002, pods=500, containers=2, ooms=200, evictions=20, log_bytes=GiB,
                mem_total_kib=528_205_592, max_pods=500),
}


# --- the lab report, the template of every OOM report ---------------------------------------


@dataclass
class LabTemplates:
    boot: list[tuple[float, str]]  # (uptime s, message) of the lab kernel's boot
    report: list[tuple[int, str]]  # (microseconds after the header, message) of the lab's last OOM report
    stat_keys: list[str]
    sha256: str

    @classmethod
    def load(cls) -> "LabTemplates":
        raw = LAB_BUNDLE.read_bytes()
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:gz") as tar:
            member = next(m for m in tar.getmembers() if m.name.endswith("/commands/dmesg.txt"))
            text = tar.extractfile(member).read().decode()
        lines = []
        for line in text.splitlines():
            match = re.match(r"^\[\s*(\d+)\.(\d{6})\] ?(.*)$", line)
            if match:
                lines.append((int(match.group(1)) * 1_000_000 + int(match.group(2)), match.group(3)))
        headers = [i for i, (_, msg) in enumerate(lines) if " invoked oom-killer: " in msg]
        first = headers[-1]
        last = next(i for i in range(first, len(lines)) if "Killed process" in lines[i][1])
        start = lines[first][0]
        report = [(us - start, msg) for us, msg in lines[first:last + 1]]
        boot = [(us / 1e6, msg) for us, msg in lines[:headers[0]] if us < 5_000_000]
        at = next(i for i, (_, m) in enumerate(report) if m.startswith("Memory cgroup stats for"))
        keys = []
        for _, msg in report[at + 1:]:
            if msg.startswith("Tasks state"):
                break
            keys.append(msg.split()[0])
        return cls(boot=boot, report=report, stat_keys=keys, sha256=hashlib.sha256(raw).hexdigest())


# --- the node's pods ------------------------------------------------------------------------

# (app, namespace, kind, replicas weight, qos, [(container, image, comm, request MiB, limit MiB)])
# requests/limits None = not set. Images are illustrative names.
APPS = [
    ("checkout-api", "shop", "Deployment", 4, "Burstable", [("api", "registry.example.com/shop/checkout-api:2.14.3", "java", 768, 1536), ("envoy", "envoyproxy/envoy:v1.31.2", "envoy", 64, 256)]),
    ("cart", "shop", "Deployment", 4, "Burstable", [("cart", "registry.example.com/shop/cart:1.9.0", "node", 256, 512), ("envoy", "envoyproxy/envoy:v1.31.2", "envoy", 64, 256)]),
    ("catalog", "shop", "Deployment", 3, "Guaranteed", [("catalog", "registry.example.com/shop/catalog:4.2.1", "gunicorn", 1024, 1024), ("envoy", "envoyproxy/envoy:v1.31.2", "envoy", 128, 128)]),
    ("payments", "payments", "Deployment", 3, "Guaranteed", [("payments", "registry.example.com/pay/payments:7.0.4", "java", 2048, 2048), ("envoy", "envoyproxy/envoy:v1.31.2", "envoy", 128, 128)]),
    ("fraud-scorer", "payments", "Deployment", 2, "Burstable", [("scorer", "registry.example.com/pay/fraud-scorer:0.33.0", "python3", 1024, 3072), ("envoy", "envoyproxy/envoy:v1.31.2", "envoy", 64, 256)]),
    ("search-indexer", "search", "StatefulSet", 2, "Burstable", [("indexer", "registry.example.com/search/indexer:3.1.0", "java", 2048, 4096), ("exporter", "prom/jmx-exporter:1.0.1", "java", 64, 128)]),
    ("search-api", "search", "Deployment", 3, "Burstable", [("api", "registry.example.com/search/api:3.1.0", "node", 384, 768), ("envoy", "envoyproxy/envoy:v1.31.2", "envoy", 64, 256)]),
    ("report-builder", "batch", "Deployment", 3, "BestEffort", [("builder", "registry.example.com/batch/report-builder:5.5.2", "python3", None, None), ("uploader", "registry.example.com/batch/uploader:1.2.0", "python3", None, None)]),
    ("etl-worker", "batch", "Deployment", 3, "BestEffort", [("worker", "registry.example.com/batch/etl:2.0.9", "python3", None, None), ("statsd", "prom/statsd-exporter:v0.27.1", "statsd_exporter", None, None)]),
    ("image-resizer", "media", "Deployment", 3, "Burstable", [("resizer", "registry.example.com/media/resizer:0.9.7", "php-fpm", 256, 1024), ("nginx", "nginx:1.27.2", "nginx", 32, 128)]),
    ("thumbnailer", "media", "Deployment", 2, "BestEffort", [("thumb", "registry.example.com/media/thumbnailer:0.4.0", "ruby", None, None), ("nginx", "nginx:1.27.2", "nginx", None, None)]),
    ("session-cache", "shop", "StatefulSet", 2, "Guaranteed", [("redis", "redis:7.4.1", "redis-server", 512, 512), ("exporter", "oliver006/redis_exporter:v1.66.0", "redis_exporter", 32, 32)]),
    ("notifications", "comms", "Deployment", 3, "Burstable", [("notifier", "registry.example.com/comms/notifier:2.3.0", "node", 192, 384), ("fluent-bit", "fluent/fluent-bit:3.1.9", "fluent-bit", 32, 64)]),
    ("mailer", "comms", "Deployment", 2, "BestEffort", [("mailer", "registry.example.com/comms/mailer:1.0.3", "python3", None, None), ("fluent-bit", "fluent/fluent-bit:3.1.9", "fluent-bit", None, None)]),
    ("grafana", "monitoring", "Deployment", 1, "Burstable", [("grafana", "grafana/grafana:11.3.0", "grafana", 256, 512), ("sidecar", "kiwigrid/k8s-sidecar:1.28.0", "python", 64, 128)]),
    ("loki-read", "logging", "StatefulSet", 2, "Burstable", [("loki", "grafana/loki:3.2.1", "loki", 512, 2048), ("gateway", "nginx:1.27.2", "nginx", 32, 64)]),
    ("ingress-nginx-controller", "ingress-nginx", "Deployment", 2, "Burstable", [("controller", "registry.k8s.io/ingress-nginx/controller:v1.11.3", "nginx", 256, 512), ("config-reloader", "registry.example.com/infra/reloader:0.2.0", "reloader", 16, 32)]),
    ("docs-site", "web", "Deployment", 2, "BestEffort", [("web", "registry.example.com/web/docs:2026.11.2", "nginx", None, None), ("git-sync", "registry.k8s.io/git-sync/git-sync:v4.3.0", "git-sync", None, None)]),
    ("admin-api", "web", "Deployment", 2, "Burstable", [("api", "registry.example.com/web/admin-api:1.40.0", "ruby", 384, 768), ("envoy", "envoyproxy/envoy:v1.31.2", "envoy", 64, 256)]),
    ("ml-inference", "ml", "Deployment", 2, "Guaranteed", [("model", "registry.example.com/ml/inference:0.12.4", "python3", 3072, 3072), ("envoy", "envoyproxy/envoy:v1.31.2", "envoy", 128, 128)]),
]
DAEMONSETS = [
    ("kube-proxy", "kube-system", "Burstable", [("kube-proxy", "registry.k8s.io/kube-proxy:v1.31.2", "kube-proxy", 64, None), ("conntrack-tuner", "registry.example.com/infra/sysctl:1.0", "sleep", 8, None)], 2000001000),
    ("node-exporter", "monitoring", "Burstable", [("node-exporter", "quay.io/prometheus/node-exporter:v1.8.2", "node_exporter", 32, 64), ("kube-rbac-proxy", "quay.io/brancz/kube-rbac-proxy:v0.18.1", "kube-rbac-proxy", 16, 32)], 0),
    ("fluent-bit", "logging", "Burstable", [("fluent-bit", "fluent/fluent-bit:3.1.9", "fluent-bit", 64, 256), ("config-reloader", "registry.example.com/infra/reloader:0.2.0", "reloader", 8, 16)], 2000001000),
    ("calico-node", "kube-system", "Burstable", [("calico-node", "docker.io/calico/node:v3.28.2", "calico-node", 128, None), ("bird-exporter", "registry.example.com/infra/bird-exporter:0.3", "bird_exporter", 8, None)], 2000001000),
]
PAUSE_IMAGE = "registry.k8s.io/pause:3.10"
# worker processes forked by these mains (an OOM may kill one worker while PID 1 lives on)
FORKING = {"gunicorn": "gunicorn", "php-fpm": "php-fpm", "nginx": "nginx", "python3": "python3"}


@dataclass
class Task:
    pid: int
    comm: str
    started: float  # seconds since boot
    rss_anon_pages: int
    rss_file_pages: int
    total_vm_pages: int
    uid: int


@dataclass
class Container:
    name: str
    image: str
    comm: str
    request: int | None
    limit: int | None
    cid: str
    started: float  # seconds since boot, current instance
    tasks: list[Task] = field(default_factory=list)
    restarts: int = 0
    last_terminated: dict | None = None
    oom_kills_current: int = 0
    failcnt: int = 0
    adj: int = 0
    uid: int = 1000
    usage: int = 0
    cache: int = 0
    rss: int = 0
    kmem: int = 0
    shmem: int = 0
    mapped_file: int = 0
    inactive_file: int = 0
    max_usage: int = 0


@dataclass
class Pod:
    name: str
    namespace: str
    uid: str
    app: str
    kind: str
    owner: str
    qos: str
    priority: int
    created: float  # seconds since boot
    containers: list[Container]
    pause_cid: str
    pause_pid: int
    ip: str
    evicted_at: float | None = None
    eviction_message: str | None = None
    eviction_usage: dict = field(default_factory=dict)

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def cgroup(self) -> str:
        tier = {"Guaranteed": "", "Burstable": "burstable/", "BestEffort": "besteffort/"}[self.qos]
        return f"/kubepods/{tier}pod{self.uid}"


class Ids:
    """Deterministic ids, names and pids from one Random."""

    def __init__(self, rng: random.Random) -> None:
        self.rng, self.used_pids = rng, set()

    def hex64(self) -> str:
        return f"{self.rng.getrandbits(256):064x}"

    def uuid4(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def suffix(self, n: int = 5) -> str:
        return "".join(self.rng.choice(SUFFIX_ALPHABET) for _ in range(n))

    def pid_at(self, uptime: float) -> int:
        """pids grow with time since boot (about 5 forks a second on a busy node), never reused here."""
        pid = 1800 + int(uptime * 5.3) + self.rng.randrange(0, 40)
        while pid in self.used_pids:
            pid += 1
        self.used_pids.add(pid)
        return pid


def oom_score_adj(qos: str, request: int | None, capacity: int, critical: bool) -> int:
    """pkg/kubelet/qos/policy.go GetContainerOOMScoreAdjust (FACTS.md §5)."""
    if critical or qos == "Guaranteed":
        return -997
    if qos == "BestEffort":
        return 1000
    adj = 1000 - (1000 * (request or 0)) // capacity
    if adj < 3:
        return 3
    return 999 if adj == 1000 else adj


def _pod_ip(n: int) -> str:
    return f"10.244.{3 + n // 250}.{n % 250 + 2}"


def _page(n: float) -> int:
    return max(int(n) // PAGE * PAGE, 0)


class Node:
    """The whole synthetic node: pods, containers, incidents, at collection time."""

    def __init__(self, spec: Spec, lab: LabTemplates) -> None:
        self.spec, self.lab = spec, lab
        self.rng = random.Random(spec.seed)
        self.boot = COLLECTED_AT - timedelta(seconds=UPTIME_S)
        self.ids = Ids(self.rng)
        self.capacity = spec.mem_total_kib * KiB
        self.pods: list[Pod] = []
        self.evicted: list[Pod] = []
        self.ooms: list[dict] = []
        self.evictions: list[dict] = []
        self.kernel_events: list[tuple[float, list[tuple[int, str]], dict]] = []  # (uptime, [(us offset, msg)], oom)
        self.kubelet_events: list[tuple[float, list[tuple[float, str, str]]]] = []  # (uptime, [(s offset, sev, body)])
        self._make_pods()
        self._plan_ooms()
        self._fill_memory()
        self._plan_evictions()

    # -- pods --

    def _pod(self, app: str, ns: str, kind: str, qos: str, specs: list, priority: int, created: float, ordinal: int | None) -> Pod:
        ids = self.ids
        if kind == "Deployment":
            owner = f"{app}-{ids.suffix(10)}"
            name = f"{owner}-{ids.suffix(5)}"
        elif kind == "StatefulSet":
            owner, name = app, f"{app}-{ordinal}"
        else:
            owner, name = app, f"{app}-{ids.suffix(5)}"
        containers = []
        for cname, image, comm, req, lim in specs:
            request = req * MiB if req else None
            limit = lim * MiB if lim else None
            c = Container(cname, image, comm, request, limit, ids.hex64(), created + self.rng.uniform(1, 8))
            c.adj = oom_score_adj(qos, request, self.capacity, priority >= 2000000000)
            c.uid = 0 if ns == "kube-system" else self.rng.choice((1000, 1001, 65532, 101))
            containers.append(c)
        pod = Pod(name, ns, ids.uuid4(), app, kind, owner, qos, priority, created, containers, ids.hex64(),
                  ids.pid_at(created), _pod_ip(len(self.pods) + len(self.evicted)))
        return pod

    def _make_pods(self) -> None:
        rng, spec = self.rng, self.spec
        for app, ns, qos, specs, prio in DAEMONSETS:
            self.pods.append(self._pod(app, ns, "DaemonSet", qos, specs[: spec.containers], prio, rng.uniform(20, 60), None))
        weights = [a[3] for a in APPS]
        counters: dict[str, int] = {}
        while len(self.pods) < spec.pods:
            app, ns, kind, _, qos, specs = rng.choices(APPS, weights)[0]
            counters[app] = counters.get(app, -1) + 1
            created = rng.choice((rng.uniform(60, 3600), rng.uniform(3600, UPTIME_S - 7200)))
            self.pods.append(self._pod(app, ns, kind, qos, specs[: spec.containers], 0, created, counters[app]))
        for pod in self.pods:
            for c in pod.containers:
                c.tasks = self._tasks_for(c, c.started)

    def _tasks_for(self, c: Container, started: float) -> list[Task]:
        """Processes of a container instance: a main, and workers for forking servers."""
        rng, ids = self.rng, self.ids
        main = Task(ids.pid_at(started), c.comm[:15], started, 0, rng.randrange(800, 9000), 0, c.uid)
        tasks = [main]
        if c.comm in FORKING and rng.random() < 0.8:
            for _ in range(rng.randrange(2, 5)):
                born = rng.uniform(started + 1, max(started + 2, UPTIME_S - 60))
                tasks.append(Task(ids.pid_at(born), FORKING[c.comm], born, 0, rng.randrange(800, 6000), 0, c.uid))
        return tasks

    # -- OOM kills --

    def _plan_ooms(self) -> None:
        """When and whom the kernel kills: single-process containers restart, forking servers may lose a worker."""
        rng, n = self.rng, self.spec.ooms
        mains = [(p, p.containers[0]) for p in self.pods if p.priority == 0]  # apps run out of memory, sidecars seldom
        limited = [(p, c) for p, c in mains if c.limit and c.limit >= 256 * MiB]
        single = [x for x in limited if x[1].comm not in FORKING]
        forking = [x for x in limited if x[1].comm in FORKING]
        if n <= 3:
            first, worker = rng.sample(single, 1)[0], rng.choice(forking)
            last = rng.choice([x for x in single if x[0] not in (first[0], worker[0])])
            plan = [(UPTIME_S * 0.31, *first, "restart"), (UPTIME_S * 0.77, *worker, "worker"), (UPTIME_S - 300.25, *last, "restart")][:n]
        else:
            times = sorted(rng.uniform(3600, UPTIME_S - 900) for _ in range(n - 1)) + [UPTIME_S - 300.25]
            pool = rng.sample(limited, min(len(limited), max(n // 3, 1)))
            plan = []
            for when in times:
                pod, c = rng.choice(pool)
                plan.append((when, pod, c, "worker" if c.comm in FORKING and rng.random() < 0.4 else "restart"))
        for when, pod, c, kind in plan:
            if when <= c.started + 5:
                when = c.started + rng.uniform(30, 300)
            self._oom(when, pod, c, kind)

    def _oom(self, when: float, pod: Pod, c: Container, kind: str) -> None:
        rng, ids = self.rng, self.ids
        # the processes of this container instance alive at `when`
        if kind == "worker" and not any(t.started <= when for t in c.tasks[1:]):
            born = max(c.started + 1, when - rng.uniform(600, 7200))
            c.tasks.append(Task(ids.pid_at(born), FORKING[c.comm], born, 0, rng.randrange(800, 6000), 0, c.uid))
        alive = [t for t in c.tasks if t.started <= when]
        workers = [t for t in alive if t is not c.tasks[0]]
        if kind == "worker" and workers:
            victim = rng.choice(workers)
        else:
            kind, victim = "restart", c.tasks[0]
        limit = c.limit
        kmem = rng.randrange(300, 2400) * KiB
        cache = _page(limit * rng.uniform(0.0, 0.03))
        rss = limit - kmem - cache
        # the victim holds most of the anonymous memory, the others a little
        others = [t for t in alive if t is not victim]
        share = max(rss // PAGE // (3 * (len(others) + 1)), 2)
        other_anon = 0
        for t in others:  # the others hold at most a third of the memcg's anon: the victim has the most points
            t.rss_anon_pages = rng.randrange(1, share)
            t.total_vm_pages = t.rss_anon_pages + t.rss_file_pages + rng.randrange(10000, 60000)
            other_anon += t.rss_anon_pages
        victim.rss_anon_pages = rss // PAGE - other_anon - rng.randrange(0, 40)
        victim.total_vm_pages = victim.rss_anon_pages + victim.rss_file_pages + rng.randrange(2000, 300000)
        c.failcnt += rng.randrange(40, 400)
        oom = {
            "uptime_s": round(when, 6),
            "time": (self.boot + timedelta(seconds=when)).isoformat().replace("+00:00", "Z"),
            "kind": kind,
            "victim_pid": victim.pid,
            "victim_comm": victim.comm,
            "pod_uid": pod.uid,
            "pod": pod.ref,
            "qos": pod.qos,
            "container": c.name,
            "container_id": c.cid,
            "memcg": f"{pod.cgroup}/{c.cid}",
            "limit_bytes": limit,
        }
        lines = self._oom_report(pod, c, victim, alive, rss, cache, kmem)
        self.kernel_events.append((when, lines, oom))
        self.ooms.append(oom)
        if kind == "restart":
            new_cid = ids.hex64()
            died, started = when + rng.uniform(0.6, 1.4), when + rng.uniform(1.5, 12)
            pleg = '"SyncLoop (PLEG): event for pod" pod="{ref}" event={{"ID":"{uid}","Type":"{typ}","Data":"{cid}"}}'
            self.kubelet_events.append((when, [
                (died - when, "I", "kubelet.go:2455] " + pleg.format(ref=pod.ref, uid=pod.uid, typ="ContainerDied", cid=c.cid)),
                (started - when, "I", "kubelet.go:2455] " + pleg.format(ref=pod.ref, uid=pod.uid, typ="ContainerStarted", cid=new_cid)),
            ]))
            c.last_terminated = {
                "containerID": f"containerd://{c.cid}", "exitCode": 137, "reason": "OOMKilled",
                "startedAt": self._iso(c.started), "finishedAt": self._iso(when + 0.9),
            }
            c.restarts += 1
            c.cid, c.started, c.oom_kills_current, c.failcnt = new_cid, started, 0, 0
            c.tasks = self._tasks_for(c, started)
        else:
            c.oom_kills_current += 1
            c.tasks.remove(victim)
            born = when + rng.uniform(0.5, 3)
            c.tasks.append(Task(ids.pid_at(born), victim.comm, born, 0, victim.rss_file_pages, 0, c.uid))

    def _oom_report(self, pod: Pod, c: Container, victim: Task, alive: list[Task], rss: int, cache: int, kmem: int) -> list[tuple[int, str]]:
        """The lab report with this OOM's pids, paths and numbers (see the module docstring)."""
        rng = self.rng
        path = f"{pod.cgroup}/{c.cid}"
        limit_kb = c.limit // KiB
        inactive_file = _page(cache * rng.uniform(0.2, 0.8))
        active_anon = _page(rss * rng.uniform(0.0005, 0.02)) or PAGE
        pgpgout = rng.randrange(1500, 400000)
        pgpgin = (rss + cache) // PAGE + pgpgout
        stat = {
            "cache": cache, "rss": rss, "rss_huge": 0, "shmem": 0, "mapped_file": _page(cache * 0.3), "dirty": 0,
            "writeback": 0, "workingset_refault_anon": 0, "workingset_refault_file": rng.randrange(0, 400), "swap": 0,
            "swapcached": 0, "pgpgin": pgpgin, "pgpgout": pgpgout, "pgfault": pgpgin + rng.randrange(3000, 90000),
            "pgmajfault": rng.randrange(0, 30), "inactive_anon": rss - active_anon - PAGE * rng.randrange(0, 24),
            "active_anon": active_anon, "inactive_file": inactive_file, "active_file": cache - inactive_file,
            "unevictable": 0, "hierarchical_memory_limit": c.limit, "hierarchical_memsw_limit": UNLIMITED,
        }
        rows = []
        for t in sorted(alive, key=lambda t: t.pid):
            rss_pages = t.rss_anon_pages + t.rss_file_pages
            pgtables = (t.total_vm_pages // 512 + 10) * PAGE
            rows.append(f"[{t.pid:7d}] {t.uid:5d} {t.pid:5d} {t.total_vm_pages:8d} {rss_pages:8d} {t.rss_anon_pages:8d} "
                        f"{t.rss_file_pages:8d} {0:9d} {pgtables:8d} {0:8d}         {c.adj:5d} {t.comm}")
        v_pgtables_kb = (victim.total_vm_pages // 512 + 10) * PAGE // KiB
        cpu = rng.randrange(0, 16)
        regs = {"RIP": f"0033:0x7f{rng.getrandbits(36):09x}0ba", "RSP": f"002b:00007ff{rng.getrandbits(36):09x}"}
        out: list[tuple[int, str]] = []
        for offset, msg in self.lab.report:
            if " invoked oom-killer: " in msg:
                msg = f"{victim.comm} invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj={c.adj}"
            elif msg.startswith("CPU: "):
                msg = f"CPU: {cpu} UID: {victim.uid} PID: {victim.pid} Comm: {victim.comm[:15]} Not tainted {KERNEL_RELEASE} #1 PREEMPT(none) "
            elif msg.startswith("RIP: "):
                msg = f"RIP: {regs['RIP']}"
            elif msg.startswith("RSP: "):
                msg = f"RSP: {regs['RSP']} EFLAGS: 00010206"
            elif msg.startswith("memory: usage"):
                msg = f"memory: usage {limit_kb}kB, limit {limit_kb}kB, failcnt {c.failcnt}"
            elif msg.startswith("memory+swap: usage"):
                msg = f"memory+swap: usage {limit_kb}kB, limit {UNLIMITED_KB}kB, failcnt 0"
            elif msg.startswith("kmem: usage"):
                msg = f"kmem: usage {kmem // KiB}kB, limit {UNLIMITED_KB}kB, failcnt 0"
            elif msg.startswith("Memory cgroup stats for "):
                msg = f"Memory cgroup stats for {path}:"
            elif msg.split(" ")[0] in stat or msg.split(" ")[0].removeprefix("total_") in stat:
                key = msg.split(" ")[0]
                msg = f"{key} {stat[key.removeprefix('total_')]}"
            elif re.match(r"^\[\s*\d+\]", msg):
                continue  # the lab's task row: replaced by ours after the header
            elif msg.startswith("[  pid  ]"):
                out.append((offset, msg))
                for i, row in enumerate(rows):
                    out.append((offset + 2 + i, row))
                continue
            elif msg.startswith("oom-kill:"):
                msg = (f"oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset={c.cid},mems_allowed=0,oom_memcg={path},"
                       f"task_memcg={path},task={victim.comm},pid={victim.pid},uid={victim.uid}")
            elif "Killed process" in msg:
                msg = (f"Memory cgroup out of memory: Killed process {victim.pid} ({victim.comm}) "
                       f"total-vm:{victim.total_vm_pages * 4}kB, anon-rss:{victim.rss_anon_pages * 4}kB, "
                       f"file-rss:{victim.rss_file_pages * 4}kB, shmem-rss:0kB, UID:{victim.uid} pgtables:{v_pgtables_kb}kB "
                       f"oom_score_adj:{c.adj}")
            out.append((offset, msg))
        for i in range(1, len(out)):  # more task rows than the lab's one push the rest later
            if out[i][0] <= out[i - 1][0]:
                out[i] = (out[i - 1][0] + 1, out[i][1])
        return out

    # -- evictions --

    def _plan_evictions(self) -> None:
        rng, n = self.rng, self.spec.evictions
        candidates = [a for a in APPS if a[4] in ("BestEffort", "Burstable")]
        times = [UPTIME_S * 0.58] if n == 1 else sorted(rng.uniform(7200, UPTIME_S - 3600) for _ in range(n))
        for when in times:
            app, ns, kind, _, qos, specs = rng.choice([a for a in candidates if a[4] == "BestEffort"] if rng.random() < 0.7 else candidates)
            pod = self._pod(app, ns, "Deployment" if kind == "StatefulSet" else kind, qos, specs[: self.spec.containers], 0,
                            rng.uniform(60, max(120, when - 3600)), None)
            pod.evicted_at = when
            threshold_mib = 500
            available_ki = rng.randrange(280_000, threshold_mib * 1024 - 1)
            parts = [f"The node was low on resource: memory. Threshold quantity: {threshold_mib}Mi, available: {available_ki}Ki. "]
            for c in pod.containers:
                usage_ki = rng.randrange(400_000, 6_000_000) if c is pod.containers[0] else rng.randrange(20_000, 300_000)
                pod.eviction_usage[c.name] = usage_ki * KiB
                request = c.request or 0
                if usage_ki * KiB > request:
                    req = f"{request // MiB}Mi" if request else "0"
                    parts.append(f"Container {c.name} was using {usage_ki}Ki, request is {req}, has larger consumption of memory. ")
            pod.eviction_message = "".join(parts)
            self.evicted.append(pod)
            self.evictions.append({"pod": pod.ref, "pod_uid": pod.uid, "uptime_s": round(when, 6),
                                   "time": self._iso(when), "qos": pod.qos})
        for pod in self.evicted:
            self.kubelet_events.append((pod.evicted_at, self._eviction_lines(pod)))

    def _eviction_lines(self, victim: Pod) -> list[tuple[float, str, str]]:
        """The eviction manager's cycle that evicted ``victim`` (module docstring: formats)."""
        still_running = [p for p in self.evicted if p is not victim and p.evicted_at > victim.evicted_at]
        ranked = [victim] + still_running + sorted(self.pods, key=self._rank_key)
        pods = ",".join(f'"{p.ref}"' for p in ranked)
        c = victim.containers[0]
        lines = [
            (0.0, "I", 'eviction_manager.go:366] "Eviction manager: attempting to reclaim" resourceName="memory"'),
            (0.000071, "I", 'eviction_manager.go:377] "Eviction manager: must evict pod(s) to reclaim" resourceName="memory"'),
            (0.000954, "I", f'eviction_manager.go:405] "Eviction manager: pods ranked for eviction" pods=[{pods}]'),
        ]
        for i, cont in enumerate(victim.containers):
            lines.append((0.0011 + i * 0.0002, "I", f'kuberuntime_container.go:808] "Killing container with a grace period" pod="{victim.ref}" '
                          f'podUID="{victim.uid}" containerName="{cont.name}" containerID="containerd://{cont.cid}" gracePeriod=1'))
        lines += [
            (0.35, "I", f'kubelet.go:2455] "SyncLoop (PLEG): event for pod" pod="{victim.ref}" event={{"ID":"{victim.uid}",'
                        f'"Type":"ContainerDied","Data":"{c.cid}"}}'),
            (0.45, "I", f'eviction_manager.go:627] "Eviction manager: pod is evicted successfully" pod="{victim.ref}"'),
            (0.4501, "I", f'eviction_manager.go:205] "Eviction manager: pods evicted, waiting for pod to be cleaned up" pods=["{victim.ref}"]'),
            (1.62, "I", f'eviction_manager.go:456] "Eviction manager: pods successfully cleaned up" pods=["{victim.ref}"]'),
        ]
        return lines

    def _rank_key(self, pod: Pod) -> tuple:
        ws = sum(c.usage - c.inactive_file for c in pod.containers)
        req = sum(c.request or 0 for c in pod.containers)
        return (not ws > req, pod.priority, -(ws - req))

    # -- memory at collection --

    def _fill_memory(self) -> None:
        """Each container's counters at collection; all pods together use at most 55% of the node."""
        rng = self.rng
        wanted = {}
        for pod in self.pods:
            for c in pod.containers:
                if c.limit:
                    wanted[id(c)] = c.limit * rng.uniform(0.12, 0.8)
                elif c.request:
                    wanted[id(c)] = c.request * rng.uniform(0.4, 1.5)
                else:
                    wanted[id(c)] = rng.uniform(12, 1400) * MiB
        scale = min(1.0, 0.55 * self.capacity / sum(wanted.values()))
        for pod in self.pods:
            for c in pod.containers:
                usage = max(wanted[id(c)] * scale, 4 * MiB)
                c.kmem = _page(min(rng.uniform(0.4, 9) * MiB, usage * 0.08))
                c.cache = _page(usage * rng.uniform(0.03, 0.35))
                c.shmem = _page(c.cache * rng.choice((0, 0, 0.02, 0.2)))
                c.rss = _page(usage) - c.cache - c.kmem
                c.usage = c.rss + c.cache + c.kmem
                c.inactive_file = _page((c.cache - c.shmem) * rng.uniform(0.2, 0.75))
                c.mapped_file = _page(c.cache * rng.uniform(0.05, 0.3))
                c.max_usage = c.limit if c.failcnt else min(_page(c.usage * rng.uniform(1.0, 1.3)), c.limit or 2**62)
                anon = max(c.rss // PAGE, len(c.tasks))
                weights = [rng.uniform(3, 10) if i == 0 else rng.uniform(1, 4) for i in range(len(c.tasks))]
                for t, w in zip(c.tasks, weights):
                    t.rss_anon_pages = max(int(anon * w / sum(weights)), 1)
                    t.total_vm_pages = t.rss_anon_pages + t.rss_file_pages + rng.randrange(8000, 200000)

    def _iso(self, uptime: float) -> str:
        return (self.boot + timedelta(seconds=uptime)).replace(microsecond=0).isoformat().replace("+00:00", "Z")

    def wall(self, uptime: float) -> datetime:
        return self.boot + timedelta(seconds=uptime)


# --- small files: cgroups, /proc, kubelet and kubectl JSON ------------------------------------

STAT_LOCAL_ZERO = ("cache", "rss", "rss_huge", "shmem", "mapped_file", "dirty", "writeback", "swap", "swapcached",
                   "inactive_anon", "active_anon", "inactive_file", "active_file", "unevictable")


@dataclass
class Mem:
    """One cgroup's counters (bytes), local and hierarchical."""

    usage: int = 0
    cache: int = 0
    rss: int = 0
    kmem: int = 0
    shmem: int = 0
    mapped_file: int = 0
    inactive_file: int = 0
    active_anon: int = 0
    pgpgin: int = 0
    pgpgout: int = 0
    pgfault: int = 0
    pgmajfault: int = 0
    max_usage: int = 0
    failcnt: int = 0

    def add(self, other: "Mem") -> None:
        for key in asdict(self):
            if key not in ("max_usage", "failcnt"):
                setattr(self, key, getattr(self, key) + getattr(other, key))
        self.max_usage += other.max_usage


def _stat_text(keys: list[str], local: Mem | None, total: Mem, limit: int) -> str:
    def values(m: Mem | None) -> dict[str, int]:
        if m is None:
            return {k: 0 for k in keys}
        inactive_anon = max(m.rss + m.shmem - m.active_anon, 0)
        return {
            "cache": m.cache, "rss": m.rss, "rss_huge": 0, "shmem": m.shmem, "mapped_file": m.mapped_file, "dirty": 0,
            "writeback": 0, "workingset_refault_anon": 0, "workingset_refault_file": m.pgmajfault * 3, "swap": 0,
            "swapcached": 0, "pgpgin": m.pgpgin, "pgpgout": m.pgpgout, "pgfault": m.pgfault, "pgmajfault": m.pgmajfault,
            "inactive_anon": inactive_anon, "active_anon": m.active_anon, "inactive_file": m.inactive_file,
            "active_file": max(m.cache - m.shmem - m.inactive_file, 0), "unevictable": 0,
        }

    here, below = values(local), values(total)
    out = []
    for key in keys:
        if key == "hierarchical_memory_limit":
            out.append(f"{key} {limit}")
        elif key == "hierarchical_memsw_limit":
            out.append(f"{key} {UNLIMITED}")
        elif key.startswith("total_"):
            out.append(f"{key} {below.get(key[6:], 0)}")
        else:
            out.append(f"{key} {here.get(key, 0)}")
    return "\n".join(out) + "\n"


class SmallFiles:
    """Every file of the bundle except the four logs, in memory (a few MB even for 500 pods)."""

    def __init__(self, node: Node) -> None:
        self.node, self.files = node, {}
        self.rng = random.Random(node.spec.seed + 1)

    def add(self, path: str, text: str) -> None:
        self.files[path] = text.encode()

    def build(self) -> dict[str, bytes]:
        node = self.node
        memroot = "sys/fs/cgroup/memory"
        kubepods, tiers = Mem(), {"burstable": Mem(), "besteffort": Mem()}
        allocatable = node.capacity - 2 * GiB  # kubeReserved + systemReserved (configz)
        for pod in node.pods:
            pod_mem = Mem()
            pod_limit = sum(c.limit for c in pod.containers) if all(c.limit for c in pod.containers) else UNLIMITED
            pod_dir = memroot + pod.cgroup
            pause = self._pause_mem()
            self._cgroup_files(f"{pod_dir}/{pod.pause_cid}", pause, pause, UNLIMITED, min(pod_limit, allocatable), 0, [pod.pause_pid])
            pod_mem.add(pause)
            for c in pod.containers:
                m = self._container_mem(c)
                hier = min(c.limit or UNLIMITED, pod_limit, allocatable)
                self._cgroup_files(f"{pod_dir}/{c.cid}", m, m, c.limit or UNLIMITED, hier, c.oom_kills_current, [t.pid for t in c.tasks])
                pod_mem.add(m)
                for t in c.tasks:
                    self._proc_pid(pod, c, t)
            self._proc_pause(pod)
            self._cgroup_files(pod_dir, None, pod_mem, pod_limit, min(pod_limit, allocatable), 0, [])
            tier = {"Burstable": "burstable", "BestEffort": "besteffort"}.get(pod.qos)
            (tiers[tier] if tier else kubepods).add(pod_mem)
        for tier, m in tiers.items():
            self._cgroup_files(f"{memroot}/kubepods/{tier}", None, m, UNLIMITED, allocatable, 0, [])
            kubepods.add(m)
        self._cgroup_files(f"{memroot}/kubepods", None, kubepods, allocatable, allocatable, 0, [])
        system = Mem()
        for unit, (usage, pids) in {"kubelet.service": (142 * MiB, [KUBELET_PID]), "containerd.service": (388 * MiB, [CONTAINERD_PID])}.items():
            m = self._plain_mem(usage)
            self._cgroup_files(f"{memroot}/system.slice/{unit}", m, m, UNLIMITED, UNLIMITED, 0, pids)
            system.add(m)
        other = self._plain_mem(1210 * MiB)
        system.add(other)
        self._cgroup_files(f"{memroot}/system.slice", other, system, UNLIMITED, UNLIMITED, 0, [])
        root = Mem()
        root.add(kubepods)
        root.add(system)
        root_local = self._plain_mem(2630 * MiB)
        root.add(root_local)
        self._cgroup_files(memroot, root_local, root, UNLIMITED, UNLIMITED, 0, [1, 512, 733])
        self.root, self.kubepods, self.allocatable = root, kubepods, allocatable
        self._proc(root)
        return self.files

    def _pause_mem(self) -> Mem:
        rng = self.rng
        m = Mem(rss=rng.randrange(9, 14) * PAGE, cache=0, kmem=rng.randrange(60, 110) * PAGE)
        m.usage = m.rss + m.cache + m.kmem
        m.active_anon = m.rss
        m.pgpgin, m.pgpgout = 180 + rng.randrange(0, 40), 160
        m.pgfault, m.max_usage = 620 + rng.randrange(0, 90), m.usage + 40 * PAGE
        return m

    def _plain_mem(self, usage: int) -> Mem:
        rng = self.rng
        m = Mem(kmem=_page(usage * 0.04), cache=_page(usage * rng.uniform(0.3, 0.6)))
        m.rss = _page(usage) - m.kmem - m.cache
        m.usage = m.rss + m.cache + m.kmem
        m.inactive_file, m.mapped_file = _page(m.cache * 0.5), _page(m.cache * 0.2)
        m.active_anon = _page(m.rss * 0.9)
        m.pgpgin = (m.rss + m.cache) // PAGE + 900_000
        m.pgpgout, m.pgfault, m.pgmajfault = 900_000, 4_200_000, 310
        m.max_usage = _page(m.usage * 1.2)
        return m

    def _container_mem(self, c: Container) -> Mem:
        rng = self.rng
        m = Mem(usage=c.usage, cache=c.cache, rss=c.rss, kmem=c.kmem, shmem=c.shmem, mapped_file=c.mapped_file,
                inactive_file=c.inactive_file, failcnt=c.failcnt, max_usage=c.max_usage)
        m.active_anon = _page(c.rss * rng.uniform(0.5, 0.97))
        m.pgpgout = rng.randrange(10_000, 9_000_000)
        m.pgpgin = (c.rss + c.cache) // PAGE + m.pgpgout
        m.pgfault, m.pgmajfault = m.pgpgin + rng.randrange(10_000, 2_000_000), rng.randrange(0, 900)
        return m

    def _cgroup_files(self, d: str, local: Mem | None, total: Mem, limit: int, hier_limit: int, oom_kills: int, pids: list[int]) -> None:
        """The collector's V1_FILES for one cgroup (collectors/node/podmortem-collect)."""
        keys = self.node.lab.stat_keys
        add = self.add
        add(f"{d}/memory.stat", _stat_text(keys, local, total, hier_limit))
        add(f"{d}/memory.usage_in_bytes", f"{total.usage}\n")
        add(f"{d}/memory.limit_in_bytes", f"{limit}\n")
        add(f"{d}/memory.max_usage_in_bytes", f"{max(total.max_usage, total.usage)}\n")
        add(f"{d}/memory.failcnt", f"{total.failcnt if local is not None else 0}\n")
        add(f"{d}/memory.oom_control", f"oom_kill_disable 0\nunder_oom 0\noom_kill {oom_kills}\n")
        add(f"{d}/memory.soft_limit_in_bytes", f"{UNLIMITED}\n")
        add(f"{d}/memory.memsw.usage_in_bytes", f"{total.usage}\n")
        add(f"{d}/memory.memsw.limit_in_bytes", f"{UNLIMITED}\n")
        add(f"{d}/memory.memsw.max_usage_in_bytes", f"{max(total.max_usage, total.usage)}\n")
        add(f"{d}/memory.memsw.failcnt", "0\n")
        add(f"{d}/memory.kmem.usage_in_bytes", f"{total.kmem}\n")
        add(f"{d}/cgroup.procs", "".join(f"{p}\n" for p in sorted(pids)))

    def _proc_pid(self, pod: Pod, c: Container, t: Task) -> None:
        """proc/<pid>/{status,oom_score,oom_score_adj,cgroup,cmdline} as step_processes copies them."""
        node = self.node
        total_pages = node.capacity // PAGE
        pgtables = (t.total_vm_pages // 512 + 10)
        badness = t.rss_anon_pages + t.rss_file_pages + pgtables + c.adj * (total_pages // 1000)
        score = max((1000 + badness * 1000 // total_pages) * 2 // 3, 0)  # fs/proc/base.c proc_oom_score
        path = f"{pod.cgroup}/{c.cid}"
        base = f"proc/{t.pid}"
        self.add(f"{base}/status", self._status(t, 1 if t is c.tasks[0] else c.tasks[0].pid, pgtables))
        self.add(f"{base}/oom_score", f"{score}\n")
        self.add(f"{base}/oom_score_adj", f"{c.adj}\n")
        self.add(f"{base}/cgroup", _proc_cgroup(path))
        self.add(f"{base}/cmdline", f"{t.comm} {'--config /etc/app/config.yaml' if t is c.tasks[0] else 'worker'} \n")

    def _proc_pause(self, pod: Pod) -> None:
        t = Task(pod.pause_pid, "pause", pod.created, 12, 100, 256, 65535)
        base = f"proc/{t.pid}"
        self.add(f"{base}/status", self._status(t, 1, 11))
        self.add(f"{base}/oom_score", "0\n")
        self.add(f"{base}/oom_score_adj", "-998\n")
        self.add(f"{base}/cgroup", _proc_cgroup(f"{pod.cgroup}/{pod.pause_cid}"))
        self.add(f"{base}/cmdline", "/pause \n")

    def _status(self, t: Task, ppid: int, pgtables: int) -> str:
        """Shape of fixtures/docker's proc/<pid>/status (kernel 6.18)."""
        vm_kb, rss_anon_kb, rss_file_kb = t.total_vm_pages * 4, t.rss_anon_pages * 4, t.rss_file_pages * 4
        return (
            f"Name:\t{t.comm[:15]}\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t{t.pid}\nNgid:\t0\nPid:\t{t.pid}\nPPid:\t{ppid}\n"
            f"TracerPid:\t0\nUid:\t{t.uid}\t{t.uid}\t{t.uid}\t{t.uid}\nGid:\t{t.uid}\t{t.uid}\t{t.uid}\t{t.uid}\nFDSize:\t64\nGroups:\t \n"
            f"NStgid:\t{t.pid}\t{1 if ppid == 1 else t.pid % 97 + 2}\nNSpid:\t{t.pid}\t{1 if ppid == 1 else t.pid % 97 + 2}\n"
            f"Kthread:\t0\nVmPeak:\t{vm_kb + 4096:8d} kB\nVmSize:\t{vm_kb:8d} kB\nVmLck:\t       0 kB\nVmPin:\t       0 kB\n"
            f"VmHWM:\t{rss_anon_kb + rss_file_kb + 1024:8d} kB\nVmRSS:\t{rss_anon_kb + rss_file_kb:8d} kB\nRssAnon:\t{rss_anon_kb:8d} kB\n"
            f"RssFile:\t{rss_file_kb:8d} kB\nRssShmem:\t       0 kB\nVmData:\t{rss_anon_kb + 2048:8d} kB\nVmStk:\t     132 kB\n"
            f"VmExe:\t    1552 kB\nVmLib:\t    8364 kB\nVmPTE:\t{pgtables * 4:8d} kB\nVmSwap:\t       0 kB\nHugetlbPages:\t       0 kB\n"
            f"CoreDumping:\t0\nTHP_enabled:\t1\nThreads:\t{1 + t.pid % 23}\nSigQ:\t0/1030140\nCapEff:\t0000000000000000\n"
            f"NoNewPrivs:\t1\nSeccomp:\t2\nSeccomp_filters:\t1\nCpus_allowed_list:\t0-31\nMems_allowed_list:\t0\n"
            f"voluntary_ctxt_switches:\t{t.pid * 7 % 100000}\nnonvoluntary_ctxt_switches:\t{t.pid * 3 % 9000}\n"
        )

    def _proc(self, root: Mem) -> None:
        node = self.node
        total_kb = node.spec.mem_total_kib
        used_kb = root.usage // KiB
        cached_kb = root.cache // KiB + 412_000
        free_kb = max(total_kb - used_kb - 1_900_000, 2_000_000)
        slab_kb = root.kmem // KiB + 900_000
        values = {
            "MemTotal": total_kb, "MemFree": free_kb, "MemAvailable": free_kb + cached_kb // 2 + 600_000, "Buffers": 212_332,
            "Cached": cached_kb, "SwapCached": 0, "Active": root.rss // KiB, "Inactive": root.inactive_file // KiB,
            "Active(anon)": root.active_anon // KiB, "Inactive(anon)": max(root.rss - root.active_anon, 0) // KiB,
            "Active(file)": max(root.cache - root.inactive_file, 0) // KiB, "Inactive(file)": root.inactive_file // KiB,
            "Unevictable": 18048, "Mlocked": 17048, "SwapTotal": 0, "SwapFree": 0, "Zswap": 0, "Zswapped": 0,
            "Dirty": 2308, "Writeback": 0, "AnonPages": root.rss // KiB, "Mapped": root.mapped_file // KiB,
            "Shmem": root.shmem // KiB + 90_000, "KReclaimable": slab_kb * 2 // 3, "Slab": slab_kb,
            "SReclaimable": slab_kb * 2 // 3, "SUnreclaim": slab_kb // 3, "KernelStack": 48_320, "PageTables": 210_444,
            "SecPageTables": 0, "NFS_Unstable": 0, "Bounce": 0, "WritebackTmp": 0, "CommitLimit": total_kb // 2,
            "Committed_AS": used_kb * 3 // 2, "VmallocTotal": 34359738367, "VmallocUsed": 214_588, "VmallocChunk": 0,
            "Percpu": 41_664, "AnonHugePages": 0, "ShmemHugePages": 0, "ShmemPmdMapped": 0, "FileHugePages": 0,
            "FilePmdMapped": 0, "HugePages_Total": 0, "HugePages_Free": 0, "HugePages_Rsvd": 0, "HugePages_Surp": 0,
            "Hugepagesize": 2048, "Hugetlb": 0, "DirectMap4k": 530_720, "DirectMap2M": 18_066_432,
            "DirectMap1G": total_kb - total_kb % GiB,
        }
        no_unit = {"HugePages_Total", "HugePages_Free", "HugePages_Rsvd", "HugePages_Surp"}
        self.meminfo = values
        self.add("proc/meminfo", "".join(f"{k + ':':<15}{v:>9}\n" if k in no_unit else f"{k + ':':<15}{v:>9} kB\n" for k, v in values.items()))
        btime = int(node.boot.timestamp())
        self.add("proc/stat", f"cpu  48221930 1203 15733012 1544020398 120394 0 611033 0 0 0\nintr 9128873112 0\nctxt 21399483021\n"
                              f"btime {btime}\nprocesses {max(node.ids.used_pids) + 1200}\nprocs_running 9\nprocs_blocked 0\n")
        self.add("proc/uptime", f"{UPTIME_S:.2f} {UPTIME_S * 27.1:.2f}\n")
        self.add("proc/loadavg", f"7.41 6.93 6.12 11/{2400 + len(node.pods) * 9} {max(node.ids.used_pids)}\n")
        self.add("proc/version", f"Linux version {KERNEL_RELEASE} (builder@sandboxing) (gcc (GCC) 15.3.0, GNU ld (GNU Binutils) 2.46) #1 SMP PREEMPT_DYNAMIC @0\n")
        self.add("proc/pressure/memory", "some avg10=0.31 avg60=0.52 avg300=0.47 total=1893044712\nfull avg10=0.00 avg60=0.08 avg300=0.06 total=402331811\n")
        self.add("proc/vmstat", f"nr_free_pages {free_kb // 4}\nnr_zone_inactive_anon {max(root.rss - root.active_anon, 0) // PAGE}\n"
                                f"nr_zone_active_anon {root.active_anon // PAGE}\nnr_zone_inactive_file {root.inactive_file // PAGE}\n"
                                f"pgfault {root.pgfault}\npgmajfault {root.pgmajfault}\noom_kill {len(node.ooms)}\n")
        for name, value in (("overcommit_memory", 1), ("panic_on_oom", 0), ("oom_kill_allocating_task", 0),
                            ("min_free_kbytes", 135168), ("oom_dump_tasks", 1)):
            self.add(f"proc/sys/vm/{name}", f"{value}\n")


def _proc_cgroup(path: str) -> str:
    """/proc/<pid>/cgroup on a v1 node (the shape of fixtures/docker's proc/<pid>/cgroup)."""
    controllers = ["name=systemd", "pids", "blkio", "freezer", "devices", "memory", "cpuset", "cpuacct", "cpu"]
    return "".join(f"{9 - i}:{ctrl}:{path}\n" for i, ctrl in enumerate(controllers)) + f"0::{path}\n"


def pod_objects(node: Node) -> list[dict]:
    """core/v1 Pod objects as the API server returns them (kubectl get pods -o json)."""
    out = []
    for pod in node.pods + node.evicted:
        out.append(_pod_object(node, pod))
    return out


def _resources(c: Container) -> dict:
    res = {}
    if c.limit:
        res["limits"] = {"cpu": "1", "memory": f"{c.limit // MiB}Mi"}
    if c.request:
        res["requests"] = {"cpu": "100m", "memory": f"{c.request // MiB}Mi"}
    return res


def _pod_object(node: Node, pod: Pod) -> dict:
    created = node._iso(pod.created)
    kind = {"Deployment": "ReplicaSet", "StatefulSet": "StatefulSet", "DaemonSet": "DaemonSet"}[pod.kind]
    evicted = pod.evicted_at is not None
    meta = {
        "creationTimestamp": created,
        "generateName": pod.name.rsplit("-", 1)[0] + "-",
        "labels": {"app.kubernetes.io/name": pod.app, "app.kubernetes.io/part-of": pod.namespace},
        "name": pod.name,
        "namespace": pod.namespace,
        "ownerReferences": [{"apiVersion": "apps/v1", "blockOwnerDeletion": True, "controller": True, "kind": kind,
                             "name": pod.owner, "uid": str(uuid.UUID(int=int(pod.uid.replace("-", ""), 16) ^ 0x5A5A, version=4))}],
        "resourceVersion": str(91_000_000 + int(pod.created * 10) % 9_000_000),
        "uid": pod.uid,
    }
    spec = {
        "containers": [{"image": c.image, "imagePullPolicy": "IfNotPresent", "name": c.name, "resources": _resources(c),
                        "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
                        "volumeMounts": [{"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "name": f"kube-api-access-{pod.uid[:5]}",
                                          "readOnly": True}]} for c in pod.containers],
        "dnsPolicy": "ClusterFirst", "enableServiceLinks": True, "nodeName": HOST, "preemptionPolicy": "PreemptLowerPriority",
        "priority": pod.priority, "restartPolicy": "Always", "schedulerName": "default-scheduler", "securityContext": {},
        "serviceAccount": "default", "serviceAccountName": "default", "terminationGracePeriodSeconds": 30,
        "tolerations": [{"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists", "tolerationSeconds": 300},
                        {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable", "operator": "Exists", "tolerationSeconds": 300}],
        "volumes": [{"name": f"kube-api-access-{pod.uid[:5]}", "projected": {"defaultMode": 420, "sources": [{"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}}]}}],
    }
    if pod.priority >= 2000000000:
        spec["priorityClassName"] = "system-node-critical"
    statuses = []
    for c in pod.containers:
        if evicted:
            statuses.append({"image": c.image, "imageID": "", "lastState": {}, "name": c.name, "ready": False, "restartCount": c.restarts,
                             "started": False, "state": {"terminated": {"exitCode": 137, "finishedAt": None,
                             "message": "The container could not be located when the pod was terminated", "reason": "ContainerStatusUnknown",
                             "startedAt": None}}})
            continue
        status = {"containerID": f"containerd://{c.cid}", "image": c.image, "imageID": f"{c.image.split(':')[0]}@sha256:{c.cid[::-1]}",
                  "lastState": {"terminated": c.last_terminated} if c.last_terminated else {}, "name": c.name, "ready": True,
                  "restartCount": c.restarts, "started": True, "state": {"running": {"startedAt": node._iso(c.started)}}}
        statuses.append(status)
    conditions = [
        {"lastProbeTime": None, "lastTransitionTime": created, "status": "True", "type": "Initialized"},
        {"lastProbeTime": None, "lastTransitionTime": created, "status": "False" if evicted else "True", "type": "Ready"},
        {"lastProbeTime": None, "lastTransitionTime": created, "status": "False" if evicted else "True", "type": "ContainersReady"},
        {"lastProbeTime": None, "lastTransitionTime": created, "status": "True", "type": "PodScheduled"},
    ]
    status = {"conditions": conditions, "containerStatuses": statuses, "hostIP": NODE_IP, "hostIPs": [{"ip": NODE_IP}],
              "phase": "Failed" if evicted else "Running", "podIP": pod.ip, "podIPs": [{"ip": pod.ip}], "qosClass": pod.qos,
              "startTime": created}
    if evicted:
        status["conditions"].insert(0, {"lastProbeTime": None, "lastTransitionTime": node._iso(pod.evicted_at), "message": pod.eviction_message,
                                        "reason": "TerminationByKubelet", "status": "True", "type": "DisruptionTarget"})
        status["message"] = pod.eviction_message
        status["reason"] = "Evicted"
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": status}


def configz(node: Node) -> dict:
    """/configz: the kubeadm v1.16 sample's keys (corpus) plus current ones; cgroupfs driver."""
    return {"kubeletconfig": {
        "enableServer": True, "staticPodPath": "/etc/kubernetes/manifests", "syncFrequency": "1m0s", "fileCheckFrequency": "20s",
        "httpCheckFrequency": "20s", "address": "0.0.0.0", "port": 10250, "tlsCertFile": "/var/lib/kubelet/pki/kubelet.crt",
        "tlsPrivateKeyFile": "/var/lib/kubelet/pki/kubelet.key", "rotateCertificates": True,
        "authentication": {"x509": {"clientCAFile": "/etc/kubernetes/pki/ca.crt"}, "webhook": {"enabled": True, "cacheTTL": "2m0s"}, "anonymous": {"enabled": False}},
        "authorization": {"mode": "Webhook", "webhook": {"cacheAuthorizedTTL": "5m0s", "cacheUnauthorizedTTL": "30s"}},
        "registryPullQPS": 5, "registryBurst": 10, "eventRecordQPS": 50, "eventBurst": 100, "enableDebuggingHandlers": True,
        "healthzPort": 10248, "healthzBindAddress": "127.0.0.1", "oomScoreAdj": -999, "clusterDomain": "cluster.local",
        "clusterDNS": ["10.96.0.10"], "streamingConnectionIdleTimeout": "4h0m0s", "nodeStatusUpdateFrequency": "10s",
        "nodeStatusReportFrequency": "5m0s", "nodeLeaseDurationSeconds": 40, "imageMinimumGCAge": "2m0s", "imageMaximumGCAge": "0s",
        "imageGCHighThresholdPercent": 85, "imageGCLowThresholdPercent": 80, "volumeStatsAggPeriod": "1m0s", "cgroupsPerQOS": True,
        "cgroupDriver": "cgroupfs", "cpuManagerPolicy": "none", "cpuManagerReconcilePeriod": "10s", "memoryManagerPolicy": "None",
        "topologyManagerPolicy": "none", "topologyManagerScope": "container", "runtimeRequestTimeout": "2m0s",
        "hairpinMode": "promiscuous-bridge", "maxPods": node.spec.max_pods, "podPidsLimit": -1, "resolvConf": "/run/systemd/resolve/resolv.conf",
        "cpuCFSQuota": True, "cpuCFSQuotaPeriod": "100ms", "nodeStatusMaxImages": 50, "maxOpenFiles": 1000000,
        "contentType": "application/vnd.kubernetes.protobuf", "kubeAPIQPS": 50, "kubeAPIBurst": 100, "serializeImagePulls": True,
        "evictionHard": {"imagefs.available": "15%", "imagefs.inodesFree": "5%", "memory.available": "500Mi", "nodefs.available": "10%", "nodefs.inodesFree": "5%"},
        "evictionPressureTransitionPeriod": "5m0s", "enableControllerAttachDetach": True, "makeIPTablesUtilChains": True,
        "iptablesMasqueradeBit": 14, "iptablesDropBit": 15, "failSwapOn": True, "memorySwap": {}, "containerLogMaxSize": "10Mi",
        "containerLogMaxFiles": 5, "containerLogMaxWorkers": 1, "containerLogMonitorInterval": "10s",
        "configMapAndSecretChangeDetectionStrategy": "Watch", "kubeReserved": {"cpu": "200m", "memory": "1Gi"},
        "systemReserved": {"cpu": "200m", "memory": "1Gi"}, "enforceNodeAllocatable": ["pods"], "volumePluginDir": "/usr/libexec/kubernetes/kubelet-plugins/volume/exec/",
        "logging": {"format": "text", "flushFrequency": "5s", "verbosity": 0, "options": {"text": {"infoBufferSize": "0"}, "json": {"infoBufferSize": "0"}}},
        "enableSystemLogHandler": True, "enableSystemLogQuery": False, "shutdownGracePeriod": "0s", "shutdownGracePeriodCriticalPods": "0s",
        "enableProfilingHandler": True, "enableDebugFlagsHandler": True, "seccompDefault": False, "memoryThrottlingFactor": 0.9,
        "registerNode": True, "localStorageCapacityIsolation": True, "containerRuntimeEndpoint": "unix:///run/containerd/containerd.sock",
        "failCgroupV1": False,
    }}


def stats_summary(node: Node, small: SmallFiles) -> dict:
    """/stats/summary (statsapi v1alpha1): the beats GKE sample's shape, our cgroups' numbers (FACTS.md §3)."""
    rng = random.Random(node.spec.seed + 2)
    now = COLLECTED_AT.replace(microsecond=0).isoformat().replace("+00:00", "Z")
    fs = {"availableBytes": 71_284_170_752, "capacityBytes": 105_089_261_568, "usedBytes": 33_805_090_816,
          "inodesFree": 6_091_234, "inodes": 6_553_600, "inodesUsed": 462_366}

    def memory(usage: int, inactive_file: int, rss: int, limit: int | None, faults: int) -> dict:
        ws = max(usage - inactive_file, 0)
        m = {"time": now}
        if limit and limit < 2**62:
            m["availableBytes"] = max(limit - ws, 0)
        m.update({"usageBytes": usage, "workingSetBytes": ws, "rssBytes": rss, "pageFaults": faults, "majorPageFaults": faults // 5000})
        return m

    def cpu() -> dict:
        return {"time": now, "usageNanoCores": rng.randrange(1_000_000, 900_000_000), "usageCoreNanoSeconds": rng.randrange(10**11, 10**14)}

    root, kp = small.root, small.kubepods
    meminfo = small.meminfo
    node_ws = max(root.usage - root.inactive_file, 0)
    pods = []
    for pod in node.pods:
        containers = []
        p_usage = p_inactive = p_rss = 0
        for c in pod.containers:
            containers.append({"name": c.name, "startTime": node._iso(c.started), "cpu": cpu(),
                               "memory": memory(c.usage, c.inactive_file, c.rss, c.limit, c.rss // PAGE),
                               "rootfs": dict(fs, usedBytes=rng.randrange(40_960, 90_000_000), inodesUsed=rng.randrange(10, 2000)),
                               "logs": dict(fs, usedBytes=rng.randrange(4096, 50_000_000), inodesUsed=rng.randrange(1, 12))})
            p_usage, p_inactive, p_rss = p_usage + c.usage, p_inactive + c.inactive_file, p_rss + c.rss
        p_usage += 450 * KiB
        limit = sum(c.limit for c in pod.containers) if all(c.limit for c in pod.containers) else None
        pods.append({
            "podRef": {"name": pod.name, "namespace": pod.namespace, "uid": pod.uid}, "startTime": node._iso(pod.created),
            "containers": containers, "cpu": cpu(), "memory": memory(p_usage, p_inactive, p_rss, limit, p_rss // PAGE),
            "network": {"time": now, "name": "eth0", "rxBytes": rng.randrange(10**6, 10**11), "rxErrors": 0,
                        "txBytes": rng.randrange(10**6, 10**11), "txErrors": 0, "interfaces": [{"name": "eth0", "rxBytes": 0, "rxErrors": 0, "txBytes": 0, "txErrors": 0}]},
            "volume": [{"time": now, "availableBytes": 33_609_330_688, "capacityBytes": 33_609_342_976, "usedBytes": 12_288,
                        "inodesFree": 8_205_397, "inodes": 8_205_406, "inodesUsed": 9, "name": f"kube-api-access-{pod.uid[:5]}"}],
            "ephemeral-storage": dict(fs, usedBytes=rng.randrange(10**5, 10**8), inodesUsed=rng.randrange(10, 3000)),
            "process_stats": {"process_count": sum(len(c.tasks) for c in pod.containers) + 1},
        })
    system = [
        {"name": "kubelet", "startTime": node._iso(12.0), "cpu": cpu(), "memory": memory(142 * MiB, 40 * MiB, 96 * MiB, None, 9_100_000)},
        {"name": "runtime", "startTime": node._iso(9.0), "cpu": cpu(), "memory": memory(388 * MiB, 150 * MiB, 170 * MiB, None, 31_000_000)},
        {"name": "pods", "startTime": node._iso(12.5), "cpu": cpu(), "memory": memory(kp.usage, kp.inactive_file, kp.rss, small.allocatable, kp.pgfault)},
    ]
    node_mem = memory(root.usage, root.inactive_file, root.rss, None, root.pgfault)
    node_mem = {"time": now, "availableBytes": meminfo["MemTotal"] * KiB - node_ws, **{k: v for k, v in node_mem.items() if k != "time"}}
    return {
        "node": {"nodeName": HOST, "systemContainers": system, "startTime": node._iso(0.0), "cpu": cpu(), "memory": node_mem,
                 "network": {"time": now, "name": "eth0", "rxBytes": 8_812_330_415_112, "rxErrors": 0, "txBytes": 6_901_773_004_288, "txErrors": 0},
                 "fs": fs, "runtime": {"imageFs": dict(fs, usedBytes=21_870_010_368)},
                 "rlimit": {"time": now, "maxpid": 4_194_304, "curproc": 2400 + len(node.pods) * 9}},
        "pods": pods,
    }


# --- logs, streamed to temporary files --------------------------------------------------------


class LogFile:
    """A log being written: size, sha256 and the floor's grep count as it goes."""

    def __init__(self, path: Path) -> None:
        self.path, self.size, self.floor = path, 0, 0
        self.sha = hashlib.sha256()
        self.out = open(path, "wb", buffering=4 * MiB)  # noqa: SIM115 (closed in close())
        self.pending: list[str] = []
        self.pending_chars = 0

    def write(self, text: str) -> None:
        self.pending.append(text)
        self.pending_chars += len(text)
        if self.pending_chars > 2 * MiB:
            self.flush()

    def event(self, text: str) -> None:
        """An incident line: counted for the floor (noise is checked once, at pool build time)."""
        self.floor += 1 if FLOOR_RE.search(text) else 0
        self.write(text)

    def flush(self) -> None:
        data = "".join(self.pending).encode()
        self.pending, self.pending_chars = [], 0
        self.size += len(data)
        self.sha.update(data)
        self.out.write(data)

    def close(self) -> None:
        self.flush()
        self.out.close()


def _veth(rng: random.Random) -> str:
    return f"veth{rng.getrandbits(32):08x}"


def kernel_noise_pool(rng: random.Random, n: int) -> list[list[str]]:
    """Bursts of non-OOM kernel messages (formats and sources: module docstring)."""
    pool = []
    for i in range(n):
        v, port = _veth(rng), rng.randrange(1, 120)
        roll = rng.random()
        if roll < 0.47:
            burst = [f"cni0: port {port}({v}) entered blocking state", f"cni0: port {port}({v}) entered disabled state",
                     f"{v}: entered allmulticast mode", f"{v}: entered promiscuous mode",
                     f"cni0: port {port}({v}) entered blocking state", f"cni0: port {port}({v}) entered forwarding state"]
        elif roll < 0.94:
            burst = [f"cni0: port {port}({v}) entered disabled state", f"{v} (unregistering): left allmulticast mode",
                     f"{v} (unregistering): left promiscuous mode", f"cni0: port {port}({v}) entered disabled state"]
        elif roll < 0.985:
            burst = ["nf_conntrack: nf_conntrack: table full, dropping packet"] * rng.randrange(1, 6)
        else:
            burst = [f"{rng.choice(('sh', 'bash', 'node_exporter'))} ({rng.randrange(3000, 2_000_000)}): drop_caches: 3"]
        pool.append(burst)
    return pool


# (weight, severity, 'file.go:N] message' template) of ordinary kubelet lines; each shape as in a public
# kubelet journal (module docstring), with this node's pods, containers and ids substituted
KUBELET_NOISE = [
    (3, "I", 'kubelet.go:2455] "SyncLoop (PLEG): event for pod" pod="{ref}" event={{"ID":"{uid}","Type":"{pleg}","Data":"{cid}"}}'),
    (4, "I", 'prober.go:107] "Probe failed" probeType="{probe}" pod="{ref}" podUID="{uid}" containerName="{c}" probeResult="failure" output="{out}"'),
    (5, "I", 'kubelet_getters.go:187] "Pod status updated" pod="kube-system/kube-proxy-{host}" status="Running"'),
    (1, "I", 'pod_startup_latency_tracker.go:104] "Observed pod startup duration" pod="{ref}" podStartSLOduration={slo:.9f} '
             'podStartE2EDuration="{e2e:.9f}s" podCreationTimestamp="{created} +0000 UTC" firstStartedPulling="0001-01-01 00:00:00 +0000 UTC" '
             'lastFinishedPulling="0001-01-01 00:00:00 +0000 UTC"'),
    (1, "I", 'kuberuntime_container.go:808] "Killing container with a grace period" pod="{ref}" podUID="{uid}" containerName="{c}" '
             'containerID="containerd://{cid}" gracePeriod=30'),
    (3, "I", 'kubelet.go:2442] "SyncLoop UPDATE" source="api" pods=["{ref}"]'),
    (1, "I", 'reconciler_common.go:245] "operationExecutor.VerifyControllerAttachedVolume started for volume \\"{vol}\\" (UniqueName: '
             '\\"kubernetes.io/projected/{uid}-{vol}\\") pod \\"{name}\\" (UID: \\"{uid}\\") " pod="{ref}"'),
    (1, "I", 'reconciler_common.go:300] "Volume detached for volume \\"{vol}\\" (UniqueName: \\"kubernetes.io/projected/{uid}-{vol}\\") '
             'on node \\"{host}\\" DevicePath \\"\\""'),
    (1, "I", 'scope.go:117] "RemoveContainer" containerID="{cid}"'),
    (1, "E", 'pod_workers.go:1301] "Error syncing pod, skipping" err="failed to \\"StartContainer\\" for \\"{c}\\" with CrashLoopBackOff: '
             '\\"back-off 5m0s restarting failed container={c} pod={name}_{ns}({uid})\\"" pod="{ref}" podUID="{uid}"'),
    (0.5, "I", 'util.go:48] "No ready sandbox for pod can be found. Need to start a new one" pod="{ref}"'),
    (0.5, "I", 'kubelet_volumes.go:163] "Cleaned up orphaned pod volumes dir" podUID="{orphan}" path="/var/lib/kubelet/pods/{orphan}/volumes"'),
    (2, "E", 'dns.go:154] "Nameserver limits exceeded" err="Nameserver limits were exceeded, some nameservers have been omitted, '
             'the applied nameserver line is: 10.20.0.2 10.20.0.3 10.20.0.4"'),
]
PROBE_OUTPUTS = (
    "HTTP probe failed with statuscode: 503", "HTTP probe failed with statuscode: 500",
    'Get \\"http://{ip}:8080/readyz\\": dial tcp {ip}:8080: connect: connection refused',
    'Get \\"http://{ip}:8081/healthz\\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)',
)


def kubelet_noise_pool(node: Node, rng: random.Random, n: int) -> list[tuple[str, str]]:
    """(severity, 'file.go:N] message') of ordinary kubelet lines about this node's pods."""
    weights = [w for w, _, _ in KUBELET_NOISE]
    pool = []
    for _ in range(n):
        pod = rng.choice(node.pods)
        _, sev, template = rng.choices(KUBELET_NOISE, weights)[0]
        e2e = rng.uniform(1.2, 40)
        created = node.wall(rng.uniform(60, UPTIME_S)).strftime("%Y-%m-%d %H:%M:%S")
        pool.append((sev, template.format(
            ref=pod.ref, uid=pod.uid, name=pod.name, ns=pod.namespace, c=rng.choice(pod.containers).name, cid=node.ids.hex64(),
            pleg=rng.choice(("ContainerStarted", "ContainerDied")), probe=rng.choice(("Readiness", "Readiness", "Liveness")),
            out=rng.choice(PROBE_OUTPUTS).format(ip=pod.ip), host=HOST, vol=f"kube-api-access-{pod.uid[:5]}",
            slo=e2e * 0.7, e2e=e2e, created=created, orphan=node.ids.uuid4(),
        )))
    return pool


class Clock:
    """Formats of one wall second, recomputed only when the second changes (the hot loop is per line)."""

    def __init__(self, boot: datetime) -> None:
        self.boot_s = boot.timestamp()
        self.sec = -1

    def at(self, uptime: float) -> int:
        """Set the clock to ``uptime``; return the microseconds within the wall second."""
        wall = self.boot_s + uptime
        sec = int(wall)
        if sec != self.sec:
            self.sec = sec
            d = datetime.fromtimestamp(sec, timezone.utc)
            self.iso = d.strftime("%Y-%m-%dT%H:%M:%S")
            self.klog = d.strftime("%m%d %H:%M:%S")
            self.ctime = d.strftime("%a %b %d %H:%M:%S %Y")
        return min(int((wall - sec) * 1_000_000 + 0.5), 999_999)


def write_kernel_logs(node: Node, tmp: Path, budget: int) -> tuple[LogFile, LogFile, LogFile]:
    """journalctl -k (the whole window) and dmesg / dmesg -T (the ring buffer's tail)."""
    rng = random.Random(node.spec.seed + 3)
    journal = LogFile(tmp / "journalctl-k.txt")
    ring: deque[tuple[float, str]] = deque()
    ring_bytes = 0
    clock = Clock(node.boot)
    prefix_tail = f"+00:00 {HOST} kernel: "

    def emit(uptime: float, msg: str, is_event: bool) -> None:
        nonlocal ring_bytes
        us = clock.at(uptime)
        line = f"{clock.iso}.{us:06d}{prefix_tail}{msg}\n"
        journal.event(line) if is_event else journal.write(line)
        ring.append((uptime, msg))
        ring_bytes += len(msg) + 16
        while ring_bytes > RING_BYTES:
            ring_bytes -= len(ring.popleft()[1]) + 16

    for up, msg in node.lab.boot:
        emit(up, msg, False)
    pool = kernel_noise_pool(rng, 4000)
    assert not any(FLOOR_RE.search(m) for burst in pool for m in burst)
    avg = sum(len(m) + len(prefix_tail) + 28 for burst in pool for m in burst) / sum(len(b) for b in pool)
    events = sorted(node.kernel_events, key=lambda e: e[0])
    start, end = node.lab.boot[-1][0] + 2.0, UPTIME_S - 1.0
    lines_left = max((budget - journal.size - sum(len(m) + 60 for e in events for _, m in e[1])) / avg, 1)
    bursts = max(int(lines_left / (sum(len(b) for b in pool) / len(pool))), 1)
    step = (end - start) / bursts
    t, ei, n_pool = start, 0, len(pool)
    rand = rng.random
    while t < end:
        while ei < len(events) and events[ei][0] <= t:
            when, lines, _ = events[ei]
            for offset_us, msg in lines:
                emit(when + offset_us / 1e6, msg, True)
            ei += 1
        burst = pool[int(rand() * n_pool)]
        for k, msg in enumerate(burst):
            emit(t + k * 0.000211, msg, False)
        t += step * 2 * rand()
    for when, lines, _ in events[ei:]:
        for offset_us, msg in lines:
            emit(when + offset_us / 1e6, msg, True)
    journal.close()
    dmesg, dmesg_t = LogFile(tmp / "dmesg.txt"), LogFile(tmp / "dmesg-T.txt")
    for uptime, msg in ring:
        sec = int(uptime)
        us = int((uptime - sec) * 1_000_000)
        clock.at(uptime)
        dmesg.event(f"[{sec:5d}.{us:06d}] {msg}\n")
        dmesg_t.event(f"[{clock.ctime}] {msg}\n")
    dmesg.close()
    dmesg_t.close()
    return journal, dmesg, dmesg_t


def write_kubelet_log(node: Node, tmp: Path, budget: int) -> LogFile:
    """journalctl -u kubelet -o short-iso-precise: klog lines behind journald's prefix."""
    rng = random.Random(node.spec.seed + 4)
    log = LogFile(tmp / "journalctl-u-kubelet.txt")
    clock = Clock(node.boot)
    mid = f"+00:00 {HOST} kubelet[{KUBELET_PID}]: "
    tid = f"{KUBELET_PID:7d}"
    pool = kubelet_noise_pool(node, rng, 6000)
    assert not any(FLOOR_RE.search(body) for _, body in pool)
    avg = sum(len(b) for _, b in pool) / len(pool) + len(mid) + 57  # + stamps, severity, thread id, newline
    events = sorted(node.kubelet_events, key=lambda e: e[0])
    event_bytes = sum(len(b) + 100 for e in events for _, _, b in e[1])
    start, end = 14.0, UPTIME_S - 1.0
    n_lines = max(int((budget - event_bytes) / avg), 1)
    step = (end - start) / n_lines

    def line(uptime: float, sev: str, body: str) -> str:
        us = clock.at(uptime)
        return f"{clock.iso}.{us:06d}{mid}{sev}{clock.klog}.{us:06d} {tid} {body}\n"

    t, ei, n_pool = start, 0, len(pool)
    rand = rng.random
    write = log.write
    while t < end:
        while ei < len(events) and events[ei][0] <= t:
            when, lines = events[ei]
            for offset, sev, body in lines:
                log.event(line(when + offset, sev, body))
            ei += 1
        sev, body = pool[int(rand() * n_pool)]
        us = clock.at(t)
        write(f"{clock.iso}.{us:06d}{mid}{sev}{clock.klog}.{us:06d} {tid} {body}\n")
        t += step * 2 * rand()
    for when, lines in events[ei:]:
        for offset, sev, body in lines:
            log.event(line(when + offset, sev, body))
    log.close()
    return log


# --- the bundle --------------------------------------------------------------------------------


def _manifest(node: Node, top: str, entries: dict[str, tuple[int, str]], steps: list[dict]) -> bytes:
    """manifest.json as the collector's write_manifest prints it."""
    started = COLLECTED_AT - timedelta(seconds=14)
    lines = [
        "{", '  "collector": "podmortem-collect",', '  "collector_version": "0.1.0",', f'  "hostname": "{HOST}",',
        f'  "node": "{HOST}",', f'  "kernel": "{KERNEL_RELEASE}",', '  "cgroup_version": "1",', '  "cgroup_driver": "cgroupfs",',
        f'  "started_at": "{started.strftime("%Y-%m-%dT%H:%M:%SZ")}",', f'  "wall_time": "{COLLECTED_AT.strftime("%Y-%m-%dT%H:%M:%SZ")}",',
        f'  "uptime_at_start_s": "{UPTIME_S - 14:.2f}",', f'  "btime": "{int(node.boot.timestamp())}",', '  "since": "168h",',
        '  "root": "/",', '  "redacted": true,', '  "duration_s": 14,', '  "steps": [',
    ]
    lines.append(",\n".join("    " + json.dumps(s) for s in steps))
    lines.append("  ],")
    lines.append('  "files": [')
    lines.append(",\n".join(f'    {{"path": "{p}", "size": {size}, "sha256": "{sha}"}}' for p, (size, sha) in sorted(entries.items())))
    lines.append("  ]")
    lines.append("}")
    return ("\n".join(lines) + "\n").encode()


def _steps() -> list[dict]:
    since = "-604800s"

    def step(name: str, command: str, size: int = 0, secs: int = 0) -> dict:
        return {"name": name, "command": command, "exit_status": "0", "duration_s": secs, "bytes": size, "error": "", "timed_out": False}

    return [
        step("cgroups", "step_cgroups", secs=3), step("proc", "step_proc"), step("processes", "step_processes", secs=2),
        step("dmesg", "timeout -s KILL 20 dmesg"), step("dmesg-T", "timeout -s KILL 20 dmesg -T"),
        step("journalctl-k", f"timeout -s KILL 20 journalctl -k --no-pager -o short-iso-precise --since {since}", secs=2),
        step("var-log", "step_var_log"),
        step("journalctl-u-kubelet", f"timeout -s KILL 20 journalctl -u kubelet --no-pager -o short-iso-precise --since {since}", secs=5),
        step("kubelet-config", "step_kubelet_config"),
        step("kubectl-version", "timeout -s KILL 20 kubectl version --request-timeout=5s"),
        step("kubelet-configz", f"timeout -s KILL 20 kubectl get --raw /api/v1/nodes/{HOST}/proxy/configz --request-timeout=10s"),
        step("kubelet-stats-summary", f"timeout -s KILL 20 kubectl get --raw /api/v1/nodes/{HOST}/proxy/stats/summary --request-timeout=10s"),
        step("kubelet-pods", f"timeout -s KILL 20 kubectl get --raw /api/v1/nodes/{HOST}/proxy/pods --request-timeout=10s"),
        step("kubectl-get-pods", f"timeout -s KILL 20 kubectl get pods -A --field-selector spec.nodeName={HOST} -o json --request-timeout=15s", secs=1),
    ]


def _tarinfo(name: str, size: int, is_dir: bool = False) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = 0 if is_dir else size
    info.type = tarfile.DIRTYPE if is_dir else tarfile.REGTYPE
    info.mode = 0o755 if is_dir else 0o644
    info.mtime = int(COLLECTED_AT.timestamp())
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def cache_key(spec: Spec, lab_sha: str) -> str:
    blob = json.dumps({"version": GENERATOR_VERSION, "spec": asdict(spec), "lab": lab_sha, "ring": RING_BYTES}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def paths(name: str, cache_dir: Path) -> tuple[Path, Path]:
    return cache_dir / f"{name}.tar.gz", cache_dir / f"{name}.expected.json"


def build(name: str, cache_dir: Path = DEFAULT_CACHE, force: bool = False, say=print) -> tuple[Path, dict]:
    """The bundle and its expected answers; generated unless a cached copy with the same key exists."""
    spec = SPECS[name]
    lab = LabTemplates.load()
    key = cache_key(spec, lab.sha256)
    bundle_path, sidecar_path = paths(name, cache_dir)
    if not force and bundle_path.exists() and sidecar_path.exists():
        meta = json.loads(sidecar_path.read_text())
        if meta.get("cache_key") == key and meta.get("bundle_bytes") == bundle_path.stat().st_size:
            return bundle_path, meta
    cache_dir.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    node = Node(spec, lab)
    small = SmallFiles(node)
    files = small.build()
    objects = pod_objects(node)
    files["commands/kubectl-get-pods.json"] = (json.dumps({"apiVersion": "v1", "items": objects, "kind": "List", "metadata": {"resourceVersion": ""}},
                                                          indent=4) + "\n").encode()
    files["commands/kubelet-pods.json"] = json.dumps({"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": objects},
                                                     separators=(",", ":")).encode()
    files["commands/kubelet-configz.json"] = json.dumps(configz(node), separators=(",", ":")).encode()
    files["commands/kubelet-stats-summary.json"] = (json.dumps(stats_summary(node, small), indent=2) + "\n").encode()
    files["commands/kubectl-version.txt"] = b"Client Version: v1.31.2\nKustomize Version: v5.4.2\nServer Version: v1.31.2\n"
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix=f".{name}-") as tmp_name:
        tmp = Path(tmp_name)
        journal_budget = spec.log_bytes - 2 * RING_BYTES
        kernel_budget = int(journal_budget * spec.kernel_share)
        journal_k, dmesg, dmesg_t = write_kernel_logs(node, tmp, kernel_budget)
        kubelet = write_kubelet_log(node, tmp, journal_budget - journal_k.size)
        logs = {"commands/dmesg.txt": dmesg, "commands/dmesg-T.txt": dmesg_t, "commands/journalctl-k.txt": journal_k,
                "commands/journalctl-u-kubelet.txt": kubelet}
        say(f"{name}: logs written ({sum(f.size for f in logs.values()) / 1e6:.1f} MB) in {time.monotonic() - began:.1f}s")
        for cmd in ("dmesg", "dmesg-T", "journalctl-k", "journalctl-u-kubelet", "kubectl-version", "kubelet-configz",
                    "kubelet-stats-summary", "kubelet-pods", "kubectl-get-pods"):
            files[f"commands/{cmd}.status"] = b"0\n"
        entries = {p: (len(b), hashlib.sha256(b).hexdigest()) for p, b in files.items()}
        entries.update({p: (f.size, f.sha.hexdigest()) for p, f in logs.items()})
        steps = _steps()
        for s in steps:
            for p, f in logs.items():
                if p == f"commands/{s['name']}.txt":
                    s["bytes"] = f.size
        top = f"podmortem-{HOST}-{COLLECTED_AT.strftime('%Y%m%dT%H%M%SZ')}"
        manifest = _manifest(node, top, entries, steps)
        partial = tmp / "bundle.tar.gz"
        members = _write_tar(partial, top, files, manifest, logs)
        os.replace(partial, bundle_path)
    floor = sum(f.floor for f in logs.values())
    meta = {
        "synthetic": True,
        "note": "SYNTHETIC benchmark bundle made by benchmarks/make_bundles.py; see its docstring for what each part imitates",
        "generator_version": GENERATOR_VERSION,
        "cache_key": key,
        "spec": asdict(spec),
        "bundle": bundle_path.name,
        "bundle_bytes": bundle_path.stat().st_size,
        "bundle_sha256": _sha_file(bundle_path),
        "members": members,
        "running_pods": len(node.pods),
        "pod_objects": len(objects),
        "log_bytes": {p: f.size for p, f in logs.items()},
        "log_bytes_total": sum(f.size for f in logs.values()),
        "generated_in_s": round(time.monotonic() - began, 1),
        "expected": {
            "oom_kill_count": len(node.ooms),
            "oom_kills": node.ooms,
            "eviction_count": len(node.evictions),
            "evictions": node.evictions,
            "floor_grep_count": floor,
        },
    }
    sidecar_path.write_text(json.dumps(meta, indent=1) + "\n")
    say(f"{name}: {bundle_path} ({meta['bundle_bytes'] / 1e6:.1f} MB gzipped, {members} members) in {meta['generated_in_s']}s")
    return bundle_path, meta


def _sha_file(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(4 * MiB), b""):
            sha.update(chunk)
    return sha.hexdigest()


def _write_tar(target: Path, top: str, files: dict[str, bytes], manifest: bytes, logs: dict[str, LogFile]) -> int:
    """tar -czf of the bundle directory: directories first in each, gzip header without name or time."""
    order = sorted(p for p in files if p.startswith("proc/")) + sorted(p for p in files if p.startswith("sys/"))
    order += ["manifest.json"] + sorted(p for p in list(files) + list(logs) if p.startswith("commands/"))
    members = 0
    with open(target, "wb") as raw, gzip.GzipFile(filename="", mode="wb", compresslevel=6, fileobj=raw, mtime=0) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.GNU_FORMAT) as tar:
        made_dirs: set[str] = set()

        def dirs_for(path: str) -> None:
            parts = f"{top}/{path}".split("/")[:-1]
            for i in range(1, len(parts) + 1):
                d = "/".join(parts[:i])
                if d not in made_dirs:
                    made_dirs.add(d)
                    tar.addfile(_tarinfo(d + "/", 0, is_dir=True))

        for path in order:
            dirs_for(path)
            if path == "manifest.json":
                tar.addfile(_tarinfo(f"{top}/{path}", len(manifest)), io.BytesIO(manifest))
            elif path in logs:
                with open(logs[path].path, "rb") as f:
                    tar.addfile(_tarinfo(f"{top}/{path}", logs[path].size), f)
            else:
                tar.addfile(_tarinfo(f"{top}/{path}", len(files[path])), io.BytesIO(files[path]))
            members += 1
    return members


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate the SYNTHETIC benchmark bundles (issue 8) into a cache directory.")
    parser.add_argument("--only", choices=sorted(SPECS), help="build one bundle only")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE, help="where bundles and sidecars go (default benchmarks/.cache)")
    parser.add_argument("--force", action="store_true", help="rebuild even when a cached bundle matches")
    args = parser.parse_args(argv)
    if not LAB_BUNDLE.exists():
        print(f"make_bundles: the lab fixture {LAB_BUNDLE} is missing (its OOM report is the template)", file=sys.stderr)
        return 2
    for name in [args.only] if args.only else list(SPECS):
        path, meta = build(name, args.cache_dir, args.force)
        exp = meta["expected"]
        print(f"{name}: {path} {meta['bundle_bytes'] / 1e6:.1f} MB, logs {meta['log_bytes_total'] / 1e6:.1f} MB, "
              f"{exp['oom_kill_count']} OOM kills, {exp['eviction_count']} evictions, sidecar {path.with_name(name + '.expected.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
