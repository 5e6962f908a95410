"""Networking: Gateway API for inference, the Gateway API Inference Extension, specialised NICs and
disaggregated (prefill/decode) serving."""

from __future__ import annotations

import re
from dataclasses import dataclass

from kubectl_aiconf.checks import common, requirement_check
from kubectl_aiconf.resources import (
    CRDS,
    DYNAMO_GRAPHDEPLOYMENTS,
    GATEWAYCLASSES,
    GATEWAYS,
    HTTPROUTES,
    INFERENCEPOOLS,
    INFERENCEPOOLS_X,
    NETWORK_ATTACHMENT_DEFINITIONS,
    NIC_CLUSTERPOLICIES,
    NODES,
    PODS,
    RESOURCESLICES,
    SERVICES,
)
from kubectl_aiconf.result import CheckResult, Evidence, Status
from kubectl_aiconf.view import ClusterView, Listing

MAX_EVIDENCE = 5  # objects of one kind shown per result; the rest are counted


def _cap(items: list[Evidence], limit: int = MAX_EVIDENCE, what: str = "") -> list[Evidence]:
    if len(items) <= limit:
        return items
    rest = len(items) - limit
    kind = items[limit].kind
    return items[:limit] + [Evidence(kind, f"(+{rest} more)", what or f"{rest} more {kind} object(s) not shown")]


def _api_state(view: ClusterView, group: str, plurals: tuple[str, ...] = ()) -> tuple[set[str], list[Evidence]]:
    """Plurals of `group` whose CRDs are Established (all of the group's when `plurals` is empty), with
    evidence. Falls back to discovery when the CRD list cannot be read."""
    crds = view.list(CRDS)
    if crds.visible:
        mine = [c for c in crds.items
                if common.crd_group(c) == group and (not plurals or common.crd_plural(c) in plurals)]
        established = sorted(common.crd_plural(c) for c in mine if common.crd_established(view, c))
        evidence = [Evidence("CustomResourceDefinition", f"*.{group}", f"Established: {', '.join(established)}")
                    ] if established else []
        evidence += [common.evidence(c, "not Established") for c in mine
                     if common.crd_plural(c) not in established]
        return set(established), evidence
    served = {p for p in plurals if view.serves(group, p)} if plurals else (
        {r for v in view.group_versions(group) for r in view.discovered_resources(group, v)})
    evidence = [Evidence("APIGroup", group, f"serves {', '.join(sorted(served))} (per discovery; "
                                            f"{crds.why_unknown()})")] if served else []
    return served, evidence


def _parents_accepted(obj: dict) -> tuple[bool, list[str]]:
    """Whether any status parent (Gateway API route/InferencePool status) reports Accepted=True, and one
    fact per parent. Reads `status.parents` and the older `status.parent`."""
    status = obj.get("status") or {}
    parents = status.get("parents") or status.get("parent") or []
    accepted, facts = False, []
    for parent in parents:
        ref = parent.get("parentRef") or {}
        name = ref.get("name") or "?"
        if ref.get("namespace"):
            name = f"{ref['namespace']}/{name}"
        conds = {c.get("type"): c for c in parent.get("conditions") or []}
        acc = conds.get("Accepted")
        if acc and str(acc.get("status")) == "True":
            accepted = True
            facts.append(f"Accepted by {name}")
        elif acc:
            why = acc.get("reason") or acc.get("message") or ""
            facts.append(f"not Accepted by {name}" + (f" ({why})" if why else ""))
        else:
            facts.append(f"no Accepted condition from {name}")
    return accepted, facts


# ai_inference -------------------------------------------------------------------------------------------
GATEWAY_GROUP = "gateway.networking.k8s.io"
GATEWAY_CORE_CRDS = ("gatewayclasses", "gateways", "httproutes")
GATEWAY_CRDS = GATEWAY_CORE_CRDS + ("grpcroutes", "referencegrants")


@dataclass(frozen=True)
class GatewayImplementation:
    name: str
    controller: str  # regex on GatewayClass spec.controllerName
    workload: str = ""  # regex on the controller's Deployment/DaemonSet/StatefulSet name
    image: str = ""  # regex on the controller's image
    # "" for both: the controller runs outside the cluster (managed), there is no workload to find


