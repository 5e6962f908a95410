"""ai_inference probe: an HTTPRoute in the probe namespace, attached to an existing Gateway that admits routes
from other namespaces (or to a probe Gateway of an Accepted GatewayClass), must be Accepted with ResolvedRefs
by the Gateway's controller.

The route only matches the host `<namespace>.aiconf-probe.invalid` (a name that never resolves) under
/aiconf-probe, so it cannot take traffic from anything else on a shared Gateway. Its backend is a probe pod
serving a token behind a probe Service. Where a data path exists (the route was accepted, the listener speaks
plain HTTP and the Gateway reports an address), a client pod then asks the Gateway's address for the route's
host and path: the token coming back shows a request really reached the backend through the Gateway.

Pure: `choose_parent`, `manifests`, `client_pod`, `judge`, `judge_data_path`. Thin: `plan`'s execute.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from kubectl_aiconf.knowledge.gateways import GATEWAY_GROUP
from kubectl_aiconf.probe import DEFAULT_IMAGE, ROUTE_WAIT, kit, pods
from kubectl_aiconf.probe.plan import PlanError, namespace_manifest
from kubectl_aiconf.result import CheckResult, Evidence, Status

ROUTE, SERVICE, GATEWAY, CLIENT = "aiconf-route", "aiconf-backend", "aiconf-gateway", "aiconf-client"
PATH = "/aiconf-probe"
BACKEND_PORT = 8080  # the backend runs as a non-root user: no port below 1024
ATTEMPT_SECONDS = 5  # one request of the client (3 s at most) and the pause after it
MAX_ATTEMPTS = 20  # a data plane may take a while to program a new route: tries spread over the time left
BACKEND_READY_WAIT = 30.0  # the backend pod must be Ready before a request can reach it
# An HTTP error status in what wget printed (busybox: "server returned error: HTTP/1.1 404 Not Found"; GNU
# wget: "ERROR 404: Not Found."): the Gateway answered, so its address was reached.
_HTTP_ERROR = re.compile(r"server returned error|ERROR [45]\d\d|HTTP/\d(?:\.\d)? [45]\d\d")
HTTP_PROTOCOLS = ("HTTP", "HTTPS")
# Reasons that say the probe's own route does not suit the parent (not that the controller failed).
PLAN_MISMATCH = ("NotAllowedByListeners", "NoMatchingListenerHostname", "NoMatchingParent")


@dataclass
class Parent:
    gateway: str
    namespace: str  # the Gateway's
    listener: str | None  # sectionName, when one listener was chosen
    hostname: str
    gateway_class: str
    create_gateway: bool  # the probe makes the Gateway itself
    note: str
    protocol: str = "HTTP"  # the chosen listener's
    port: int = 80


def _true(obj: dict, type_: str) -> bool:
    return kit.condition(obj, type_).get("status") == "True"


def _route_hostname(listener_host: str | None, namespace: str) -> str:
    if not listener_host:
        return f"{namespace}.aiconf-probe.invalid"
    if listener_host.startswith("*."):
        return f"{namespace}.{listener_host[2:]}"
    return listener_host


def _admits(listener: dict, gateway_ns: str, ns_labels: dict, probe_ns: str) -> bool:
    if listener.get("protocol") not in HTTP_PROTOCOLS:
        return False
    allowed = (listener.get("allowedRoutes") or {}).get("namespaces") or {}
    source = allowed.get("from") or "Same"
    kinds = [k.get("kind") for k in (listener.get("allowedRoutes") or {}).get("kinds") or []]
    if kinds and "HTTPRoute" not in kinds:
        return False
    if source == "All":
        return True
    if source == "Selector":
        return kit.selector_matches(allowed.get("selector"), ns_labels)
    return gateway_ns == probe_ns


def choose_parent(gateways: list[dict], classes: list[dict], namespace: str, ns_labels: dict) -> Parent:
    """An Accepted, Programmed Gateway with an HTTP listener admitting the probe namespace's routes; else a
    probe Gateway of an Accepted GatewayClass."""
    accepted_classes = {(gc.get("metadata") or {}).get("name"): gc for gc in classes if _true(gc, "Accepted")}
    why_not = []
    for gw in sorted(gateways, key=lambda g: (not _true(g, "Programmed"), (g.get("metadata") or {}).get("name"))):
        meta = gw.get("metadata") or {}
        name = f"{meta.get('namespace')}/{meta.get('name')}"
        if not _true(gw, "Accepted"):
            why_not.append(f"Gateway {name} is not Accepted")
            continue
        listener = next(
            (
                lst
                for lst in (gw.get("spec") or {}).get("listeners") or []
                if _admits(lst, meta.get("namespace") or "", ns_labels, namespace)
            ),
            None,
        )
        if listener is None:
            why_not.append(f"Gateway {name} admits no HTTPRoute from the probe namespace")
            continue
        return Parent(
            meta.get("name") or "",
            meta.get("namespace") or "",
            listener.get("name"),
            _route_hostname(listener.get("hostname"), namespace),
            (gw.get("spec") or {}).get("gatewayClassName") or "",
            False,
            f"Gateway {name} listener {listener.get('name')} ({listener.get('protocol')}) admits the route",
            str(listener.get("protocol")),
            int(listener.get("port") or 80),
        )
    if accepted_classes:
        cls = sorted(str(name) for name in accepted_classes)[0]
        return Parent(
            GATEWAY,
            namespace,
            "http",
            _route_hostname(None, namespace),
            cls,
            True,
            f"a probe Gateway of GatewayClass {cls}" + (f" ({'; '.join(why_not)})" if why_not else ""),
        )
    raise PlanError(
        "no Gateway admits routes from the probe namespace and no GatewayClass is Accepted"
        + (f" ({'; '.join(why_not)})" if why_not else "")
    )


def token(namespace: str) -> str:
    """What the backend answers: the run's own, so that no other server's page can pass for it."""
    return f"aiconf-backend-of-{namespace}"


def manifests(namespace: str, parent: Parent, image: str = DEFAULT_IMAGE) -> list[dict]:
    objects = []
    if parent.create_gateway:
        objects.append(
            {
                "apiVersion": f"{GATEWAY_GROUP}/v1",
                "kind": "Gateway",
                "metadata": {"name": GATEWAY, "namespace": namespace, "labels": kit.labels()},
                "spec": {
                    "gatewayClassName": parent.gateway_class,
                    "listeners": [{"name": "http", "protocol": "HTTP", "port": 80}],
                },
            }
        )
    serve = (
        f"mkdir -p /tmp/www && printf '%s\\n' '{token(namespace)}' > /tmp/www{PATH} && "
        f"exec httpd -f -p {BACKEND_PORT} -h /tmp/www"
    )
    backend_labels = kit.labels({"app.kubernetes.io/name": SERVICE})
    objects.append(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": SERVICE, "namespace": namespace, "labels": backend_labels},
            "spec": kit.pod_spec(
                [kit.container("backend", image, serve, ports=[{"name": "http", "containerPort": BACKEND_PORT}])],
                restart="Always",
            ),
        }
    )
    objects.append(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": SERVICE, "namespace": namespace, "labels": kit.labels()},
            "spec": {
                "selector": {"app.kubernetes.io/name": SERVICE},
                "ports": [{"name": "http", "port": 80, "targetPort": BACKEND_PORT}],
            },
        }
    )
    ref: dict = {"group": GATEWAY_GROUP, "kind": "Gateway", "name": parent.gateway, "namespace": parent.namespace}
    if parent.listener:
        ref["sectionName"] = parent.listener
    objects.append(
        {
            "apiVersion": f"{GATEWAY_GROUP}/v1",
            "kind": "HTTPRoute",
            "metadata": {"name": ROUTE, "namespace": namespace, "labels": kit.labels()},
            "spec": {
                "parentRefs": [ref],
                "hostnames": [parent.hostname],
                "rules": [
                    {
                        "matches": [{"path": {"type": "PathPrefix", "value": PATH}}],
                        "backendRefs": [{"name": SERVICE, "port": 80}],
                    }
                ],
            },
        }
    )
    return objects


def _ours(entry: dict, parent: Parent, route_ns: str) -> bool:
    ref = entry.get("parentRef") or {}
    return ref.get("name") == parent.gateway and (ref.get("namespace") or route_ns) == parent.namespace


def judge(route: dict | None, parent: Parent, waited: float, finished: bool) -> CheckResult | None:
    """The verdict on the route as last read; None: wait on. `finished`: the time limit is over."""
    ns = ((route or {}).get("metadata") or {}).get("namespace") or ""
    where = f"Gateway {parent.namespace}/{parent.gateway}"
    evidence = [Evidence("Probe plan", ns, parent.note)]
    if route is None:
        return None if not finished else kit.unknown(f"the HTTPRoute could not be read after {waited:.0f}s", evidence)
    entries = [e for e in (route.get("status") or {}).get("parents") or [] if _ours(e, parent, ns)]
    if not entries:
        if not finished:
            return None
        return kit.unknown(
            f"no controller reported on the HTTPRoute attached to {where} within {waited:.0f}s", evidence
        )
    entry = entries[0]
    conds = {c.get("type"): c for c in entry.get("conditions") or []}
    shown = "; ".join(f"{t}={c.get('status')} ({c.get('reason')})" for t, c in conds.items())
    controller = entry.get("controllerName") or "?"
    evidence.append(Evidence("HTTPRoute", f"{ns}/{ROUTE}", f"{where} via {controller}: {shown}"))
    accepted, resolved = conds.get("Accepted") or {}, conds.get("ResolvedRefs") or {}
    if accepted.get("status") == "False":
        reason = accepted.get("reason") or ""
        text = f"{controller} did not accept the HTTPRoute on {where}: {reason} {accepted.get('message') or ''}".strip()
        return kit.unknown(text, evidence) if reason in PLAN_MISMATCH else kit.failed(text, evidence)
    if resolved.get("status") == "False":
        return kit.failed(
            f"{controller} could not resolve the route's backend Service {SERVICE}: "
            f"{resolved.get('reason')} {resolved.get('message') or ''}".strip(),
            evidence,
        )
    if accepted.get("status") == "True" and resolved.get("status") == "True":
        return kit.passed(
            f"{controller} accepted an HTTPRoute on {where} and resolved its backend Service after {waited:.0f}s",
            evidence,
        )
    if not finished:
        return None
    return kit.unknown(f"{controller} reported on the HTTPRoute but not Accepted and ResolvedRefs: {shown}", evidence)


def gateway_address(gateway: dict | None) -> str:
    """The first address the Gateway reports (an IP address or a host name), or ""."""
    for address in ((gateway or {}).get("status") or {}).get("addresses") or []:
        if address.get("value"):
            return str(address["value"])
    return ""


def client_url(address: str, parent: Parent) -> str:
    host = f"[{address}]" if ":" in address else address  # an IPv6 address
    return f"http://{host}:{parent.port}{PATH}"


def attempts_for(seconds: float) -> int:
    return max(2, min(MAX_ATTEMPTS, int(seconds // ATTEMPT_SECONDS)))


def client_pod(namespace: str, parent: Parent, address: str, image: str, timeout: float) -> dict:
    """A pod that asks the Gateway's address for the route's host and path, as many times as `timeout` allows,
    and says in its log whether the backend's token came back (and what each failed attempt got)."""
    script = (
        f"i=0; while [ $i -lt {attempts_for(timeout - 10)} ]; do "  # 10 s for the pod to start and end
        f"out=$(wget -q -O - -T 3 --header 'Host: {parent.hostname}' '{client_url(address, parent)}' 2>&1); "
        f"if echo \"$out\" | grep -q '{token(namespace)}'; then echo 'AICONF reached=yes'; exit 0; fi; "
        'echo "AICONF attempt=$(echo "$out" | head -n 1)"; i=$((i+1)); sleep 2; done; '
        "echo 'AICONF reached=no'"
    )
    return pods.pod(namespace, CLIENT, "ai_inference", script, image, timeout=timeout)


