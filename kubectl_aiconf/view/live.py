"""The live view: the only module that talks to the API server.

One preflight round (version, who am I, aggregated discovery), then one concurrent round of paginated list
calls. Errors become typed facts on each listing (403 -> FORBIDDEN naming the permission, 404 -> NOT_SERVED),
never "absent". Failures that make the whole run meaningless (unreachable server, TLS, authentication)
raise `LoadError` subclasses with one clear line.
"""

from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from kubectl_aiconf.view import ClusterView, Listing, LoadError, Outcome, Resource, projector
from kubectl_aiconf.view.kubeconfig import ResolvedConfig

ACCEPT_JSON = "application/json"
ACCEPT_METADATA_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
ACCEPT_AGGREGATED_DISCOVERY = (
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
)
PAGE_SIZE = 500
MAX_PARALLEL_REQUESTS = 16


class ConnectError(LoadError):
    """The API server cannot be reached (refused, DNS, timeout, TLS)."""


class AuthError(LoadError):
    """The API server rejected or did not receive the credentials."""


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _status_message(body: bytes | str | None, fallback: str) -> str:
    try:
        data = json.loads(body or b"")
        return data.get("message") or fallback
    except (ValueError, AttributeError):
        return fallback


class Connection:
    """An authenticated HTTP client for one kube context, built from the official client's configuration."""

    def __init__(self, resolved: ResolvedConfig, request_timeout: float | None) -> None:
        from kubernetes import client, config
        from urllib3.util.retry import Retry

        cfg = client.Configuration()
        failures: list[str] = []
        capture = _CaptureErrors(failures)
        root = logging.getLogger()
        root.addHandler(capture)
        try:
            # persist_config=False: refreshed tokens must never be written back into the user's kubeconfig.
            config.load_kube_config_from_dict(resolved.config, context=resolved.context,
                                              client_configuration=cfg, persist_config=False)
        except config.ConfigException as exc:
            raise AuthError(f"context {resolved.context!r}: {exc}") from None
        except Exception as exc:  # exec plugins and auth providers raise anything from OSError up
            raise AuthError(f"context {resolved.context!r}: cannot load credentials: {exc}") from None
        finally:
            root.removeHandler(capture)
        if failures:
            # The client only logs exec-plugin failures and goes on unauthenticated.
            raise AuthError(f"context {resolved.context!r}: credential plugin failed: {failures[0]}")
        cfg.connection_pool_maxsize = MAX_PARALLEL_REQUESTS
        cfg.retries = Retry(total=2, connect=2, read=0, status=2, backoff_factor=0.2,
                            status_forcelist=(429, 502, 503, 504), allowed_methods=frozenset({"GET"}),
                            raise_on_status=False)
        self.server = cfg.host
        self.context = resolved.context
        self.timeout = request_timeout or None
        self._api = client.ApiClient(cfg)
        self._lock = threading.Lock()
        self.requests = 0

    def request(self, method: str, path: str, query: list | None = None, body: dict | None = None,
                accept: str = ACCEPT_JSON, text: bool = False):
        """The decoded JSON body; with `text=True` the body as a string (pod logs are plain text)."""
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError, MaxRetryError, NewConnectionError, TimeoutError as Urllib3Timeout

        with self._lock:
            self.requests += 1
        headers = {"Accept": accept}
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            resp = self._api.call_api(path, method, query_params=query or [], header_params=headers, body=body,
                                      auth_settings=["BearerToken"], _preload_content=False,
                                      _request_timeout=self.timeout)
            if text:
                return (resp.data or b"").decode("utf-8", "replace")
            return json.loads(resp.data or b"{}")
        except ApiException as exc:
            if exc.status == 0:
                raise ConnectError(f"cannot talk to {self.server}: {_first_line(exc.reason)}") from None
            if exc.status == 401:
                raise AuthError(f"the API server at {self.server} rejected the credentials of context "
                                f"{self.context!r} (401 Unauthorized); log in again or check the kubeconfig") from None
            raise ApiError(exc.status, _status_message(exc.body, exc.reason or "error")) from None
        except (MaxRetryError, Urllib3Timeout) as exc:
            reason = getattr(exc, "reason", None) or exc
            # NewConnectionError subclasses the timeout error in urllib3: test it first.
            if not isinstance(reason, NewConnectionError) and (
                    isinstance(reason, Urllib3Timeout) or "timed out" in str(reason).lower()):
                limit = f"{self.timeout:g}s" if self.timeout else "0"
                raise ConnectError(f"timed out talking to {self.server} (--request-timeout {limit})") from None
            raise ConnectError(f"cannot reach the API server at {self.server}: {_first_line(reason)}") from None
        except HTTPError as exc:
            raise ConnectError(f"cannot talk to {self.server}: {_first_line(exc)}") from None
        except ValueError as exc:
            raise ApiError(0, f"invalid JSON from {path}: {exc}") from None

    def get(self, path: str, query: list | None = None, accept: str = ACCEPT_JSON) -> dict:
        return self.request("GET", path, query=query, accept=accept)


def _first_line(value) -> str:
    text = str(value).strip()
    # urllib3 wraps the useful part: "<urllib3.connection...>: Failed to establish a new connection: [Errno 111] ..."
    if "Failed to establish a new connection:" in text:
        text = text.split("Failed to establish a new connection:", 1)[1].strip().rstrip("')\"")
    return text.splitlines()[0] if text else type(value).__name__


class _CaptureErrors(logging.Handler):
    def __init__(self, sink: list[str]) -> None:
        super().__init__(logging.ERROR)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(record.getMessage())