# First match wins: OpenShift's controller is Istio-based, so it comes before Istio.
GATEWAY_IMPLEMENTATIONS = (
    GatewayImplementation("OpenShift Gateway API", r"^openshift\.io/gateway-controller", r"^istiod",
                          r"/(pilot|istio-pilot)[^/]*(:|@|$)"),
    GatewayImplementation("Istio", r"^istio\.io/", r"^istiod(-.+)?$", r"/pilot(:|@|$)"),
    GatewayImplementation("Envoy Gateway", r"^gateway\.envoyproxy\.io/", r"^envoy-gateway$",
                          r"envoyproxy/gateway(:|@|$)"),
    GatewayImplementation("kgateway", r"^(kgateway\.dev/|solo\.io/gloo-gateway)", r"^(kgateway|gloo)$",
                          r"/(kgateway|gloo)(:|@|$)"),
    GatewayImplementation("Traefik", r"^traefik\.io/", r"^traefik", r"(^|/)traefik(:|@|$)"),
    GatewayImplementation("Cilium", r"^io\.cilium/", r"^cilium-operator$", r"cilium/operator"),
    GatewayImplementation("NGINX Gateway Fabric", r"^gateway\.nginx\.org/", r"nginx-gateway",
                          r"nginx-gateway-fabric"),
    GatewayImplementation("Kong", r"^konghq\.com/", r"^kong", r"kong/(kubernetes-ingress-controller|"
                                                             r"gateway-operator|kong-operator)"),
    GatewayImplementation("GKE Gateway controller (managed)", r"^networking\.gke\.io/"),
    GatewayImplementation("AWS Load Balancer Controller", r"^gateway\.k8s\.aws/", r"aws-load-balancer-controller",
                          r"aws-load-balancer-controller"),
    GatewayImplementation("AWS Gateway API Controller (VPC Lattice)", r"^application-networking\.k8s\.aws/",
                          r"gateway-api-controller", r"aws-gateway-controller"),
    GatewayImplementation("Apache APISIX", r"^apisix\.apache\.org/", r"apisix-ingress-controller",
                          r"apisix-ingress-controller"),
    GatewayImplementation("Contour", r"^projectcontour\.io/", r"^contour", r"projectcontour/contour"),
    GatewayImplementation("Azure Application Gateway for Containers", r"^alb\.networking\.azure\.io/",
                          r"^alb-controller", r"alb-controller"),
)


def gateway_implementation(controller_name: str) -> GatewayImplementation | None:
    return next((i for i in GATEWAY_IMPLEMENTATIONS if re.search(i.controller, controller_name)), None)


def _gateway_addresses(gw: dict) -> list[str]:
    return [a.get("value") for a in (gw.get("status") or {}).get("addresses") or [] if a.get("value")]


def _route_features(route: dict) -> tuple[bool, bool]:
    """(weighted traffic split, header-based match) used by any rule of an HTTPRoute."""
    weighted = header = False
    for rule in (route.get("spec") or {}).get("rules") or []:
        refs = rule.get("backendRefs") or []
        if len(refs) >= 2 and any("weight" in ref for ref in refs):
            weighted = True
        if any(m.get("headers") for m in rule.get("matches") or []):
            header = True
    return weighted, header


def _route_note(routes: Listing) -> tuple[str, list[Evidence]]:
    if not routes.visible:
        return f"HTTPRoutes not checked ({routes.why_unknown()})", []
    used, evidence = {"weighted": 0, "header": 0}, []
    for route in routes.items:
        weighted, header = _route_features(route)
        if not (weighted or header):
            continue
        accepted, facts = _parents_accepted(route)
        features = " and ".join(x for x, on in (("weighted backends", weighted), ("header matches", header)) if on)
        evidence.append(common.evidence(route, f"{features}; {', '.join(facts) or 'no status from a Gateway'}"))
        if accepted:
            used["weighted"] += weighted
            used["header"] += header
    if used["weighted"] or used["header"]:
        kinds = [f"{n} with {what}" for what, n in (("weighted backends", used["weighted"]),
                                                    ("header matches", used["header"])) if n]
        note = f"Accepted HTTPRoutes in use: {' and '.join(kinds)}"
    else:
        note = "no Accepted HTTPRoute uses weights or header matches yet (not required)"
    return note, _cap(evidence)


