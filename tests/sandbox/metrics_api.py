"""A tiny custom-metrics API server on loopback, so that ``v1beta1.custom.metrics.k8s.io`` is really Available.

How it is wired (see scenarios.py): the APIService points at a Service of ``type: ExternalName`` with
``externalName: localhost``. kube-aggregator resolves ExternalName services to ``https://<externalName>:<port>``
(k8s.io/apiserver ``util/proxy.ResolveCluster``) and skips its endpoint check for them, so both the availability
probe and every proxied request reach this server. (Endpoints/EndpointSlices cannot carry 127.0.0.0/8 addresses,
so a ClusterIP Service with a hand-made loopback endpoint would be rejected.) The aggregator verifies TLS with
the APIService's ``caBundle`` against the server name ``<service>.<namespace>.svc``, so this server's certificate
is issued by the sandbox CA with those names.

It answers discovery with prometheus-adapter-like metric names and returns a constant value for every object a
metric is asked for, e.g. ``pods/DCGM_FI_DEV_GPU_UTIL`` = 42 for each pod matching the request's labelSelector,
so that an HPA on such a metric gets ``ScalingActive=True`` and ``currentMetrics``.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlparse

GROUP = "custom.metrics.k8s.io"
VERSION = "v1beta1"
GV = f"{GROUP}/{VERSION}"

# metric name -> constant value (a Kubernetes quantity string)
METRICS = {
    "DCGM_FI_DEV_GPU_UTIL": "42",
    "DCGM_FI_DEV_FB_USED": "20480",
    "DCGM_FI_DEV_GPU_TEMP": "55",
    "DCGM_FI_DEV_POWER_USAGE": "300",
    "vllm_num_requests_running": "3",
}
# resource kinds a metric is offered for (prometheus-adapter lists "<resource>/<metric>")
RESOURCES = {"pods": ("Pod", True), "namespaces": ("Namespace", False), "services": ("Service", True)}

# Service names the server certificate covers (the aggregator checks <service>.<namespace>.svc)
SERVER_NAMES = [
    "prometheus-adapter.monitoring.svc",
    "custom-metrics-apiserver.custom-metrics.svc",
    "*.monitoring.svc",
    "*.custom-metrics.svc",
    "localhost",
]

PodLister = Callable[[str, str], list[str]]  # (namespace, labelSelector) -> pod names


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def resource_list() -> dict:
    resources = []
    for metric in METRICS:
        for plural, (_kind, namespaced) in RESOURCES.items():
            resources.append(
                {
                    "name": f"{plural}/{metric}",
                    "singularName": "",
                    "namespaced": namespaced,
                    "kind": "MetricValueList",
                    "verbs": ["get"],
                }
            )
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": GV, "resources": resources}


def group() -> dict:
    gv = {"groupVersion": GV, "version": VERSION}
    return {"kind": "APIGroup", "apiVersion": "v1", "name": GROUP, "versions": [gv], "preferredVersion": gv}


class _Handler(BaseHTTPRequestHandler):
    server_version = "aiconf-sandbox-custom-metrics/1"
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet; requests are counted instead
        self.server.requests += 1  # type: ignore[attr-defined]

    def _send(self, code: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _status(self, code: int, reason: str, message: str) -> None:
        self._send(
            code,
            {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Failure",
                "message": message,
                "reason": reason,
                "code": code,
            },
        )

    def do_GET(self) -> None:  # noqa: N802
        url = urlparse(self.path)
        path = url.path.rstrip("/")
        query = parse_qs(url.query)
        if path in ("/healthz", "/readyz", "/livez"):
            data = b"ok"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        if path == "/apis":
            self._send(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": [group()]})
            return
        if path == f"/apis/{GROUP}":
            self._send(200, group())
            return
        if path == f"/apis/{GV}":
            self._send(200, resource_list())
            return
        prefix = f"/apis/{GV}/"
        if not path.startswith(prefix):
            self._status(404, "NotFound", f"{path} not found")
            return
        parts = [unquote(p) for p in path[len(prefix) :].split("/")]  # the aggregator sends "*" as %2A
        namespace = None
        if len(parts) >= 2 and parts[0] == "namespaces" and len(parts) >= 4:
            namespace, parts = parts[1], parts[2:]
        # parts: [resource, name, metric]  (namespace metrics: namespaces/<ns>/metrics/<metric>)
        if namespace and parts[:1] == ["metrics"] and len(parts) == 2:
            self._values("Namespace", None, [namespace], parts[1], query)
            return
        if len(parts) != 3 or parts[0] not in RESOURCES:
            self._status(404, "NotFound", f"{path} not found")
            return
        plural, name, metric = parts
        kind, _ = RESOURCES[plural]
        if name == "*":
            selector = (query.get("labelSelector") or [""])[0]
            names = self.server.list_names(plural, namespace, selector)  # type: ignore[attr-defined]
        else:
            names = [name]
        self._values(kind, namespace, names, metric, query)

    def _values(self, kind: str, namespace: str | None, names: list[str], metric: str, query) -> None:
        if metric not in METRICS:
            self._status(404, "NotFound", f"the server could not find the metric {metric} for {kind}")
            return
        items = []
        for name in names:
            described = {"kind": kind, "name": name, "apiVersion": "/v1"}
            if namespace and kind != "Namespace":
                described["namespace"] = namespace
            items.append(
                {"describedObject": described, "metricName": metric, "timestamp": _now(), "value": METRICS[metric]}
            )
        self._send(200, {"kind": "MetricValueList", "apiVersion": GV, "metadata": {}, "items": items})


class CustomMetricsServer:
    """HTTPS server on 127.0.0.1:<ephemeral port>, run in a daemon thread of the sandbox's process."""

    def __init__(self, cert: str, key: str, list_names: Callable[[str, str | None, str], list[str]]):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)  # port 0: no race with other sandboxes
        self.httpd.daemon_threads = True
        self.httpd.requests = 0  # type: ignore[attr-defined]
        self.httpd.list_names = list_names  # type: ignore[attr-defined]
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="custom-metrics", daemon=True)

    @property
    def requests(self) -> int:
        return self.httpd.requests  # type: ignore[attr-defined]

    def start(self) -> CustomMetricsServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
