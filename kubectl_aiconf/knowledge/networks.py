"""Specialised network devices (RDMA, SR-IOV, EFA, DRA NICs) and the stacks that expose them to pods."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from kubectl_aiconf.knowledge._base import Api, Component, Record, search


@dataclass(frozen=True)
class NetworkStack(Record):
    key: str
    name: str
    workloads: Component
    groups: tuple[str, ...] = ()  # API groups of its CRDs
    apis: tuple[Api, ...] = ()

    KIND = "network"


NETWORK_STACKS: tuple[NetworkStack, ...] = (
    NetworkStack(
        "multus",
        "Multus",
        Component(r"multus", r"multus-cni|/multus"),
        groups=("k8s.cni.cncf.io",),
        apis=(Api("k8s.cni.cncf.io", "network-attachment-definitions", "NetworkAttachmentDefinition"),),
    ),
    NetworkStack(
        "sriov",
        "SR-IOV",
        Component(r"sriov", r"sriov-(network|cni|device-plugin)"),
        groups=("sriovnetwork.openshift.io",),
    ),
    NetworkStack(
        "rdma",
        "RDMA device plugin",
        Component(r"rdma-(shared-)?dev(ice)?-plugin", r"k8s-rdma-shared-dev-plugin|rdma-device-plugin"),
    ),
    NetworkStack(
        "nvidia-network-operator",
        "NVIDIA Network Operator",
        Component(r"nvidia-network-operator", r"(mellanox|cloud-native)/network-operator"),
        groups=("mellanox.com",),
        apis=(Api("mellanox.com", "nicclusterpolicies", "NicClusterPolicy", False),),
    ),
    NetworkStack("dranet", "DRANET", Component(r"dranet", r"dranet")),
    NetworkStack("efa", "EFA device plugin", Component(r"efa-k8s-device-plugin|aws-efa", r"efa-k8s-device-plugin")),
)
BY_KEY: dict[str, NetworkStack] = {n.key: n for n in NETWORK_STACKS}

# DRA drivers that publish network devices: DRANET (dra.net) and other NIC/RDMA/SR-IOV drivers.
NET_DRIVER = (
    r"(?i)(^|[.-])(net|nic|nics|network|networking|netdev|efa|ib)([.-]|$)|dranet|rdma|sriov|"
    r"infiniband"
)
NET_ATTRIBUTE = r"(?i)rdma|ifname|infiniband|sriov|(^|/)mac(address)?$|(^|/)(nic|netdev|interface)"
# Extended resources of RDMA/SR-IOV/EFA device plugins and GKE multi-networking.
NET_RESOURCE = (
    r"(?i)^(rdma/.+|vpc\.amazonaws\.com/efa|[^/]+/.*sriov.*|mellanox\.com/.+|openshift\.io/.+|"
    r"nvidia\.com/(rdma|hostdev|ib|.*nic).*|networking\.gke\.io\.networks/.+)$"
)
# Node Feature Discovery labels that reveal RDMA/SR-IOV hardware (hints only).
NET_HARDWARE_LABELS = (
    "feature.node.kubernetes.io/rdma.capable",
    "feature.node.kubernetes.io/rdma.available",
    "feature.node.kubernetes.io/network-sriov.capable",
)
NET_CRD_GROUPS = tuple(dict.fromkeys(g for n in NETWORK_STACKS for g in n.groups))


def is_network_device(driver: str, attributes: Iterable[str] = ()) -> bool:
    """Whether the devices a DRA driver publishes are network devices: told by the driver's name or by one of
    the attribute names of its devices (a NIC driver with an unremarkable name still reports an interface)."""
    return search(NET_DRIVER, driver) or any(search(NET_ATTRIBUTE, a) for a in attributes)


def is_network_resource(name: str) -> bool:
    """Whether an extended resource hands out network devices (RDMA, SR-IOV VFs, EFA, GKE networks)."""
    return search(NET_RESOURCE, name)


def has_network_hardware(labels: Mapping[str, object] | None) -> bool:
    """Whether Node Feature Discovery labels a node as having RDMA or SR-IOV capable NICs."""
    return any((labels or {}).get(key) == "true" for key in NET_HARDWARE_LABELS)


RECORDS = NETWORK_STACKS