@requirement_check("ai_inference", reads=(CRDS, GATEWAYCLASSES, GATEWAYS, HTTPROUTES) + common.WORKLOAD_RESOURCES)
def ai_inference(view: ClusterView) -> CheckResult:
    established, evidence = _api_state(view, GATEWAY_GROUP, GATEWAY_CRDS)
    missing_crds = [p for p in GATEWAY_CORE_CRDS if p not in established]
    classes, gateways, routes = view.list(GATEWAYCLASSES), view.list(GATEWAYS), view.list(HTTPROUTES)

    accepted: list[tuple[dict, GatewayImplementation | None]] = []
    not_accepted: list[dict] = []
    for gc in classes.items:
        controller = (gc.get("spec") or {}).get("controllerName") or "?"
        impl = gateway_implementation(controller)
        label = impl.name if impl else "unrecognised implementation"
        if common.condition_true(gc, "Accepted"):
            accepted.append((gc, impl))
        else:
            not_accepted.append(gc)
        evidence.append(common.evidence(gc, f"{common.condition_fact(gc, 'Accepted')}, controller {controller} "
                                            f"({label})"))

    # Controller workloads of the recognised implementations named by any class (those of accepted classes
    # count towards PASS; the others are shown as evidence).
    healthy_ctrl, unhealthy_ctrl, ctrl_blind = [], [], []
    accepted_impls = {impl.name for _, impl in accepted if impl}
    seen = set()
    for gc in classes.items:
        impl = gateway_implementation((gc.get("spec") or {}).get("controllerName") or "")
        if impl is None or impl.name in seen or not (impl.workload or impl.image):
            continue
        seen.add(impl.name)
        found, blind = common.find_workloads(view, name=impl.workload, image=impl.image)
        ctrl_blind += [b for b in blind if b not in ctrl_blind]
        for w in found:
            ok, fact = common.workload_health(w)
            if impl.name in accepted_impls:
                (healthy_ctrl if ok else unhealthy_ctrl).append(w)
            evidence.append(common.evidence(w, f"{impl.name} controller: {fact}"))

    programmed, unprogrammed = [], []
    for gw in gateways.items:
        cls = (gw.get("spec") or {}).get("gatewayClassName") or "?"
        addresses = _gateway_addresses(gw)
        if common.condition_true(gw, "Programmed") and addresses:
            programmed.append(common.evidence(gw, f"Programmed=True, class {cls}, address {', '.join(addresses[:3])}"))
        else:
            fact = common.condition_fact(gw, "Programmed") + ("" if addresses else ", no address")
            unprogrammed.append(common.evidence(gw, f"{fact}, class {cls}"))
    evidence += _cap(programmed) + _cap(unprogrammed, 3)

    route_note, route_evidence = _route_note(routes)
    evidence += route_evidence
    impls = ", ".join(dict.fromkeys(impl.name if impl else f"unrecognised controller "
                                    f"{(gc.get('spec') or {}).get('controllerName')}" for gc, impl in accepted))
    class_names = ", ".join(common.name_of(gc) for gc, _ in accepted[:3])

    if accepted and (programmed or healthy_ctrl):
        how = (f"{len(programmed)} Gateway(s) Programmed with an address" if programmed
               else f"controller {common.name_of(healthy_ctrl[0])} available (no Programmed Gateway yet)")
        return CheckResult(Status.PASS, f"Gateway API served by {impls}: GatewayClass {class_names} Accepted, "
                                        f"{how}; {route_note}", evidence)
    if programmed and not classes.visible:
        return CheckResult(Status.PASS, f"{len(programmed)} Gateway(s) Programmed with an address by a running "
                                        f"controller (GatewayClasses not readable: {classes.why_unknown()}); "
                                        f"{route_note}", evidence)
    if accepted:
        if unhealthy_ctrl and not healthy_ctrl and gateways.visible and not ctrl_blind:
            return CheckResult(Status.FAIL, f"GatewayClass {class_names} is Accepted by {impls}, but its controller "
                                            f"is not available and no Gateway is Programmed with an address",
                               evidence)
        blind = [x for x in (gateways,) if not x.visible] + ctrl_blind
        if blind:
            return common.unknown(f"GatewayClass {class_names} is Accepted by {impls}, but no Programmed Gateway "
                                  f"or running controller could be confirmed", blind, evidence)
        return CheckResult(Status.WARN, f"GatewayClass {class_names} is Accepted by {impls}, but no Gateway is "
                                        f"Programmed with an address and no controller workload could be identified "
                                        f"(managed or unrecognised): create a Gateway to show it works", evidence)
    if not classes.visible:
        return common.unknown("cannot tell whether a Gateway API controller accepted a GatewayClass",
                              [classes], evidence)
    rejected = [gc for gc in not_accepted if str((common.condition(gc, "Accepted") or {}).get("status")) == "False"]
    if rejected and gateways.visible:
        names = ", ".join(common.name_of(gc) for gc in rejected[:3])
        return CheckResult(Status.FAIL, f"GatewayClass {names} was rejected by its controller (Accepted=False) and no "
                                        f"Gateway is Programmed: the Gateway API implementation is not working",
                           evidence)
    if not_accepted:
        names = ", ".join(common.name_of(gc) for gc in not_accepted[:3])
        return CheckResult(Status.WARN, f"GatewayClass {names} exists but no controller has Accepted it: Gateway "
                                        f"API is installed without a working implementation", evidence)
    if established:
        extra = f" (missing: {', '.join(missing_crds)})" if missing_crds else ""
        return CheckResult(Status.WARN, f"Gateway API CRDs are installed{extra} but there is no GatewayClass: no "
                                        f"implementation is running", evidence)
    return CheckResult(Status.FAIL, "Gateway API is not installed: no gateway.networking.k8s.io CRDs and no "
                                    "GatewayClass", evidence)


# advanced_inference_ingress -----------------------------------------------------------------------------
GAIE_GROUPS = ("inference.networking.k8s.io", "inference.networking.x-k8s.io")
# Endpoint-picker images: the GAIE reference EPP and llm-d's inference scheduler.
EPP_IMAGE = r"gateway-api-inference-extension/epp|llm-d-inference-scheduler|/epp(:|@|$)"


