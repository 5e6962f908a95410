"""The live view: the only module that talks to the API server.

One preflight round (version, who am I, aggregated discovery), then one concurrent round of paginated list
calls. Errors become typed facts on each listing (403 -> FORBIDDEN naming the permission, 404 -> NOT_SERVED),
never "absent". Failures that make the whole run meaningless (unreachable server, TLS, authentication)
raise `LoadError` subclasses with one clear line.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import re
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

from kubectl_aiconf.view import ClusterView, Listing, ListingTiming, LoadError, Outcome, Resource, gc_paused, projector
from kubectl_aiconf.view.kubeconfig import ConnectOptions, ResolvedConfig

if TYPE_CHECKING:
    from urllib3._collections import HTTPHeaderDict

ACCEPT_JSON = "application/json"
ACCEPT_METADATA_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
ACCEPT_AGGREGATED_DISCOVERY = (
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
)
# Half of kubectl's 500. Pages are decoded one at a time and the next one is prefetched, so smaller pages
# cost no time; they leave less garbage between the kept objects: at 5,000 nodes and 20,000 pods the peak
# was 129 MB instead of 152 MB.
PAGE_SIZE = 250
MAX_PARALLEL_REQUESTS = 16
# Retries within a request's deadline: statuses where the server asks the client to come back (GETs only).
RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_RETRIES = 2
RETRY_BACKOFF = 0.2  # seconds before the first retry without Retry-After, doubled each time
BODY_CHUNK = 64 * 1024


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
    """An authenticated HTTP client for one kube context, built from the official client's configuration.

    `request_timeout` bounds each whole request as kubectl's --request-timeout does: connecting, waiting,
    reading the body and any retries all come out of one budget. urllib3's own timeout cannot do that: it
    limits each socket read (a body trickled over 12 s passes a 5 s timeout), restarts on every retry and
    sleeps whatever a Retry-After asks. So retries and body reads are done here, against one deadline.
    """

    def __init__(self, resolved: ResolvedConfig, request_timeout: float | None) -> None:
        from urllib3.util.retry import Retry

        from kubectl_aiconf.view.kubeclient import kube_client

        kube = kube_client()
        config = kube.config
        cfg = kube.Configuration()
        failures: list[str] = []
        capture = _CaptureErrors(failures)
        root = logging.getLogger()
        root.addHandler(capture)
        try:
            # persist_config=False: refreshed tokens must never be written back into the user's kubeconfig.
            config.load_kube_config_from_dict(
                resolved.config, context=resolved.context, client_configuration=cfg, persist_config=False
            )
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
        if not cfg.verify_ssl:
            # --insecure-skip-tls-verify was asked for: kubectl does not warn on every request either
            import urllib3

            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        # urllib3 retries nothing itself (request() does, within the deadline); it only follows redirects.
        # total=None: a total of 0 would also count redirects.
        self._no_retries = Retry(total=None, connect=0, read=0, status=0, other=0, redirect=5, raise_on_status=False)
        cfg.retries = self._no_retries
        token_file = ((resolved.config.get("users") or [{}])[0].get("user") or {}).get("tokenFile")
        if token_file and "BearerToken" in cfg.api_key:
            # A mounted service account token is rotated by the kubelet: read it again when it changed.
            cfg.refresh_api_key_hook = _TokenFile(token_file)
        self.server = cfg.host
        self.context = resolved.context
        self.timeout = request_timeout or None
        self._api = kube.ApiClient(cfg)
        # --as, --as-group, --as-uid: every request, SelfSubjectReviews and -AccessReviews too, acts as them
        self._impersonation = resolved.impersonation
        self._lock = threading.Lock()
        self.requests = 0

    def request(
        self,
        method: str,
        path: str,
        query: list | None = None,
        body: dict | None = None,
        accept: str = ACCEPT_JSON,
        text: bool = False,
        raw: bool = False,
    ):
        """The decoded JSON body; with `text=True` the body as a string (pod logs are plain text), with
        `raw=True` the undecoded bytes (list pages, decoded and timed by the caller)."""
        from urllib.parse import urlencode

        with self._lock:
            self.requests += 1
        deadline = time.monotonic() + self.timeout if self.timeout else None
        # a header dict that may repeat a name: each --as-group is an Impersonate-Group header of its own
        # (imported from where urllib3 1.26 and 2.x both define it)
        from urllib3._collections import HTTPHeaderDict

        headers = HTTPHeaderDict({**self._api.default_headers, "Accept": accept})
        for name, value in self._impersonation:
            headers.add(name, value)
        if self._api.cookie:
            headers["Cookie"] = self._api.cookie
        payload = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            payload = json.dumps(self._api.sanitize_for_serialization(body))
        url = self.server + path + (f"?{urlencode(query)}" if query else "")
        status, data, note = self._with_retries(method, url, headers, payload, deadline)
        if status == 401:
            raise AuthError(
                f"the API server at {self.server} rejected the credentials of context "
                f"{self.context!r} (401 Unauthorized); log in again or check the kubeconfig"
            )
        if not 200 <= status <= 299:
            reason = http.client.responses.get(status, "error")
            raise ApiError(status, _status_message(data, reason) + note)
        if raw:
            return data
        if text:
            return data.decode("utf-8", "replace")
        try:
            return json.loads(data or b"{}")
        except ValueError as exc:
            raise ApiError(0, f"invalid JSON from {path}: {exc}") from None

    def get(self, path: str, query: list | None = None, accept: str = ACCEPT_JSON) -> dict:
        return self.request("GET", path, query=query, accept=accept)

    # one request, its retries and its body, within one deadline ------------------------------------------
    def _with_retries(
        self, method: str, url: str, headers: HTTPHeaderDict, payload: str | None, deadline: float | None
    ) -> tuple[int, bytes, str]:
        """(status, body, note) of the last attempt; `note` says why a retryable answer was not retried.

        Retried, as before: GETs answered 429/502/503/504 (the server asks to come back; GETs are safe to
        repeat) and any request whose connection could not be opened (nothing was sent). A Retry-After the
        deadline cannot wait for is not waited for: the answer stands, with the reason in the message.
        """
        attempt = 0
        while True:
            # Credentials are applied per attempt: an exec plugin's token may have been refreshed meanwhile.
            attempt_headers = headers.copy()
            self._api.update_params_for_auth(attempt_headers, [], ["BearerToken"])
            try:
                status, retry_after, data = self._attempt(method, url, attempt_headers, payload, deadline)
            except _NoConnection as exc:
                wait = RETRY_BACKOFF * 2**attempt
                if attempt < MAX_RETRIES and self._left(deadline) > wait:
                    time.sleep(wait)
                    attempt += 1
                    continue
                raise ConnectError(exc.message) from None
            if method != "GET" or status not in RETRY_STATUSES or attempt >= MAX_RETRIES:
                return status, data, ""
            wait = retry_after if retry_after is not None else RETRY_BACKOFF * 2**attempt
            left = self._left(deadline)
            if wait >= left:
                return (
                    status,
                    data,
                    (
                        f" (the server asked to retry after {wait:g}s; only {max(left, 0):.1f}s "
                        f"of --request-timeout {self.timeout:g}s were left)"
                    ),
                )
            time.sleep(wait)
            attempt += 1

    @staticmethod
    def _left(deadline: float | None) -> float:
        return deadline - time.monotonic() if deadline is not None else float("inf")

    def _timed_out(self) -> ConnectError:
        limit = f"{self.timeout:g}s" if self.timeout else "0"
        return ConnectError(f"timed out talking to {self.server} (--request-timeout {limit})")

    def _attempt(
        self, method: str, url: str, headers: HTTPHeaderDict, payload: str | None, deadline: float | None
    ) -> tuple[int, float | None, bytes]:
        """(status, Retry-After in seconds or None, body) of one attempt; raises _NoConnection when the
        connection could not be opened, ConnectError on any other transport failure or the deadline."""
        import urllib3
        from urllib3.exceptions import HTTPError, InvalidHeader, MaxRetryError, NewConnectionError, SSLError
        from urllib3.exceptions import TimeoutError as Urllib3Timeout

        left = self._left(deadline)
        if left <= 0:
            raise self._timed_out()
        # Timeout(total=left) bounds connecting and waiting for the headers by what is left of the budget.
        timeout = urllib3.Timeout(total=left) if deadline is not None else None
        try:
            resp = self._api.rest_client.pool_manager.urlopen(
                method,
                url,
                body=payload,
                headers=headers,
                timeout=timeout,
                retries=self._no_retries,
                preload_content=False,
            )
        except (MaxRetryError, Urllib3Timeout, HTTPError) as exc:
            reason = getattr(exc, "reason", None) or exc
            # NewConnectionError subclasses the timeout error in urllib3: test it first.
            if isinstance(reason, NewConnectionError):
                raise _NoConnection(f"cannot reach the API server at {self.server}: {_first_line(reason)}") from None
            if isinstance(reason, Urllib3Timeout) or "timed out" in str(reason).lower():
                raise self._timed_out() from None
            if isinstance(reason, SSLError):
                raise ConnectError(f"cannot reach the API server at {self.server}: {_tls_failure(reason)}") from None
            if isinstance(exc, MaxRetryError):
                raise ConnectError(f"cannot reach the API server at {self.server}: {_first_line(reason)}") from None
            raise ConnectError(f"cannot talk to {self.server}: {_first_line(reason)}") from None
        try:
            data = self._read_body(resp, deadline)
        except (TimeoutError, Urllib3Timeout):  # the deadline, or one socket read that outlived it
            raise self._timed_out() from None
        except (HTTPError, OSError) as exc:
            raise ConnectError(f"cannot talk to {self.server}: {_first_line(exc)}") from None
        retry_after = None
        if resp.headers.get("Retry-After") is not None:
            try:
                retry_after = self._no_retries.parse_retry_after(resp.headers["Retry-After"])
            except InvalidHeader:
                pass  # an unreadable Retry-After: back off as if there were none
        return resp.status, retry_after, data

    @staticmethod
    def _read_body(resp, deadline: float | None) -> bytes:
        """The whole body, read before the deadline or not at all.

        One bounded read at a time (read1 does at most one socket read), the socket's timeout shrunk to
        what is left before each: a body trickled byte by byte then fails at the deadline, not after it.
        """
        chunks: list[bytes] = []
        sock = getattr(getattr(resp, "connection", None), "sock", None)
        read = getattr(resp, "read1", None) or resp.read  # read1 needs urllib3 >= 2
        try:
            while True:
                if deadline is not None:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise TimeoutError("deadline passed while reading the body")
                    if sock is not None:
                        try:
                            sock.settimeout(left)
                        except OSError:
                            pass
                chunk = read(BODY_CHUNK)
                if not chunk:
                    break
                chunks.append(chunk)
        except BaseException:
            resp.close()  # the connection is mid-body: it must not go back to the pool
            resp.release_conn()
            raise
        resp.release_conn()
        return b"".join(chunks)


class _TokenFile:
    """The client's refresh hook for a token named by file: the file is read again when its mtime changes."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.mtime = self._mtime()

    def _mtime(self) -> float | None:
        try:
            return os.stat(self.path).st_mtime
        except OSError:
            return None

    def __call__(self, cfg) -> None:
        mtime = self._mtime()
        if mtime is None or mtime == self.mtime:
            return
        try:
            with open(self.path, encoding="utf-8") as f:
                token = f.read().strip()
        except OSError:  # mid-rotation: the token read before stays in use
            return
        if token:
            self.mtime = mtime
            cfg.api_key["BearerToken"] = f"Bearer {token}"


