"""cgroup path -> QoS / pod UID / container ID, for both kubelet drivers and every runtime.

Paths are copied from real kernel logs in ../shared/corpus/kernel-oom (file named per case).
"""
import pytest

from analyzer.k8s_paths import ancestors, locate

CID = "beead52e53d4918e7b2820c2712151f2833e4055bc72abc9ea287a02459fc55a"


@pytest.mark.parametrize(
    "path, level, qos, uid, cid, runtime",
    [
        # 4.15-memcg-v1-blog-ieevee-shm-calloc.log: cgroupfs, Burstable, bare docker id
        (f"/kubepods/burstable/pod465a9fc1-0de9-44cd-b22c-7e6b23fd75f8/{CID}", "container", "Burstable",
         "465a9fc1-0de9-44cd-b22c-7e6b23fd75f8", CID, None),
        ("/kubepods/burstable/pod465a9fc1-0de9-44cd-b22c-7e6b23fd75f8", "pod", "Burstable",
         "465a9fc1-0de9-44cd-b22c-7e6b23fd75f8", None, None),
        # 3.10-memcg-v1-issue-k8s-56891: cgroupfs Guaranteed has no QoS tier
        (f"/kubepods/pod0f3b9c4e-aaaa-bbbb-cccc-0123456789ab/{CID}", "container", "Guaranteed",
         "0f3b9c4e-aaaa-bbbb-cccc-0123456789ab", CID, None),
        # systemd driver, containerd scope, underscores in the UID
        (f"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod17efb6ec_1111_2222_3333_444455556666.slice/cri-containerd-{CID}.scope",
         "container", "Burstable", "17efb6ec-1111-2222-3333-444455556666", CID, "containerd"),
        # systemd driver, Guaranteed, docker scope (4.19 loongarch java / ebpf agent style)
        (f"/kubepods.slice/kubepods-pod0a1b2c3d_0000_1111_2222_333344445555.slice/docker-{CID}.scope",
         "container", "Guaranteed", "0a1b2c3d-0000-1111-2222-333344445555", CID, "docker"),
        # CRI-O scope and its conmon sibling (not a container)
        (f"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod0a1b2c3d_0000_1111_2222_333344445555.slice/crio-{CID}.scope",
         "container", "BestEffort", "0a1b2c3d-0000-1111-2222-333344445555", CID, "cri-o"),
        (f"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod0a1b2c3d_0000_1111_2222_333344445555.slice/crio-conmon-{CID}.scope",
         "other", "BestEffort", "0a1b2c3d-0000-1111-2222-333344445555", None, None),
        ("/kubepods/besteffort", "qos", "BestEffort", None, None, None),
        ("/kubepods.slice/kubepods-burstable.slice", "qos", "Burstable", None, None, None),
        ("/kubepods", "node_allocatable", None, None, None, None),
        ("/kubepods.slice", "node_allocatable", None, None, None, None),
        # 5.15-memcg-v2-oomanalyser-proxmox-lxc.log: not Kubernetes at all
        ("/lxc/39004/ns/system.slice/docker-" + CID + ".scope", "other", None, None, None, None),
        ("/user.slice/user-504.slice/session-2.scope", "other", None, None, None, None),
    ],
)
def test_locate_maps_real_paths(path, level, qos, uid, cid, runtime):
    place = locate(path)
    assert (place.level, place.qos, place.pod_uid, place.container_id, place.runtime) == (level, qos, uid, cid, runtime)


def test_nested_kubepods_below_a_prefix_is_found():
    # k3s-in-LXC style nesting: the kubepods component is searched anywhere in the path
    place = locate(f"/lxc/7/kubepods/burstable/pod465a9fc1-0de9-44cd-b22c-7e6b23fd75f8/{CID}")
    assert place.level == "container" and place.kubepods_path == "/lxc/7/kubepods"


def test_garbage_paths_do_not_raise():
    for junk in ("", "/", "////", "kubepods/podzzz", "/kubepods/burstable/pod/" + "x" * 5000, None):
        assert locate(junk).level in ("other", "node_allocatable", "qos")


def test_ancestors_reach_the_root():
    assert ancestors("/kubepods/burstable/podx") == ["/kubepods/burstable/podx", "/kubepods/burstable", "/kubepods", "/"]
