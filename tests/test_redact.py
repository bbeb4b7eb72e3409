"""``podmortem redact`` and the collector's redaction, on a bundle seeded with planted secrets.

The bundle is the real lab fixture (fixtures/lab/lab-oom-128mi.tar.gz, a real kernel OOM kill)
extracted with tests/conftest.py ``extract_bundle``, plus HAND-WRITTEN artifacts made up for this
test (not captured from a cluster): a ``kubectl get pods -o json`` List, a pod YAML List with a
Secret, ``kubectl describe pod``, ``docker inspect``, ``crictl inspect``, the kubelet's
/pods JSON, its config.yaml and kubeconfig, kubelet/containerd journal lines, syslog lines, one
line appended to the real dmesg, /proc/<pid>/cmdline (as the collector writes it, and raw with
NULs) and /proc/<pid>/environ. Each secret is a distinct made-up string, planted once, with
the kind the rules should count it as. The same texts feed the real collector (fake node root
and fake kubectl/crictl/docker/journalctl/dmesg on PATH, as tests/test_collector.py does).
"""
from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from analyzer.redact import apply_rules, load_rules, parse_rules, redact_bundle
from tests.conftest import FIXTURES, ROOT, corpus_files, extract_bundle
from tests.lab import fake_node

COLLECTOR = ROOT / "collectors" / "node" / "podmortem-collect"
LAB = FIXTURES / "lab" / "lab-oom-128mi.tar.gz"
POD_UID = "c93c4f93-21c8-404d-8193-7b135e08637a"
CONTAINER_ID = "0c24d634ef31bebbb0350f2ec32468bb825b930304dacd2183d06a1be0886548"
CRI_ID = "5e1f0a7b9c3d4e2f8a6b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f"
HOSTS = ("node-17", "corp.example.com")
IPS = ("10.20.30.40", "10.20.30.41", "10.244.1.7")


@dataclass(frozen=True)
class Plant:
    secret: str
    kind: str  # what the redaction report must count it as
    unit: str  # secrets redacted together (an environ file, a PEM block) share a unit


PLANTS: list[Plant] = []


def plant(secret: str, kind: str, unit: str | None = None) -> str:
    PLANTS.append(Plant(secret, kind, unit or secret))
    return secret


