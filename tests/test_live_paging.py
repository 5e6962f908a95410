"""Paginated listings: pages prefetched, large namespaced listings split per namespace, every guarantee kept.

A fake API server in this process holds pods in several namespaces and paginates them as the real one does
(limit, an opaque continue token, remainingItemCount, list metadata before the items). Each test changes one
thing the server does (a token that expires in one namespace, namespaces forbidden, no remainingItemCount, the
items written before the metadata, a page that fails) and checks that the listing still holds every pod once,
or fails as a whole.
"""

from __future__ import annotations

import base64
import dataclasses
import http.server
import json
import threading
from collections import Counter
from urllib.parse import parse_qs

import pytest
import yaml

from kubectl_aiconf import resources as R
from kubectl_aiconf.view import Outcome
from kubectl_aiconf.view import live as live_module
from kubectl_aiconf.view.live import LiveView

NAMESPACES = [f"team-{i}" for i in range(6)]
PODS_PER_NAMESPACE = 9
SMALL_PAGE = 4
SMALL_THRESHOLD = 10  # objects beyond which the test's pods are split per namespace


def _pods(namespaces=NAMESPACES, per_namespace=PODS_PER_NAMESPACE) -> list[dict]:
    return [
        {"metadata": {"name": f"p{i}", "namespace": ns}, "spec": {"nodeName": "n1"}, "status": {"phase": "Running"}}
        for ns in namespaces
        for i in range(per_namespace)
    ]


def _status(code: int, message: str) -> dict:
    return {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message, "code": code}


