"""Where the sandbox's binaries live, and how to get them built.

Versions are pinned in ``versions.env`` only (shared with ``build.sh``); this module parses that file.
Two sets: the control plane (every sandbox; ``build.sh``) and the real node (``Sandbox(real_node=True)``;
``build.sh real-node``), so that a sandbox of kwok nodes alone never waits for containerd to build.

The control plane also comes in the other Kubernetes versions of ``KUBERNETES_VERSIONS`` (the version matrix;
``build.sh control-plane VERSION`` or ``build.sh matrix``): kube-apiserver, kube-controller-manager and
kube-scheduler only. etcd, kwok, kubectl and the real node stay at their pinned versions.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
VERSIONS_FILE = HERE / "versions.env"
BUILD_SCRIPT = HERE / "build.sh"

# component -> (versions.env key, cache dir prefix, binaries)
COMPONENTS = {
    "kubernetes": (
        "KUBERNETES_VERSION",
        "k8s",
        ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl"),
    ),
    "etcd": ("ETCD_VERSION", "etcd", ("etcd",)),
    "kwok": ("KWOK_VERSION", "kwok", ("kwok",)),
}

# the real node's components, same shape; the kubelet shares the control plane's version and directory
REAL_NODE_COMPONENTS = {
    "kubelet": ("KUBERNETES_VERSION", "k8s", ("kubelet",)),
    "containerd": ("CONTAINERD_VERSION", "containerd", ("containerd", "containerd-shim-runc-v2", "ctr")),
    "cni-plugins": ("CNI_PLUGINS_VERSION", "cni-plugins", ("bridge", "host-local", "loopback")),
    "runc": ("RUNC_VERSION", "runc", ("runc",)),
    # gVisor, the node's `runsc` runtime handler (RuntimeClass gvisor)
    "gvisor": ("GVISOR_VERSION", "gvisor", ("runsc", "containerd-shim-runsc-v1")),
    # Kubernetes' DRA test driver (test/e2e/dra/test-driver): a kubelet plugin that prepares claims through CDI
    "dra-test-driver": ("KUBERNETES_VERSION", "k8s", ("dra-test-driver",)),
}
IMAGES = ("pause", "probe")  # OCI archives <cache>/images-<SANDBOX_IMAGES_VERSION>/<name>.tar


# what a control plane of another Kubernetes version brings; the rest is shared with KUBERNETES_VERSION's
VERSIONED = ("kube-apiserver", "kube-controller-manager", "kube-scheduler")


class BinariesMissing(RuntimeError):
    pass


def versions() -> dict[str, str]:
    """KEY=VALUE pairs of versions.env (comments and blank lines ignored)."""
    out: dict[str, str] = {}
    for line in VERSIONS_FILE.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        out[key.strip()] = value.strip().strip('"').strip("'")
    return out


def cache_root() -> Path:
    return Path(os.environ.get("AICONF_CACHE") or Path.home() / ".cache" / "kubectl-aiconf")


def kubernetes_version() -> str:
    """The Kubernetes version a sandbox runs unless told otherwise (``KUBERNETES_VERSION``)."""
    return versions()["KUBERNETES_VERSION"]


def kubernetes_versions() -> list[str]:
    """The version matrix (``KUBERNETES_VERSIONS``), oldest first; always includes ``KUBERNETES_VERSION``."""
    listed = versions().get("KUBERNETES_VERSIONS", "").split() or [kubernetes_version()]
    return sorted({*listed, kubernetes_version()}, key=lambda v: tuple(int(x) for x in v.split(".")))


def resolve_version(version: str | None) -> str:
    """A matrix version from ``1.37.2``, ``v1.37.2`` or ``1.37`` (None: ``KUBERNETES_VERSION``). Raises
    ValueError for one outside the matrix: build.sh builds exactly the pinned patch releases."""
    if version is None:
        return kubernetes_version()
    want = version.strip().removeprefix("v")
    matrix = kubernetes_versions()
    for v in matrix:
        if want in (v, v.rpartition(".")[0]):
            return v
    raise ValueError(f"Kubernetes {version} is not in the version matrix ({', '.join(matrix)}; see versions.env)")


def kubernetes_binary(name: str, version: str | None = None) -> Path:
    """kube-apiserver, kube-controller-manager or kube-scheduler of a matrix version (None: the pinned one)."""
    if name not in VERSIONED:
        raise KeyError(name)
    return cache_root() / f"k8s-{resolve_version(version)}" / "bin" / name


def bin_dir(component: str) -> Path:
    """bin directory of a component (``kubernetes``, ``etcd``, ``kwok``, ``containerd``, ...) at its pinned
    version."""
    key, prefix, _ = {**COMPONENTS, **REAL_NODE_COMPONENTS}[component]
    return cache_root() / f"{prefix}-{versions()[key]}" / "bin"


def binary(name: str) -> Path:
    for table in (COMPONENTS, REAL_NODE_COMPONENTS):
        for component, (_, _, names) in table.items():
            if name in names:
                return bin_dir(component) / name
    raise KeyError(name)


def image_archive(name: str) -> Path:
    """The OCI archive of image ``pause`` or ``probe`` (see images/build_images.py)."""
    if name not in IMAGES:
        raise KeyError(name)
    return cache_root() / f"images-{versions()['SANDBOX_IMAGES_VERSION']}" / f"{name}.tar"


DEVICE_PLUGIN_SOURCE = HERE / "deviceplugin"


def device_plugin_binary() -> Path:
    """The test device plugin (deviceplugin/), cached under a hash of its sources as build.sh computes it."""
    src = DEVICE_PLUGIN_SOURCE
    files = [src / "go.mod", src / "go.sum", *sorted(src.glob("*.go"))]
    digest = hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()[:12]
    return cache_root() / f"deviceplugin-{digest}" / "bin" / "deviceplugin"


def missing(real_node: bool = False, kubernetes_version: str | None = None) -> list[Path]:
    """What is not built yet: the control plane's binaries (with ``kubernetes_version``, also that version's),
    or with ``real_node`` the real node's files."""
    out = []
    for component, (_, _, names) in (REAL_NODE_COMPONENTS if real_node else COMPONENTS).items():
        for name in names:
            path = bin_dir(component) / name
            if not os.access(path, os.X_OK):
                out.append(path)
    if not real_node and kubernetes_version is not None:
        out += [p for p in (kubernetes_binary(n, kubernetes_version) for n in VERSIONED) if not os.access(p, os.X_OK)]
    if real_node:
        out += [p for p in map(image_archive, IMAGES) if not p.is_file()]
        if not os.access(device_plugin_binary(), os.X_OK):
            out.append(device_plugin_binary())
    return out


