"""Thin raw-REST helpers over a kubernetes ``ApiClient`` (no typed models: the sandbox deals in plain dicts)."""

from __future__ import annotations

import json
import threading
from typing import Any

from kubernetes.client import ApiClient
from kubernetes.client.exceptions import ApiException


class KubeError(RuntimeError):
    def __init__(self, status: int, method: str, path: str, body: str):
        self.status = status
        self.method = method
        self.path = path
        self.body = body
        try:
            message = json.loads(body).get("message", body)
        except (ValueError, AttributeError):
            message = body
        super().__init__(f"{method} {path}: HTTP {status}: {message}")


def request(
    client: ApiClient,
    method: str,
    path: str,
    body: Any = None,
    query: dict | None = None,
    content_type: str = "application/json",
    timeout: float = 30,
) -> dict:
    """One API request; returns the decoded JSON body ({} if empty); raises KubeError on HTTP >= 400."""
    headers = {"Accept": "application/json", "Content-Type": content_type}
    try:
        resp = client.call_api(
            path,
            method,
            query_params=list((query or {}).items()),
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
            _preload_content=False,
            _return_http_data_only=True,
            _request_timeout=timeout,
        )
    except ApiException as exc:
        raise KubeError(
            exc.status or 0, method, path, exc.body.decode() if isinstance(exc.body, bytes) else str(exc.body)
        ) from None
    data = resp.data
    return json.loads(data) if data else {}


def get(client: ApiClient, path: str, **kw) -> dict:
    return request(client, "GET", path, **kw)


def exists(client: ApiClient, path: str) -> bool:
    try:
        request(client, "GET", path)
        return True
    except KubeError as exc:
        if exc.status == 404:
            return False
        raise


class RestMapper:
    """apiVersion+kind -> (path prefix, plural, namespaced, has status subresource), from discovery."""

    def __init__(self, client: ApiClient):
        self.client = client
        self._gv: dict[str, dict[str, tuple[str, bool, bool]]] = {}
        self._lock = threading.Lock()

    def _load(self, api_version: str) -> dict[str, tuple[str, bool, bool]]:
        path = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        try:
            doc = get(self.client, path)
        except KubeError as exc:
            if exc.status == 404:
                return {}
            raise
        names = {r["name"] for r in doc.get("resources", [])}
        kinds = {}
        for r in doc.get("resources", []):
            if "/" in r["name"]:
                continue
            kinds[r["kind"]] = (r["name"], bool(r.get("namespaced")), f"{r['name']}/status" in names)
        return kinds

    def resource(self, api_version: str, kind: str) -> tuple[str, bool, bool]:
        with self._lock:
            kinds = self._gv.get(api_version)
            if kinds is None or kind not in kinds:
                kinds = self._load(api_version)
                self._gv[api_version] = kinds
        if kind not in kinds:
            raise LookupError(f"the server does not serve {kind} in {api_version}")
        return kinds[kind]

    def forget(self, api_version: str | None = None) -> None:
        with self._lock:
            if api_version is None:
                self._gv.clear()
            else:
                self._gv.pop(api_version, None)

    def path(self, obj: dict, subresource: str = "", with_name: bool = True) -> str:
        api_version, kind = obj["apiVersion"], obj["kind"]
        plural, namespaced, _ = self.resource(api_version, kind)
        base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        meta = obj.get("metadata", {})
        if namespaced:
            base += f"/namespaces/{meta.get('namespace') or 'default'}"
        base += f"/{plural}"
        if with_name:
            base += f"/{meta['name']}"
            if subresource:
                base += f"/{subresource}"
        return base