# --- the secrets, one per line, with the kind each must be counted as -------------------------
S = {
    "pj_env1": plant("pjEnvDbUrl-7Hq2Lk9Zr", "env_value"),
    "pj_env2": plant("pjEnvMode-Qw8Ex3Rt5", "env_value"),
    "pj_dbpw": plant("pjDbPass-Zx4Cv6Bn8", "password_option"),
    "pj_split": plant("pjSplitPw-Mn3Bv5Cx7", "password_option"),
    "pj_lastapplied": plant("pjLastApplied-Lk8Jh6Gf4", "env_value"),
    "pj_authtoken": plant("pjAuthTok-Pl9Ok7Ij5", "token_option"),
    "py_env": plant("pyApiHost-Uh6Yg4Tf2", "env_value"),
    "py_block": plant("pyBlockVal-Rd5Es3Wa1", "env_value"),
    "py_split": plant("pyTokSplit-Qa2Ws4Ed6", "token_option"),
    "py_secret_data": plant("cHlTZWNyZXREYXRhLXE4UnQ5WTA=", "secret_data"),
    "py_string_data": plant("pyStringData-W3e9Rf1Tg", "secret_data"),
    "ds_env1": plant("dsDbPass-Yh7Uj9Ik1", "env_value"),
    "ds_env2": plant("dsMode-Ol2Pk4Ij6", "env_value"),
    "ds_split": plant("dsCmdPw-Uh8Yg6Tf4", "password_option"),
    "ds_token": plant("dsArgTok-Rd3Es5Wa7", "token_option"),
    "dk_env": plant("dkDbPass-Qw1Er3Ty5", "env_value"),
    "dk_gh_env": plant("ghp_dkEnvGithubTokenAbCdEfGh0123456789xy", "env_value"),
    "dk_assign": plant("dkAssign-Ui7Op9As1", "secret_assignment"),
    "dk_path": plant("/opt/dkPlantedPath-Hj5Kl7/bin", "env_value"),
    "cr_env": plant("crEnvVal-Df2Gh4Jk6", "env_value"),
    "cr_path": plant("/opt/crPlantedPath-Wq3Er5/bin", "env_value"),
    "cr_spec_env": plant("crSpecEnv-Lz8Xc0Vb2", "env_value"),
    "cr_cert": plant("MIIBcrInlineCertAbCdEfGhIjKlMnOpQrSt", "certificate"),
    "kc_bearer": plant("kcStaticBearer-Nm3Qw5Er7", "bearer_token"),
    "kf_cert": plant("LS0tLS1CRUdJTiBrZkNsaWVudENlcnREYXRhLXo5", "credential_field"),
    "kf_key": plant("LS0tLS1CRUdJTiBrZkNsaWVudEtleURhdGEteDc=", "credential_field"),
    "kf_token": plant("kfUserToken-Ty6Ui8Op0", "credential_field"),
    "kf_password": plant("kfBasicPw-As2Df4Gh6", "credential_field"),
    "jn_basic": plant("am5CYXNpY0F1dGhVc2VyOmpuQmFzaWNQdw==", "authorization_header"),
    "jn_apikey": plant("jnApiKeyHdr-Jk1Lz3Xc5", "authorization_header"),
    "jn_url": plant("jnUrlPw-Vb7Nm9Qw1", "url_credentials"),
    "jn_jwt": plant("eyJhbGciOiJSUzI1NiIsImtpZCI6ImpuIn0.eyJzdWIiOiJzeXN0ZW06am4tand0In0.jnSigAbCdEfGh_IjKl-MnOp", "jwt"),
    "jn_bearer": plant("jnBearerTok-Er3Ty5Ui7", "bearer_token"),
    "jn_kubeadm": plant("q7w8e9.r1t2y3u4i5o6p7a8", "kubeadm_token"),
    "jn_aws": plant("AKIAJNPLANTEDKEY0042", "aws_access_key"),
    "jn_github": plant("ghp_jnCloneTokenZyXwVuTsRqPoNmLk987654321", "github_token"),
    "jn_gitlab": plant("glpat-jnGitlabTok-AbCdEf123", "gitlab_token"),
    "jn_slack": plant("xoxb-2042-jnSlackBotToken", "slack_token"),
    "jn_aws_secret": plant("jnAwsSecretKeyAbCdEfGhIjKlMnOpQrStUvWxYz", "aws_secret_key"),
    "jn_assign": plant("jnMigratePw-Op0As2Df4", "secret_assignment"),
    "jn_mysql": plant("jnMysqlPw-Gh6Jk8Lz0", "password_option"),
    "jn_sshpass": plant("jnSshPass-Xc2Vb4Nm6", "password_option"),
    "jn_clientsecret": plant("jnClientSecret-Qw8Er0Ty2", "token_option"),
    "ct_key1": plant("MIIEowIBAAKCAQEAct0PlantedPrivateKeyBodyLineOneAbCdEfGhIjKlMnOp", "private_key", "ct_key"),
    "ct_key2": plant("ct0PlantedPrivateKeyBodyLineTwoQrStUvWxYz0123==", "private_key", "ct_key"),
    "sy_cert1": plant("MIIDsy0PlantedCertificateBodyLineOneAbCdEfGhIjKlMnOpQrStUv", "certificate", "sy_cert"),
    "sy_cert2": plant("sy0PlantedCertificateBodyLineTwoWxYz9876543210=", "certificate", "sy_cert"),
    "sy_backup": plant("syBackupPw-Ui4Op6As8", "password_option"),
    "sy_assign": plant("sySecretKey-Df0Gh2Jk4", "secret_assignment"),
    "sy_url": plant("syPgPass-Lz6Xc8Vb0", "url_credentials"),
    "cm_pw": plant("cmDatasourcePw-Nm2Qw4Er6", "password_option"),
    "cm_token": plant("cmVaultTok-Ty8Ui0Op2", "token_option"),
    "en_pw": plant("enDbPass-As4Df6Gh8", "environ_file", "environ"),
    "en_key": plant("enApiKey-Jk0Lz2Xc4", "environ_file", "environ"),
    "raw_cmd": plant("rawMysqlPw-Vb6Nm8Qw0", "cmdline_file"),
    "dm_assign": plant("dmVaultTok-Er2Ty4Ui6", "secret_assignment"),
    "kp_env": plant("kpEnvTok-Op8As0Df2", "env_value"),
    "kp_split": plant("kpSplitPw-Gh4Jk6Lz8", "password_option"),
}

POD_JSON = json.dumps({
    "apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""},
    "items": [{
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": json.dumps({
                "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "cart-7d9f", "namespace": "shop"},
                "spec": {"containers": [{"env": [{"name": "LAST_APPLIED_PW", "value": S["pj_lastapplied"]}],
                                         "image": "python:3", "name": "worker"}]}}, separators=(",", ":")) + "\n"},
            "name": "cart-7d9f", "namespace": "shop", "uid": POD_UID,
        },
        "spec": {
            "containers": [{
                "args": [f"--db-password={S['pj_dbpw']}", "--password", S["pj_split"], f"--auth-token={S['pj_authtoken']}"],
                "env": [{"name": "DB_URL", "value": S["pj_env1"]}, {"name": "MODE", "value": S["pj_env2"]}],
                "image": "python:3", "name": "worker",
                "resources": {"limits": {"memory": "128Mi"}, "requests": {"memory": "64Mi"}},
            }],
            "nodeName": "node-17",
        },
        "status": {
            "containerStatuses": [{
                "containerID": f"containerd://{CONTAINER_ID}", "image": "python:3", "name": "worker", "ready": True,
                "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled", "startedAt": "2026-11-24T12:40:05Z",
                                             "finishedAt": "2026-11-24T12:42:53Z", "containerID": f"containerd://{CONTAINER_ID}"}},
                "restartCount": 1, "state": {"running": {"startedAt": "2026-11-24T12:43:00Z"}},
            }],
            "hostIP": "10.20.30.40", "podIP": "10.244.1.7", "phase": "Running", "qosClass": "Burstable",
        },
    }],
}, indent=4) + "\n"

