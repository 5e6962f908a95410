"""Kubeconfig resolution the way kubectl does it, without ever writing to the files.

`--kubeconfig` means exactly that file. Otherwise every file of `KUBECONFIG` is merged, the first file to
define a cluster, user, context or current-context winning (the Python client lets the last file's
current-context win, which picks a different cluster than kubectl). Otherwise ~/.kube/config. With none
of these, inside a pod (KUBERNETES_SERVICE_HOST/PORT set, a service account token mounted), the pod's
service account, as kubectl does; or, with `--server`, nothing but the flags.

kubectl's global connection flags (`ConnectOptions`) then override what the context chose, with
kubectl's precedence; the result is one effective context, cluster and user (`ResolvedConfig.config`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path
from urllib.parse import quote

# Fields holding file paths, which kubectl resolves relative to the kubeconfig file that names them.
_PATH_FIELDS = {
    "clusters": ("certificate-authority",),
    "users": ("client-certificate", "client-key", "tokenFile"),
}


# Where the kubelet mounts a pod's service account credentials; AICONF_SERVICEACCOUNT_DIR moves it (tests).
SERVICEACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
IN_CLUSTER = "in-cluster"  # the context name a report shows for a run with the pod's service account

# Every way a kubeconfig user can authenticate: `--token` replaces all of them.
_CREDENTIAL_FIELDS = (
    "token",
    "tokenFile",
    "client-certificate",
    "client-certificate-data",
    "client-key",
    "client-key-data",
    "exec",
    "auth-provider",
    "username",
    "password",
)


class KubeconfigError(Exception):
    """The kubeconfig cannot be used: missing, unreadable, corrupt, or the context does not exist."""


@dataclass(frozen=True)
class ConnectOptions:
    """kubectl's global connection flags besides --kubeconfig and --context; None/False/() = not given."""

    server: str | None = None
    token: str | None = None
    user: str | None = None
    cluster: str | None = None
    certificate_authority: str | None = None
    client_certificate: str | None = None
    client_key: str | None = None
    insecure_skip_tls_verify: bool = False
    tls_server_name: str | None = None
    impersonate: str | None = None  # --as
    impersonate_groups: tuple[str, ...] = ()  # --as-group, repeatable
    impersonate_uid: str | None = None  # --as-uid

    def given(self) -> list[str]:
        """The flags that were given, as kubectl spells them (for messages)."""
        names = {"impersonate": "as", "impersonate_groups": "as-group", "impersonate_uid": "as-uid"}
        return [f"--{names.get(f.name, f.name.replace('_', '-'))}" for f in fields(self) if getattr(self, f.name)]


@dataclass
class ResolvedConfig:
    config: dict  # one effective context, cluster and user, with absolute paths
    context: str
    files: list[str]
    # Impersonate-User/-Group/-Uid/-Extra-* headers, in order (a group may repeat): --as* or the user's as* fields
    impersonation: tuple[tuple[str, str], ...] = ()


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


def resolve(
    explicit: str | None = None, context: str | None = None, options: ConnectOptions | None = None
) -> ResolvedConfig:
    """The effective configuration for `--kubeconfig`, `--context` and the other connection flags."""
    options = options or ConnectOptions()
    _check_flags(options)
    try:
        files = kubeconfig_files(explicit)
    except KubeconfigError:
        if explicit or context:
            raise
        if options.server:  # kubectl needs no kubeconfig when the flags say where and who
            return _effective({}, "", options, [], options.server)
        incluster = _in_cluster()
        if incluster is None:
            raise
        return _effective(incluster, IN_CLUSTER, options, [], IN_CLUSTER)
    merged, chosen, where = _merge(files, context)
    return _effective(merged, chosen, options, [str(p) for p in files], where)


def _check_flags(options: ConnectOptions) -> None:
    if options.insecure_skip_tls_verify and options.certificate_authority:
        # kubectl refuses the pair too: a CA that would not be checked is a mistake
        raise KubeconfigError("--insecure-skip-tls-verify and --certificate-authority cannot be used together")
    if (options.impersonate_groups or options.impersonate_uid) and not options.impersonate:
        raise KubeconfigError("--as-group and --as-uid need --as (the user to impersonate)")
    for flag, value in (
        ("--certificate-authority", options.certificate_authority),
        ("--client-certificate", options.client_certificate),
        ("--client-key", options.client_key),
    ):
        if value and not Path(value).expanduser().is_file():
            raise KubeconfigError(f"{flag} {value}: no such file")


def _in_cluster() -> dict | None:
    """A kubeconfig for the pod's service account, or None outside a pod. The token is named by file, so
    that it is read when the connection is made (and again when the kubelet rotates it)."""
    host, port = os.environ.get("KUBERNETES_SERVICE_HOST"), os.environ.get("KUBERNETES_SERVICE_PORT")
    if not host or not port:
        return None
    directory = Path(os.environ.get("AICONF_SERVICEACCOUNT_DIR") or SERVICEACCOUNT_DIR)
    token = directory / "token"
    if not token.is_file():
        raise KubeconfigError(
            f"no kubeconfig, and no service account token at {token} although this runs in a pod "
            "(KUBERNETES_SERVICE_HOST is set); mount one (automountServiceAccountToken) or use --kubeconfig"
        )
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    cluster: dict = {"server": f"https://{host}:{port}"}
    if (directory / "ca.crt").is_file():  # without it the system's roots are used, as kubectl does
        cluster["certificate-authority"] = str(directory / "ca.crt")
    return {
        "clusters": [{"name": IN_CLUSTER, "cluster": cluster}],
        "users": [{"name": IN_CLUSTER, "user": {"tokenFile": str(token)}}],
        "contexts": [{"name": IN_CLUSTER, "context": {"cluster": IN_CLUSTER, "user": IN_CLUSTER}}],
    }