class _NoConnection(Exception):
    """No connection could be opened, so nothing was sent: safe to retry whatever the method."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _first_line(value) -> str:
    text = str(value).strip()
    # urllib3 wraps the useful part: "<urllib3.connection...>: Failed to establish a new connection: [Errno 111] ..."
    if "Failed to establish a new connection:" in text:
        text = text.split("Failed to establish a new connection:", 1)[1].strip().rstrip("')\"")
    return text.splitlines()[0] if text else type(value).__name__


def _tls_failure(reason) -> str:
    """The TLS failure in one line, with the flag that fixes the usual causes."""
    text = re.sub(r"\[SSL: [A-Z_]+\] ?|\s*\(_ssl\.c:\d+\)", "", _first_line(reason)).rstrip(". ")
    if "Hostname mismatch" in text or "IP address mismatch" in text:
        return f"TLS: {text} (use the name the certificate is for, or --tls-server-name)"
    if "certificate verify failed" in text:
        return f"TLS: {text} (check --certificate-authority or the kubeconfig's certificate-authority)"
    return f"TLS: {text}"


class _CaptureErrors(logging.Handler):
    """The client's errors while this thread loads credentials: several clusters connect at once (fleet.py),
    and one context's failing credential plugin must not be blamed on another's."""

    def __init__(self, sink: list[str]) -> None:
        super().__init__(logging.ERROR)
        self.sink = sink
        self.thread = threading.get_ident()

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.sink.append(record.getMessage())


class LiveView(ClusterView):
    source = "live"

    def __init__(self, conn: Connection) -> None:
        super().__init__()
        self.conn = conn
        self.context = conn.context
        self.username: str | None = None

    @classmethod
    def connect(
        cls,
        kubeconfig: str | None,
        context: str | None,
        request_timeout: float | None,
        *,
        options: ConnectOptions | None = None,
    ) -> LiveView:
        """`options`: kubectl's other connection flags (--server, --token, --as, ...), applied to the context."""
        from kubectl_aiconf.view.kubeconfig import resolve

        view = cls(Connection(resolve(kubeconfig, context, options), request_timeout))
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
            raise AuthError(
                f"context {self.conn.context!r}: the API server at {self.conn.server} treated the "
                "request as anonymous; the credentials were not accepted or not sent"
            )
        return username

    def _discovery(self, core: dict, groups: dict) -> dict[str, dict[str, list[str]]]:
        if core.get("kind") == "APIGroupDiscoveryList" and groups.get("kind") == "APIGroupDiscoveryList":
            served: dict[str, dict[str, list[str]]] = {}
            for doc in (core, groups):
                for item in doc.get("items") or []:
                    group = (item.get("metadata") or {}).get("name") or ""
                    for ver in item.get("versions") or []:
                        served.setdefault(group, {})[ver["version"]] = [
                            r["resource"] for r in ver.get("resources") or []
                        ]
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
            return (
                group,
                version,
                [
                    r["name"]
                    for r in doc.get("resources") or []
                    if "/" not in r["name"] or group.endswith("metrics.k8s.io")
                ],
            )

        with ThreadPoolExecutor(max_workers=MAX_PARALLEL_REQUESTS) as pool:
            for group, version, names in pool.map(fetch, wanted):
                if names is not None:
                    served.setdefault(group, {})[version] = names
        return served

    # lists ------------------------------------------------------------------------------------------------
    def load(self, resources) -> None:
        todo = [r for r in {r.key: r for r in resources}.values() if r.key not in self._listings]
        if not todo:
            return
        pool = ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_REQUESTS, len(todo)))
        try:
            with gc_paused():
                for res, listing in zip(todo, pool.map(self._list, todo)):
                    self._listings[res.key] = listing
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def _list(self, res: Resource) -> Listing:
        version = self.choose_version(res)
        if version is None:
            return Listing(res, Outcome.NOT_SERVED)
        timing = ListingTiming(res.key)
        started = time.perf_counter()
        pager = _Pager(self.conn, res, version, timing)
        try:
            items = self._list_sliced(pager) if res.namespaced and res.sliced else pager.pages(pager.path())
        except (ApiError, ConnectError) as exc:
            listing = _failed(res, version, exc)
        else:
            listing = Listing(res, Outcome.OK, items, version=version)
        timing.seconds = time.perf_counter() - started
        listing.timing = timing
        return listing

    def _list_sliced(self, pager: _Pager) -> list[dict]:
        """A large namespaced resource, one namespace per request stream, concurrently.

        Pages of one listing must come one after another (each needs the previous continue token), so
        20,000 pods are 40 round trips in a row. A first page of one item tells how many there are
        (remainingItemCount); when that is more than a few pages and the namespaces can be listed, each
        namespace is paginated on its own and the server works on several at once. Otherwise the listing
        goes on from that first page. The slices are not one consistent snapshot, as one paginated list
        is: a namespace created meanwhile may be missed, which a read-only report can afford.
        """
        path = pager.path()
        first = pager.page(path, "", limit=1)
        remaining = first.remaining
        if not first.token or remaining is None or remaining <= SLICE_THRESHOLD:
            return pager.pages(path, start=first)
        try:
            namespaces = self._namespaces()
        except (ApiError, ConnectError):  # cannot list namespaces: one stream, from where the first page ended
            return pager.pages(path, start=first)
        with ThreadPoolExecutor(max_workers=MAX_SLICES, thread_name_prefix="aiconf-slice") as pool:
            slices = list(pool.map(lambda ns: pager.pages(pager.path(ns)), namespaces))
        return [item for items in slices for item in items]

    def _namespaces(self) -> list[str]:
        from kubectl_aiconf.resources import NAMESPACES

        pager = _Pager(self.conn, NAMESPACES, "v1", ListingTiming(NAMESPACES.key))
        return [(ns.get("metadata") or {}).get("name") or "" for ns in pager.pages(pager.path())]


