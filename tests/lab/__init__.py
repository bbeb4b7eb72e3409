"""Lab harness: real cgroup v1 memory cgroups at Kubernetes paths, real kernel OOM kills."""