def judge_data_path(
    route_result: CheckResult, run: pods.PodRun | None, address: str, parent: Parent, not_tried: str = ""
) -> CheckResult:
    """The route's verdict (a PASS) with what a request through the Gateway showed (`run`, the client pod;
    None: no request was sent, `not_tried` says why). Only the token coming back adds to the PASS; a data path
    that could not be shown (no address, an address a pod cannot reach, a client that did not run) leaves the
    route's PASS as it was, and says so; the Gateway answering the route's requests with an HTTP error, once
    the backend was Ready, makes it UNKNOWN (a data plane may take longer to program a route than the probe
    waits, so it is no proof of a fault)."""
    evidence = list(route_result.evidence)

    def route_only(why: str, where: str = ROUTE) -> CheckResult:
        evidence.append(Evidence("Data path", where, f"not shown: {why}"))
        return kit.passed(route_result.message + f" (the data path was not shown: {why})", evidence)

    if run is None:
        return route_only(not_tried or "no request was sent")
    url = client_url(address, parent)
    if not run.ran:
        return route_only(f"the client pod did not run ({run.detail or run.state})", url)
    said = pods.keys(run.logs.get("probe", ""))
    attempts = said.get("attempt") or []
    if said.get("reached") == ["yes"]:
        evidence.append(Evidence("Data path", url, f"Host {parent.hostname}: the probe backend answered"))
        return kit.passed(route_result.message + "; a request through the Gateway reached the probe backend", evidence)
    last = attempts[-1] if attempts else "no answer"
    evidence.append(Evidence("Data path", url, f"{len(attempts)} requests for Host {parent.hostname}, last: {last}"))
    if attempts and _HTTP_ERROR.search(last):
        return kit.unknown(
            f"the HTTPRoute was accepted, but the Gateway ({url}) still answered its requests with an error after "
            f"{len(attempts)} tries, the backend Ready: {last}",
            evidence,
        )
    return route_only(f"the Gateway's address {address} could not be reached from a pod ({last})", url)


