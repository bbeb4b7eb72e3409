"""Which artifact a bundle member is: by its node path where standard, else by content.

Node paths are what the collector writes (``sys/fs/cgroup/memory/kubepods/.../memory.stat``,
``proc/meminfo``, ``commands/dmesg.txt``); a hand-made bundle or a pasted file may be called
anything, so content decides then (a kernel log named ``notes.txt`` is still a kernel log).
"""
from __future__ import annotations

import re
from functools import lru_cache

from analyzer.artifacts import ArtifactKind as K

# anchors that start a node path wherever the bundle root is
NODE_ANCHORS = ("sys/fs/cgroup/", "proc/", "var/log/", "var/lib/kubelet/", "etc/kubernetes/", "commands/", "manifest.json")
RE_NODE_ANCHOR = re.compile("/(?:" + "|".join(re.escape(a) for a in NODE_ANCHORS) + ")")
RE_SAMPLE = re.compile(r"(?:^|/)samples/(?P<n>\d{1,6})/")

V1_ONLY_FILES = {
    "memory.usage_in_bytes", "memory.limit_in_bytes", "memory.max_usage_in_bytes", "memory.failcnt",
    "memory.oom_control", "memory.soft_limit_in_bytes", "memory.use_hierarchy", "memory.swappiness",
}
PROC_FILES = {
    "proc/meminfo": K.PROC_MEMINFO, "proc/vmstat": K.PROC_VMSTAT, "proc/pressure/memory": K.PROC_PRESSURE,
    "proc/stat": K.PROC_STAT, "proc/uptime": K.PROC_UPTIME, "proc/version": K.PROC_VERSION, "proc/loadavg": K.PROC_LOADAVG,
}
RE_PROC_PID = re.compile(r"^proc/\d+/(?:status|oom_score|oom_score_adj|cgroup|cmdline)$")
RE_KERNEL_LOG_NAME = re.compile(r"^var/log/(?:kern\.log|messages|syslog|dmesg)(?:[.-]\d+)?(?:\.txt)?$")

# commands/<name>.txt|json written by collectors/node/podmortem-collect, by name
COMMAND_KINDS = (
    (re.compile(r"^dmesg|^journalctl-k\b"), K.KERNEL_LOG),
    (re.compile(r"^journalctl-u-kubelet|^kubelet-log"), K.KUBELET_LOG),
    (re.compile(r"^journalctl-u-(?:containerd|crio|cri-o|docker)|^docker-events"), K.RUNTIME_LOG),
    (re.compile(r"^kubelet-configz"), K.KUBELET_CONFIGZ),
    (re.compile(r"^kubelet-config"), K.KUBELET_CONFIG),
    (re.compile(r"^kubelet-stats-summary"), K.KUBELET_SUMMARY),
    (re.compile(r"^kubelet-pods"), K.KUBELET_PODS),
    (re.compile(r"^kubectl-get-pods?"), K.POD_JSON),
    (re.compile(r"^kubectl-describe-pod"), K.DESCRIBE_POD),
    (re.compile(r"^kubectl-describe-node"), K.DESCRIBE_NODE),
    (re.compile(r"^kubectl-get-events"), K.EVENTS),
    (re.compile(r"^free\b"), K.FREE),
    (re.compile(r"^kubectl-top"), K.KUBECTL_TOP),
    (re.compile(r"^crictl-inspect"), K.CRICTL_INSPECT),
    (re.compile(r"^crictl-stats"), K.CRICTL_STATS),
    (re.compile(r"^crictl-(?:ps|pods)"), K.CRICTL_PS),
    (re.compile(r"^docker-inspect"), K.DOCKER_INSPECT),
    (re.compile(r"^docker-stats"), K.DOCKER_STATS),
    (re.compile(r"^docker-ps"), K.DOCKER_PS),
)