_DECODING = threading.Lock()
SLICE_THRESHOLD = 2000  # more objects than this: list per namespace, concurrently
MAX_SLICES = 4  # namespaces listed at once (each a sequence of pages)


def _failed(res: Resource, version: str, exc: ApiError | ConnectError) -> Listing:
    """The listing a failed request leaves: 403 forbidden, 404 not served, anything else an error."""
    if isinstance(exc, ConnectError):  # the preflight reached the server: a slow list is this listing's problem
        return Listing(res, Outcome.ERROR, version=version, detail=str(exc))
    if exc.status == 403:
        return Listing(res, Outcome.FORBIDDEN, version=version, detail=str(exc))
    if exc.status == 404:
        return Listing(res, Outcome.NOT_SERVED, version=version, detail=str(exc))
    return Listing(res, Outcome.ERROR, version=version, detail=f"HTTP {exc.status}: {exc}")


@dataclass
class _Page:
    items: list[dict]  # trimmed
    token: str  # continue token; "" on the last page
    remaining: int | None  # remainingItemCount, when the server says


class _Pager:
    """Paginated GETs of one resource (cluster-wide or in one namespace), items trimmed as pages arrive.

    The next page is requested as soon as its continue token is known, read from the head of the body
    (the API server writes the list metadata before the items), so the server serializes page k+1 while
    this process decodes and trims page k. The token of the full decode stays authoritative.
    """

    def __init__(self, conn: Connection, res: Resource, version: str, timing: ListingTiming) -> None:
        self.conn, self.res, self.timing = conn, res, timing
        self.group_version = f"{res.group}/{version}" if res.group else version
        self.accept = ACCEPT_METADATA_LIST if res.metadata_only else ACCEPT_JSON
        self.project = projector(res)
        self._lock = threading.Lock()

    def path(self, namespace: str = "") -> str:
        prefix = f"/apis/{self.group_version}" if self.res.group else f"/api/{self.group_version}"
        scope = f"/namespaces/{quote(namespace, safe='')}" if namespace else ""
        return f"{prefix}{scope}/{self.res.resource}"

    def fetch(self, path: str, token: str, limit: int = 0) -> tuple[bytes, float]:
        query: list[tuple[str, str | int]] = [("limit", limit or PAGE_SIZE)]
        if self.res.field_selector:
            query.append(("fieldSelector", self.res.field_selector))
        if token:
            query.append(("continue", token))
        sent = time.perf_counter()
        body = self.conn.request("GET", path, query, accept=self.accept, raw=True)
        return body, time.perf_counter() - sent

    def page(self, path: str, token: str, limit: int = 0) -> _Page:
        body, wire = self.fetch(path, token, limit)
        return self._decode(path, body, wire)

    def pages(self, path: str, start: _Page | None = None) -> list[dict]:
        """All items under `path`, from the beginning or on from the page `start`. A continue token that
        expires midway (410 Gone) restarts the listing once; other errors raise."""
        items = list(start.items) if start else []
        token = start.token if start else ""
        if start and not token:
            return items
        restarted = False
        ahead: tuple[str, Future] | None = None  # (continue token, the request of that page in flight)
        prefetch = ThreadPoolExecutor(max_workers=1, thread_name_prefix="aiconf-page")
        try:
            while True:
                waited = time.perf_counter()
                try:
                    if ahead and ahead[0] == token:
                        body, _ = ahead[1].result()
                        wire = time.perf_counter() - waited  # only what the prefetch did not hide
                    else:
                        body, wire = self.fetch(path, token)
                except ApiError as exc:
                    if exc.status == 410 and token and not restarted:
                        items, token, restarted, ahead = [], "", True, None
                        continue
                    raise
                peeked = _peek_continue(body)
                ahead = (peeked, prefetch.submit(self.fetch, path, peeked)) if peeked else None
                page = self._decode(path, body, wire)
                items += page.items
                token = page.token
                if not token:
                    return items
        finally:
            prefetch.shutdown(wait=False, cancel_futures=True)

    def _decode(self, path: str, body: bytes, wire: float) -> _Page:
        # One page decoded at a time, process-wide. Decoding and trimming hold the GIL anyway, so this
        # costs no throughput; but only one page's full objects (several MB) exist at once, and the memory
        # they free is reused by the next page instead of scattering the kept objects over more of it.
        with _DECODING:
            received = time.perf_counter()
            try:
                page = json.loads(body or b"{}")
            except ValueError as exc:
                raise ApiError(0, f"invalid JSON from {path}: {exc}") from None
            decoded = time.perf_counter()
            items = []
            for item in page.get("items") or []:
                item["apiVersion"] = self.group_version
                item["kind"] = self.res.kind
                items.append(self.project(item))
            meta = page.get("metadata") or {}
            del page
            trimmed = time.perf_counter()
        with self._lock:  # slices of one listing add to one timing
            self.timing.add_page(len(body), wire, decoded - received, trimmed - decoded)
        return _Page(items, meta.get("continue") or "", meta.get("remainingItemCount"))


def _peek_continue(body: bytes) -> str:
    """The continue token of a list page, from the list metadata that precedes the items; "" when it is
    absent or the body is laid out otherwise (then the full decode finds it)."""
    end = body.find(b'"items":', 0, 4096)
    if end < 0:
        return ""
    try:
        head = json.loads(body[:end].rstrip(b", \n") + b"}")
    except ValueError:
        return ""
    meta = head.get("metadata") if isinstance(head, dict) else None
    token = meta.get("continue") if isinstance(meta, dict) else None
    return token if isinstance(token, str) else ""
