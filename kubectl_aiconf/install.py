"""`kubectl aiconf install`: the manifests that run the check inside the cluster, on a schedule or under Sonobuoy.

Printed, never applied: they create a namespace, cluster-wide read permissions and a workload, which an
administrator should read (and commit, for GitOps) before `kubectl apply -f -` does it.

The workload runs a stock Python image (the plugin is a pure-Python zipapp, any CPython >= 3.10). A short
bootstrap, Python's standard library only, downloads the plugin from `--plugin-url` (the release's
kubectl-aiconf.tar.gz, or the zipapp itself), checks `--plugin-sha256` when given, and runs it. Inside the
pod the plugin finds no kubeconfig and uses the pod's service account, bound to the reader ClusterRole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kubectl_aiconf import __version__

DEFAULT_IMAGE = "docker.io/library/python:3.12-slim"  # official, multi-arch, updated with CPython's security fixes
DEFAULT_SCHEDULE = "0 6 * * *"  # daily at 06:00 in the controller manager's time zone
DEFAULT_NAMESPACE = "aiconf"
NAME = "kubectl-aiconf"
READER_ROLE = "aiconf-reader"
LABELS = {"app.kubernetes.io/name": NAME, "app.kubernetes.io/version": __version__}
# Sonobuoy's plugin contract: results go to this directory, then their path is written to `done` in it.
SONOBUOY_RESULTS_DIR = "/tmp/sonobuoy/results"
SONOBUOY_RESULT_FILE = "aiconf-junit.xml"

# Run as `python3 -c BOOTSTRAP ARGS...`: ARGS are the plugin's. With AICONF_RESULTS_DIR set (Sonobuoy), the
# plugin's standard output is saved there and the `done` file names it, whatever the exit code: Sonobuoy
# waits for `done`, and the JUnit file carries the failures. Otherwise the plugin replaces this process, so
# its report is the container's log and its exit code the Job's.
BOOTSTRAP = r"""
import hashlib, io, os, subprocess, sys, tarfile, urllib.request
url, digest = os.environ["AICONF_PLUGIN_URL"], os.environ.get("AICONF_PLUGIN_SHA256", "").lower()
with urllib.request.urlopen(url, timeout=300) as answer:
    data = answer.read()
if digest and hashlib.sha256(data).hexdigest() != digest:
    sys.exit(f"kubectl-aiconf bootstrap: {url} does not have the sha256 {digest}")
if data[:2] == b"\x1f\x8b":
    data = tarfile.open(fileobj=io.BytesIO(data)).extractfile("kubectl-aiconf").read()
plugin = os.path.join(os.environ.get("TMPDIR", "/tmp"), "kubectl-aiconf")
with open(plugin, "wb") as f:
    f.write(data)
command = [sys.executable, plugin, *sys.argv[1:]]
results = os.environ.get("AICONF_RESULTS_DIR")
if not results:
    os.execv(sys.executable, command)
report = os.path.join(results, os.environ.get("AICONF_RESULT_FILE", "report"))
with open(report, "wb") as out:
    code = subprocess.call(command, stdout=out)
with open(os.path.join(results, "done"), "w") as done:
    done.write(report)