def _merge(files: list[Path], context: str | None) -> tuple[dict, str, str]:
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
    return merged, context or current or "", ", ".join(str(p) for p in files)


def _entry(merged: dict, section: str, name: str | None) -> dict | None:
    found = next((e for e in merged.get(section) or [] if isinstance(e, dict) and e.get("name") == name), None)
    return dict((found or {}).get(section[:-1]) or {}) if found is not None else None


def _effective(merged: dict, chosen: str, options: ConnectOptions, files: list[str], where: str) -> ResolvedConfig:
    """The context `chosen` of `merged` with the flags applied as kubectl applies them."""
    body: dict = {}
    if chosen:
        found = _entry(merged, "contexts", chosen)
        if found is None:
            raise KubeconfigError(f"context {chosen!r} not found in {where}")
        body = found
    elif not (options.server or options.cluster):
        raise KubeconfigError(f"no current context in {where}; use --context")
    # the cluster: --cluster picks another entry; --server and the TLS flags override its fields
    cluster_name = options.cluster or body.get("cluster")
    cluster = _entry(merged, "clusters", cluster_name) if cluster_name else {}
    if cluster is None:
        if options.cluster:
            raise KubeconfigError(f"cluster {cluster_name!r} (--cluster) not found in {where}")
        if not options.server:
            raise KubeconfigError(
                f"context {chosen!r} refers to cluster {cluster_name!r}, which is not defined in {where}"
            )
        cluster = {}
    if options.server:
        cluster["server"] = options.server
    if options.insecure_skip_tls_verify or options.certificate_authority:
        # either one replaces the kubeconfig's whole trust setting (kubectl: a CA flag also turns an
        # insecure kubeconfig secure again, and --insecure-skip-tls-verify drops the kubeconfig's CA)
        for key in ("certificate-authority", "certificate-authority-data", "insecure-skip-tls-verify"):
            cluster.pop(key, None)
        if options.certificate_authority:
            cluster["certificate-authority"] = str(Path(options.certificate_authority).expanduser().resolve())
        else:
            cluster["insecure-skip-tls-verify"] = True
    if options.tls_server_name or options.server:
        # kubectl: a --server without --tls-server-name drops the kubeconfig's, which named the old server
        cluster.pop("tls-server-name", None)
        if options.tls_server_name:
            cluster["tls-server-name"] = options.tls_server_name
    if not cluster.get("server"):
        raise KubeconfigError(f"no server for cluster {cluster_name!r} in {where}; use --server")
    # the user: --user picks another entry; --token replaces its credentials, the certificate flags override
    user_name = options.user or body.get("user")
    user = _entry(merged, "users", user_name) if user_name else {}
    if user is None:
        if options.user:
            raise KubeconfigError(f"user {user_name!r} (--user) not found in {where}")
        user = {}  # kubectl goes on without credentials for a context whose user is not defined
    if options.token is not None:
        for key in _CREDENTIAL_FIELDS:
            user.pop(key, None)
        user["token"] = options.token
    for key, value in (("client-certificate", options.client_certificate), ("client-key", options.client_key)):
        if value:
            user.pop(f"{key}-data", None)
            user[key] = str(Path(value).expanduser().resolve())
    # without a context (--server and no kubeconfig), reports name the server
    name = chosen or cluster["server"]
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "effective", "cluster": cluster}],
        "users": [{"name": "effective", "user": user}],
        "contexts": [{"name": name, "context": {"cluster": "effective", "user": "effective"}}],
        "current-context": name,
    }
    return ResolvedConfig(config, name, files, _impersonation(user, options))


def _impersonation(user: dict, options: ConnectOptions) -> tuple[tuple[str, str], ...]:
    """The Impersonate-* headers: the --as flags replace the kubeconfig user's as, as-groups, as-uid and
    as-user-extra fields (kubectl: given flags override the fields one by one)."""
    name = options.impersonate or user.get("as")
    groups = list(options.impersonate_groups) or list(user.get("as-groups") or [])
    uid = options.impersonate_uid or user.get("as-uid")
    extra = user.get("as-user-extra") or {}
    if not name:
        if groups or uid or extra:
            raise KubeconfigError("the kubeconfig user sets as-groups, as-uid or as-user-extra without as")
        return ()
    headers = [("Impersonate-User", str(name))]
    headers += [("Impersonate-Group", str(g)) for g in groups]
    if uid:
        headers.append(("Impersonate-Uid", str(uid)))
    for key, values in extra.items() if isinstance(extra, dict) else ():
        # header names are case-insensitive and limited in characters: keys are percent-encoded (kubectl too)
        for value in values if isinstance(values, list) else [values]:
            headers.append((f"Impersonate-Extra-{quote(str(key), safe='')}", str(value)))
    return tuple(headers)