# content sniffers, most specific first; each looks at the head of the text only
RE_KERNEL_OOM = re.compile(
    r"invoked oom-killer|Killed process \d+|Kill process \d+|Memory cgroup out of memory|oom-kill:constraint"
    r"|oom_reaper: reaped|Memory cgroup stats for|Out of memory and no killable|memory: usage \d+kB"
)
RE_KLOG = re.compile(r"(?m)^(?:.*kubelet\[\d+\]: )?[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+\s+\d+ [\w.-]+\.go:\d+\]")
RE_EVICTION = re.compile(r"[Ee]viction manager")
RE_RUNTIME = re.compile(
    r"TaskOOM|/tasks/oom|container oom|containerd\[\d+\]|crio\[\d+\]|dockerd\[\d+\]"
    r"|container die [0-9a-f]{64}|<ninfo>: OOM|conmon\[\d+\]|StopPodSandbox for|TaskExit event"
)
RE_KERNEL_PREFIX = re.compile(r"(?m)^(?:\[\s*\d+\.\d+\]|\S+ \S+ kernel: |\d+,\d+,\d+,[^;]*;)")
RE_DESCRIBE_POD = re.compile(r"(?m)^Name:\s+\S+")
RE_EVENTS_TABLE = re.compile(r"(?m)^\s*(?:LAST SEEN|LASTSEEN|FIRSTSEEN|FIRST SEEN)\s+.*\b(?:TYPE|REASON|COUNT)\b")
RE_EVENTS_DESCRIBE = re.compile(r"(?m)^\s*(?:Type\s+Reason\s+Age|FirstSeen\s+LastSeen)")
RE_POD_YAML = re.compile(r"(?m)^\s*(?:containerStatuses|qosClass|lastState|podIPs?):(?:\s|$)|^\s*reason: Evict")
RE_MEMINFO = re.compile(r"(?m)^MemTotal:\s+\d+ kB")
RE_V1_STAT = re.compile(r"(?m)^(?:total_rss|total_cache|hierarchical_memory_limit|rss_huge) \d+")
RE_V2_STAT = re.compile(r"(?m)^(?:anon|file|kernel_stack|file_mapped|anon_thp) \d+$")
RE_DOCKER_STATS = re.compile(r"CONTAINER(?: ID)?\s+NAME\s+CPU %\s+MEM USAGE")
RE_CRICTL_STATS = re.compile(r"CONTAINER\s+(?:NAME\s+)?CPU %\s+MEM\s+DISK")
# events, crictl and describe-with-Events text (analyzer/parsers/events.py, crictl.py)
RE_KUBE_EVENTER = re.compile(r"(?m)^Level:(?:Normal|Warning)\s*\nKind:\S")
RE_EVENT_ROW = re.compile(r"(?m)^\s*\S+\s+(?:Normal|Warning)\s+[A-Z]\w+\s+[a-z][\w.-]*/\S")
RE_EVENT_RECORDER = re.compile(r"(?m)^(?:Event\(v1\.ObjectReference\{.*\): )?(?:type: '\w*' )?reason: '\w+' ")
RE_DESCRIBE_NODE = re.compile(r"(?m)^(?:Roles|Taints|Capacity|Allocatable):|describe\s+(?:nodes?|no)\b")
RE_CRICTL_PS = re.compile(r"CONTAINER\s+IMAGE\s+CREATED\s+STATE\s+NAME\s+ATTEMPT\s+POD ID")
RE_CRI_STATE = re.compile(r'"CONTAINER_(?:RUNNING|EXITED|CREATED|UNKNOWN)"')


def node_path_of(member: str) -> tuple[str | None, int | None]:
    """(node path, sample number) of a bundle member, wherever the bundle's top folder is.

    >>> node_path_of("node1-2026/sys/fs/cgroup/memory/kubepods/memory.stat")
    ('sys/fs/cgroup/memory/kubepods/memory.stat', None)
    >>> node_path_of("b/samples/0002/sys/fs/cgroup/kubepods.slice/memory.current")
    ('sys/fs/cgroup/kubepods.slice/memory.current', 2)
    >>> node_path_of("notes/dmesg.txt"), node_path_of("b/manifest.json")
    ((None, None), ('manifest.json', None))
    """
    directory, slash, name = member.rpartition("/")
    prefix, sample = _node_directory(directory + slash)
    if prefix is not None:
        return prefix + name, sample
    if name.startswith("manifest.json"):  # the one anchor that is a file name
        return name, sample
    return None, sample


@lru_cache(maxsize=256)  # members come folder by folder: a few recent folders are all that repeat
def _node_directory(directory: str) -> tuple[str | None, int | None]:
    """(node path of ``directory`` (ending in "/"), or None; sample number) for the files in it.

    Members come folder by folder (ten cgroup files each): the two regex searches are made once
    a folder, not once a member.
    """
    sample = None
    match = RE_SAMPLE.search(directory)
    if match is not None:
        sample = int(match.group("n"))
        directory = directory[match.end():]
    anchor = RE_NODE_ANCHOR.search("/" + directory)  # the earliest anchor, in one pass
    if anchor is None:
        return None, sample
    return directory[anchor.start():], sample


RE_PROC_PID_FOLDER = re.compile(r"proc/\d+/\Z")


def folder_class(node_folder: str) -> str | None:
    """For a node folder (ending in "/") whose files' kinds follow from their names alone, the shortest
    folder of its class (``kind_in_folder``): a cgroup v1 memory directory, another cgroup directory, a
    /proc/<pid> folder. None for any other folder.

    >>> folder_class("sys/fs/cgroup/memory/kubepods/pod1/"), folder_class("proc/42/"), folder_class("commands/")
    ('sys/fs/cgroup/memory/', 'proc/1/', None)
    """
    if node_folder.startswith("sys/fs/cgroup/memory/"):
        return "sys/fs/cgroup/memory/"
    if node_folder.startswith("sys/fs/cgroup/"):
        return "sys/fs/cgroup/"
    if RE_PROC_PID_FOLDER.match(node_folder):
        return "proc/1/"
    return None


