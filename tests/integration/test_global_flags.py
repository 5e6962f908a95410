"""kubectl's global connection flags and in-cluster credentials, against the real control plane.

The plugin runs as a subprocess (`python -m kubectl_aiconf`) with no kubeconfig in reach unless a test gives
one: HOME is a temp dir and KUBECONFIG is unset.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from tests.integration.conftest import REPO

VERSION = "1.36"
SCENARIO = "ai-platform"


@pytest.fixture(scope="module")
def cluster(sandbox):
    sandbox.use_scenario(SCENARIO)
    return sandbox


@pytest.fixture
def home(tmp_path):
    (tmp_path / "home").mkdir()
    return tmp_path / "home"


def aiconf(home, *args, env=None):
    clean = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST")}
    return subprocess.run(
        [sys.executable, "-m", "kubectl_aiconf", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
        env={**clean, "HOME": str(home), "NO_COLOR": "1", **(env or {})},
    )


def report(home, *args, env=None) -> dict:
    proc = aiconf(home, "check", "-o", "json", "--conformance-version", VERSION, *args, env=env)
    assert proc.returncode in (0, 1, 3), proc.stderr
    assert "Warning" not in proc.stderr, proc.stderr  # e.g. urllib3's InsecureRequestWarning
    return json.loads(proc.stdout)


def verdicts(doc: dict) -> dict:
    return {r["id"]: (r["status"], r["message"]) for r in doc["requirements"]}


def one_line_error(proc) -> str:
    assert proc.returncode == 2 and proc.stdout == "", proc.stdout
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    return proc.stderr


@pytest.fixture(scope="module")
def limited(cluster, tmp_path_factory):
    """What the sandbox's limited user sees with its own kubeconfig: the reference for every other way in."""
    home = tmp_path_factory.mktemp("home")
    doc = report(home, "--kubeconfig", str(cluster.limited_kubeconfig))
    admin = report(home, "--kubeconfig", str(cluster.admin_kubeconfig))
    assert verdicts(doc) != verdicts(admin)  # else these tests could not tell the identities apart
    assert any("forbidden" in message for _, message in verdicts(doc).values())
    return verdicts(doc)


def test_as_the_limited_user_sees_what_it_sees(cluster, limited, home):
    admin = str(cluster.admin_kubeconfig)
    assert verdicts(report(home, "--kubeconfig", admin, "--as", "limited")) == limited
    assert verdicts(report(home, "--kubeconfig", admin, "--as", "limited", "--as-group", "aiconf:limited")) == limited


def test_every_request_carries_the_impersonation(cluster):
    """Users, each of several groups and the uid reach the server, on reviews too (the probe's access reviews
    go through the same connection)."""
    from kubectl_aiconf.view.kubeconfig import ConnectOptions, resolve
    from kubectl_aiconf.view.live import Connection

    options = ConnectOptions(impersonate="limited", impersonate_groups=("team-a", "team-b"), impersonate_uid="u-7")
    conn = Connection(resolve(str(cluster.admin_kubeconfig), None, options), 30)
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    who = conn.request("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", body=body)["status"]["userInfo"]
    assert who["username"] == "limited" and who["uid"] == "u-7"
    assert {"team-a", "team-b"} <= set(who["groups"])

    def allowed(resource: str) -> bool:
        review = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": {"verb": "list", "resource": resource}},
        }
        path = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
        return conn.request("POST", path, body=review)["status"]["allowed"]

    assert allowed("pods") and not allowed("nodes")  # the limited user's rights, not the admin's


def test_server_and_token_without_a_kubeconfig(cluster, limited, home):
    token, ca = cluster.tokens["limited"], str(cluster.ca_file)
    doc = report(home, "-s", cluster.server, "--token", token, "--certificate-authority", ca)
    assert verdicts(doc) == limited
    assert doc["context"] == cluster.server  # no context: the report names the server
    # without a CA the sandbox's certificate is not trusted, as with kubectl
    err = one_line_error(aiconf(home, "check", "--server", cluster.server, "--token", token))
    assert "certificate verify failed" in err and "--certificate-authority" in err
    assert verdicts(report(home, "-s", cluster.server, "--token", token, "--insecure-skip-tls-verify")) == limited


