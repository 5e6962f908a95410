"""Where the sandbox's binaries live, and how to get them built.

Versions are pinned in ``versions.env`` only (shared with ``build.sh``); this module parses that file.
"""

from __future__ import annotations

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


def bin_dir(component: str) -> Path:
    """bin directory of ``kubernetes``, ``etcd`` or ``kwok`` for the pinned version."""
    key, prefix, _ = COMPONENTS[component]
    return cache_root() / f"{prefix}-{versions()[key]}" / "bin"


def binary(name: str) -> Path:
    for component, (_, _, names) in COMPONENTS.items():
        if name in names:
            return bin_dir(component) / name
    raise KeyError(name)


def missing() -> list[Path]:
    out = []
    for component, (_, _, names) in COMPONENTS.items():
        for name in names:
            path = bin_dir(component) / name
            if not os.access(path, os.X_OK):
                out.append(path)
    return out


def ensure(build: bool = True) -> None:
    """Make sure every binary exists; run build.sh (10-30 min cold) if allowed, else raise BinariesMissing."""
    gone = missing()
    if not gone:
        return
    if not build:
        raise BinariesMissing("sandbox binaries missing (run tests/sandbox/build.sh): " + ", ".join(map(str, gone)))
    print(f"[sandbox] binaries missing ({len(gone)}); running {BUILD_SCRIPT} ...", file=sys.stderr, flush=True)
    proc = subprocess.run(["bash", str(BUILD_SCRIPT)], stdout=subprocess.DEVNULL)
    gone = missing()
    if proc.returncode != 0 or gone:
        raise BinariesMissing(f"{BUILD_SCRIPT} exited {proc.returncode}; still missing: " + ", ".join(map(str, gone)))
