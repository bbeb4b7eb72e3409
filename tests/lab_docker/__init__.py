"""Docker lab: a private dockerd (Debian's docker.io) running busybox containers at Kubernetes cgroup paths."""