POD_YAML = f"""apiVersion: v1
items:
- apiVersion: v1
  kind: Pod
  metadata:
    name: billing-5c8d
    namespace: shop
    uid: 7f0e3a52-9b1c-4d6e-8f2a-3c5b7d9e1f20
  spec:
    containers:
    - args:
      - --token
      - {S['py_split']}
      env:
      - name: API_HOST
        value: {S['py_env']}
      - name: CA_BUNDLE
        value: |
          first-{S['py_block']}
          second line of the bundle
      image: python:3
      name: billing
    nodeName: node-17
  status:
    phase: Running
    qosClass: BestEffort
- apiVersion: v1
  data:
    password: {S['py_secret_data']}
  kind: Secret
  metadata:
    name: db
    namespace: shop
  stringData:
    api-url: {S['py_string_data']}
  type: Opaque
kind: List
"""

DESCRIBE = f"""Name:             cart-7d9f
Namespace:        shop
Priority:         0
Service Account:  default
Node:             node-17/10.20.30.40
Start Time:       Tue, 24 Nov 2026 12:40:01 +0000
Labels:           app=cart
Annotations:      <none>
Status:           Running
IP:               10.244.1.7
IPs:
  IP:  10.244.1.7
Containers:
  worker:
    Container ID:  containerd://{CONTAINER_ID}
    Image:         python:3
    Image ID:      docker.io/library/python@sha256:4f1c0d7e2b9a8c6d5e3f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d
    Port:          <none>
    Host Port:     <none>
    Command:
      python3
      /app/eat.py
      --password
      {S['ds_split']}
    Args:
      --token={S['ds_token']}
    State:          Running
      Started:      Tue, 24 Nov 2026 12:43:00 +0000
    Last State:     Terminated
      Reason:       OOMKilled
      Exit Code:    137
      Started:      Tue, 24 Nov 2026 12:40:05 +0000
      Finished:     Tue, 24 Nov 2026 12:42:53 +0000
    Ready:          True
    Restart Count:  1
    Limits:
      memory:  128Mi
    Requests:
      memory:  64Mi
    Environment:
      DB_PASSWORD:  {S['ds_env1']}
      MODE:         {S['ds_env2']}
      DB_USER:      <set to the key 'user' in secret 'db'>  Optional: false
    Mounts:
      /var/run/secrets/kubernetes.io/serviceaccount from kube-api-access-x7k2p (ro)
Conditions:
  Type              Status
  Ready             True
QoS Class:                   Burstable
Node-Selectors:              <none>
Events:                      <none>
"""

DOCKER_INSPECT = json.dumps([{
    "Id": CONTAINER_ID, "Name": f"/k8s_worker_cart-7d9f_shop_{POD_UID}_1",
    "State": {"Status": "exited", "OOMKilled": True, "ExitCode": 137, "Pid": 0,
              "StartedAt": "2026-11-24T12:40:05.000000000Z", "FinishedAt": "2026-11-24T12:42:53.000000000Z"},
    "HostConfig": {"Memory": 134217728, "CgroupParent": f"/kubepods/burstable/pod{POD_UID}"},
    "Config": {
        "Hostname": "cart-7d9f",
        "Env": [f"DB_PASSWORD={S['dk_env']}", f"GITHUB_TOKEN={S['dk_gh_env']}", f"PATH={S['dk_path']}"],
        "Cmd": ["sh", "-c", f"export API_TOKEN={S['dk_assign']} && exec python3 /app/eat.py"],
        "Labels": {"io.kubernetes.pod.name": "cart-7d9f", "io.kubernetes.pod.namespace": "shop",
                   "io.kubernetes.pod.uid": POD_UID, "io.kubernetes.container.name": "worker"},
    },
}], indent=4) + "\n"

CRICTL_INSPECT = json.dumps({
    "status": {
        "id": CRI_ID, "metadata": {"attempt": 0, "name": "billing"}, "state": "CONTAINER_EXITED",
        "exitCode": 1, "reason": "Error",
        "annotations": {"io.example/ca.crt": f"-----BEGIN CERTIFICATE-----\n{S['cr_cert']}\n-----END CERTIFICATE-----\n"},
        "labels": {"io.kubernetes.pod.name": "billing-5c8d", "io.kubernetes.pod.namespace": "shop"},
    },
    "info": {
        "pid": 0, "sandboxID": "9a8b7c6d5e4f",
        "config": {"metadata": {"name": "billing"}, "envs": [{"key": "API_SECRET", "value": S["cr_env"]}]},
        "runtimeSpec": {"process": {"env": [f"PATH={S['cr_path']}", f"SECRET_KEY={S['cr_spec_env']}"], "args": ["python3", "/app/bill.py"]}},
    },
}, indent=2) + "\n"