def _picker_ref(pool: dict) -> dict | None:
    spec = pool.get("spec") or {}
    return spec.get("endpointPickerRef") or spec.get("extensionRef")


def _pool_selector(pool: dict) -> dict:
    selector = (pool.get("spec") or {}).get("selector") or {}
    if isinstance(selector.get("matchLabels"), dict):  # v1: a LabelSelector
        return selector["matchLabels"]
    return {k: v for k, v in selector.items() if isinstance(v, str)}  # v1alpha2: a plain label map


def _epp_health(pool: dict, ref: dict, backends: common.Backends) -> common.ServiceBackends:
    ns = (pool.get("metadata") or {}).get("namespace") or ""
    name = ref.get("name") or ""
    kind = ref.get("kind") or "Service"
    if kind == "Service":
        resolved = backends.resolve(ns, name)
        if resolved.healthy is not False or resolved.service is not None:
            return resolved
    # No such Service (or a non-Service reference): look for a workload of that name in the pool's namespace.
    same_name = [w for w in backends.workloads_in(ns) if (w.get("metadata") or {}).get("name") == name]
    if same_name:
        ok, fact = common.workload_health(same_name[0])
        return common.ServiceBackends(ok, f"{same_name[0].get('kind')} {ns}/{name}: {fact}", None, same_name)
    blind = [lst for lst in backends.workload_listings if not lst.visible]
    if kind == "Service" and backends.services.visible and not blind:
        return common.ServiceBackends(False, f"endpoint picker Service {ns}/{name} not found")
    return common.ServiceBackends(None, f"endpoint picker {kind} {ns}/{name} not found in what is visible",
                                  blind=blind or [backends.services])


@requirement_check("advanced_inference_ingress",
                   reads=(CRDS, INFERENCEPOOLS, INFERENCEPOOLS_X, HTTPROUTES, SERVICES, PODS)
                   + common.WORKLOAD_RESOURCES)
def advanced_inference_ingress(view: ClusterView) -> CheckResult:
    evidence: list[Evidence] = []
    established: set[str] = set()
    for group in GAIE_GROUPS:
        plurals, crd_ev = _api_state(view, group)
        established |= {f"{p}.{group}" for p in plurals}
        evidence += crd_ev
    listings = [view.list(INFERENCEPOOLS), view.list(INFERENCEPOOLS_X)]
    pools = [p for lst in listings for p in lst.items]
    routes = view.list(HTTPROUTES)

    if not pools:
        epps, _ = common.find_workloads(view, image=EPP_IMAGE)
        evidence += _cap([common.evidence(w, f"endpoint picker image, {common.workload_health(w)[1]}")
                          for w in epps])
        blind = [lst for lst in listings if not lst.visible]
        if blind:
            return common.unknown("cannot list InferencePools", blind, evidence)
        if established or epps:
            return CheckResult(Status.WARN, "Gateway API Inference Extension is installed (CRDs"
                                            f"{' and endpoint picker' if epps else ''}) but no InferencePool "
                                            "exists: model-aware routing is not set up", evidence)
        return CheckResult(Status.FAIL, "no Gateway API Inference Extension: no InferencePool CRDs or objects",
                           evidence)

    # HTTPRoutes that send traffic to an InferencePool, by (namespace, name) of the pool.
    routed: dict[tuple[str, str], list[tuple[dict, bool]]] = {}
    for route in routes.items:
        route_ns = (route.get("metadata") or {}).get("namespace") or ""
        accepted, _ = _parents_accepted(route)
        for rule in (route.get("spec") or {}).get("rules") or []:
            for ref in rule.get("backendRefs") or []:
                if ref.get("kind") == "InferencePool":
                    key = (ref.get("namespace") or route_ns, ref.get("name") or "")
                    routed.setdefault(key, []).append((route, accepted))

    backends = common.Backends(view)
    ok, partial, broken, blind_pools = [], [], [], []  # (pool, one-line summary)
    pool_evidence: list[Evidence] = []
    blind: list[Listing] = []
    for pool in pools:
        meta = pool.get("metadata") or {}
        key = (meta.get("namespace") or "", meta.get("name") or "")
        facts = [pool.get("apiVersion") or ""]
        ref = _picker_ref(pool)
        pool_accepted, parent_facts = _parents_accepted(pool)
        facts += parent_facts
        route_hits = routed.get(key, [])
        accepted_routes = [common.name_of(r) for r, acc in route_hits if acc]
        facts += [f"HTTPRoute {common.name_of(r)} {'Accepted' if acc else 'not Accepted'}" for r, acc in route_hits[:2]]
        attached_to = ([f.removeprefix("Accepted by ") for f in parent_facts if f.startswith("Accepted by ")]
                       or [f"HTTPRoute {accepted_routes[0]}"] if (pool_accepted or accepted_routes) else [])

        servers = None
        if backends.pods.visible:
            selector = _pool_selector(pool)
            servers = sum(1 for p in backends.pods_in(key[0])
                          if common.selector_matches(selector, common.labels_of(p)) and common.pod_ready(p))
            facts.append(f"{servers} ready model server pod(s)")

        if ref is None:
            facts.append("no endpoint picker referenced")
            pool_evidence.append(common.evidence(pool, "; ".join(facts)))
            broken.append((pool, "references no endpoint picker"))
            continue
        epp = _epp_health(pool, ref, backends)
        facts.append(f"endpoint picker {ref.get('name')}: {epp.fact}")
        pool_evidence.append(common.evidence(pool, "; ".join(facts)))
        problems = []
        if not attached_to:
            problems.append("no Gateway has Accepted it and no Accepted HTTPRoute sends traffic to it")
        if servers == 0:
            problems.append("no ready model server pod matches its selector")
        if epp.healthy is False:
            broken.append((pool, f"endpoint picker {ref.get('name')} is not working ({epp.fact})"))
        elif epp.healthy is None and epp.blind:
            blind_pools.append((pool, ""))
            blind += [b for b in epp.blind if b not in blind]
        elif epp.healthy and not problems:
            servers_note = f" to {servers} ready model server(s)" if servers else ""
            ok.append((pool, f"attached to {attached_to[0]}, routes through healthy endpoint picker "
                             f"{ref.get('name')}{servers_note}"))
        else:
            if not epp.healthy:
                problems.append(f"endpoint picker {ref.get('name')} cannot be verified ({epp.fact})")
            partial.append((pool, "; ".join(problems)))
    evidence += _cap(pool_evidence)

    def first(found: list[tuple[dict, str]]) -> str:
        pool, summary = found[0]
        more = f" (+{len(found) - 1} more)" if len(found) > 1 else ""
        return f"InferencePool {common.name_of(pool)}{more}" + (f": {summary}" if summary else "")

    if ok:
        return CheckResult(Status.PASS, f"model-server-aware routing works: {first(ok)}", evidence)
    if blind_pools:
        return common.unknown(f"{first(blind_pools)} found, but its endpoint picker cannot be checked", blind,
                              evidence)
    if partial:
        return CheckResult(Status.WARN, f"Gateway API Inference Extension not fully working: {first(partial)}",
                           evidence)
    return CheckResult(Status.FAIL, f"no InferencePool can route: {first(broken)}", evidence)


