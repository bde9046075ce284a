# shellcheck shell=bash disable=SC2034
# Versions and cache locations shared by the test/cluster scripts (sourced, not run).
# k8s 1.33: the last minors whose kubelet still starts on a cgroup v1 host without
# opting in (1.35 refuses cgroup v1 unless failCgroupV1=false).
K8S_VERSION="${DEVENV_TEST_K8S_VERSION:-v1.33.13}"
K3D_VERSION="${DEVENV_TEST_K3D_VERSION:-v5.8.3}"
REGISTRY_VERSION="${DEVENV_TEST_REGISTRY_VERSION:-v3.1.2}"
# CoreDNS v1.15.0 needs Go >= 1.26.0 (its go.mod); built with every in-tree plugin.
COREDNS_VERSION="${DEVENV_TEST_COREDNS_VERSION:-v1.15.0}"
PAUSE_VERSION="3.10"
PAUSE_IMAGE="registry.k8s.io/pause:${PAUSE_VERSION}"

CACHE="${DEVENV_TEST_CACHE:-/var/cache/devenv-test}"
KUBE_DIR="$CACHE/kubernetes-$K8S_VERSION"
K3D_BIN="$CACHE/k3d-$K3D_VERSION/bin/k3d"
REGISTRY_BIN="$CACHE/registry-$REGISTRY_VERSION/bin/registry"
COREDNS_BIN="$CACHE/coredns-$COREDNS_VERSION/bin/coredns"
PAUSE_DIR="$CACHE/pause-$PAUSE_VERSION"
STATE="${DEVENV_TEST_CLUSTER_DIR:-/tmp/devenv-test-cluster}"
CRI_CLEAN_BIN="$KUBE_DIR/cri-clean/bin/cri-clean"