@lru_cache(maxsize=1024)
def kind_in_folder(shortest: str, name: str) -> K | None:
    """What the node path alone says of file ``name`` in any folder of the class ``folder_class`` named:
    ``_by_node_path`` reads no more of such a path than the class and the name, so one answer serves
    every cgroup directory (a 500-pod node has 2,000 of them, 13 files each).

    >>> kind_in_folder("sys/fs/cgroup/memory/", "memory.stat"), kind_in_folder("sys/fs/cgroup/", "memory.stat")
    (<ArtifactKind.MEMCG_V1: 'memcg_v1'>, <ArtifactKind.MEMCG_V2: 'memcg_v2'>)
    """
    return _by_node_path(shortest + name)


def basename(path: str) -> str:
    """The last component of a POSIX path (string operations: this runs once per bundle member).

    >>> basename("b/commands/dmesg.txt"), basename("dmesg.txt"), basename("a/b/")
    ('dmesg.txt', 'dmesg.txt', 'b')
    """
    return path.rstrip("/").rpartition("/")[2]


def _by_node_path(node_path: str) -> K | None:
    name = basename(node_path)
    if node_path.startswith("sys/fs/cgroup/"):
        if name in ("cgroup.procs", "tasks"):
            return K.CGROUP_PROCS
        if not name.startswith("memory."):
            return None
        if node_path.startswith("sys/fs/cgroup/memory/") or name in V1_ONLY_FILES or name.startswith("memory.memsw.") or name.startswith("memory.kmem."):
            return K.MEMCG_V1
        return K.MEMCG_V2
    if node_path in PROC_FILES:
        return PROC_FILES[node_path]
    if node_path.startswith("proc/sys/vm/"):
        return K.PROC_SYS_VM
    if RE_PROC_PID.match(node_path):
        return K.PROC_PID
    if RE_KERNEL_LOG_NAME.match(node_path):
        return K.KERNEL_LOG
    if node_path.startswith("var/log/") and "kubelet" in name:
        return K.KUBELET_LOG
    if node_path in ("var/lib/kubelet/config.yaml",) or node_path.endswith("/kubelet/config.yaml"):
        return K.KUBELET_CONFIG
    if node_path == "manifest.json":
        return K.MANIFEST
    if node_path.startswith("commands/"):
        if name.endswith(".status"):
            return K.UNKNOWN
        for regex, kind in COMMAND_KINDS:
            if regex.match(name):
                return kind
    return None


def _k8s_text_kind(head: str) -> K | None:
    """Events, crictl output and describe output with an Events table, checked before the kernel
    sniffer: OOM events quote the kernel's kill line (``Killed process 3504804 (kubectl)``)."""
    if RE_KUBE_EVENTER.search(head) or ('"involvedObject"' in head and re.search(r"(?m)^\s*[\[{]", head)):
        return K.EVENTS
    if '"attributes"' in head and ('"workingSetBytes"' in head or '"usageCoreNanoSeconds"' in head):
        return K.CRICTL_STATS
    if RE_CRI_STATE.search(head) and re.search(r'"(?:state|runtimeSpec)"', head):
        return K.CRICTL_INSPECT
    if RE_EVENTS_DESCRIBE.search(head) or RE_EVENTS_TABLE.search(head):
        if RE_DESCRIBE_POD.search(head) and ("Containers:" in head or "QoS Class:" in head or "Restart Count:" in head):
            return K.DESCRIBE_POD
        return K.DESCRIBE_NODE if RE_DESCRIBE_NODE.search(head) else K.EVENTS
    if RE_KLOG.search(head[:4096]):
        return None  # the event recorder's lines inside a kubelet log: a kubelet log
    if RE_EVENT_ROW.search(head) or RE_EVENT_RECORDER.search(head):
        return K.EVENTS
    if RE_CRICTL_PS.search(head):
        return K.CRICTL_PS
    return None


RE_EVICTION_MESSAGE = re.compile(r"(?m)^\W*Message:\s+(?:Pod )?The node (?:was low on resource|had condition)")
RE_DESCRIBE_STATE = re.compile(r"(?m)^[ \t]+(?:Last )?State:[ \t]+(?:Terminated|Running|Waiting)\b")
RE_DESCRIBE_COUNTS = re.compile(r"(?m)^[ \t]+(?:Restart Count|Exit Code):[ \t]+\d")
RE_FREE = re.compile(r"(?m)^\s*total\s+used\s+\W*free\W*\s+shared\s")
RE_TOP = re.compile(r"(?m)^\s*(?:NAMESPACE\s+)?NAME\s+CPU\(cores\)\s+(?:CPU%\s+)?MEMORY\(bytes\)")


