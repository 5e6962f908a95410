"""kubectl aiconf validate, online rules: URL checks and CNCF membership, against a local server.

The machine running the tests may or may not reach the internet, so every request to a host
other than 127.0.0.1 is made to fail as if there were no network (``no_internet``).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import SHARED  # noqa: E402
from kubectl_aiconf import __version__
from kubectl_aiconf.submission import urls
from kubectl_aiconf.submission.validate import run_validate, validate_paths

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ONLINE = os.path.join(REPO, "testdata", "validate", "online")
SUBMISSIONS = str(SHARED / "reference" / "submissions")


def landscape_yaml(members: list[str]) -> str:
    lines = [
        "landscape:",
        "  - category:",
        "    name: Provisioning",
        "    subcategories:",
        "      - subcategory:",
        "        name: Automation",
        "        items:",
        "          - item:",
        "            name: Not A Member",
        "  - category:",
        "    name: CNCF Members",
        "    subcategories:",
        "      - subcategory:",
        "        name: Platinum",
        "        items:",
    ]
    for m in members:
        lines += ["          - item:", f"            name: {m!r}"]
    return "\n".join(lines) + "\n"


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep test output quiet
        pass

    def _answer(self, body: bool) -> None:
        server = self.server
        with server.lock:
            server.requests.append((self.command, self.path, self.headers.get("User-Agent", "")))
        path = self.path.split("?")[0]
        status, payload, headers = 200, b"ok\n", {}
        if path == "/landscape.yml":
            if server.landscape is None:
                status, payload = 404, b"not here\n"
            else:
                payload = server.landscape.encode()
        elif path.startswith("/ok") or path == "/logo.svg":
            pass
        elif path == "/head-not-allowed":
            if self.command == "HEAD":
                status = 405
        elif path == "/redirect":
            status, headers = 302, {"Location": "/ok/after-redirect"}
        elif path.startswith("/missing"):
            status = 404
        elif path == "/server-error":
            status = 500
        elif path.startswith("/slow"):
            time.sleep(0.4)
        elif path == "/hang":
            time.sleep(3)
        else:
            status = 404
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if body:
            try:
                self.wfile.write(payload)
            except OSError:
                pass

    def do_HEAD(self):
        self._answer(body=False)

    def do_GET(self):
        self._answer(body=True)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the checks connect in parallel; a short backlog drops SYNs


@pytest.fixture
def server():
    srv = Server(("127.0.0.1", 0), Handler)
    srv.lock = threading.Lock()
    srv.requests = []
    srv.landscape = landscape_yaml(["Example Vendor (member)", "Other Corp (supporter)"])
    srv.base = f"http://127.0.0.1:{srv.server_address[1]}"
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture(autouse=True)
def no_internet(monkeypatch):
    """Requests to anything but the local server fail like DNS does on a machine offline."""
    real = urls._request

    def request(method, url, timeout):
        if not url.startswith("http://127.0.0.1:"):
            return None, "host name not resolved"
        return real(method, url, timeout)

    monkeypatch.setattr(urls, "_request", request)
    monkeypatch.delenv("http_proxy", raising=False)
    monkeypatch.delenv("HTTP_PROXY", raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1")


def install(tmp_path, name: str, base: str) -> str:
    """Copy an online fixture to tmp_path (keeping its vX.Y/<name>/ layout) with the server's
    address filled in; returns the PRODUCT.yaml path relative to tmp_path."""
    src = os.path.join(ONLINE, "v1.34", name)
    dst = tmp_path / "v1.34" / name
    shutil.copytree(src, dst)
    product = dst / "PRODUCT.yaml"
    text = product.read_text(encoding="utf-8")
    text = text.replace("__BASE__", base).replace("__CLOSED_PORT__", str(closed_port()))
    product.write_text(text, encoding="utf-8")
    return f"v1.34/{name}/PRODUCT.yaml"


def run(tmp_path, monkeypatch, paths, server, rules="v1", landscape=None):
    monkeypatch.chdir(tmp_path)
    return validate_paths(
        paths, offline=False, rules=rules, landscape_url=landscape or f"{server.base}/landscape.yml", timeout=5
    )


def problems(result) -> set:
    return {(p.severity, p.rule, p.subject) for p in result.problems}


def test_all_urls_answer(tmp_path, monkeypatch, server):
    path = install(tmp_path, "urls-ok", server.base)
    result = run(tmp_path, monkeypatch, [path], server)[0]
    # Only the k8sConformanceUrl points outside (github.com), and there is no network.
    assert problems(result) == {("notice", "url-unchecked", "metadata.k8sConformanceUrl")}
    assert result.valid
    methods = {(m, p) for m, p, _ in server.requests}
    assert ("HEAD", "/ok") in methods and ("GET", "/ok") not in methods
    assert ("HEAD", "/head-not-allowed") in methods and ("GET", "/head-not-allowed") in methods
    assert ("HEAD", "/ok/after-redirect") in methods  # redirects are followed, as HEAD
    assert ("GET", "/landscape.yml") in methods


def test_requests_name_kubectl_aiconf(tmp_path, monkeypatch, server):
    path = install(tmp_path, "urls-ok", server.base)
    run(tmp_path, monkeypatch, [path], server)
    agents = {ua for _, _, ua in server.requests}
    assert agents and all(ua.startswith(f"kubectl-aiconf/{__version__} ") for ua in agents)


def test_broken_urls(tmp_path, monkeypatch, server):
    path = install(tmp_path, "urls-broken", server.base)
    result = run(tmp_path, monkeypatch, [path], server)[0]
    assert problems(result) == {
        ("error", "url-unreachable", "metadata.websiteUrl"),
        ("error", "url-unreachable", "metadata.documentationUrl"),
        ("error", "url-unreachable", "gang_scheduling"),
        ("notice", "url-unchecked", "metadata.k8sConformanceUrl"),
    }
    messages = {p.subject: p.message for p in result.problems}
    assert "HTTP 500" in messages["metadata.websiteUrl"]
    assert "connection refused" in messages["metadata.documentationUrl"]
    assert "HTTP 404" in messages["gang_scheduling"]
    assert not result.valid


def test_vendor_not_a_member(tmp_path, monkeypatch, server):
    path = install(tmp_path, "vendor-not-member", server.base)
    result = run(tmp_path, monkeypatch, [path], server)[0]
    errors = list(result.errors)
    assert [(p.rule, p.subject) for p in errors] == [("vendor-not-member", "metadata.vendorName")]
    assert "'Exampel Vendor'" in errors[0].message
    assert "did you mean 'Example Vendor'?" in errors[0].message


def test_network_unavailable_one_line_per_check(tmp_path, monkeypatch, server, capsys):
    path = install(tmp_path, "public-urls", server.base)
    monkeypatch.chdir(tmp_path)
    rc = run_validate([path], False, "v1", "text", landscape_url=f"{server.base}/landscape.yml", timeout=5)
    out = capsys.readouterr().out.splitlines()
    assert rc == 0
    unchecked = [line for line in out if "not checked, network unavailable" in line]
    # websiteUrl, repoUrl, documentationUrl, productLogoUrl, k8sConformanceUrl + 9 evidence URLs
    assert len(unchecked) == 14
    assert not [line for line in out if ": error:" in line]
    assert "v1.34/public-urls/PRODUCT.yaml: valid" in out


def test_landscape_unreachable(tmp_path, monkeypatch, server):
    path = install(tmp_path, "urls-ok", server.base)
    result = run(tmp_path, monkeypatch, [path], server, landscape=f"http://127.0.0.1:{closed_port()}/landscape.yml")[0]
    notes = [p for p in result.problems if p.rule == "vendor-unchecked"]
    assert len(notes) == 1 and "connection refused" in notes[0].message
    assert result.valid

    server.landscape = None  # 404
    result = run(tmp_path, monkeypatch, [path], server)[0]
    notes = [p for p in result.problems if p.rule == "vendor-unchecked"]
    assert len(notes) == 1 and "HTTP 404" in notes[0].message


def test_landscape_from_the_environment(tmp_path, monkeypatch, server):
    path = install(tmp_path, "vendor-not-member", server.base)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(urls.LANDSCAPE_URL_ENV, f"{server.base}/landscape.yml")
    result = validate_paths([path], offline=False, rules="v1", timeout=5)[0]
    assert ("error", "vendor-not-member", "metadata.vendorName") in problems(result)


def test_offline_makes_no_requests(tmp_path, monkeypatch, server):
    path = install(tmp_path, "urls-broken", server.base)
    monkeypatch.chdir(tmp_path)
    result = validate_paths([path], offline=True, rules="v1")[0]
    assert result.valid and server.requests == []


def test_urls_are_checked_concurrently(server):
    targets = [f"{server.base}/slow/{i}" for i in range(12)]
    start = time.monotonic()
    results = urls.check_urls(targets, timeout=5)
    elapsed = time.monotonic() - start
    assert all(r.ok for r in results.values())
    assert elapsed < 2.5  # one after the other would take 12 x 0.4 s


def test_timeout(server):
    start = time.monotonic()
    result = urls.check_url(f"{server.base}/hang", timeout=0.5)
    assert not result.ok and result.detail == "timed out"
    assert time.monotonic() - start < 2.5


def test_invalid_url_is_an_error_not_a_network_problem():
    result = urls.check_url("httpx://example.com/")
    assert not result.ok and result.certain and "invalid URL" in result.detail


def test_member_names_from_landscape():
    names = urls.members_from_landscape(
        landscape_yaml(["Google (member)", "Giant Swarm (supporter)", "  Spaced  ", "Plain"]).encode()
    )
    assert names == {"Google", "Giant Swarm", "Spaced", "Plain"}
    with pytest.raises(ValueError, match="CNCF Members"):
        urls.members_from_landscape(b"landscape: []\n")


needs_submissions = pytest.mark.usefixtures("reference_submissions")


@needs_submissions
def test_real_submissions_online(monkeypatch, server):
    """The vendor check on the 34 real files: a landscape that lists every vendor except the
    one of vcluster-private-nodes turns exactly that (statically valid) file invalid, and the
    public URLs, unreachable here, are reported as not checked rather than broken."""
    import yaml

    monkeypatch.chdir(SUBMISSIONS)
    paths = sorted(glob.glob("v1.3*/*/PRODUCT.yaml"))
    vendors = set()
    for p in paths:
        with open(p, encoding="utf-8") as f:
            md = (yaml.safe_load(f) or {}).get("metadata") or {}
        vendors.add(str(md.get("vendorName") or md.get("vendor_name")).strip())
    excluded = "vCluster"
    assert excluded in vendors
    server.landscape = landscape_yaml([f"{v} (member)" for v in sorted(vendors - {excluded})])

    results = validate_paths(paths, offline=False, rules="v1", landscape_url=f"{server.base}/landscape.yml", timeout=5)
    by_path = {r.path: r for r in results}
    not_members = [r.path for r in results if any(p.rule == "vendor-not-member" for p in r.errors)]
    assert not_members == ["v1.34/vcluster-private-nodes/PRODUCT.yaml"]
    assert sum(not r.valid for r in results) == 24
    assert not any(p.rule == "url-unreachable" for r in results for p in r.problems)
    assert any(p.rule == "url-unchecked" for p in by_path["v1.34/gke/PRODUCT.yaml"].problems)
