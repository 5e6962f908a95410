import os

import pytest
import yaml

from kubectl_aiconf.view.kubeconfig import ConnectOptions, KubeconfigError, resolve


def _write(path, current, contexts, clusters=None, users=None):
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": current,
        "contexts": [{"name": c, "context": {"cluster": cl, "user": u}} for c, cl, u in contexts],
        "clusters": [{"name": n, "cluster": body} for n, body in (clusters or {}).items()],
        "users": [{"name": n, "user": body} for n, body in (users or {}).items()],
    }
    path.write_text(yaml.safe_dump(doc))
    return path


def test_first_file_current_context_wins_like_kubectl(tmp_path, monkeypatch):
    a = _write(
        tmp_path / "a.yaml", "ctx-a", [("ctx-a", "c-a", "u")], {"c-a": {"server": "https://a"}}, {"u": {"token": "t"}}
    )
    b = _write(
        tmp_path / "b.yaml",
        "ctx-b",
        [("ctx-b", "c-b", "u")],
        {"c-b": {"server": "https://b"}},
        {"u": {"token": "other"}},
    )
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([str(a), str(tmp_path / "missing.yaml"), str(b)]))
    resolved = resolve()
    assert resolved.context == "ctx-a"
    assert resolved.files == [str(a), str(b)]
    # first definition of a user wins too
    assert resolved.config["users"][0]["user"]["token"] == "t"
    assert resolve(context="ctx-b").context == "ctx-b"


def test_explicit_kubeconfig_ignores_env(tmp_path, monkeypatch):
    a = _write(tmp_path / "a.yaml", "ctx-a", [("ctx-a", "c", "u")], {"c": {"server": "https://a"}})
    b = _write(tmp_path / "b.yaml", "ctx-b", [("ctx-b", "c", "u")], {"c": {"server": "https://b"}})
    monkeypatch.setenv("KUBECONFIG", str(a))
    assert resolve(str(b)).context == "ctx-b"


def test_relative_paths_resolve_against_their_file(tmp_path):
    sub = tmp_path / "sub"
    sub.mkdir()
    cfg = _write(
        sub / "config",
        "x",
        [("x", "c", "u")],
        {"c": {"server": "https://a", "certificate-authority": "ca.crt"}},
        {"u": {"client-certificate": "certs/u.crt", "client-key": "/abs/u.key"}},
    )
    resolved = resolve(str(cfg))
    assert resolved.config["clusters"][0]["cluster"]["certificate-authority"] == str(sub.resolve() / "ca.crt")
    user = resolved.config["users"][0]["user"]
    assert user["client-certificate"] == str(sub.resolve() / "certs/u.crt")
    assert user["client-key"] == "/abs/u.key"


@pytest.mark.parametrize(
    "content,message",
    [
        ("clusters: [\n  - name: x\n  bad", "not valid YAML"),
        ("- just\n- a list\n", "top level is not a mapping"),
        ("current-context: ''\ncontexts: []\n", "no current context"),
    ],
)
def test_broken_kubeconfigs(tmp_path, content, message):
    path = tmp_path / "config"
    path.write_text(content)
    with pytest.raises(KubeconfigError, match=message):
        resolve(str(path))


def test_unknown_context_and_missing_file(tmp_path, monkeypatch):
    cfg = _write(tmp_path / "c.yaml", "x", [("x", "c", "u")], {"c": {"server": "https://a"}})
    with pytest.raises(KubeconfigError, match="context 'nope' not found"):
        resolve(str(cfg), "nope")
    with pytest.raises(KubeconfigError, match="no such file"):
        resolve(str(tmp_path / "absent"))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    with pytest.raises(KubeconfigError, match="none of the KUBECONFIG files exist"):
        resolve()


def test_context_with_undefined_cluster(tmp_path):
    cfg = _write(tmp_path / "c.yaml", "x", [("x", "ghost", "u")])
    with pytest.raises(KubeconfigError, match="cluster 'ghost'"):
        resolve(str(cfg))


def test_resolution_never_writes(tmp_path):
    cfg = _write(
        tmp_path / "c.yaml", "x", [("x", "c", "u")], {"c": {"server": "https://a", "certificate-authority": "ca"}}
    )
    before = cfg.read_bytes()
    resolve(str(cfg))
    assert cfg.read_bytes() == before


# kubectl's global connection flags ---------------------------------------------------------------------------
def _two_users(tmp_path):
    ca = tmp_path / "ca.crt"
    ca.write_text("ca")
    return _write(
        tmp_path / "config",
        "main",
        [("main", "prod", "alice"), ("other", "staging", "bob")],
        {
            "prod": {
                "server": "https://prod:6443",
                "certificate-authority": str(ca),
                "tls-server-name": "prod.internal",
            },
            "staging": {"server": "https://staging:6443", "insecure-skip-tls-verify": True},
        },
        {
            "alice": {"client-certificate-data": "Y2VydA==", "client-key-data": "a2V5", "as": "kubeconfig-as"},
            "bob": {"exec": {"command": "get-token", "apiVersion": "client.authentication.k8s.io/v1"}},
        },
    )