# high_performance_networking ----------------------------------------------------------------------------
# DRA drivers that publish network devices: DRANET (dra.net) and other NIC/RDMA/SR-IOV drivers.
NET_DRIVER = re.compile(r"(^|[.-])(net|nic|nics|network|networking|netdev|efa|ib)([.-]|$)|dranet|rdma|sriov|"
                        r"infiniband", re.I)
NET_ATTRIBUTE = re.compile(r"rdma|ifname|infiniband|sriov|(^|/)mac(address)?$|(^|/)(nic|netdev|interface)", re.I)
# Extended resources of RDMA/SR-IOV/EFA device plugins and GKE multi-networking.
NET_RESOURCE = re.compile(
    r"^(rdma/.+|vpc\.amazonaws\.com/efa|[^/]+/.*sriov.*|mellanox\.com/.+|openshift\.io/.+|"
    r"nvidia\.com/(rdma|hostdev|ib|.*nic).*|networking\.gke\.io\.networks/.+)$", re.I)
# Node Feature Discovery labels that reveal RDMA/SR-IOV hardware (hints only).
NET_HARDWARE_LABELS = ("feature.node.kubernetes.io/rdma.capable", "feature.node.kubernetes.io/rdma.available",
                       "feature.node.kubernetes.io/network-sriov.capable")
NET_CRD_GROUPS = ("k8s.cni.cncf.io", "sriovnetwork.openshift.io", "mellanox.com")
# (label, workload name regex, image regex)
NET_WORKLOADS = (
    ("Multus", r"multus", r"multus-cni|/multus"),
    ("SR-IOV", r"sriov", r"sriov-(network|cni|device-plugin)"),
    ("RDMA device plugin", r"rdma-(shared-)?dev(ice)?-plugin", r"k8s-rdma-shared-dev-plugin|rdma-device-plugin"),
    ("NVIDIA Network Operator", r"nvidia-network-operator", r"(mellanox|cloud-native)/network-operator"),
    ("DRANET", r"dranet", r"dranet"),
    ("EFA device plugin", r"efa-k8s-device-plugin|aws-efa", r"efa-k8s-device-plugin"),
)


def _slice_attributes(device: dict) -> dict:
    return device.get("attributes") or (device.get("basic") or {}).get("attributes") or {}