def backend_ready(pod: dict | None) -> bool:
    return kit.condition(pod or {}, "Ready").get("status") == "True"


# run --------------------------------------------------------------------------------------------------------
READS: tuple = ()  # Gateways and GatewayClasses are read whole by the plan (the checks keep less of them)


def plan(view, options):
    from kubectl_aiconf.view.live import ApiError

    conn = getattr(view, "conn", None)
    if conn is None:
        raise PlanError("needs a live cluster")
    if "v1" not in view.group_versions(GATEWAY_GROUP):
        raise PlanError("the Gateway API (gateway.networking.k8s.io/v1) is not served")
    try:
        classes = conn.request("GET", f"/apis/{GATEWAY_GROUP}/v1/gatewayclasses").get("items") or []
        gateways = conn.request("GET", f"/apis/{GATEWAY_GROUP}/v1/gateways").get("items") or []
    except ApiError as exc:
        raise PlanError(f"Gateways cannot be read: {exc}") from None
    ns = options.namespace
    labels = {**namespace_manifest(ns)["metadata"]["labels"], "kubernetes.io/metadata.name": ns}
    parent = choose_parent(gateways, classes, ns, labels)
    return make_part(ns, parent, options.image)


def make_part(ns: str, parent: Parent, image: str = DEFAULT_IMAGE):
    from kubectl_aiconf.view.live import ApiError, ConnectError

    objects = manifests(ns, parent, image)
    route_path = kit.object_path(objects[-1])
    backend_path = kit.object_path(next(o for o in objects if o["kind"] == "Pod"))
    gateway_path = f"/apis/{GATEWAY_GROUP}/v1/namespaces/{parent.namespace}/gateways/{parent.gateway}"

    def execute(ctx) -> CheckResult:
        kit.create_all(ctx, objects)
        ctx.progress(
            f"waiting for the controller of {parent.gateway} to report on the route, at most {ROUTE_WAIT:.0f}s"
        )
        result = kit.poll(
            ctx, lambda: ctx.conn.request("GET", route_path), lambda r, t, over: judge(r, parent, t, over), ROUTE_WAIT
        )
        if result.status is not Status.PASS:
            return result
        if parent.protocol != "HTTP":
            return judge_data_path(result, None, "", parent, f"the listener speaks {parent.protocol}")
        try:
            return data_path(ctx, result)
        except (ApiError, ConnectError) as exc:
            return judge_data_path(result, None, "", parent, f"the data path could not be tried: {exc}")

    def data_path(ctx, result: CheckResult) -> CheckResult:
        address = gateway_address(ctx.conn.request("GET", gateway_path))
        if not address:
            return judge_data_path(result, None, "", parent, "the Gateway reports no address")
        give_up = time.monotonic() + min(BACKEND_READY_WAIT, ctx.remaining())
        while not backend_ready(ctx.conn.request("GET", backend_path)):
            if time.monotonic() >= give_up:
                return judge_data_path(result, None, address, parent, f"the backend pod {SERVICE} was not Ready")
            ctx.sleep(kit.POLL_SECONDS)
        ctx.progress(f"sending requests through the Gateway ({client_url(address, parent)}) from pod {CLIENT}")
        runs = pods.run_pods(ctx, [client_pod(ns, parent, address, image, ctx.remaining())])
        return judge_data_path(result, runs.get(CLIENT), address, parent)

    summary = [
        f"{parent.note}; HTTPRoute {ROUTE} for host {parent.hostname}{PATH} to Service {SERVICE} (a pod answering "
        f"a token); once the route is accepted, pod {CLIENT} requests it through the Gateway's address"
    ]
    extra = [
        ("get", GATEWAY_GROUP, "gateways", "", parent.namespace),
        ("list", "", "pods", "", ns),
        ("get", "", "pods", "", ns),
        ("get", "", "pods", "log", ns),
    ]
    return kit.part(objects, execute, summary, extra)