KUBELET_PODS = json.dumps({"kind": "PodList", "apiVersion": "v1", "items": [{
    "metadata": {"name": "api-6f7c", "namespace": "web", "uid": "3b9d2c4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e"},
    "spec": {"containers": [{"name": "api", "args": ["--password", S["kp_split"]], "env": [{"name": "TOKEN", "value": S["kp_env"]}]}],
             "nodeName": "node-17"},
    "status": {"phase": "Running", "qosClass": "BestEffort"},
}]}, separators=(",", ":")) + "\n"

KUBELET_CONFIG = f"""apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: cgroupfs
evictionHard:
  memory.available: 100Mi
staticPodURL: https://config.corp.example.com/static-pods
staticPodURLHeader:
  Authorization:
  - Bearer {S['kc_bearer']}
"""

KUBECONFIG = f"""apiVersion: v1
clusters:
- cluster:
    server: https://api.corp.example.com:6443
  name: default-cluster
contexts:
- context:
    cluster: default-cluster
    user: default-auth
  name: default-context
current-context: default-context
kind: Config
users:
- name: default-auth
  user:
    client-certificate-data: {S['kf_cert']}
    client-key-data: {S['kf_key']}
    token: {S['kf_token']}
    password: {S['kf_password']}
"""

J = "2026-11-24T12:41:{:02d}.000000+00:00 node-17 kubelet[812]: "
KUBELET_JOURNAL = "".join(J.format(n) + line + "\n" for n, line in enumerate([
    f"I1124 12:41:00.000000     812 round_trippers.go:466] curl -v -XGET  -H \"Authorization: Basic {S['jn_basic']}\" 'https://10.20.30.40:6443/api/v1/nodes/node-17'",
    f"I1124 12:41:01.000000     812 round_trippers.go:466] curl -v -XGET  -H \"X-Api-Key: {S['jn_apikey']}\" 'https://10.20.30.41/metrics'",
    f"I1124 12:41:02.000000     812 kuberuntime_image.go:50] pulling from https://robot:{S['jn_url']}@registry.corp.example.com/v2/shop/cart",
    f"E1124 12:41:03.000000     812 server.go:300] service account token {S['jn_jwt']} expired",
    f"I1124 12:41:04.000000     812 probe.go:80] probe uses bearer {S['jn_bearer']}",
    f"W1124 12:41:05.000000     812 bootstrap.go:60] bootstrap token {S['jn_kubeadm']} is expired",
    f"I1124 12:41:06.000000     812 credential.go:70] using AWS key {S['jn_aws']} for ECR",
    f"I1124 12:41:07.000000     812 gitrepo.go:40] cloning https://{S['jn_github']}@github.com/shop/config",
    f"I1124 12:41:08.000000     812 gitrepo.go:41] gitlab deploy token {S['jn_gitlab']} used",
    f"I1124 12:41:09.000000     812 notify.go:20] slack bot {S['jn_slack']} posting",
    f"I1124 12:41:10.000000     812 credential.go:71] read aws_secret_access_key={S['jn_aws_secret']} from env",
    f"I1124 12:41:11.000000     812 exec.go:90] Running \"env DB_PASSWORD={S['jn_assign']} ./migrate\"",
    f"I1124 12:41:12.000000     812 exec.go:91] exec: mysql -h db -u root -p{S['jn_mysql']} shop",
    f"I1124 12:41:13.000000     812 exec.go:92] exec: sshpass -p {S['jn_sshpass']} ssh backup@10.20.30.41",
    f"I1124 12:41:14.000000     812 plugin.go:33] credential provider called with --client-secret {S['jn_clientsecret']}",
])) + f"{J.format(15)}I1124 12:41:15.000000     812 eviction_manager.go:300] \"Eviction manager: no resources are starved\"\n"

C = "2026-11-24T12:42:{:02d}.000000+00:00 node-17 containerd[700]: "
CONTAINERD_JOURNAL = (
    C.format(0) + 'time="2026-11-24T12:42:00Z" level=info msg="StartContainer for \\"worker\\""\n'
    + C.format(1) + "-----BEGIN RSA PRIVATE KEY-----\n"
    + C.format(1) + S["ct_key1"] + "\n"
    + C.format(1) + S["ct_key2"] + "\n"
    + C.format(1) + "-----END RSA PRIVATE KEY-----\n"
    + C.format(53) + f'time="2026-11-24T12:42:53Z" level=info msg="TaskOOM event container_id:\\"{CONTAINER_ID}\\""\n'
)

Y = "Nov 24 12:41:{:02d} node-17.corp.example.com {}: "
SYSLOG = "".join([
    Y.format(0, "CRON[901]") + f"(root) CMD (/usr/local/bin/backup --password={S['sy_backup']})\n",
    Y.format(1, "app[902]") + f"export SECRET_KEY={S['sy_assign']}\n",
    Y.format(2, "app[902]") + f"connecting to postgres://app:{S['sy_url']}@db.corp.example.com:5432/shop\n",
    Y.format(3, "app[902]") + "-----BEGIN CERTIFICATE-----\n",
    Y.format(3, "app[902]") + S["sy_cert1"] + "\n",
    Y.format(3, "app[902]") + S["sy_cert2"] + "\n",
    Y.format(3, "app[902]") + "-----END CERTIFICATE-----\n",
])

