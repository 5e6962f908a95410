"""ai_inference probe: an HTTPRoute in the probe namespace, attached to an existing Gateway that admits routes
from other namespaces (or to a probe Gateway of an Accepted GatewayClass), must be Accepted with ResolvedRefs
by the Gateway's controller.

The route only matches the host `<namespace>.aiconf-probe.invalid` (a name that never resolves) under
/aiconf-probe, so it cannot take traffic from anything else on a shared Gateway. Its backend is a probe
Service. No request is sent through the data path.

Pure: `choose_parent`, `manifests`, `judge`. Thin: `plan`'s execute.
"""

from __future__ import annotations

from dataclasses import dataclass

from kubectl_aiconf.knowledge.gateways import GATEWAY_GROUP
from kubectl_aiconf.probe import ROUTE_WAIT, kit
from kubectl_aiconf.probe.plan import PlanError, namespace_manifest
from kubectl_aiconf.result import CheckResult, Evidence

ROUTE, SERVICE, GATEWAY = "aiconf-route", "aiconf-backend", "aiconf-gateway"
PATH = "/aiconf-probe"
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


def manifests(namespace: str, parent: Parent) -> list[dict]:
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
    objects.append(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": SERVICE, "namespace": namespace, "labels": kit.labels()},
            "spec": {"selector": {"app.kubernetes.io/name": SERVICE}, "ports": [{"name": "http", "port": 80}]},
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
            f"{controller} accepted an HTTPRoute on {where} and resolved its backend Service after {waited:.0f}s "
            "(no request was sent through the data path)",
            evidence,
        )
    if not finished:
        return None
    return kit.unknown(f"{controller} reported on the HTTPRoute but not Accepted and ResolvedRefs: {shown}", evidence)


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
    return make_part(ns, parent)


def make_part(ns: str, parent: Parent):
    objects = manifests(ns, parent)
    route_path = kit.object_path(objects[-1])

    def execute(ctx) -> CheckResult:
        kit.create_all(ctx, objects)
        ctx.progress(
            f"waiting for the controller of {parent.gateway} to report on the route, at most {ROUTE_WAIT:.0f}s"
        )
        return kit.poll(
            ctx, lambda: ctx.conn.request("GET", route_path), lambda r, t, over: judge(r, parent, t, over), ROUTE_WAIT
        )

    summary = [f"{parent.note}; HTTPRoute {ROUTE} for host {parent.hostname}{PATH} to Service {SERVICE}"]
    return kit.part(objects, execute, summary)
