"""Online checks: do the URLs of a PRODUCT.yaml answer, and is the vendor a CNCF member?

A URL passes when a HEAD request answers with a status below 400, or else a GET does (redirects
followed), within 30 seconds — the same test CNCF's validator applies. Requests say who is
asking: the User-Agent names kubectl-aiconf and its version.

The CNCF member list comes from the CNCF landscape (``landscape.yml``): every item name under
the "CNCF Members" category, with a trailing " (member)" / " (supporter)" removed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from kubectl_aiconf import __version__

USER_AGENT = f"kubectl-aiconf/{__version__} (PRODUCT.yaml pre-submission check for CNCF Kubernetes AI Conformance)"
LANDSCAPE_URL = "https://raw.githubusercontent.com/cncf/landscape/master/landscape.yml"
LANDSCAPE_URL_ENV = "KUBECTL_AICONF_LANDSCAPE_URL"
URL_TIMEOUT = 30.0
LANDSCAPE_TIMEOUT = 60.0
MAX_WORKERS = 16

_HEADERS = {
    "User-Agent": USER_AGENT,
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "en-US,en;q=0.5",
}
_MEMBER_SUFFIXES = (" (member)", " (supporter)")


def landscape_url() -> str:
    return os.environ.get(LANDSCAPE_URL_ENV) or LANDSCAPE_URL


@dataclass(frozen=True)
class UrlResult:
    url: str
    ok: bool
    reached: bool  # some HTTP response came back (so the network worked for this host)
    detail: str  # "HTTP 404", "connection refused", ... ("" when ok)
    certain: bool  # a failure cannot be blamed on a missing network (local host, malformed URL)


def is_local_host(url: str) -> bool:
    import ipaddress
    from urllib.parse import urlsplit

    try:
        host = (urlsplit(url).hostname or "").strip("[]").lower()
    except ValueError:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return ip.is_loopback or ip.is_private or ip.is_link_local


def _quote_url(url: str) -> str:
    """Percent-encode characters Go's HTTP client would escape itself (spaces, non-ASCII)."""
    from urllib.parse import quote, urlsplit, urlunsplit

    parts = urlsplit(url)
    path = quote(parts.path, safe="/%:@!$&'()*+,;=-._~")
    query = quote(parts.query, safe="/?%:@!$&'()*+,;=-._~")
    return urlunsplit((parts.scheme, parts.netloc, path, query, ""))


_OPENER = None


def _opener():
    """urllib's default opener, except that a redirected HEAD stays a HEAD (as in Go)."""
    global _OPENER
    if _OPENER is None:
        import urllib.request

        class KeepHeadRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, req, fp, code, msg, headers, newurl):
                new = super().redirect_request(req, fp, code, msg, headers, newurl)
                if new is not None and req.get_method() == "HEAD":
                    new.method = "HEAD"
                return new

        _OPENER = urllib.request.build_opener(KeepHeadRedirect)
    return _OPENER