sys.exit(0 if code in (0, 1, 3) else code)
""".strip()

_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_CRON_FIELD = re.compile(r"[0-9A-Za-z*/,?LW#-]+")


class InstallError(ValueError):
    """A flag of `install` that cannot make valid manifests: one line, usage error."""


@dataclass(frozen=True)
class InstallOptions:
    plugin_url: str
    plugin_sha256: str | None = None
    namespace: str = DEFAULT_NAMESPACE
    schedule: str = DEFAULT_SCHEDULE
    image: str = DEFAULT_IMAGE

    def validate(self) -> None:
        if not re.match(r"https?://[^/\s]+", self.plugin_url):
            raise InstallError(f"--plugin-url {self.plugin_url!r}: use an http(s) URL of kubectl-aiconf.tar.gz")
        if self.plugin_sha256 and not _SHA256.fullmatch(self.plugin_sha256):
            raise InstallError(f"--plugin-sha256 {self.plugin_sha256!r}: 64 hexadecimal digits expected")
        if not re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", self.namespace):
            raise InstallError(f"--namespace {self.namespace!r} is not a valid namespace name")
        fields = self.schedule.split()
        macro = len(fields) == 1 and fields[0].startswith("@")
        if not macro and (len(fields) != 5 or not all(_CRON_FIELD.fullmatch(f) for f in fields)):
            raise InstallError(f"--schedule {self.schedule!r}: use a cron schedule of five fields, e.g. '0 6 * * *'")
        if not self.image.strip() or any(c.isspace() for c in self.image):
            raise InstallError(f"--image {self.image!r} is not an image reference")


def reader_rules() -> list[dict]:
    """get/list on exactly what the checks read (kubectl_aiconf.resources), one rule per API group.

    The one source of the reader ClusterRole: tests/test_rbac.py holds testdata/rbac/aiconf-reader.yaml,
    the copy users apply by hand, to the same definitions, and tests/test_install.py this role to that file."""
    from kubectl_aiconf.resources import ALL

    by_group: dict[str, list[str]] = {}
    for res in ALL:
        names = by_group.setdefault(res.group, [])
        if res.resource not in names:
            names.append(res.resource)
    return [{"apiGroups": [group], "resources": names, "verbs": ["get", "list"]} for group, names in by_group.items()]


def reader_cluster_role() -> dict:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": READER_ROLE, "labels": dict(LABELS)},
        "rules": reader_rules(),
    }


def _container(options: InstallOptions, args: list[str], env: list[dict]) -> dict:
    env = [
        {"name": "AICONF_PLUGIN_URL", "value": options.plugin_url},
        *([{"name": "AICONF_PLUGIN_SHA256", "value": options.plugin_sha256.lower()}] if options.plugin_sha256 else []),
        # the zipapp unpacks its libraries under SHIV_ROOT; /tmp is the only writable place
        {"name": "HOME", "value": "/tmp"},
        {"name": "SHIV_ROOT", "value": "/tmp/shiv"},
        {"name": "NO_COLOR", "value": "1"},
        *env,
    ]
    return {
        "name": "check",
        "image": options.image,
        "command": ["python3", "-c", BOOTSTRAP],
        "args": args,
        "env": env,
        # 5,000 nodes and 20,000 pods took 130 MB
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
    }


def manifests(options: InstallOptions) -> list[dict]:
    """Namespace, ServiceAccount, reader ClusterRole and its binding, and the CronJob."""
    options.validate()
    ns, labels = options.namespace, dict(LABELS)
    container = _container(options, ["check", "-o", "json", "--unconfirmed-ok"], [])
    container["securityContext"] = {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    container["volumeMounts"] = [{"name": "tmp", "mountPath": "/tmp"}]
    pod_spec = {
        "serviceAccountName": NAME,
        "restartPolicy": "Never",
        # the pod-security "restricted" level, enforced on the namespace below
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 65534,
            "runAsGroup": 65534,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container],
        "volumes": [{"name": "tmp", "emptyDir": {}}],
    }
    return [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": ns,
                "labels": {**labels, "pod-security.kubernetes.io/enforce": "restricted"},
            },
        },
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": NAME, "namespace": ns, "labels": labels}},
        reader_cluster_role(),
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": f"{NAME}-{ns}", "labels": labels},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": READER_ROLE},
            "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": ns}],
        },
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": NAME, "namespace": ns, "labels": labels},
            "spec": {
                "schedule": options.schedule,
                "concurrencyPolicy": "Forbid",
                "successfulJobsHistoryLimit": 3,
                "failedJobsHistoryLimit": 3,
                "jobTemplate": {
                    "metadata": {"labels": labels},
                    "spec": {
                        # a failed MUST fails the Job (exit 1): alert on failed Jobs; the report is in the log
                        "backoffLimit": 0,
                        "activeDeadlineSeconds": 1800,
                        "template": {"metadata": {"labels": labels}, "spec": pod_spec},
                    },
                },
            },
        },
    ]


def sonobuoy_plugin(options: InstallOptions) -> dict:
    """A Sonobuoy plugin definition (Job driver): the check as JUnit, handed back through the done file.

    Sonobuoy runs it with its own service account and mounts its results volume; `namespace` and
    `schedule` do not apply."""
    options.validate()
    env = [
        {"name": "AICONF_RESULTS_DIR", "value": SONOBUOY_RESULTS_DIR},
        {"name": "AICONF_RESULT_FILE", "value": SONOBUOY_RESULT_FILE},
    ]
    container = _container(options, ["check", "-o", "junit", "--unconfirmed-ok"], env)
    container["volumeMounts"] = [{"name": "results", "mountPath": SONOBUOY_RESULTS_DIR}]
    return {
        "sonobuoy-config": {
            "driver": "Job",
            "plugin-name": "aiconf",
            "result-format": "junit",
            "description": "CNCF Kubernetes AI Conformance checklist, read-only (kubectl aiconf check)",
            "source-url": options.plugin_url,
        },
        "spec": container,
    }


def render(documents: list[dict], output: str) -> str:
    if output == "json":
        import json

        body = documents[0] if len(documents) == 1 else {"apiVersion": "v1", "kind": "List", "items": documents}
        return json.dumps(body, indent=2)
    if output == "yaml":
        import yaml

        class _Dumper(yaml.SafeDumper):
            def ignore_aliases(self, data) -> bool:  # the shared labels in full each time, no &id001 anchors
                return True

        # the bootstrap as a readable literal block, not one line of \n escapes
        _Dumper.add_representer(
            str,
            lambda d, s: d.represent_scalar("tag:yaml.org,2002:str", s, style="|" if "\n" in s else None),
        )
        return "---\n".join(yaml.dump(d, Dumper=_Dumper, sort_keys=False) for d in documents).rstrip()
    raise InstallError(f"unknown output format {output!r}; use yaml or json")