@requirement_check("high_performance_networking",
                   reads=(NODES, RESOURCESLICES, NETWORK_ATTACHMENT_DEFINITIONS, NIC_CLUSTERPOLICIES, CRDS)
                   + common.WORKLOAD_RESOURCES)
def high_performance_networking(view: ClusterView) -> CheckResult:
    evidence: list[Evidence] = []
    exposed: list[str] = []  # strong: devices pods can ask for
    broken: list[str] = []  # a mechanism is installed but not working
    partial: list[str] = []  # something network-specific is there, no device exposed

    # DRA: network devices in ResourceSlices, with their attributes (discoverable characteristics).
    slices = view.list(RESOURCESLICES)
    drivers: dict[str, dict] = {}
    for sl in slices.items:
        spec = sl.get("spec") or {}
        driver = spec.get("driver") or "?"
        devices = spec.get("devices") or []
        attrs = {k for d in devices for k in _slice_attributes(d)}
        if not (NET_DRIVER.search(driver) or any(NET_ATTRIBUTE.search(a) for a in attrs)):
            continue
        entry = drivers.setdefault(driver, {"slice": sl, "devices": 0, "nodes": set(), "attrs": set()})
        entry["devices"] += len(devices)
        entry["attrs"] |= attrs
        if spec.get("nodeName"):
            entry["nodes"].add(spec["nodeName"])
    for driver, e in drivers.items():
        attrs = ", ".join(sorted(e["attrs"])[:6]) or "none"
        evidence.append(common.evidence(e["slice"], f"DRA driver {driver}: {e['devices']} device(s) on "
                                                    f"{len(e['nodes'])} node(s); attributes: {attrs}"))
        if e["devices"]:
            exposed.append(f"DRA driver {driver} ({e['devices']} devices with attributes)")

    # Device-plugin extended resources and hardware hints on nodes.
    nodes = view.list(NODES)
    per_resource: dict[str, list[dict]] = {}
    hardware: list[dict] = []
    for node in nodes.items:
        if any(common.labels_of(node).get(k) == "true" for k in NET_HARDWARE_LABELS):
            hardware.append(node)
        if not common.node_ready(node):
            continue
        for name, qty in ((node.get("status") or {}).get("allocatable") or {}).items():
            if NET_RESOURCE.match(name) and str(qty) not in ("0", ""):
                per_resource.setdefault(name, []).append(node)
    for name, with_it in sorted(per_resource.items()):
        evidence.append(Evidence("Node", common.name_of(with_it[0]),
                                 f"allocatable {name} on {len(with_it)} Ready node(s)"))
        exposed.append(f"{name} on {len(with_it)} node(s)")
    if hardware and not exposed:
        evidence.append(Evidence("Node", common.name_of(hardware[0]),
                                 f"RDMA/SR-IOV capable per Node Feature Discovery ({len(hardware)} node(s))"))
        partial.append(f"{len(hardware)} node(s) report RDMA/SR-IOV capable NICs that are not exposed to pods")

    # NVIDIA Network Operator.
    nicpolicies = view.list(NIC_CLUSTERPOLICIES)
    for pol in nicpolicies.items:
        state = (pol.get("status") or {}).get("state") or "no state"
        evidence.append(common.evidence(pol, f"state {state}"))
        (partial if str(state).lower() == "ready" else broken).append(f"NicClusterPolicy {common.name_of(pol)} {state}")

    # Multus secondary networks.
    nads = view.list(NETWORK_ATTACHMENT_DEFINITIONS)
    evidence += _cap([common.evidence(n, "secondary network for pods") for n in nads.items], 3)

    workload_blind: list[Listing] = []
    healthy_kinds = set()
    for label, name_re, image_re in NET_WORKLOADS:
        found, blind = common.find_workloads(view, name=name_re, image=image_re)
        workload_blind += [b for b in blind if b not in workload_blind]
        for w in found:
            ok, fact = common.workload_health(w)
            idle = w.get("kind") == "DaemonSet" and not int((w.get("status") or {}).get("desiredNumberScheduled") or 0)
            evidence.append(common.evidence(w, f"{label}: {'scheduled on no node' if idle else fact}"))
            if ok:
                healthy_kinds.add(label)
            elif idle:  # its node selector matches no node: installed, not exposing anything
                partial.append(f"{label} {common.name_of(w)} scheduled on no node")
            else:
                broken.append(f"{label} {common.name_of(w)} not ready ({fact})")
    if nads.items:
        how = "Multus running" if "Multus" in healthy_kinds else "no running Multus found"
        partial.append(f"{len(nads.items)} NetworkAttachmentDefinition(s), {how}")
    elif healthy_kinds - {"Multus"}:
        partial.append(f"{', '.join(sorted(healthy_kinds - {'Multus'}))} running")

    # CRDs of network device operators (weak hints).
    crd_groups = []
    for group in NET_CRD_GROUPS:
        plurals, crd_ev = _api_state(view, group)
        if plurals:
            crd_groups.append(group)
            evidence += _cap(crd_ev, 3)
    if crd_groups and not (exposed or partial or broken):
        partial.append(f"CRDs of {', '.join(crd_groups)} installed without a running controller or devices")

    attach = " and attachable through Multus" if nads.items else ""
    if exposed:
        return CheckResult(Status.PASS, f"specialised network devices are exposed to pods: {'; '.join(exposed[:3])}"
                                        f"{attach}", evidence)
    key_blind = [lst for lst in (nodes, slices) if not lst.visible]
    if key_blind:
        return common.unknown("cannot tell whether specialised network devices are exposed", key_blind, evidence)
    if broken:
        return CheckResult(Status.FAIL, f"network device support is installed but not working: {'; '.join(broken[:3])}",
                           evidence)
    if partial:
        return CheckResult(Status.WARN, "no specialised network device is exposed to pods, but "
                                        f"{'; '.join(partial[:3])}", evidence)
    other_blind = [lst for lst in (nads, nicpolicies, view.list(CRDS)) if not lst.visible] + workload_blind
    if other_blind:
        return common.unknown("no specialised network devices seen, but not everything could be read", other_blind,
                              evidence)
    return CheckResult(Status.NA, "no specialised network devices (RDMA, SR-IOV, EFA, DRA NICs) and no secondary "
                                  "networks in this cluster: the requirement applies only where such devices are "
                                  "offered", evidence)