def test_wrong_ca_and_server_name_are_one_line_errors(cluster, home):
    token, server = cluster.tokens["limited"], cluster.server
    wrong_ca = cluster.pki.dir / "front-proxy-client.crt"  # a certificate, but not the one that signed the server's
    err = one_line_error(
        aiconf(home, "check", "-s", server, "--token", token, "--certificate-authority", str(wrong_ca))
    )
    assert "certificate verify failed" in err
    flags = ["-s", server, "--token", token, "--certificate-authority", str(cluster.ca_file)]
    err = one_line_error(aiconf(home, "check", *flags, "--tls-server-name", "elsewhere.example"))
    assert "elsewhere.example" in err and "--tls-server-name" in err
    # the serving certificate names kubernetes.default.svc: checked against that name, 127.0.0.1 passes
    assert report(home, *flags, "--tls-server-name", "kubernetes.default.svc")["requirements"]
    err = one_line_error(aiconf(home, "check", *flags, "--insecure-skip-tls-verify"))
    assert "cannot be used together" in err
    err = one_line_error(aiconf(home, "check", "-s", server, "--certificate-authority", str(cluster.dir / "nope.crt")))
    assert "nope.crt: no such file" in err


def test_token_user_and_cluster_override_the_kubeconfig(cluster, limited, home):
    admin = str(cluster.admin_kubeconfig)
    # --token replaces the admin's credentials of the admin context
    assert verdicts(report(home, "--kubeconfig", admin, "--token", cluster.tokens["limited"])) == limited
    # --user picks the limited user for the admin context
    assert verdicts(report(home, "--kubeconfig", str(cluster.kubeconfig), "--user", "limited")) == limited
    err = one_line_error(aiconf(home, "check", "--kubeconfig", admin, "--cluster", "elsewhere"))
    assert "cluster 'elsewhere' (--cluster) not found" in err
    err = one_line_error(aiconf(home, "check", "--kubeconfig", admin, "--token", "not-a-token"))
    assert "401 Unauthorized" in err


def test_client_certificate_flags(cluster, limited, home):
    crt, key = cluster.pki.issue("flags-limited", "limited", client=True)
    flags = ["-s", cluster.server, "--certificate-authority", str(cluster.ca_file)]
    assert verdicts(report(home, *flags, "--client-certificate", str(crt), "--client-key", str(key))) == limited


def test_snapshot_and_cleanup_take_the_flags(cluster, home, tmp_path):
    flags = ["-s", cluster.server, "--certificate-authority", str(cluster.ca_file), "--token", cluster.tokens["admin"]]
    proc = aiconf(home, "snapshot", "-o", str(tmp_path / "snap"), *flags, "--as", "limited")
    assert proc.returncode == 0, proc.stderr
    assert "forbidden" in proc.stderr  # the limited user's view, written as such
    proc = aiconf(home, "cleanup", "--dry-run", *flags)
    assert proc.returncode == 0, proc.stderr
    err = one_line_error(aiconf(home, "check", "--snapshot", str(tmp_path / "snap"), "--as", "limited"))
    assert "--snapshot reads files only" in err and "--as" in err


# in-cluster credentials ----------------------------------------------------------------------------------------
def _service_account(cluster, namespace: str, name: str, bound: bool) -> str:
    """A ServiceAccount (bound to the reader ClusterRole when `bound`) and a token for it (TokenRequest)."""
    from kubectl_aiconf import install
    from tests.sandbox.kube import request

    objects = [
        install.reader_cluster_role(),
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": namespace}},
    ]
    if bound:
        objects.append(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRoleBinding",
                "metadata": {"name": f"{namespace}-{name}"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "aiconf-reader"},
                "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}],
            }
        )
    cluster.apply_objects(objects)
    path = f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token"
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 600}}
    return request(cluster.admin_client(), "POST", path, body=body)["status"]["token"]