CMDLINE_ARGS = ["java", "-jar", "/app/app.jar", f"--spring.datasource.password={S['cm_pw']}", "--vault-token", S["cm_token"]]
ENVIRON = f"PATH=/usr/bin\0DB_PASSWORD={S['en_pw']}\0API_KEY={S['en_key']}\0HOSTNAME=cart-7d9f\0"
RAW_CMDLINE = f"mysql\0-uroot\0-p{S['raw_cmd']}\0shop\0"
DMESG_LINE = f"[ 3400.000000] Kernel command line: BOOT_IMAGE=/vmlinuz root=/dev/vda1 ro vault_token={S['dm_assign']}\n"

# member (under the bundle's top folder) -> text; environ and the raw cmdline keep their NULs
HAND_WRITTEN = {
    "commands/kubectl-get-pods.json": POD_JSON,
    "commands/kubectl-get-pod-billing.yaml": POD_YAML,
    "commands/kubectl-describe-pod-shop-cart-7d9f.txt": DESCRIBE,
    f"commands/docker-inspect-{CONTAINER_ID}.json": DOCKER_INSPECT,
    f"commands/crictl-inspect-{CRI_ID}.json": CRICTL_INSPECT,
    "commands/kubelet-pods.json": KUBELET_PODS,
    "commands/journalctl-u-kubelet.txt": KUBELET_JOURNAL,
    "commands/journalctl-u-containerd.txt": CONTAINERD_JOURNAL,
    "var/lib/kubelet/config.yaml": KUBELET_CONFIG,
    "etc/kubernetes/kubelet.conf": KUBECONFIG,
    "var/log/syslog": SYSLOG,
    "proc/4242/cmdline": " ".join(CMDLINE_ARGS) + "\n",
    "proc/4242/environ": ENVIRON,
    "proc/4243/cmdline": RAW_CMDLINE,
}


def expected_counts() -> Counter:
    return Counter(p.kind for p in {p.unit: p for p in PLANTS}.values())


def test_at_least_50_distinct_secrets_of_every_kind():
    secrets = [p.secret for p in PLANTS]
    assert len(secrets) >= 50 and len(set(secrets)) == len(secrets)
    assert not [a for a in secrets for b in secrets if a != b and a in b], "no secret inside another"
    assert len(expected_counts()) >= 18


# --- building and reading bundles -------------------------------------------------------------


@pytest.fixture(scope="module")
def planted(tmp_path_factory) -> Path:
    """The lab bundle plus the hand-written artifacts, as a .tar.gz."""
    work = tmp_path_factory.mktemp("planted")
    top = extract_bundle(LAB, work / "x")
    for name, text in HAND_WRITTEN.items():
        target = top / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text.encode())
    with (top / "commands" / "dmesg.txt").open("a") as dmesg:
        dmesg.write(DMESG_LINE)
    archive = work / "planted.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(top, arcname=top.name)
    return archive


def members_of(archive: Path) -> dict[str, bytes]:
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as z:
            return {i.filename: z.read(i) for i in z.infolist() if not i.is_dir()}
    with tarfile.open(archive) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def leaks(members: dict[str, bytes], needles) -> list[str]:
    """Needles found in any member's bytes or any member name."""
    found = []
    for needle in needles:
        raw = needle.encode()
        for name, data in members.items():
            if raw in data or needle in name:
                found.append(f"{needle!r} in {name}")
    return found


def run_cli(*args, cwd=ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analyzer.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=300, cwd=cwd)


def analysis(bundle: Path) -> dict:
    run = run_cli("analyze", bundle, "-f", "json", "-o", "-")
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def essentials(report: dict) -> dict:
    """What a user compares between two reports of one incident (host names and IPs aside)."""
    incidents = []
    for i in report["incidents"]:
        incidents.append({
            "kind": i["kind"], "victim": (i.get("victim") or {}).get("pid"), "pod": (i.get("pod") or {}).get("uid"),
            "pod_name": ((i.get("pod") or {}).get("namespace"), (i.get("pod") or {}).get("name")),
            "container": (i.get("container") or {}).get("id"), "limit": (i.get("memcg") or {}).get("limit_bytes"),
            "findings": sorted(f["code"] for f in i.get("findings", [])),
        })
    containers = sorted((c.get("pod_uid") or "", c.get("container_id") or "", c.get("limit_bytes") or 0, c.get("usage_bytes") or 0)
                        for c in report["containers"])
    return {"incidents": incidents, "containers": containers}


