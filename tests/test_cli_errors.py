"""Bad input gets one clear line on stderr, exit code 2, no traceback and nothing on stdout."""

import http.server
import json
import socket
import ssl
import subprocess
import sys
import threading

import pytest
import yaml

from conftest import REPO, TESTDATA


def run_cli(*args, env=None, timeout=60):
    import os

    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    full_env.pop("KUBECONFIG", None) if env is None or "KUBECONFIG" not in env else None
    return subprocess.run(
        [sys.executable, "-m", "kubectl_aiconf", *args],
        cwd=REPO,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_one_line_error(proc, fragment):
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    assert fragment in lines[0], lines[0]


def kubeconfig(tmp_path, server, user=None, ca=None, name="config"):
    cluster = {"server": server}
    if ca:
        cluster["certificate-authority"] = str(ca)
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "test",
        "clusters": [{"name": "c", "cluster": cluster}],
        "users": [{"name": "u", "user": user or {"token": "abc"}}],
        "contexts": [{"name": "test", "context": {"cluster": "c", "user": "u"}}],
    }
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.fixture(scope="module")
def tls_pair(tmp_path_factory):
    """A self-signed serving certificate for 127.0.0.1 (the server side of the TLS cases)."""
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=test",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            d / "key.pem",
            "-out",
            d / "cert.pem",
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=other",
            "-keyout",
            d / "other-key.pem",
            "-out",
            d / "other-ca.pem",
        ],
        check=True,
        capture_output=True,
    )
    return d


class _Answer401(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"kind": "Status", "status": "Failure", "message": "Unauthorized", "code": 401}).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *args):
        pass


@pytest.fixture
def https_server(tls_pair):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Answer401)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tls_pair / "cert.pem", tls_pair / "key.pem")
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"https://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def silent_server():
    """Accepts connections and never answers: a hung API server."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield f"https://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


def closed_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def test_api_server_down(tmp_path):
    cfg = kubeconfig(tmp_path, f"https://127.0.0.1:{closed_port()}")
    assert_one_line_error(run_cli("check", "--kubeconfig", str(cfg)), "cannot reach the API server")


def test_api_server_timeout(tmp_path, silent_server):
    cfg = kubeconfig(tmp_path, silent_server)
    proc = run_cli("check", "--kubeconfig", str(cfg), "--request-timeout", "1s")
    assert_one_line_error(proc, "timed out")


def test_tls_error_untrusted_certificate(tmp_path, https_server, tls_pair):
    cfg = kubeconfig(tmp_path, https_server, ca=tls_pair / "other-ca.pem")
    assert_one_line_error(run_cli("check", "--kubeconfig", str(cfg)), "certificate verify failed")


def test_rejected_credentials(tmp_path, https_server, tls_pair):
    cfg = kubeconfig(tmp_path, https_server, ca=tls_pair / "cert.pem")
    assert_one_line_error(run_cli("check", "--kubeconfig", str(cfg)), "rejected the credentials")


def test_failing_exec_credential_plugin(tmp_path, https_server, tls_pair):
    user = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": "false",
            "args": [],
            "interactiveMode": "Never",
        }
    }
    cfg = kubeconfig(tmp_path, https_server, user=user, ca=tls_pair / "cert.pem")
    assert_one_line_error(run_cli("check", "--kubeconfig", str(cfg)), "credential plugin failed")


def test_missing_kubeconfig(tmp_path):
    assert_one_line_error(run_cli("check", "--kubeconfig", str(tmp_path / "nope")), "no such file")
    proc = run_cli("check", env={"KUBECONFIG": str(tmp_path / "nope"), "HOME": str(tmp_path)})
    assert_one_line_error(proc, "none of the KUBECONFIG files exist")


def test_corrupt_kubeconfig(tmp_path):
    path = tmp_path / "config"
    path.write_text("apiVersion: v1\nclusters: [\n")
    assert_one_line_error(run_cli("check", "--kubeconfig", str(path)), "not valid YAML")


def test_unknown_context(tmp_path):
    cfg = kubeconfig(tmp_path, "https://127.0.0.1:1")
    assert_one_line_error(run_cli("check", "--kubeconfig", str(cfg), "--context", "prod"), "context 'prod' not found")


def test_unknown_conformance_version():
    proc = run_cli("check", "--snapshot", str(TESTDATA / "snapshots" / "kubectl-get"), "--conformance-version", "2.0")
    assert_one_line_error(proc, "unknown conformance version '2.0'")


def test_bad_request_timeout(tmp_path):
    cfg = kubeconfig(tmp_path, "https://127.0.0.1:1")
    assert_one_line_error(
        run_cli("check", "--kubeconfig", str(cfg), "--request-timeout", "soon"), "invalid --request-timeout"
    )


@pytest.mark.parametrize(
    "name,content,fragment",
    [
        ("bad.yaml", "kind: Node\nmetadata: {name: [x\n", "invalid YAML"),
        ("nokind.yaml", "apiVersion: v1\nmetadata: {name: x}\n", "without apiVersion/kind"),
    ],
)
def test_bad_snapshot(tmp_path, name, content, fragment):
    (tmp_path / name).write_text(content)
    assert_one_line_error(run_cli("check", "--snapshot", str(tmp_path), "--conformance-version", "1.35"), fragment)


def test_snapshot_without_version_needs_conformance_version(tmp_path):
    (tmp_path / "n.yaml").write_text("apiVersion: v1\nkind: NodeList\nitems: []\n")
    assert_one_line_error(run_cli("check", "--snapshot", str(tmp_path)), "use --conformance-version")


def test_unknown_output_format():
    proc = run_cli("check", "--snapshot", str(TESTDATA / "snapshots" / "kubectl-get"), "-o", "xml")
    assert_one_line_error(proc, "unknown output format 'xml'")


def test_usage_error_from_the_parser_exits_2():
    proc = run_cli("check", "--no-such-flag")
    assert proc.returncode == 2 and "No such option" in proc.stderr and proc.stdout == ""


def test_debug_shows_the_traceback(tmp_path):
    cfg = kubeconfig(tmp_path, f"https://127.0.0.1:{closed_port()}")
    proc = run_cli("--debug", "check", "--kubeconfig", str(cfg))
    assert proc.returncode != 0 and "Traceback" in proc.stderr