class LiveView(ClusterView):
    source = "live"

    def __init__(self, conn: Connection) -> None:
        super().__init__()
        self.conn = conn
        self.context = conn.context
        self.username: str | None = None

    @classmethod
    def connect(cls, kubeconfig: str | None, context: str | None, request_timeout: float | None) -> "LiveView":
        from kubectl_aiconf.view.kubeconfig import resolve

        view = cls(Connection(resolve(kubeconfig, context), request_timeout))
        view._preflight()
        return view

    def requests_made(self) -> int:
        return self.conn.requests

    # preflight: version, identity and discovery, concurrently ---------------------------------------------
    def _preflight(self) -> None:
        with ThreadPoolExecutor(max_workers=4) as pool:
            version = pool.submit(self.conn.get, "/version")
            whoami = pool.submit(self._whoami)
            core = pool.submit(self.conn.get, "/api", None, ACCEPT_AGGREGATED_DISCOVERY)
            groups = pool.submit(self.conn.get, "/apis", None, ACCEPT_AGGREGATED_DISCOVERY)
            try:
                self.kubernetes_version = version.result().get("gitVersion")
            except ApiError as exc:
                raise ConnectError(f"the API server at {self.conn.server} did not answer /version: {exc}") from None
            self.username = whoami.result()
            try:
                self._served = self._discovery(core.result(), groups.result())
            except ApiError as exc:
                raise ConnectError(f"API discovery failed on {self.conn.server}: {exc}") from None

    def _whoami(self) -> str | None:
        body = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
        try:
            review = self.conn.request("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", body=body)
        except ApiError:  # an old server or a policy that hides it: not an authentication failure
            return None
        username = ((review.get("status") or {}).get("userInfo") or {}).get("username")
        if username == "system:anonymous":
            raise AuthError(f"context {self.conn.context!r}: the API server at {self.conn.server} treated the "
                            "request as anonymous; the credentials were not accepted or not sent")
        return username

    def _discovery(self, core: dict, groups: dict) -> dict[str, dict[str, list[str]]]:
        if core.get("kind") == "APIGroupDiscoveryList" and groups.get("kind") == "APIGroupDiscoveryList":
            served: dict[str, dict[str, list[str]]] = {}
            for doc in (core, groups):
                for item in doc.get("items") or []:
                    group = (item.get("metadata") or {}).get("name") or ""
                    for ver in item.get("versions") or []:
                        served.setdefault(group, {})[ver["version"]] = [
                            r["resource"] for r in ver.get("resources") or []]
            return served
        return self._legacy_discovery(core, groups)

    def _legacy_discovery(self, core: dict, groups: dict) -> dict[str, dict[str, list[str]]]:
        """Servers without aggregated discovery: one request per group version, concurrently."""
        wanted = [("", v, f"/api/{v}") for v in core.get("versions") or []]
        for g in groups.get("groups") or []:
            preferred = (g.get("preferredVersion") or {}).get("version")
            versions = sorted((v["version"] for v in g.get("versions") or []), key=lambda v: v != preferred)
            wanted += [(g["name"], v, f"/apis/{g['name']}/{v}") for v in versions]
        served: dict[str, dict[str, list[str]]] = {}

        def fetch(item):
            group, version, path = item
            try:
                doc = self.conn.get(path)
            except ApiError:  # an unavailable aggregated API: its group is simply not served right now
                return group, version, None
            return group, version, [r["name"] for r in doc.get("resources") or [] if "/" not in r["name"]
                                    or group.endswith("metrics.k8s.io")]

        with ThreadPoolExecutor(max_workers=MAX_PARALLEL_REQUESTS) as pool:
            for group, version, names in pool.map(fetch, wanted):
                if names is not None:
                    served.setdefault(group, {})[version] = names
        return served

    # lists ------------------------------------------------------------------------------------------------
    def load(self, resources) -> None:
        todo = [r for r in dict((r.key, r) for r in resources).values() if r.key not in self._listings]
        if not todo:
            return
        pool = ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_REQUESTS, len(todo)))
        try:
            for res, listing in zip(todo, pool.map(self._list, todo)):
                self._listings[res.key] = listing
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def _list(self, res: Resource) -> Listing:
        version = self.choose_version(res)
        if version is None:
            return Listing(res, Outcome.NOT_SERVED)
        group_version = f"{res.group}/{version}" if res.group else version
        path = f"/apis/{group_version}/{res.resource}" if res.group else f"/api/{version}/{res.resource}"
        accept = ACCEPT_METADATA_LIST if res.metadata_only else ACCEPT_JSON
        project = projector(res)
        items: list[dict] = []
        token, restarted = "", False
        while True:
            query = [("limit", PAGE_SIZE)]
            if res.field_selector:
                query.append(("fieldSelector", res.field_selector))
            if token:
                query.append(("continue", token))
            try:
                page = self.conn.get(path, query, accept)
            except ConnectError as exc:  # the preflight reached the server: a slow list is this listing's problem
                return Listing(res, Outcome.ERROR, version=version, detail=str(exc))
            except ApiError as exc:
                if exc.status == 410 and token and not restarted:  # continue token expired: start over once
                    items, token, restarted = [], "", True
                    continue
                if exc.status == 403:
                    return Listing(res, Outcome.FORBIDDEN, version=version, detail=str(exc))
                if exc.status == 404:
                    return Listing(res, Outcome.NOT_SERVED, version=version, detail=str(exc))
                return Listing(res, Outcome.ERROR, version=version, detail=f"HTTP {exc.status}: {exc}")
            for item in page.get("items") or []:
                item["apiVersion"] = group_version
                item["kind"] = res.kind
                items.append(project(item))
            token = (page.get("metadata") or {}).get("continue") or ""
            if not token:
                return Listing(res, Outcome.OK, items, version=version)
