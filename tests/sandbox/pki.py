"""Certificates for one sandbox, made with the machine's ``openssl``.

EC P-256 keys throughout: generating them costs milliseconds, where RSA-2048 keys cost ~0.1 s each on 2 cores.
Everything is valid for two days and lives in the sandbox's temp dir.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path


class PKIError(RuntimeError):
    pass


def _openssl(*args: str, cwd: Path) -> None:
    if shutil.which("openssl") is None:
        raise PKIError("openssl is not installed; the sandbox needs it to make certificates")
    proc = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise PKIError(f"openssl {' '.join(args)} failed: {proc.stderr.strip()}")


def _ec_key(path: Path, cwd: Path) -> None:
    _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(path), cwd=cwd)


@dataclass
class PKI:
    dir: Path
    ca_crt: Path
    ca_key: Path
    serving_crt: Path  # kube-apiserver, kwok; SANs 127.0.0.1, localhost, kubernetes.default.svc...
    serving_key: Path
    sa_key: Path  # service-account signing key (private)
    sa_pub: Path

    def issue(
        self, name: str, cn: str, dns: list[str] = (), ips: list[str] = (), client: bool = False
    ) -> tuple[Path, Path]:
        """Issue a leaf certificate signed by the sandbox CA; returns (crt, key)."""
        key = self.dir / f"{name}.key"
        csr = self.dir / f"{name}.csr"
        crt = self.dir / f"{name}.crt"
        ext = self.dir / f"{name}.ext"
        sans = [f"DNS:{d}" for d in dns] + [f"IP:{i}" for i in ips]
        lines = ["basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature,keyEncipherment"]
        lines.append("extendedKeyUsage=" + ("clientAuth" if client else "serverAuth,clientAuth"))
        if sans:
            lines.append("subjectAltName=" + ",".join(sans))
        ext.write_text("\n".join(lines) + "\n")
        _ec_key(key, self.dir)
        _openssl("req", "-new", "-key", str(key), "-subj", f"/CN={cn}", "-out", str(csr), cwd=self.dir)
        _openssl(
            "x509",
            "-req",
            "-in",
            str(csr),
            "-CA",
            str(self.ca_crt),
            "-CAkey",
            str(self.ca_key),
            "-CAcreateserial",
            "-days",
            "2",
            "-sha256",
            "-extfile",
            str(ext),
            "-out",
            str(crt),
            cwd=self.dir,
        )
        return crt, key


def make_pki(directory: Path) -> PKI:
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = directory / "ca.key"
    ca_crt = directory / "ca.crt"
    _ec_key(ca_key, directory)
    _openssl(
        "req",
        "-x509",
        "-new",
        "-key",
        str(ca_key),
        "-subj",
        "/CN=aiconf-sandbox-ca",
        "-days",
        "2",
        "-sha256",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
        "-out",
        str(ca_crt),
        cwd=directory,
    )
    sa_key = directory / "sa.key"
    sa_pub = directory / "sa.pub"
    _ec_key(sa_key, directory)
    _openssl("pkey", "-in", str(sa_key), "-pubout", "-out", str(sa_pub), cwd=directory)
    pki = PKI(directory, ca_crt, ca_key, directory / "serving.crt", directory / "serving.key", sa_key, sa_pub)
    pki.issue(
        "serving",
        "kube-apiserver",
        dns=[
            "localhost",
            "kubernetes",
            "kubernetes.default",
            "kubernetes.default.svc",
            "kubernetes.default.svc.cluster.local",
        ],
        ips=["127.0.0.1", "10.0.0.1"],
    )
    return pki
