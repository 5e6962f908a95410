"""Assemble the real node's container images as OCI image-layout archives, with no registry and no Docker.

    python3 tests/sandbox/images/build_images.py --out DIR --tag TAG --pause PAUSE_BIN --busybox BUSYBOX_BIN

writes ``DIR/pause.tar`` (the pod sandbox image: one static binary that sleeps until signalled) and
``DIR/probe.tar`` (Debian's static busybox with a symlink per applet, /etc/passwd, /tmp), each one layer, and
prints their references. ``ctr -n k8s.io images import DIR/probe.tar`` names the image after the
``io.containerd.image.name`` annotation. The archives are byte-for-byte reproducible: fixed mtimes, owners and
order, an uncompressed layer (a few MB; nothing is ever pushed anywhere).

Standard library only, so build.sh can run it with any python3 before the project's venv exists.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import platform
import subprocess
import sys
import tarfile
from pathlib import Path

REGISTRY = "aiconf.local"  # never resolved: images are only ever imported, and containerd must not pull
NAMES = {"pause": f"{REGISTRY}/sandbox/pause", "probe": f"{REGISTRY}/sandbox/probe"}

_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def reference(kind: str, tag: str) -> str:
    """``aiconf.local/sandbox/<kind>:<tag>``: what pods (and containerd's sandbox_image) name."""
    return f"{NAMES[kind]}:{tag}"


class _Layer:
    """A deterministic tar: entries in the order added, root-owned, mtime 0."""

    def __init__(self) -> None:
        self.buf = io.BytesIO()
        self.tar = tarfile.open(fileobj=self.buf, mode="w", format=tarfile.PAX_FORMAT)

    def _info(self, name: str, kind: bytes, mode: int) -> tarfile.TarInfo:
        info = tarfile.TarInfo(name)
        info.type, info.mode, info.mtime, info.uid, info.gid, info.uname, info.gname = kind, mode, 0, 0, 0, "", ""
        return info

    def dir(self, name: str, mode: int = 0o755) -> None:
        self.tar.addfile(self._info(name, tarfile.DIRTYPE, mode))

    def file(self, name: str, data: bytes, mode: int = 0o644) -> None:
        info = self._info(name, tarfile.REGTYPE, mode)
        info.size = len(data)
        self.tar.addfile(info, io.BytesIO(data))

    def symlink(self, name: str, target: str) -> None:
        info = self._info(name, tarfile.SYMTYPE, 0o777)
        info.linkname = target
        self.tar.addfile(info)

    def bytes(self) -> bytes:
        self.tar.close()
        return self.buf.getvalue()


def _blob(blobs: dict[str, bytes], data: bytes, media_type: str) -> dict:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    blobs[digest] = data
    return {"mediaType": media_type, "digest": digest, "size": len(data)}


def _json(obj: dict) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def write_archive(path: Path, ref: str, layer: bytes, config: dict) -> None:
    """One OCI image-layout tar holding a single-layer image named ``ref``."""
    arch = _ARCH.get(platform.machine(), platform.machine())
    blobs: dict[str, bytes] = {}
    layer_desc = _blob(blobs, layer, "application/vnd.oci.image.layer.v1.tar")
    image_config = {
        "architecture": arch,
        "os": "linux",
        "config": config,
        "rootfs": {"type": "layers", "diff_ids": [layer_desc["digest"]]},  # uncompressed: digest == diff_id
        "history": [{"created_by": "tests/sandbox/images/build_images.py"}],
    }
    config_desc = _blob(blobs, _json(image_config), "application/vnd.oci.image.config.v1+json")
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config_desc,
        "layers": [layer_desc],
    }
    manifest_desc = _blob(blobs, _json(manifest), "application/vnd.oci.image.manifest.v1+json")
    manifest_desc["platform"] = {"architecture": arch, "os": "linux"}
    manifest_desc["annotations"] = {
        "io.containerd.image.name": ref,
        "org.opencontainers.image.ref.name": ref.rpartition(":")[2],
    }
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [manifest_desc]}

    out = _Layer()
    out.file("oci-layout", _json({"imageLayoutVersion": "1.0.0"}))
    out.file("index.json", _json(index))
    out.dir("blobs")
    out.dir("blobs/sha256")
    for digest in sorted(blobs):
        out.file(f"blobs/sha256/{digest.split(':', 1)[1]}", blobs[digest])
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(out.bytes())
    tmp.replace(path)


def pause_layer(pause_bin: Path) -> bytes:
    layer = _Layer()
    layer.file("pause", pause_bin.read_bytes(), 0o755)
    return layer.bytes()


def probe_layer(busybox_bin: Path) -> bytes:
    """busybox at /bin/busybox and one symlink per applet where busybox itself installs it (``--list-full``)."""
    applets = subprocess.run([str(busybox_bin), "--list-full"], capture_output=True, text=True, check=True)
    paths = sorted({p.strip() for p in applets.stdout.split() if p.strip() and p.strip() != "bin/busybox"})
    layer = _Layer()
    for d in ("bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "proc", "sys", "dev", "var"):
        layer.dir(d)
    layer.dir("tmp", 0o1777)
    layer.dir("root", 0o700)
    layer.file("bin/busybox", busybox_bin.read_bytes(), 0o755)
    for p in paths:
        layer.symlink(p, "/bin/busybox")  # resolved inside the container's root
    layer.file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
    layer.file("etc/group", b"root:x:0:\nnogroup:x:65534:\n")
    return layer.bytes()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True, help="directory for pause.tar and probe.tar")
    p.add_argument("--tag", required=True, help="image tag (versions.env SANDBOX_IMAGES_VERSION)")
    p.add_argument("--pause", type=Path, required=True, help="the static pause binary")
    p.add_argument("--busybox", type=Path, required=True, help="a static busybox binary")
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    write_archive(
        args.out / "pause.tar", reference("pause", args.tag), pause_layer(args.pause), {"Entrypoint": ["/pause"]}
    )
    write_archive(
        args.out / "probe.tar",
        reference("probe", args.tag),
        probe_layer(args.busybox),
        {"Cmd": ["sh"], "Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], "WorkingDir": "/"},
    )
    for kind in NAMES:
        print(f"{reference(kind, args.tag)}\t{args.out / (kind + '.tar')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