@pytest.fixture(scope="module")
def redacted(planted, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    out = tmp_path_factory.mktemp("redacted") / "shared.tar.gz"
    run = run_cli("redact", planted, "-o", out, "--hostnames", "--ips")
    assert run.returncode == 0, run.stderr
    return out, run


# --- podmortem redact ----------------------------------------------------------------------


def test_the_planted_bundle_really_holds_every_secret(planted):
    everything = members_of(planted)
    missing = [p.secret for p in PLANTS if not leaks(everything, [p.secret])]
    assert missing == [], "the planted bundle must hold every secret, or the redaction test proves nothing"


def test_redact_leaves_none_of_the_planted_secrets(redacted):
    out, _ = redacted
    members = members_of(out)
    assert leaks(members, [p.secret for p in PLANTS]) == []


def test_redact_counts_match_the_planted_counts_by_kind(redacted):
    out, run = redacted
    members = members_of(out)
    (report_name,) = [n for n in members if n.endswith("/redaction-report.json")]
    report = json.loads(members[report_name])
    assert report["totals"] == dict(expected_counts())
    assert sum(report["totals"].values()) == sum(c for f in report["files"] for c in f["counts"].values())
    assert f"{sum(expected_counts().values())} replacement(s)" in run.stdout
    assert not leaks({report_name: members[report_name], "stdout": run.stdout.encode()}, [p.secret for p in PLANTS])


def test_hostnames_and_ips_become_consistent_pseudonyms(redacted):
    out, _ = redacted
    members = members_of(out)
    assert leaks(members, HOSTS + IPS) == []
    top = next(iter(members)).split("/")[0]
    assert top.startswith("podmortem-host-") and "vm" not in top.split("-")
    pod = json.loads(members[f"{top}/commands/kubectl-get-pods.json"])["items"][0]
    node, host_ip = pod["spec"]["nodeName"], pod["status"]["hostIP"]
    assert node.startswith("host-") and host_ip.startswith("10.255.")
    describe = members[f"{top}/commands/kubectl-describe-pod-shop-cart-7d9f.txt"].decode()
    assert f"Node:             {node}/{host_ip}\n" in describe, "the same host and IP get the same pseudonyms everywhere"
    assert f" {node} kubelet[812]: " in members[f"{top}/commands/journalctl-u-kubelet.txt"].decode()
    syslog = members[f"{top}/var/log/syslog"].decode()
    assert f" {node}.domain-1.example CRON[901]" in syslog
    manifest = json.loads(members[f"{top}/manifest.json"])
    assert manifest["hostname"].startswith("host-") and manifest["redacted"] is True
    assert f"{top}/proc/sys/vm/overcommit_memory" in members, "node paths are kept (the host is called 'vm')"


def test_redacted_bundle_gives_the_same_analysis(planted, redacted):
    before, after = analysis(planted), analysis(redacted[0])
    assert essentials(after) == essentials(before)
    lab = next(i for i in after["incidents"] if i.get("victim", {}).get("pid") == 15510)
    assert lab["pod"]["uid"] == POD_UID and lab["container"]["id"] == CONTAINER_ID
    assert lab["memcg"]["limit_bytes"] == 134217728
    assert lab["host"].startswith("host-")


def test_reports_of_the_unredacted_bundle_show_no_secret(planted, tmp_path):
    for fmt in ("json", "md", "html"):
        target = tmp_path / f"report.{fmt}"
        run = run_cli("analyze", planted, "-f", fmt, "-o", target)
        assert run.returncode == 0, run.stderr
        text = target.read_bytes()
        env_values = [p.secret for p in PLANTS if p.kind in ("env_value", "environ_file")]
        assert leaks({fmt: text}, env_values) == [], f"the {fmt} report shows an env value"
        assert leaks({fmt: text}, [p.secret for p in PLANTS]) == [], f"the {fmt} report shows a secret"


def test_python_rules_equal_sed_on_every_planted_artifact(tmp_path):
    """The one rule definition, run by GNU sed, busybox sed and Python, gives the same bytes."""
    rules_file = tmp_path / "rules.sed"
    rules_file.write_text(subprocess.run(["sh", str(COLLECTOR), "--print-redact-rules"], capture_output=True, text=True,
                                         check=True).stdout)
    seds = [["sed", "-E"]] + ([["busybox", "sed", "-E"]] if shutil.which("busybox") else [])
    texts = {**HAND_WRITTEN, "dmesg-line": DMESG_LINE}
    texts = {k: v for k, v in texts.items() if "\0" not in v}
    for name, text in texts.items():
        ours = apply_rules(text, load_rules(), Counter())
        assert ours != text, f"the rules found nothing in {name}"
        for sed in seds:
            theirs = subprocess.run([*sed, "-f", str(rules_file)], input=text, capture_output=True, text=True, check=True).stdout
            assert ours == theirs, f"{' '.join(sed)} and Python differ on {name}"


@pytest.mark.parametrize("path", corpus_files("k8s") + corpus_files("kernel-oom"), ids=lambda p: p.name)
def test_python_rules_equal_sed_on_the_corpus(corpus_dir, path, tmp_path):
    rules_file = tmp_path / "rules.sed"
    rules_file.write_text(subprocess.run(["sh", str(COLLECTOR), "--print-redact-rules"], capture_output=True, text=True,
                                         check=True).stdout)
    text = path.read_bytes().decode("utf-8", "replace").replace("\r\n", "\n").replace("\x00", "")
    theirs = subprocess.run(["sed", "-E", "-f", str(rules_file)], input=text, capture_output=True, text=True, check=True).stdout
    assert apply_rules(text, load_rules(), Counter()) == theirs


def test_rules_are_loaded_from_the_collector_script():
    printed = subprocess.run(["sh", str(COLLECTOR), "--print-redact-rules"], capture_output=True, text=True, check=True).stdout
    assert [r.sed for r in parse_rules(printed)] == [r.sed for r in load_rules()]
    assert {"env_value", "private_key", "jwt", "kubeadm_token", "url_credentials"} <= {r.kind for r in load_rules()}


def test_output_exists_needs_force_and_errors_are_one_line(planted, tmp_path):
    out = tmp_path / "out.tar.gz"
    out.write_bytes(b"keep me")
    refused = run_cli("redact", planted, "-o", out)
    assert refused.returncode == 2 and out.read_bytes() == b"keep me"
    assert refused.stderr.strip().count("\n") == 0 and "--force" in refused.stderr
    forced = run_cli("redact", planted, "-o", out, "--force")
    assert forced.returncode == 0, forced.stderr
    assert any(n.endswith("redaction-report.json") for n in members_of(out))
    missing = run_cli("redact", tmp_path / "nope.tar.gz", "-o", tmp_path / "x.tar.gz")
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert not (tmp_path / "x.tar.gz").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.tar.gz"], "no temporary file left behind"


def test_zip_output_and_directory_input(planted, tmp_path):
    extract_bundle(planted, tmp_path / "dir")
    result = redact_bundle(tmp_path / "dir", tmp_path / "shared.zip")
    members = members_of(tmp_path / "shared.zip")
    assert leaks(members, [p.secret for p in PLANTS]) == []
    assert result.totals == expected_counts()


def test_hostile_members_are_never_written_outside(tmp_path):
    """HAND-WRITTEN hostile archive: '../' and absolute member names, a symlink out of the bundle."""
    archive = tmp_path / "in" / "hostile.tar"
    archive.parent.mkdir()
    secret = S["jn_url"]
    with tarfile.open(archive, "w") as tar:
        for name, data in {"b/commands/dmesg.txt": f"[1.0] x --password={secret}\n",
                           "../escape.txt": f"PASSWORD={secret}\n", "/tmp/podmortem-abs-evil.txt": "absolute\n",
                           "b/../../escape2.txt": "up\n"}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data.encode())
            tar.addfile(info, io.BytesIO(data.encode()))
        link = tarfile.TarInfo("b/link")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    run = run_cli("redact", archive, "-o", out_dir / "clean.tar.gz", cwd=out_dir)
    assert run.returncode == 0, run.stderr
    assert sorted(p.name for p in out_dir.iterdir()) == ["clean.tar.gz"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "out"]
    assert not Path("/tmp/podmortem-abs-evil.txt").exists()
    members = members_of(out_dir / "clean.tar.gz")
    assert all(not n.startswith("/") and ".." not in n.split("/") for n in members)
    assert set(members) == {"b/commands/dmesg.txt", "b/redaction-report.json"}
    assert secret.encode() not in b"".join(members.values())
    dropped = {d["path"] for d in json.loads(members["b/redaction-report.json"])["dropped"]}
    assert {"../escape.txt", "/tmp/podmortem-abs-evil.txt", "b/link"} <= dropped