# disaggregated_inference --------------------------------------------------------------------------------
ROLE_LABELS = ("llm-d.ai/role", "nvidia.com/dynamo-sub-component-type", "nvidia.com/dynamo-component-type")
PREFILL_ARGS = re.compile(r"--is-prefill-worker|--disaggregation-mode[= ]+[\"']?prefill|kv_producer", re.I)
DECODE_ARGS = re.compile(r"--is-decode-worker|--disaggregation-mode[= ]+[\"']?decode|kv_consumer", re.I)
KV_TRANSFER_ARGS = re.compile(r"--kv-transfer-config|--disaggregation-(transfer-backend|bootstrap-port)", re.I)
DYNAMO_WORKER_ARGS = re.compile(r"dynamo\.(vllm|sglang|trtllm)")
DYNAMO_GROUP = "nvidia.com"
DYNAMO_OPERATOR = (r"dynamo-operator", r"ai-dynamo/kubernetes-operator|dynamo-operator")


def _pod_command_line(pod: dict) -> str:
    parts = []
    for c in (pod.get("spec") or {}).get("containers") or []:
        parts += [str(x) for x in (c.get("command") or []) + (c.get("args") or [])]
    return " ".join(parts)


def _pod_state(pod: dict) -> str:
    phase = (pod.get("status") or {}).get("phase") or "no phase"
    return f"{phase}, not Ready" if phase == "Running" else phase


def _stack(pod: dict) -> str:
    """The serving stack a prefill/decode pod belongs to, for messages."""
    labels = common.labels_of(pod)
    if any(k.startswith("llm-d.ai/") for k in labels):
        return "llm-d"
    line = _pod_command_line(pod) + " " + " ".join(
        c.get("image") or "" for c in (pod.get("spec") or {}).get("containers") or [])
    if any(k.startswith("nvidia.com/dynamo") for k in labels) or "dynamo" in line:
        return "NVIDIA Dynamo"
    if "sglang" in line.lower():
        return "SGLang"
    if "vllm" in line.lower():
        return "vLLM"
    return "unrecognised stack"


def _pod_role(pod: dict) -> tuple[str | None, str]:
    """('prefill' | 'decode' | 'kv' (KV transfer, role unknown) | 'dynamo-worker' | None, how it was told)."""
    labels = common.labels_of(pod)
    for key in ROLE_LABELS:
        if labels.get(key) in ("prefill", "decode"):
            return labels[key], f"label {key}={labels[key]}"
    line = _pod_command_line(pod)
    if PREFILL_ARGS.search(line):
        return "prefill", f"args {PREFILL_ARGS.search(line).group(0)}"
    if DECODE_ARGS.search(line):
        return "decode", f"args {DECODE_ARGS.search(line).group(0)}"
    if DYNAMO_WORKER_ARGS.search(line):
        return "dynamo-worker", f"Dynamo worker {DYNAMO_WORKER_ARGS.search(line).group(0)}"
    if KV_TRANSFER_ARGS.search(line):
        return "kv", f"args {KV_TRANSFER_ARGS.search(line).group(0)}"
    return None, ""