def _pod_env(cluster, sa_dir) -> dict:
    host, _, port = cluster.server.removeprefix("https://").rpartition(":")
    return {"KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": port, "AICONF_SERVICEACCOUNT_DIR": str(sa_dir)}


def _mount(sa_dir, token: str, ca) -> None:
    sa_dir.mkdir(exist_ok=True)
    (sa_dir / "token").write_text(token)
    (sa_dir / "ca.crt").write_bytes(ca.read_bytes())
    (sa_dir / "namespace").write_text("aiconf-incluster")


def test_in_cluster_service_account(cluster, home, tmp_path):
    reader = _service_account(cluster, "aiconf-incluster", "reader", bound=True)
    nobody = _service_account(cluster, "aiconf-incluster", "nobody", bound=False)
    admin = verdicts(report(home, "--kubeconfig", str(cluster.admin_kubeconfig)))
    sa_dir = tmp_path / "serviceaccount"
    _mount(sa_dir, reader, cluster.ca_file)
    doc = report(home, env=_pod_env(cluster, sa_dir))
    assert doc["context"] == "in-cluster"
    # the reader role is enough for every verdict the admin gets
    assert {k: s for k, (s, _) in verdicts(doc).items()} == {k: s for k, (s, _) in admin.items()}
    assert not [m for _, m in verdicts(doc).values() if "forbidden" in m]
    # an unbound service account is refused everything: the token in the directory is what is used
    _mount(sa_dir, nobody, cluster.ca_file)
    assert any("forbidden" in m for _, m in verdicts(report(home, env=_pod_env(cluster, sa_dir))).values())
    # no token mounted: one line saying so
    (sa_dir / "token").unlink()
    assert "no service account token" in one_line_error(aiconf(home, "check", env=_pod_env(cluster, sa_dir)))


def test_rotated_token_is_read_again(cluster, tmp_path):
    """The kubelet rewrites the token file before the old token expires; a connection picks up the new one."""
    from kubectl_aiconf.view.kubeconfig import resolve
    from kubectl_aiconf.view.live import Connection

    first = _service_account(cluster, "aiconf-incluster", "reader", bound=True)
    second = _service_account(cluster, "aiconf-incluster", "nobody", bound=False)
    sa_dir = tmp_path / "serviceaccount"
    _mount(sa_dir, first, cluster.ca_file)
    env = _pod_env(cluster, sa_dir)
    saved = {k: os.environ.get(k) for k in (*env, "KUBECONFIG", "HOME")}
    os.environ.update(env, HOME=str(tmp_path))
    os.environ.pop("KUBECONFIG", None)
    try:
        conn = Connection(resolve(), 30)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

    def whoami() -> str:
        body = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
        review = conn.request("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", body=body)
        return review["status"]["userInfo"]["username"]

    assert whoami() == "system:serviceaccount:aiconf-incluster:reader"
    token = sa_dir / "token"
    token.write_text(second)
    os.utime(token, (token.stat().st_atime, token.stat().st_mtime + 5))  # a coarse clock may not move
    assert whoami() == "system:serviceaccount:aiconf-incluster:nobody"


def test_kubeconfig_impersonation_fields(cluster, limited, home, tmp_path):
    """A kubeconfig user's `as` field impersonates, as kubectl does; --as overrides it."""
    config = yaml.safe_load(cluster.admin_kubeconfig.read_text())
    config["users"][0]["user"]["as"] = "limited"
    path = tmp_path / "as.kubeconfig"
    path.write_text(yaml.safe_dump(config))
    assert verdicts(report(home, "--kubeconfig", str(path))) == limited
    assert verdicts(report(home, "--kubeconfig", str(path), "--as", "admin", "--as-group", "system:masters")) != limited