def _effective(resolved):
    cluster = resolved.config["clusters"][0]["cluster"]
    user = resolved.config["users"][0]["user"]
    return cluster, user


def test_no_flags_keep_the_context(tmp_path):
    resolved = resolve(str(_two_users(tmp_path)))
    cluster, user = _effective(resolved)
    assert resolved.context == "main"
    assert cluster["server"] == "https://prod:6443" and cluster["tls-server-name"] == "prod.internal"
    assert user["client-key-data"] == "a2V5"
    assert resolved.impersonation == (("Impersonate-User", "kubeconfig-as"),)  # the user's own `as` field


def test_user_and_cluster_pick_other_entries(tmp_path):
    resolved = resolve(str(_two_users(tmp_path)), options=ConnectOptions(user="bob", cluster="staging"))
    cluster, user = _effective(resolved)
    assert resolved.context == "main"  # the context stays; only its user and cluster are replaced
    assert cluster == {"server": "https://staging:6443", "insecure-skip-tls-verify": True}
    assert set(user) == {"exec"}
    assert resolved.impersonation == ()
    with pytest.raises(KubeconfigError, match="user 'carol' .--user. not found"):
        resolve(str(_two_users(tmp_path)), options=ConnectOptions(user="carol"))
    with pytest.raises(KubeconfigError, match="cluster 'dev' .--cluster. not found"):
        resolve(str(_two_users(tmp_path)), options=ConnectOptions(cluster="dev"))


def test_server_overrides_and_drops_the_tls_server_name(tmp_path):
    cluster, user = _effective(resolve(str(_two_users(tmp_path)), options=ConnectOptions(server="https://lb:443")))
    # the CA stays (same cluster behind another address); the name the old address was checked against goes
    assert cluster["server"] == "https://lb:443" and "tls-server-name" not in cluster
    assert cluster["certificate-authority"].endswith("ca.crt")
    cluster, _ = _effective(
        resolve(str(_two_users(tmp_path)), options=ConnectOptions(server="https://lb:443", tls_server_name="x.y"))
    )
    assert cluster["tls-server-name"] == "x.y"


def test_token_replaces_every_credential_of_the_user(tmp_path):
    for name in ("alice", "bob"):
        _, user = _effective(resolve(str(_two_users(tmp_path)), options=ConnectOptions(user=name, token="T")))
        assert {k: v for k, v in user.items() if not k.startswith("as")} == {"token": "T"}


def test_tls_flags_replace_the_trust_setting(tmp_path):
    ca = tmp_path / "other-ca.crt"
    ca.write_text("ca")
    config = str(_two_users(tmp_path))
    cluster, _ = _effective(resolve(config, options=ConnectOptions(insecure_skip_tls_verify=True)))
    assert cluster["insecure-skip-tls-verify"] is True and "certificate-authority" not in cluster
    # a CA flag makes an insecure cluster entry verify again
    cluster, _ = _effective(resolve(config, "other", ConnectOptions(certificate_authority=str(ca))))
    assert cluster["certificate-authority"] == str(ca.resolve()) and "insecure-skip-tls-verify" not in cluster
    with pytest.raises(KubeconfigError, match="cannot be used together"):
        resolve(config, options=ConnectOptions(insecure_skip_tls_verify=True, certificate_authority=str(ca)))
    with pytest.raises(KubeconfigError, match="--certificate-authority .*missing.crt: no such file"):
        resolve(config, options=ConnectOptions(certificate_authority=str(tmp_path / "missing.crt")))


def test_client_certificate_flags_override_the_data_fields(tmp_path):
    crt, key = tmp_path / "u.crt", tmp_path / "u.key"
    crt.write_text("c")
    key.write_text("k")
    _, user = _effective(
        resolve(str(_two_users(tmp_path)), options=ConnectOptions(client_certificate=str(crt), client_key=str(key)))
    )
    assert user["client-certificate"] == str(crt.resolve()) and user["client-key"] == str(key.resolve())
    assert "client-certificate-data" not in user and "client-key-data" not in user