def invalid_url(url: str) -> str:
    """Why Go's HTTP client would refuse the URL outright ("" when it is well-formed)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as e:
        return str(e)
    if parts.scheme not in ("http", "https"):
        return f"unsupported protocol scheme {parts.scheme!r}"
    if not host:
        return "no host in URL"
    if any(ord(c) < 0x20 or c == "\x7f" for c in url):
        return "control character in URL"
    return ""


def _request(method: str, url: str, timeout: float):
    """(status, None) when an HTTP response arrived, (None, reason) when none did."""
    import http.client
    import urllib.error
    import urllib.request

    req = urllib.request.Request(_quote_url(url), method=method, headers=_HEADERS)
    try:
        with _opener().open(req, timeout=timeout) as resp:
            return resp.status, None
    except urllib.error.HTTPError as e:
        e.close()
        return e.code, None
    except urllib.error.URLError as e:
        return None, _reason(e.reason)
    except TimeoutError:
        return None, "timed out"
    except (http.client.HTTPException, OSError) as e:
        return None, _reason(e)


def _reason(reason) -> str:
    import socket
    import ssl

    if isinstance(reason, socket.gaierror):
        return "host name not resolved"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, (socket.timeout, TimeoutError)):
        return "timed out"
    if isinstance(reason, ssl.SSLError):
        return f"TLS error: {getattr(reason, 'reason', None) or reason}"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror.lower()
    return str(reason) or type(reason).__name__


def check_url(url: str, timeout: float = URL_TIMEOUT) -> UrlResult:
    bad = invalid_url(url)
    if bad:
        return UrlResult(url, False, False, f"invalid URL: {bad}", True)
    local = is_local_host(url)
    try:
        status, reason = _request("HEAD", url, timeout)
        if status is not None and status < 400:
            return UrlResult(url, True, True, "", local)
        head = f"HEAD answered {status}" if status is not None else f"HEAD failed: {reason}"
        status, reason = _request("GET", url, timeout)
    except ValueError as e:  # anything else urllib refuses to send
        return UrlResult(url, False, False, f"invalid URL: {e}", True)
    if status is None:
        return UrlResult(url, False, head.startswith("HEAD answered"), reason, local)
    if status < 400:
        return UrlResult(url, True, True, "", local)
    return UrlResult(url, False, True, f"HTTP {status} ({head}, GET answered {status})", local)


def check_urls(urls, timeout: float = URL_TIMEOUT, workers: int = MAX_WORKERS) -> dict[str, UrlResult]:
    """Check each distinct URL once, several at a time."""
    from concurrent.futures import ThreadPoolExecutor

    distinct = list(dict.fromkeys(urls))
    if not distinct:
        return {}
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(distinct)))) as pool:
        results = pool.map(lambda u: check_url(u, timeout), distinct)
        return dict(zip(distinct, results))


@dataclass(frozen=True)
class Members:
    names: frozenset[str] | None  # None when the list could not be fetched or read
    error: str  # why not ("" when names is set)
    reached: bool  # an HTTP response came back
    url: str
    local: bool


def fetch_members(url: str | None = None, timeout: float = LANDSCAPE_TIMEOUT) -> Members:
    import urllib.error
    import urllib.request

    url = url or landscape_url()
    local = is_local_host(url)
    req = urllib.request.Request(url, headers=_HEADERS)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, body = resp.status, resp.read()
    except urllib.error.HTTPError as e:
        e.close()
        return Members(None, f"HTTP {e.code}", True, url, local)
    except urllib.error.URLError as e:
        return Members(None, _reason(e.reason), False, url, local)
    except (OSError, ValueError) as e:
        return Members(None, _reason(e), False, url, local)
    if status != 200:
        return Members(None, f"HTTP {status}", True, url, local)
    try:
        names = members_from_landscape(body)
    except ValueError as e:
        return Members(None, str(e), True, url, local)
    return Members(frozenset(names), "", True, url, local)


def members_from_landscape(body: bytes) -> set[str]:
    """Names listed under the landscape's "CNCF Members" category, suffixes removed."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        data = yaml.load(body, Loader=loader)
    except yaml.YAMLError as e:
        raise ValueError(f"landscape.yml is not valid YAML: {e}") from None
    categories = data.get("landscape") if isinstance(data, dict) else None
    for category in categories or []:
        if not isinstance(category, dict) or category.get("name") != "CNCF Members":
            continue
        names = set()
        for sub in category.get("subcategories") or []:
            items = sub.get("items") if isinstance(sub, dict) else None
            for item in items or []:
                name = item.get("name") if isinstance(item, dict) else None
                if not isinstance(name, str):
                    continue
                for suffix in _MEMBER_SUFFIXES:
                    if name.endswith(suffix):
                        name = name[: -len(suffix)]
                name = name.strip()
                if name:
                    names.add(name)
        return names
    raise ValueError("landscape.yml has no 'CNCF Members' category")