@requirement_check("disaggregated_inference", reads=(PODS, CRDS, DYNAMO_GRAPHDEPLOYMENTS) + common.WORKLOAD_RESOURCES)
def disaggregated_inference(view: ClusterView) -> CheckResult:
    evidence: list[Evidence] = []
    pods = view.list(PODS)

    # Role per pod, grouped by namespace: a prefill and a decode instance of the same stack share one.
    by_ns: dict[str, dict[str, list[tuple[dict, str]]]] = {}
    for pod in pods.items:
        role, how = _pod_role(pod)
        if role:
            ns = (pod.get("metadata") or {}).get("namespace") or ""
            by_ns.setdefault(ns, {}).setdefault(role, []).append((pod, how))
    for roles in by_ns.values():
        # A Dynamo worker without a prefill flag is a decode worker when its namespace has prefill workers.
        if "prefill" in roles and "dynamo-worker" in roles:
            workers = roles.pop("dynamo-worker")
            roles.setdefault("decode", []).extend((p, f"{how}, no prefill flag") for p, how in workers)

    pairs, half, not_running, kv_only = [], [], [], []
    for ns, roles in sorted(by_ns.items()):
        running = {r: [(p, h) for p, h in items if common.pod_ready(p)] for r, items in roles.items()}
        for role in ("prefill", "decode"):
            items = running.get(role) or []
            if items:
                evidence += _cap([common.evidence(p, f"{role}, Running ({how})") for p, how in items], 2)
            stopped = [(p, h) for p, h in roles.get(role) or [] if not common.pod_ready(p)]
            evidence += _cap([common.evidence(p, f"{role}, {_pod_state(p)} ({how})") for p, how in stopped], 2)
        if running.get("prefill") and running.get("decode"):
            stacks = sorted({_stack(p) for r in ("prefill", "decode") for p, _ in running[r]})
            pairs.append(f"{'/'.join(stacks)} in namespace {ns} ({len(running['prefill'])} prefill, "
                         f"{len(running['decode'])} decode)")
        elif roles.get("prefill") or roles.get("decode"):
            if any(roles.get(r) and not running.get(r) for r in ("prefill", "decode")):
                not_running.append(ns)
            else:
                half.append(f"{ns} ({', '.join(r for r in ('prefill', 'decode') if running.get(r))} only)")
        elif roles.get("kv"):
            kv_only.append(ns)
            evidence += _cap([common.evidence(p, f"KV-transfer serving pod ({how})") for p, how in roles["kv"]], 2)

    # NVIDIA Dynamo: CRDs, operator, graph deployments.
    dynamo_crds = [c for c in view.list(CRDS).items
                   if common.crd_group(c) == DYNAMO_GROUP and common.crd_plural(c).startswith("dynamo")]
    if dynamo_crds:
        plurals = sorted(common.crd_plural(c) for c in dynamo_crds if common.crd_established(view, c))
        evidence.append(Evidence("CustomResourceDefinition", "dynamo*.nvidia.com",
                                 f"Established: {', '.join(plurals) or 'none'}"))
    operators, _ = common.find_workloads(view, name=DYNAMO_OPERATOR[0], image=DYNAMO_OPERATOR[1])
    healthy_operator = False
    for w in operators:
        ok, fact = common.workload_health(w)
        healthy_operator |= ok
        evidence.append(common.evidence(w, f"Dynamo operator: {fact}"))
    dgds = view.list(DYNAMO_GRAPHDEPLOYMENTS)
    for dgd in dgds.items[:MAX_EVIDENCE]:
        state = (dgd.get("status") or {}).get("state") or common.condition_fact(dgd, "Ready")
        evidence.append(common.evidence(dgd, f"state {state}"))

    if pairs:
        return CheckResult(Status.PASS, f"disaggregated serving runs separate prefill and decode instances: "
                                        f"{'; '.join(pairs[:3])}", evidence)
    if not pods.visible:
        return common.unknown("cannot see serving pods to find prefill and decode instances", [pods], evidence)
    if not_running:
        return CheckResult(Status.FAIL, f"prefill/decode serving pods exist but are not running in "
                                        f"{', '.join(not_running[:3])}", evidence)
    stack = []
    if half:
        stack.append(f"only one role running in {', '.join(half[:3])}")
    if kv_only:
        stack.append(f"KV-transfer serving pods without a prefill/decode role in {', '.join(kv_only[:3])}")
    if dynamo_crds:
        stack.append("NVIDIA Dynamo " + ("operator running" if healthy_operator else "CRDs installed")
                     + (f", {len(dgds.items)} DynamoGraphDeployment(s)" if dgds.items else ""))
    if stack:
        return CheckResult(Status.WARN, f"no running prefill/decode pair: {'; '.join(stack)}", evidence)
    blind = [lst for lst in (view.list(CRDS),) if not lst.visible]
    if blind:
        return common.unknown("no disaggregated serving pods found, but not everything could be read", blind, evidence)
    return CheckResult(Status.FAIL, "no disaggregated serving stack: no prefill/decode pods (llm-d, Dynamo, vLLM, "
                                    "SGLang) and no Dynamo CRDs", evidence)