def _by_content(head: str) -> K:
    early = _k8s_text_kind(head)
    if early is not None:
        return early
    if RE_EVICTION_MESSAGE.search(head):  # a describe fragment that is just the evicted pod's Message
        return K.DESCRIBE_POD
    if RE_DESCRIBE_STATE.search(head) and RE_DESCRIBE_COUNTS.search(head):  # a container section pasted alone
        return K.DESCRIBE_POD
    stripped = head.lstrip()
    if RE_KERNEL_OOM.search(head) and not RE_KLOG.search(head[:4096]):
        return K.KERNEL_LOG
    if stripped.startswith(("{", "[", '"')) or stripped[:200].find('"kind"') != -1:  # '"': a fragment cut from inside an object
        kind = _json_kind(head)
        if kind is not None:
            return kind
    if "kind: KubeletConfiguration" in head:
        return K.KUBELET_CONFIG
    if re.search(r"(?m)^kind: (?:Pod|List|PodList)\s*$", head) or RE_POD_YAML.search(head):
        return K.POD_JSON
    if RE_EVICTION.search(head) or RE_KLOG.search(head[:4096]):
        return K.KUBELET_LOG
    if RE_RUNTIME.search(head):
        return K.RUNTIME_LOG
    if RE_DESCRIBE_POD.search(head) and ("Containers:" in head or "QoS Class:" in head or "Restart Count:" in head):
        return K.DESCRIBE_POD
    if RE_EVENTS_TABLE.search(head) or (RE_EVENTS_DESCRIBE.search(head) and "Name:" not in head):
        return K.EVENTS
    if RE_DOCKER_STATS.search(head):
        return K.DOCKER_STATS
    if RE_CRICTL_STATS.search(head):
        return K.CRICTL_STATS
    if RE_MEMINFO.search(head):
        return K.PROC_MEMINFO
    if RE_FREE.search(head):
        return K.FREE
    if RE_TOP.search(head):
        return K.KUBECTL_TOP
    if RE_V1_STAT.search(head) or "memory.usage_in_bytes" in head or "memory.limit_in_bytes" in head:
        return K.MEMCG_V1
    if RE_V2_STAT.search(head) or "memory.current" in head or "memory.events" in head:
        return K.MEMCG_V2
    if RE_KERNEL_PREFIX.search(head) and RE_KERNEL_OOM.search(head):
        return K.KERNEL_LOG
    return K.UNKNOWN


def _json_kind(head: str) -> K | None:
    if '"kubeletconfig"' in head:
        return K.KUBELET_CONFIGZ
    if '"kind": "KubeletConfiguration"' in head or '"kind":"KubeletConfiguration"' in head:
        return K.KUBELET_CONFIG
    if '"involvedObject"' in head:
        return K.EVENTS
    if re.search(r'"podRef"|"systemContainers"|"workingSetBytes"\s*:\s*\d', head) and '"node"' in head or '"podRef"' in head:
        return K.KUBELET_SUMMARY
    if re.search(r'"availableBytes"\s*:\s*\d', head) and '"workingSetBytes"' in head:
        return K.KUBELET_SUMMARY
    if '"workingSetBytes"' in head and '"value"' in head:
        return K.CRICTL_STATS
    if '"OOMKilled"' in head and ('"HostConfig"' in head or '"State"' in head):
        return K.DOCKER_INSPECT
    if '"runtimeSpec"' in head or ('"status"' in head and '"CONTAINER_' in head):
        return K.CRICTL_INSPECT
    if re.search(r'"kind"\s*:\s*"(?:Pod|PodList|List)"', head) or '"containerStatuses"' in head:
        return K.POD_JSON
    if '"lastState"' in head or '"termination"' in head or '"exitCode"' in head:
        return K.POD_JSON
    return None


def classify(node_path: str | None, name: str, head: str) -> K:
    """The artifact kind of a member: node path first, content otherwise.

    >>> classify("proc/meminfo", "meminfo", "MemTotal: 1 kB")
    <ArtifactKind.PROC_MEMINFO: 'proc_meminfo'>
    >>> classify(None, "notes.txt", "[ 5.1] Memory cgroup out of memory: Killed process 1 (x)")
    <ArtifactKind.KERNEL_LOG: 'kernel_log'>
    >>> classify("commands/dmesg.txt", "dmesg.txt", "")
    <ArtifactKind.KERNEL_LOG: 'kernel_log'>
    """
    if node_path is not None:
        kind = _by_node_path(node_path)
        if kind is not None:
            return kind
    if name.endswith(".status") and len(head) < 16:
        return K.UNKNOWN
    return _by_content(head)