def ensure(build: bool = True, real_node: bool = False, kubernetes_version: str | None = None) -> None:
    """Make sure every binary exists (with ``real_node``, those of the real node, and nothing else; with
    ``kubernetes_version``, also that version's control plane); run build.sh (6-9 min cold per Kubernetes
    version) if allowed, else raise BinariesMissing."""
    gone = missing(real_node, kubernetes_version)
    if not gone:
        return
    if real_node:
        target = ["real-node"]
    elif kubernetes_version is None:
        target = ["control-plane"]
    else:
        target = ["control-plane", resolve_version(kubernetes_version)]
    if not build:
        raise BinariesMissing(
            f"sandbox binaries missing (run tests/sandbox/build.sh {' '.join(target)}): " + ", ".join(map(str, gone))
        )
    print(
        f"[sandbox] binaries missing ({len(gone)}); running {BUILD_SCRIPT} {' '.join(target)} ...",
        file=sys.stderr,
        flush=True,
    )
    proc = subprocess.run(["bash", str(BUILD_SCRIPT), *target], stdout=subprocess.DEVNULL)
    gone = missing(real_node, kubernetes_version)
    if proc.returncode != 0 or gone:
        raise BinariesMissing(f"{BUILD_SCRIPT} exited {proc.returncode}; still missing: " + ", ".join(map(str, gone)))
