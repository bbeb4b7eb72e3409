"""The kubelet's configuration: ``/configz`` JSON and the config file (KubeletConfiguration YAML).

``/configz`` wraps the live config: ``{"kubeletconfig": {"evictionHard": {"memory.available": "100Mi",
"nodefs.available": "10%"}, "cgroupDriver": "systemd", "enforceNodeAllocatable": ["pods"], ...}}``.
The file (``/var/lib/kubelet/config.yaml``) has ``kind: KubeletConfiguration`` and the same keys.
An absent ``evictionHard`` means the kubelet's Linux default (pkg/kubelet/apis/config/v1beta1/
defaults_linux.go ``DefaultEvictionHard``: memory.available 100Mi; FACTS.md §4).
Each setting is cited at its own key as the reader saw it (analyzer.textpos): a soft threshold in
``evictionSoft``, not at the same signal of ``evictionHard`` printed before it.
"""
from __future__ import annotations

import re

from pydantic import BaseModel

from analyzer.models.common import Evidence, Parsed, Problem
from analyzer.quantity import parse_quantity
from analyzer.textpos import LineCounter, position, read_json, read_yaml

DEFAULT_EVICTION_HARD = {"memory.available": "100Mi", "nodefs.available": "10%", "nodefs.inodesFree": "5%", "imagefs.available": "15%"}


class Threshold(BaseModel):
    signal: str
    raw: str
    quantity_bytes: int | None = None
    percent: float | None = None
    defaulted: bool = False  # not in the config: the kubelet's default applies
    evidence: Evidence | None = None


class KubeletConfig(BaseModel):
    eviction_hard: dict[str, Threshold] = {}
    eviction_soft: dict[str, Threshold] = {}
    eviction_soft_grace: dict[str, str] = {}
    eviction_minimum_reclaim: dict[str, str] = {}
    eviction_pressure_transition_period: str | None = None
    system_reserved_memory_bytes: int | None = None
    kube_reserved_memory_bytes: int | None = None
    enforce_node_allocatable: list[str] = []
    cgroup_driver: str | None = None
    kernel_memcg_notification: bool | None = None
    single_process_oom_kill: bool | None = None
    evidence: dict[str, Evidence] = {}


def threshold(signal: str, raw: str, defaulted: bool = False, evidence: Evidence | None = None) -> Threshold:
    """A threshold statement: a quantity or a percent of capacity.

    >>> threshold("memory.available", "100Mi").quantity_bytes, threshold("nodefs.available", "10%").percent
    (104857600, 10.0)
    """
    raw = str(raw).strip()
    if raw.endswith("%"):
        try:
            return Threshold(signal=signal, raw=raw, percent=float(raw[:-1]), defaulted=defaulted, evidence=evidence)
        except ValueError:
            return Threshold(signal=signal, raw=raw, defaulted=defaulted, evidence=evidence)
    return Threshold(signal=signal, raw=raw, quantity_bytes=parse_quantity(raw), defaulted=defaulted, evidence=evidence)


CONFIG_PLAN = {"evictionHard": {}, "evictionSoft": {}}  # where each threshold's signal is
RE_LEADING_SPACE = re.compile(r"\s*")


def _load(text: str) -> dict | None:
    lead = RE_LEADING_SPACE.match(text).end()  # what text.lstrip() strips, without copying the text
    start = text.find("{", lead)
    try:
        if text.startswith("{", lead) or (0 <= start - lead < 200 and text.find('"kubeletconfig"', lead) >= 0):
            data = read_json(text, start, {"kubeletconfig": CONFIG_PLAN, **CONFIG_PLAN})
        else:
            data = read_yaml(text, {"kubeletconfig": CONFIG_PLAN, **CONFIG_PLAN})
    except (ValueError, RecursionError):  # ValueError: not JSON or YAML (read_yaml says so); RecursionError: "[[[[..." nested past yaml's stack
        return None
    if isinstance(data, dict) and isinstance(data.get("kubeletconfig"), dict):
        return data["kubeletconfig"]
    return data if isinstance(data, dict) else None


def parse(text: str, source: str) -> Parsed[KubeletConfig]:
    """
    >>> c = parse('{"kubeletconfig": {"evictionHard": {"memory.available": "200Mi"}, "cgroupDriver": "systemd"}}', "configz.json").value
    >>> c.eviction_hard["memory.available"].quantity_bytes, c.cgroup_driver
    (209715200, 'systemd')
    >>> parse('{"kubeletconfig": {}}', "c.json").value.eviction_hard["memory.available"].defaulted
    True
    """
    data = _load(text)
    if data is None:
        return Parsed(status="unrecognised", problems=[Problem(message="not a kubelet configuration (JSON or YAML)", evidence=Evidence(file=source))])
    lines = LineCounter(text)

    def at(obj: dict, key: str) -> Evidence:  # the line of the key as the reader saw it (None: not in the text)
        return Evidence(file=source, line=lines.line_at(position(obj, key)))

    config = KubeletConfig(
        cgroup_driver=data.get("cgroupDriver"),
        eviction_pressure_transition_period=data.get("evictionPressureTransitionPeriod"),
        enforce_node_allocatable=[str(x) for x in data.get("enforceNodeAllocatable") or [] if isinstance(x, str)],
        kernel_memcg_notification=data.get("kernelMemcgNotification") if isinstance(data.get("kernelMemcgNotification"), bool) else None,
        single_process_oom_kill=data.get("singleProcessOOMKill") if isinstance(data.get("singleProcessOOMKill"), bool) else None,
    )
    hard = data.get("evictionHard")
    if isinstance(hard, dict) and hard:
        config.eviction_hard = {k: threshold(k, v, evidence=at(hard, k)) for k, v in hard.items() if isinstance(v, (str, int))}
    else:
        config.eviction_hard = {k: threshold(k, v, defaulted=True) for k, v in DEFAULT_EVICTION_HARD.items()}
    soft = data.get("evictionSoft")
    if isinstance(soft, dict):
        config.eviction_soft = {k: threshold(k, v, evidence=at(soft, k)) for k, v in soft.items() if isinstance(v, (str, int))}
    for key, attr in (("evictionSoftGracePeriod", "eviction_soft_grace"), ("evictionMinimumReclaim", "eviction_minimum_reclaim")):
        if isinstance(data.get(key), dict):
            setattr(config, attr, {k: str(v) for k, v in data[key].items()})
    for key, attr in (("systemReserved", "system_reserved_memory_bytes"), ("kubeReserved", "kube_reserved_memory_bytes")):
        reserved = data.get(key)
        if isinstance(reserved, dict) and "memory" in reserved:
            setattr(config, attr, parse_quantity(reserved["memory"]))
            config.evidence[key] = at(data, key)
    config.evidence["evictionHard"] = at(data, "evictionHard")
    return Parsed(value=config)