# --- the collector with redaction on, over a fake node holding the same secrets ----------------


def _fake_commands(tmp: Path) -> Path:
    data = tmp / "data"
    data.mkdir()
    texts = {"pods.json": POD_JSON, "describe.txt": DESCRIBE, "docker.json": DOCKER_INSPECT, "crictl.json": CRICTL_INSPECT,
             "kubelet-pods.json": KUBELET_PODS, "kubelet.log": KUBELET_JOURNAL, "containerd.log": CONTAINERD_JOURNAL,
             "dmesg.txt": "[ 3366.299990] Memory cgroup out of memory: Killed process 15510 (python3) total-vm:140952kB\n" + DMESG_LINE}
    for name, text in texts.items():
        (data / name).write_text(text)
    bindir = tmp / "fakebin"
    bindir.mkdir()
    scripts = {
        "kubectl": f"""case "$*" in
  version*) echo "Client Version: v1.31.0" ;;
  *proxy/configz*) echo '{{"kubeletconfig":{{"evictionHard":{{"memory.available":"100Mi"}}}}}}' ;;
  *proxy/stats/summary*) echo '{{"node":{{"nodeName":"node-17"}},"pods":[]}}' ;;
  *proxy/pods*) cat {data}/kubelet-pods.json ;;
  *jsonpath*) echo "shop cart-7d9f OOMKilled 1 OOMKilled" ;;
  "get pods"*) cat {data}/pods.json ;;
  "describe pod"*) cat {data}/describe.txt ;;
  "describe node"*) echo "Name: node-17" ;;
  "get events"*) echo '{{"kind":"List","items":[]}}' ;;
  *) exit 1 ;;
esac
""",
        "crictl": f"""case "$1" in
  ps) printf 'CONTAINER IMAGE CREATED STATE NAME ATTEMPT POD ID\\n{CRI_ID} python 1m Exited billing 1 9a8b7c6d5e4f\\n' ;;
  inspect) cat {data}/crictl.json ;;
  stats) echo '{{"stats":[]}}' ;;
  *) : ;;
esac
""",
        "docker": f"""case "$1" in
  ps) printf 'CONTAINER ID IMAGE COMMAND CREATED STATUS PORTS NAMES\\n{CONTAINER_ID} python "sh" 1m Exited k8s_worker\\n' ;;
  inspect) cat {data}/docker.json ;;
  *) : ;;
esac
""",
        "journalctl": f"""case "$*" in
  *"-u kubelet"*) cat {data}/kubelet.log ;;
  *"-u containerd"*) cat {data}/containerd.log ;;
  *"-k"*) cat {data}/dmesg.txt ;;
  *) echo "-- No entries --" ;;
esac
""",
        "dmesg": f"cat {data}/dmesg.txt\n",
    }
    for name, body in scripts.items():
        (bindir / name).write_text("#!/bin/sh\n" + body)
        (bindir / name).chmod(0o755)
    return bindir


