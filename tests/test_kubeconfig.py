import os

import pytest
import yaml

from kubectl_aiconf.view.kubeconfig import KubeconfigError, resolve


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
    assert next(u for u in resolved.config["users"] if u["name"] == "u")["user"]["token"] == "t"
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
