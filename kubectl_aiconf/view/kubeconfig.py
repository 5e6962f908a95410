"""Kubeconfig resolution the way kubectl does it, without ever writing to the files.

`--kubeconfig` means exactly that file. Otherwise every file of `KUBECONFIG` is merged, the first file to
define a cluster, user, context or current-context winning (the Python client lets the last file's
current-context win, which picks a different cluster than kubectl). Otherwise ~/.kube/config.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

# Fields holding file paths, which kubectl resolves relative to the kubeconfig file that names them.
_PATH_FIELDS = {
    "clusters": ("certificate-authority",),
    "users": ("client-certificate", "client-key", "tokenFile"),
}


class KubeconfigError(Exception):
    """The kubeconfig cannot be used: missing, unreadable, corrupt, or the context does not exist."""


@dataclass
class ResolvedConfig:
    config: dict  # merged kubeconfig with absolute paths
    context: str
    files: list[str]


def kubeconfig_files(explicit: str | None) -> list[Path]:
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise KubeconfigError(f"kubeconfig {explicit}: no such file")
        return [path]
    env = os.environ.get("KUBECONFIG")
    if env:
        # kubectl skips entries that do not exist; an empty list is an error below.
        files = [Path(p).expanduser() for p in env.split(os.pathsep) if p]
        existing = [p for p in files if p.is_file()]
        if not existing:
            raise KubeconfigError(f"none of the KUBECONFIG files exist: {env}")
        return existing
    default = Path("~/.kube/config").expanduser()
    if not default.is_file():
        raise KubeconfigError(
            "no kubeconfig: ~/.kube/config does not exist and KUBECONFIG is not set (use --kubeconfig)"
        )
    return [default]


def _read(path: Path) -> dict:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise KubeconfigError(f"kubeconfig {path}: cannot read: {exc.strerror or exc}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise KubeconfigError(f"kubeconfig {path}: not valid YAML: {first}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise KubeconfigError(f"kubeconfig {path}: not a kubeconfig (top level is not a mapping)")
    return data


def _absolutize(entries: list, section: str, base: Path) -> None:
    for entry in entries:
        body = entry.get(section[:-1]) if isinstance(entry, dict) else None
        if not isinstance(body, dict):
            continue
        for field in _PATH_FIELDS.get(section, ()):
            value = body.get(field)
            if value and not os.path.isabs(value):
                body[field] = str(base / value)
        command = (body.get("exec") or {}).get("command") if section == "users" else None
        if command and os.sep in command and not os.path.isabs(command):
            body["exec"]["command"] = str(base / command)


def resolve(explicit: str | None = None, context: str | None = None) -> ResolvedConfig:
    files = kubeconfig_files(explicit)
    merged: dict = {"apiVersion": "v1", "kind": "Config", "clusters": [], "users": [], "contexts": []}
    seen: dict[str, set] = {"clusters": set(), "users": set(), "contexts": set()}
    current = None
    for path in files:
        data = _read(path)
        for section in ("clusters", "users", "contexts"):
            entries = data.get(section) or []
            if not isinstance(entries, list):
                raise KubeconfigError(f"kubeconfig {path}: '{section}' is not a list")
            _absolutize(entries, section, path.parent.resolve())
            for entry in entries:
                name = entry.get("name") if isinstance(entry, dict) else None
                if name and name not in seen[section]:
                    seen[section].add(name)
                    merged[section].append(entry)
        if not current and data.get("current-context"):
            current = data["current-context"]
    chosen = context or current
    where = ", ".join(str(p) for p in files)
    if not chosen:
        raise KubeconfigError(f"no current context in {where}; use --context")
    entry = next((c for c in merged["contexts"] if c["name"] == chosen), None)
    if entry is None:
        raise KubeconfigError(f"context {chosen!r} not found in {where}")
    body = entry.get("context") or {}
    for section, key in (("clusters", "cluster"), ("users", "user")):
        ref = body.get(key)
        if section == "clusters" and not any(c.get("name") == ref for c in merged[section]):
            raise KubeconfigError(f"context {chosen!r} refers to cluster {ref!r}, which is not defined in {where}")
    merged["current-context"] = chosen
    return ResolvedConfig(merged, chosen, [str(p) for p in files])