def test_impersonation_flags_replace_the_users_fields(tmp_path):
    options = ConnectOptions(
        impersonate="system:serviceaccount:ns:sa", impersonate_groups=("g1", "g2"), impersonate_uid="u-1"
    )
    resolved = resolve(str(_two_users(tmp_path)), options=options)
    assert resolved.impersonation == (
        ("Impersonate-User", "system:serviceaccount:ns:sa"),
        ("Impersonate-Group", "g1"),
        ("Impersonate-Group", "g2"),
        ("Impersonate-Uid", "u-1"),
    )
    with pytest.raises(KubeconfigError, match="need --as"):
        resolve(str(_two_users(tmp_path)), options=ConnectOptions(impersonate_groups=("g",)))


def test_kubeconfig_impersonation_fields(tmp_path):
    cfg = _write(
        tmp_path / "c",
        "x",
        [("x", "c", "u")],
        {"c": {"server": "https://a"}},
        {"u": {"token": "t", "as": "jane", "as-groups": ["devs"], "as-user-extra": {"reason/why": ["audit"]}}},
    )
    assert resolve(str(cfg)).impersonation == (
        ("Impersonate-User", "jane"),
        ("Impersonate-Group", "devs"),
        ("Impersonate-Extra-reason%2Fwhy", "audit"),
    )


@pytest.fixture
def no_kubeconfig(tmp_path, monkeypatch):
    """No KUBECONFIG, no ~/.kube/config, not in a pod."""
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in ("KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AICONF_SERVICEACCOUNT_DIR", str(tmp_path / "sa"))
    return tmp_path


def test_server_without_a_kubeconfig(no_kubeconfig):
    with pytest.raises(KubeconfigError, match="no kubeconfig"):
        resolve()
    resolved = resolve(options=ConnectOptions(server="https://10.0.0.1:6443", token="T"))
    cluster, user = _effective(resolved)
    assert cluster == {"server": "https://10.0.0.1:6443"} and user == {"token": "T"}
    assert resolved.context == "https://10.0.0.1:6443" and resolved.files == []
    with pytest.raises(KubeconfigError, match="no such file"):  # an explicit --kubeconfig must exist, as in kubectl
        resolve(str(no_kubeconfig / "absent"), options=ConnectOptions(server="https://x"))


def test_in_cluster_service_account(no_kubeconfig, monkeypatch):
    sa = no_kubeconfig / "sa"
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "fd00::1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    with pytest.raises(KubeconfigError, match="no service account token at .*sa/token"):
        resolve()
    sa.mkdir()
    (sa / "token").write_text("sa-token")
    cluster, user = _effective(resolve())
    assert cluster == {"server": "https://[fd00::1]:443"}  # no ca.crt: the system's roots
    (sa / "ca.crt").write_text("ca")
    resolved = resolve(options=ConnectOptions(impersonate="bob"))
    cluster, user = _effective(resolved)
    assert resolved.context == "in-cluster" and resolved.files == []
    assert cluster == {"server": "https://[fd00::1]:443", "certificate-authority": str(sa / "ca.crt")}
    assert user == {"tokenFile": str(sa / "token")}  # named by file: read when connecting, again on rotation
    assert resolved.impersonation == (("Impersonate-User", "bob"),)
    # a kubeconfig, when there is one, wins over the pod's service account (kubectl does the same)
    cfg = _write(no_kubeconfig / "c", "x", [("x", "c", "u")], {"c": {"server": "https://a"}})
    monkeypatch.setenv("KUBECONFIG", str(cfg))
    assert _effective(resolve())[0]["server"] == "https://a"


# the flags on the command line -------------------------------------------------------------------------------
def _cli(*args, env=None):
    import subprocess
    import sys

    from conftest import REPO

    return subprocess.run(
        [sys.executable, "-m", "kubectl_aiconf", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
        timeout=60,
    )


@pytest.mark.parametrize("command", ["check", "snapshot", "cleanup"])
def test_commands_that_connect_take_kubectls_flags(command):
    text = _cli(command, "--help", env={"COLUMNS": "200"}).stdout
    for flag in (
        "-s, --server",
        "--token",
        "--user",
        "--cluster",
        "--certificate-authority",
        "--client-certificate",
        "--client-key",
        "--insecure-skip-tls-verify",
        "--tls-server-name",
        "--as ",
        "--as-group",
        "--as-uid",
    ):
        assert flag in text, (command, flag)


def test_flag_mistakes_are_one_line_errors_before_connecting(tmp_path):
    # an address nothing listens on: these must fail on the flags, not on the connection
    server = ["-s", "https://127.0.0.1:9"]
    for args, message in (
        (["--as-group", "g"], "--as-group and --as-uid need --as"),
        (["--certificate-authority", str(tmp_path / "none.crt")], "none.crt: no such file"),
        (["--snapshot", str(tmp_path), "--token", "t"], "cannot be combined with --server, --token"),
    ):
        proc = _cli("check", *server, *args)
        assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and message in proc.stderr, proc.stderr