class PagingAPI(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, pods: list[dict]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.pods = pods
        self.hits: Counter[str] = Counter()
        self.limits: list[int] = []
        self.lock = threading.Lock()
        self.namespaces_status = 200  # 403: the user may list pods but not namespaces
        self.remaining_count = True  # False: the server never says how many are left
        self.items_first = False  # True: the body holds the items before the list metadata
        self.expire_once: set[str] = set()  # paths whose first continued page answers 410 Gone
        self.fail: dict[str, int] = {}  # path -> status of every request

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: PagingAPI

    def log_message(self, *args):
        pass

    def _send(self, code: int, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        review = {"kind": "SelfSubjectReview", "status": {"userInfo": {"username": "tester"}}}
        self._send(201, json.dumps(review).encode())

    def do_GET(self):
        path, _, query = self.path.partition("?")
        params = {k: v[0] for k, v in parse_qs(query).items()}
        server = self.server
        with server.lock:
            server.hits[path] += 1
        if path == "/version":
            return self._send(200, b'{"major": "1", "minor": "35", "gitVersion": "v1.35.0"}')
        if path in ("/api", "/apis"):
            items = [{"metadata": {"name": ""}, "versions": [{"version": "v1", "resources": [{"resource": "pods"}]}]}]
            doc = {"kind": "APIGroupDiscoveryList", "items": items if path == "/api" else []}
            return self._send(200, json.dumps(doc).encode())
        if path in server.fail:
            code = server.fail[path]
            return self._send(code, json.dumps(_status(code, f"injected {code}")).encode())
        if path == "/api/v1/namespaces":
            if server.namespaces_status != 200:
                code = server.namespaces_status
                return self._send(code, json.dumps(_status(code, "namespaces is forbidden")).encode())
            items = [{"metadata": {"name": ns}} for ns in NAMESPACES]
            return self._send(200, json.dumps({"kind": "PartialObjectMetadataList", "items": items}).encode())
        if path == "/api/v1/pods":
            return self._page(path, server.pods, params)
        parts = path.split("/")  # /api/v1/namespaces/<ns>/pods
        if len(parts) == 6 and parts[3] == "namespaces" and parts[5] == "pods":
            return self._page(path, [p for p in server.pods if p["metadata"]["namespace"] == parts[4]], params)
        self._send(404, json.dumps(_status(404, "not found")).encode())

    def _page(self, path: str, pods: list[dict], params: dict) -> None:
        server = self.server
        start = int(base64.b64decode(params["continue"])) if "continue" in params else 0
        if "continue" in params and path in server.expire_once:
            server.expire_once.discard(path)
            return self._send(410, json.dumps(_status(410, "continue parameter is too old")).encode())
        limit = int(params.get("limit") or 0) or len(pods)
        with server.lock:
            server.limits.append(limit)
        end = start + limit
        meta: dict = {"resourceVersion": "7"}
        if end < len(pods):
            meta["continue"] = base64.b64encode(str(end).encode()).decode()
            if server.remaining_count:
                meta["remainingItemCount"] = len(pods) - end
        items = json.dumps(pods[start:end])
        head = f'"kind": "PodList", "apiVersion": "v1", "metadata": {json.dumps(meta)}'
        body = f'{{"items": {items}, {head}}}' if server.items_first else f'{{{head}, "items": {items}}}'
        self._send(200, body.encode())


@pytest.fixture
def small_pages(monkeypatch):
    monkeypatch.setattr(live_module, "PAGE_SIZE", SMALL_PAGE)
    monkeypatch.setattr(live_module, "SLICE_THRESHOLD", SMALL_THRESHOLD)


def _serve(pods: list[dict]):
    server = PagingAPI(pods)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


@pytest.fixture
def api(small_pages):
    server = _serve(_pods())
    yield server
    server.shutdown()
    server.server_close()


def _load(server: PagingAPI, tmp_path, resource=R.PODS):
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "fake",
        "clusters": [{"name": "c", "cluster": {"server": server.url}}],
        "users": [{"name": "u", "user": {"token": "abc"}}],
        "contexts": [{"name": "fake", "context": {"cluster": "c", "user": "u"}}],
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(doc))
    view = LiveView.connect(str(path), None, 10)
    view.load([resource])
    return view.list(resource)


def _names(listing) -> list[tuple[str, str]]:
    return sorted((p["metadata"]["namespace"], p["metadata"]["name"]) for p in listing.items)


def _every_pod() -> list[tuple[str, str]]:
    return sorted((p["metadata"]["namespace"], p["metadata"]["name"]) for p in _pods())


def _namespace_paths(server: PagingAPI) -> set[str]:
    return {p for p in server.hits if p.startswith("/api/v1/namespaces/")}


def test_a_large_listing_is_read_per_namespace_and_holds_every_pod_once(api, tmp_path):
    listing = _load(api, tmp_path)
    assert listing.outcome is Outcome.OK
    assert _names(listing) == _every_pod()  # sorted lists: a duplicate or a gap would show
    assert _namespace_paths(api) == {f"/api/v1/namespaces/{ns}/pods" for ns in NAMESPACES}
    assert api.hits["/api/v1/pods"] == 1  # the one-item page that told how many there are
    assert api.limits[0] == 1
    # 9 pods per namespace in pages of 4: three pages each, none requested twice
    assert all(api.hits[f"/api/v1/namespaces/{ns}/pods"] == 3 for ns in NAMESPACES)
    assert listing.timing is not None and listing.timing.pages == 1 + 3 * len(NAMESPACES)
    assert all(item["kind"] == "Pod" and item["apiVersion"] == "v1" for item in listing.items)


def test_a_small_listing_goes_on_from_its_first_page(small_pages, tmp_path):
    server = _serve(_pods(NAMESPACES[:2], 4))  # 8 pods: under the threshold
    try:
        listing = _load(server, tmp_path)
    finally:
        server.shutdown()
        server.server_close()
    assert _names(listing) == sorted((ns, f"p{i}") for ns in NAMESPACES[:2] for i in range(4))
    assert not _namespace_paths(server)
    # the one-item page, then pages of 4 from where it ended: 1 + 4 + 3
    assert server.limits == [1, SMALL_PAGE, SMALL_PAGE] and server.hits["/api/v1/pods"] == 3


def test_without_a_remaining_count_the_listing_is_not_split(api, tmp_path):
    api.remaining_count = False
    listing = _load(api, tmp_path)
    assert _names(listing) == _every_pod()
    assert not _namespace_paths(api)


def test_namespaces_that_cannot_be_listed_leave_one_cluster_wide_listing(api, tmp_path):
    api.namespaces_status = 403
    listing = _load(api, tmp_path)
    assert listing.outcome is Outcome.OK and _names(listing) == _every_pod()
    assert _namespace_paths(api) == set()
    assert api.hits["/api/v1/namespaces"] == 1


def test_a_continue_token_that_expires_in_one_namespace_restarts_that_namespace(api, tmp_path):
    api.expire_once.add("/api/v1/namespaces/team-3/pods")
    listing = _load(api, tmp_path)
    assert listing.outcome is Outcome.OK and _names(listing) == _every_pod()
    assert api.hits["/api/v1/namespaces/team-3/pods"] == 3 + 2  # page 1, the 410, then all 3 pages again


def test_a_continue_token_that_expires_cluster_wide_restarts_the_listing(api, tmp_path):
    api.remaining_count = False  # one stream: the 410 comes on its second page
    api.expire_once.add("/api/v1/pods")
    listing = _load(api, tmp_path)
    assert listing.outcome is Outcome.OK and _names(listing) == _every_pod()


@pytest.mark.parametrize("code, outcome", [(403, Outcome.FORBIDDEN), (500, Outcome.ERROR)])
def test_one_failing_namespace_fails_the_whole_listing(api, tmp_path, code, outcome):
    """A listing is complete or not visible: never the pods of the namespaces that happened to answer."""
    api.fail["/api/v1/namespaces/team-4/pods"] = code
    listing = _load(api, tmp_path)
    assert listing.outcome is outcome
    assert f"injected {code}" in listing.detail


def test_items_before_the_metadata_are_still_paginated(api, tmp_path):
    """The prefetch reads the continue token from the head of the body; when the body is laid out otherwise
    the token of the full decode is used, one page at a time."""
    api.items_first = True
    api.remaining_count = False
    listing = _load(api, tmp_path)
    assert _names(listing) == _every_pod()
    pages = -(-(len(_pods()) - 1) // SMALL_PAGE)
    assert api.hits["/api/v1/pods"] == 1 + pages  # the one-item page, then every page exactly once


def test_prefetched_pages_are_not_requested_twice(api, tmp_path):
    api.remaining_count = False
    listing = _load(api, tmp_path)
    assert _names(listing) == _every_pod()
    assert api.hits["/api/v1/pods"] == 1 + -(-(len(_pods()) - 1) // SMALL_PAGE)


def test_resources_that_are_not_sliced_are_one_paginated_listing(api, tmp_path):
    unsliced = dataclasses.replace(R.PODS, sliced=False)
    listing = _load(api, tmp_path, unsliced)
    assert _names(listing) == _every_pod()
    assert api.limits[0] == SMALL_PAGE and not _namespace_paths(api)