def _fake_root(tmp: Path) -> Path:
    tree = tmp / "node"
    fake_node.build(tree, pods=2, containers=1, version=1)
    procs = next(tree.glob("sys/fs/cgroup/memory/kubepods/burstable/pod*/*/cgroup.procs"))
    procs.write_text("4242\n4243\n")
    for name, text in HAND_WRITTEN.items():
        if name.startswith(("var/", "etc/", "proc/4243/", "proc/4242/environ")):
            target = tree / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(text.encode())
    (tree / "proc/4242/cmdline").write_bytes("\0".join(CMDLINE_ARGS).encode() + b"\0")  # as the kernel writes it
    return tree


SHELLS = [s for s in (["dash"], ["busybox", "ash"]) if shutil.which(s[0])]


@pytest.mark.parametrize("shell", SHELLS, ids=[s[0] for s in SHELLS])
def test_collector_with_redaction_leaves_none_of_the_secrets(tmp_path, shell):
    bindir = _fake_commands(tmp_path)
    tree = _fake_root(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    run = subprocess.run([*shell, str(COLLECTOR), "--root", str(tree), "--output", str(out), "--node", "node-17", "--quiet",
                          "--max-seconds", "120"], capture_output=True, text=True, timeout=180,
                         env={**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}"})
    assert run.returncode == 0, run.stderr
    members = {n.split("/", 1)[1]: d for n, d in members_of(Path(run.stdout.strip())).items()}
    collected = ["commands/kubectl-get-pods.json", "commands/kubectl-describe-pod-shop-cart-7d9f.txt",
                 f"commands/docker-inspect-{CONTAINER_ID}.json", f"commands/crictl-inspect-{CRI_ID}.json",
                 "commands/kubelet-pods.json", "commands/journalctl-u-kubelet.txt", "commands/journalctl-u-containerd.txt",
                 "var/log/syslog", "var/lib/kubelet/config.yaml", "etc/kubernetes/kubelet.conf",
                 "proc/4242/cmdline", "proc/4243/cmdline"]
    if b"Killed process 15510" in members["commands/dmesg.txt"]:  # busybox ash runs its own dmesg applet, not ours
        collected.append("commands/dmesg.txt")
    for name in collected:
        assert b"[REDACTED]" in members[name], f"{name} was collected and redacted"
    assert leaks(members, [p.secret for p in PLANTS]) == []
    json.loads(members["commands/kubectl-get-pods.json"])  # still valid JSON
    json.loads(members[f"commands/docker-inspect-{CONTAINER_ID}.json"])


def test_pseudonyms_spare_words_and_node_paths():
    """HAND-WRITTEN texts: a node called 'vm' (as the lab's) and one with a long name."""
    from analyzer.artifacts import Artifact, ArtifactKind
    from analyzer.redact import Pseudonyms

    names = Pseudonyms(hostnames=True, ips=True)
    names.learn([Artifact(path="b/manifest.json", kind=ArtifactKind.MANIFEST, size=0,
                          text='{"hostname": "vm", "node": "worker-node-3"}\n')])
    counts = Counter()
    text = names.apply(
        "total-vm:1kB proc/sys/vm/x vm.overcommit_memory=1\nNov 24 12:00:00 vm kernel: oom\n"
        "pod etcd-worker-node-3 GET /api/v1/nodes/worker-node-3 from 10.1.2.3 and 127.0.0.1 to 10.1.2.3\n"
        '{"node": {"name": "worker-node-3"}} commands/kubectl-describe-pod-etcd-worker-node-3.txt\n', counts)
    assert text == (
        "total-vm:1kB proc/sys/vm/x vm.overcommit_memory=1\nNov 24 12:00:00 host-1 kernel: oom\n"
        "pod etcd-host-2 GET /api/v1/nodes/host-2 from 10.255.0.1 and 127.0.0.1 to 10.255.0.1\n"
        '{"node": {"name": "host-2"}} commands/kubectl-describe-pod-etcd-host-2.txt\n')
    assert counts == {"hostname": 5, "ip_address": 2}
    assert names.member_name("podmortem-vm-20261124T124253Z/proc/sys/vm/panic_on_oom", "proc/sys/vm/panic_on_oom") == \
        "podmortem-host-1-20261124T124253Z/proc/sys/vm/panic_on_oom"
