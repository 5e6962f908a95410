"""Security: mediated, isolated accelerator access and sandboxed workloads."""

from __future__ import annotations

from kubectl_aiconf.checks import common, requirement_check
from kubectl_aiconf.knowledge import accelerators as acc
from kubectl_aiconf.knowledge import sandboxes
from kubectl_aiconf.knowledge._base import any_label, search
from kubectl_aiconf.knowledge.monitoring import SYSTEM_NAMESPACE_PREFIXES
from kubectl_aiconf.resources import (
    CLUSTERPOLICIES,
    CRDS,
    DAEMONSETS,
    DEPLOYMENTS,
    NODES,
    PODS,
    RESOURCESLICES,
    RUNTIMECLASSES,
    STATEFULSETS,
)
from kubectl_aiconf.result import CheckResult, Evidence, Reason, Status
from kubectl_aiconf.text import more, plural, sample
from kubectl_aiconf.view import ClusterView, Listing

_WORKLOADS = (DEPLOYMENTS, STATEFULSETS, DAEMONSETS)


def _holds(status: Status, reason: Reason, message: str, evidence: list[Evidence]) -> CheckResult:
    """A verdict whose caller made sure every listing it rests on was read: what else could not be read only
    added evidence, so it cannot overturn the verdict."""
    return CheckResult(status, message, evidence, reason, holds_despite_blind=True)


# secure_accelerator_access ----------------------------------------------------------------------------------
def _requests_accelerator(pod: dict) -> bool:
    spec = pod.get("spec") or {}
    if spec.get("resourceClaims"):
        return True
    for c in spec.get("containers") or []:
        res = c.get("resources") or {}
        if any(acc.is_accelerator_request(key) for key in [*(res.get("limits") or {}), *(res.get("requests") or {})]):
            return True
    return False


def _is_system_namespace(namespace: str) -> bool:
    # Platform namespaces (kube-system, openshift-*, gke-*) and add-ons' *-system namespaces.
    return namespace.startswith(SYSTEM_NAMESPACE_PREFIXES) or namespace.endswith("-system")


def _is_infra_pod(pod: dict, infra_namespaces: set[str]) -> bool:
    ns = (pod.get("metadata") or {}).get("namespace") or ""
    if ns in infra_namespaces or _is_system_namespace(ns):
        return True
    return any(
        acc.is_accelerator_stack_image(c.get("image") or "") for c in (pod.get("spec") or {}).get("containers") or []
    )


def _owned_by_daemonset(pod: dict) -> bool:
    return any(o.get("kind") == "DaemonSet" for o in (pod.get("metadata") or {}).get("ownerReferences") or [])


def _risks(pods: list[dict], accel_nodes: set[str], infra_namespaces: set[str]) -> dict[str, list[tuple[dict, str]]]:
    """Pods outside the accelerator stack that could reach devices without the device plugin or DRA."""
    found: dict[str, list[tuple[dict, str]]] = {}
    for pod in pods:
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed") or _is_infra_pod(pod, infra_namespaces):
            continue
        spec = pod.get("spec") or {}
        requested = _requests_accelerator(pod)
        paths = [
            p
            for p in ((v.get("hostPath") or {}).get("path") or "" for v in spec.get("volumes") or [])
            if acc.is_accelerator_device_path(p)
        ]
        if paths:
            # One entry per pod: the summary counts pods.
            found.setdefault("with a hostPath device mount", []).append((pod, f"mounts hostPath {', '.join(paths)}"))
        if requested or spec.get("nodeName") not in accel_nodes:
            continue
        for c in spec.get("containers") or []:
            # Node agents (CNI, CSI, monitoring) are privileged DaemonSets on every node by design: only
            # privileged workloads that are not node agents are reported.
            if (c.get("securityContext") or {}).get("privileged") and not _owned_by_daemonset(pod):
                found.setdefault("privileged without an accelerator request", []).append(
                    (
                        pod,
                        (
                            f"container {c.get('name')} is privileged on accelerator node {spec.get('nodeName')} "
                            "and requests no accelerator"
                        ),
                    )
                )
            for env in c.get("env") or []:
                vendor = acc.visible_devices_bypass(env.get("name") or "", env.get("value"))
                if vendor:
                    found.setdefault(f"setting {env.get('name')} without a request", []).append(
                        (
                            pod,
                            (
                                f"container {c.get('name')} sets {env.get('name')}={env.get('value')} without "
                                f"requesting an accelerator (sees {acc.BY_KEY[vendor].name} devices if the runtime "
                                "honours the variable)"
                            ),
                        )
                    )
    return found


def _device_plugins(daemonsets: list[dict]) -> list[dict]:
    return [ds for ds in daemonsets if acc.is_accelerator_device_plugin(_bare_name(ds), common.workload_images(ds))]


def _idle(daemonset: dict) -> bool:
    """A DaemonSet whose node selector matches no node: not a broken plugin while nodes advertise the devices
    (the GPU Operator's MPS control daemon, for example, runs only on nodes set up for MPS)."""
    status = daemonset.get("status") or {}
    return "desiredNumberScheduled" in status and int(status.get("desiredNumberScheduled") or 0) == 0


def _bare_name(obj: dict) -> str:
    """The name without the namespace: the registry's workload patterns match names alone."""
    return str((obj.get("metadata") or {}).get("name") or "")


def _dra_accelerator_drivers(slices: list[dict]) -> dict[str, set[str]]:
    """DRA driver -> nodes it publishes accelerator devices on, from the current pool generations."""
    current, _ = common.current_slices(slices)
    dra: dict[str, set[str]] = {}
    for s in current:
        driver = str((s.get("spec") or {}).get("driver"))
        if common.is_accelerator_driver(driver) and common.slice_devices(s):
            dra.setdefault(driver, set()).update(common.slice_node_names(s))
    return dra


def _runtime_layer(view: ClusterView) -> list[Evidence]:
    """Evidence of the container-runtime layer (accelerator RuntimeClasses, CDI); no verdict rests on it."""
    evidence = []
    rcs, policies = view.list(RUNTIMECLASSES), view.list(CLUSTERPOLICIES)
    for rc in rcs.items if rcs.visible else []:
        vendor = acc.vendor_of_runtime_handler(str(rc.get("handler") or ""))
        if vendor:
            evidence.append(
                common.evidence(rc, f"handler {rc.get('handler')} ({acc.BY_KEY[vendor].name} container runtime)")
            )
    for cp in policies.items if policies.visible else []:
        cdi = (cp.get("spec") or {}).get("cdi") or {}
        if "enabled" in cdi:
            evidence.append(
                common.evidence(
                    cp,
                    f"CDI {'enabled' if cdi.get('enabled') else 'disabled'}"
                    + (", default" if cdi.get("default") else ""),
                )
            )
    return evidence


def _accelerators_seen(accel_nodes: set[str]) -> str:
    if accel_nodes:
        return f"{plural(len(accel_nodes), 'accelerator node')} without an allocatable accelerator resource"
    return "no node advertises an accelerator resource or carries accelerator labels"


def _unmediated(
    nodes: Listing,
    slices: Listing,
    daemonsets: Listing,
    accel_nodes: set[str],
    plugins: list[dict],
    evidence: list[Evidence],
) -> CheckResult:
    """The verdict when no visible node advertises an accelerator resource and no visible DRA driver
    publishes accelerator devices."""
    if not slices.visible:
        return common.unknown(
            f"{_accelerators_seen(accel_nodes)}; whether a DRA driver publishes accelerator devices cannot be told",
            [slices],
            evidence,
        )
    if not accel_nodes:
        # Nodes and DRA devices are fully visible: no accelerator at all, so no accelerator access can be
        # shown to be mediated and isolated.
        return _holds(
            Status.FAIL,
            Reason.NO_ACCELERATORS,
            f"no accelerator in the cluster ({plural(len(nodes.items), 'node')}, no accelerator "
            "resources, no DRA accelerator devices): a cluster without accelerators cannot meet this "
            "requirement",
            evidence,
        )
    if plugins:
        return _holds(
            Status.WARN,
            Reason.UNHEALTHY,
            f"{plural(len(accel_nodes), 'accelerator node')}, device plugin "
            f"{sample(common.name_of(p) for p in plugins)} present, but no accelerator resource is "
            "allocatable on any node",
            evidence,
        )
    if not daemonsets.visible:
        return common.unknown(
            f"{_accelerators_seen(accel_nodes)} and no DRA accelerator devices; whether a "
            "device plugin is deployed cannot be told",
            [daemonsets],
            evidence,
        )
    return _holds(
        Status.FAIL,
        Reason.NOT_INSTALLED,
        f"{plural(len(accel_nodes), 'accelerator node')}, but nothing mediates access: no allocatable "
        "accelerator resource, no device plugin and no DRA devices",
        evidence,
    )


@requirement_check(
    "secure_accelerator_access", reads=(NODES, PODS, RESOURCESLICES, RUNTIMECLASSES, CLUSTERPOLICIES) + _WORKLOADS
)
def secure_accelerator_access(view: ClusterView) -> CheckResult:
    # Isolation is behaviour: only a probe (a pod without a request sees no device; two pods do not see each
    # other's) can confirm it, and probe results override this passive result. Passively this check reports
    # the layers that should mediate access and never returns PASS.
    nodes = view.list(NODES)
    if not nodes.visible:
        return common.unknown(
            "which nodes have accelerators, and which device plugins serve them, cannot be told", [nodes]
        )
    slices, daemonsets = view.list(RESOURCESLICES), view.list(DAEMONSETS)
    evidence: list[Evidence] = []

    # Mediation layer 1: device plugins. Kubelet advertises an extended resource only while a device plugin
    # is registered for it, so allocatable accelerator resources show a plugin even when it is managed.
    accel_nodes = {common.name_of(n) for n in nodes.items if common.is_accelerator_node(n)}
    simulated = {common.name_of(n) for n in nodes.items if common.is_simulated_node(n)}
    by_resource: dict[str, list[str]] = {}
    for n in nodes.items:
        for res in common.accelerator_resources(n):
            by_resource.setdefault(res, []).append(common.name_of(n))
    for res, names in sorted(by_resource.items()):
        evidence.append(
            Evidence("Node", names[0], f"{res} allocatable (device plugin registered)" + more(names, "; also on {}"))
        )
    plugins = _device_plugins(daemonsets.items) if daemonsets.visible else []
    plugin_states = [common.workload_health(p) for p in plugins]
    for p, (_, fact) in zip(plugins, plugin_states):
        evidence.append(common.evidence(p, "device plugin " + ("scheduled on no node" if _idle(p) else fact)))

    # Mediation layer 2: DRA drivers publishing accelerator devices.
    dra = _dra_accelerator_drivers(slices.items) if slices.visible else {}
    for driver, on in sorted(dra.items()):
        fact = f"publishes accelerator devices on {plural(len(on), 'node')}"
        if common.is_example_driver(driver):
            fact += " (example driver: simulated devices)"
        evidence.append(Evidence("ResourceSlice driver", driver, fact))
        accel_nodes |= on
    dra_workloads = [
        ds
        for ds in (daemonsets.items if daemonsets.visible else [])
        if acc.DRA_DRIVER_WORKLOAD.matches(_bare_name(ds), common.workload_images(ds))
    ]
    for ds in dra_workloads[:3]:
        evidence.append(common.evidence(ds, f"DRA kubelet plugin {common.workload_health(ds)[1]}"))
    evidence += _runtime_layer(view)

    if not by_resource and not dra:
        return _unmediated(nodes, slices, daemonsets, accel_nodes, plugins, evidence)

    layers = []
    if by_resource:
        layers.append("device plugin (" + ", ".join(sorted(by_resource)) + ")")
    if dra:
        layers.append("DRA (" + ", ".join(sorted(dra)) + ")")
    mediation = " and ".join(layers)
    notes = []
    unready = [common.name_of(p) for p, (ok, _) in zip(plugins, plugin_states) if not ok and not _idle(p)]
    if unready:
        notes.append(f"device plugin {sample(unready)} not ready")
    plugin_nodes = {n for names in by_resource.values() for n in names}
    # DRA devices that could not be read may be real ones.
    if (
        slices.visible
        and plugin_nodes <= simulated
        and all(common.is_example_driver(d) or (on and on <= simulated) for d, on in dra.items())
    ):
        notes.append("only simulated or example devices: no real accelerator behind them")
    mediated = f"access mediated by {mediation}" + (f" ({'; '.join(notes)})" if notes else "")

    pods = view.list(PODS)
    if not pods.visible:
        return common.unknown(
            f"{mediated}; pods that bypass it cannot be looked for, and isolation can only be confirmed with --probe",
            common.blind_of(pods, slices),
            evidence,
        )

    # Risk indicators are WARN, never FAIL: a passive read cannot tell whether the admin deliberately granted
    # a pod raw device access (a monitoring agent, a benchmark) or it is a leak; a probe decides.
    # Pods of the accelerator stack are recognised by image; the namespaces that stack runs in (gpu-operator,
    # nvidia-dra-driver-gpu, ...) are skipped whole, except "default", where users' pods live too. Workloads
    # that could not be read only make fewer namespaces skipped, so they can add risks, never hide one.
    workload_listings = [view.list(r) for r in _WORKLOADS]
    infra_namespaces: set[str] = {(w.get("metadata") or {}).get("namespace") or "" for w in plugins}
    for listing in workload_listings:
        for w in listing.items if listing.visible else []:
            if any(acc.is_accelerator_stack_image(i) for i in common.workload_images(w)):
                infra_namespaces.add((w.get("metadata") or {}).get("namespace") or "")
    infra_namespaces -= {"", "default"}
    risks = _risks(pods.items, accel_nodes, infra_namespaces)
    if risks:
        for kind, hits in risks.items():
            for pod, fact in hits[:3]:
                evidence.append(common.evidence(pod, fact))
            if len(hits) > 3:
                evidence.append(Evidence("Pod", "...", f"{kind}: {len(hits) - 3} more pods"))
        summary = "; ".join(f"{plural(len(h), 'pod')} {k}" for k, h in risks.items())
        unread_workloads = common.blind_of(*workload_listings)
        if unread_workloads:
            return common.unknown(
                f"{mediated}; {summary}, unless they belong to the accelerator stack, which cannot be told",
                unread_workloads,
                evidence,
            )
        return _holds(
            Status.WARN,
            Reason.NOT_MET,
            f"{mediated}, but pods may reach accelerators outside it: {summary}; isolation needs --probe",
            evidence,
        )
    if not slices.visible:
        # Pods on nodes that only DRA makes accelerator nodes were not looked at for privileged access.
        return common.unknown(
            f"{mediated}, no pod found bypassing it on the accelerator nodes that could be "
            "seen; isolation can only be confirmed with --probe",
            [slices],
            evidence,
        )
    return CheckResult(
        Status.UNKNOWN,
        f"{mediated}, no pod found bypassing it; isolation can only be confirmed with --probe",
        evidence,
        Reason.NEEDS_PROBE,
    )


# workload_sandboxing ----------------------------------------------------------------------------------------
# A RuntimeClass's own fields (handler, overhead, scheduling.nodeSelector) are what its author declared and prove
# nothing about any node; what does is a pod running with the class, a label the runtime's installer puts on the
# nodes it installed, or the installer itself running (knowledge.sandboxes).
def _is_sandbox_class(rc: dict) -> bool:
    handler = str(rc.get("handler") or "")
    if search(sandboxes.PLAIN_HANDLER, handler):
        return False
    return search(sandboxes.SANDBOX_WORDS, handler) or search(sandboxes.SANDBOX_WORDS, _bare_name(rc))


def _runtime_of(rc: dict) -> sandboxes.SandboxRuntime | None:
    text = f"{rc.get('handler')} {_bare_name(rc)}"
    return next((r for r in sandboxes.SANDBOX_RUNTIMES if any(w in text for w in r.words)), None)


def _agent_sandbox(view: ClusterView) -> tuple[common.Finding | None, list[Listing]]:
    """What is seen of agent-sandbox (agents.x-k8s.io), and the listings that could hide more of it."""
    crds, crd_blind = common.crds_of_group(view, sandboxes.AGENT_SANDBOX_GROUP)
    controllers, workload_blind = common.find_workloads(
        view, name=sandboxes.AGENT_SANDBOX.name, image=sandboxes.AGENT_SANDBOX.image
    )
    blind = crd_blind + workload_blind
    if not crds and not controllers:
        return None, blind
    evidence = common.crd_evidence(view, crds)
    evidence += [common.evidence(w, f"agent-sandbox controller {common.workload_health(w)[1]}") for w in controllers]
    ready = any(common.workload_health(w)[0] for w in controllers)
    established = any(common.crd_established(view, c) for c in crds)
    what = f"agent-sandbox ({sandboxes.AGENT_SANDBOX_GROUP})"
    if ready and established:
        return common.Finding(Status.PASS, Reason.HEALTHY, f"{what} controller running", evidence), blind
    if not controllers:
        return common.Finding(
            Status.WARN, Reason.CRDS_ONLY, f"{what} CRDs installed but no controller", evidence
        ), blind
    if not ready:
        return common.Finding(Status.WARN, Reason.UNHEALTHY, f"{what} controller not ready", evidence), blind
    return common.Finding(
        Status.WARN,
        Reason.UNHEALTHY,
        f"{what} controller ready, but no CRD of {sandboxes.AGENT_SANDBOX_GROUP} is established",
        evidence,
    ), blind


def _without_sandbox_class(view: ClusterView, classes: list[dict], evidence: list[Evidence]) -> CheckResult:
    """The verdict when every RuntimeClass could be read and none runs a sandbox."""
    agent, blind = _agent_sandbox(view)
    if agent is not None:
        evidence += agent.evidence
    no_runtime = "no sandbox RuntimeClass (gVisor, Kata, ...) exists: its sandboxes would run on the host kernel"
    if agent is not None and agent.status is Status.PASS:
        return _holds(Status.WARN, Reason.PARTIAL, f"{agent.summary}, but {no_runtime}", evidence)
    if blind:
        # agent-sandbox, running or not, would turn the FAIL below into a WARN.
        seen = f"{agent.summary}; " if agent is not None else ""
        return common.unknown(
            f"{seen}no sandbox RuntimeClass, and whether agent-sandbox "
            f"({sandboxes.AGENT_SANDBOX_GROUP}) runs cannot be told",
            blind,
            evidence,
        )
    if agent is not None:
        return CheckResult(Status.WARN, f"{agent.summary}, and {no_runtime}", evidence, agent.reason)
    others = [f"{common.name_of(rc)} ({rc.get('handler')})" for rc in classes]
    if others:
        evidence.append(Evidence("RuntimeClass", ", ".join(others[:5]), "not a sandbox runtime"))
    return CheckResult(
        Status.FAIL,
        "no sandbox runtime: no RuntimeClass for gVisor, Kata or a similar runtime"
        + (f" (only {plural(len(others), 'other RuntimeClass')})" if others else ""),
        evidence,
        Reason.NOT_INSTALLED,
    )


@requirement_check("workload_sandboxing", reads=(RUNTIMECLASSES, NODES, PODS, CRDS) + _WORKLOADS)
def workload_sandboxing(view: ClusterView) -> CheckResult:
    rcs = view.list(RUNTIMECLASSES)
    if not rcs.visible:
        # Pods and node labels cannot stand in: a runtimeClassName says nothing without the class's handler.
        return common.unknown("which RuntimeClasses exist, and which runtimes they run, cannot be told", [rcs])
    evidence: list[Evidence] = []
    sandbox = [rc for rc in rcs.items if _is_sandbox_class(rc)]
    for rc in rcs.items:
        if rc not in sandbox and search(sandboxes.SANDBOX_WORDS, _bare_name(rc)):
            evidence.append(
                common.evidence(
                    rc, f"named like a sandbox, but handler {rc.get('handler')} runs containers on the host kernel"
                )
            )
    if not sandbox:
        return _without_sandbox_class(view, rcs.items, evidence)

    pods, nodes = view.list(PODS), view.list(NODES)
    running: dict[str, list[dict]] = {}
    for pod in pods.items if pods.visible else []:
        rcn = (pod.get("spec") or {}).get("runtimeClassName")
        if rcn and (pod.get("status") or {}).get("phase") == "Running":
            running.setdefault(rcn, []).append(pod)
    ready_nodes = [n for n in nodes.items if common.node_ready(n)] if nodes.visible else []
    named = {r.key for r in map(_runtime_of, sandbox) if r is not None}
    runtimes = [r for r in sandboxes.SANDBOX_RUNTIMES if r.key in named]
    # What could show each runtime: pods always; node labels and installers for the runtimes that have them.
    blind = common.blind_of(pods)
    if any(r.node_labels for r in runtimes):
        blind += common.blind_of(nodes)
    patterns = {r.key: r.installers.patterns for r in runtimes if r.installers.visible}
    installers: dict[str, list[dict]] = {}
    if patterns:
        installers, installer_blind = common.match_workloads(view, patterns)
        blind += installer_blind
    # A workload may match the installers of two runtimes: shown once.
    for w in {id(w): w for found in installers.values() for w in found}.values():
        evidence.append(common.evidence(w, f"sandbox runtime installer {common.workload_health(w)[1]}"))

    confirmed = []
    for rc in sandbox:
        name = common.name_of(rc)
        runtime = _runtime_of(rc)
        spec_facts = [f"handler {rc.get('handler')}"]
        if rc.get("overhead"):
            spec_facts.append("declares pod overhead")
        selector = ((rc.get("scheduling") or {}).get("nodeSelector")) or {}
        if selector:
            spec_facts.append("scheduling nodeSelector " + ",".join(f"{k}={v}" for k, v in sorted(selector.items())))
        signs = []
        with_it = running.get(name, [])
        if with_it:
            signs.append(f"{plural(len(with_it), 'pod')} running with it, e.g. {common.name_of(with_it[0])}")
        if runtime is not None:
            # Nodes the installer labelled, among those the class schedules onto.
            hits = [
                n
                for n in ready_nodes
                if any_label(runtime.node_labels, common.labels_of(n))
                and all(common.labels_of(n).get(k) == v for k, v in selector.items())
            ]
            if hits:
                signs.append(
                    f"{plural(len(hits), 'Ready node')} labelled by the {runtime.name} installer, "
                    f"e.g. {common.name_of(hits[0])}"
                )
            own = [w for w in installers.get(runtime.key, []) if common.workload_health(w)[0]]
            if own:
                signs.append(f"installer {common.name_of(own[0])} ready")
        if not signs:
            signs_missing = "in what could be read" if blind else "on any node"
            spec_facts.append(f"no sign of the runtime {signs_missing}")
        evidence.append(common.evidence(rc, "; ".join(spec_facts + signs)))
        if signs:
            confirmed.append(f"{name} ({signs[0]})")

    if not confirmed and blind:
        return common.unknown(
            f"sandbox RuntimeClass {sample(common.name_of(rc) for rc in sandbox)} defined, but "
            "whether any node runs its runtime cannot be told",
            blind,
            evidence,
        )
    # agent-sandbox only adds a note here; what could not be read of it cannot change the verdict.
    agent, _ = _agent_sandbox(view)
    agent_note = ""
    if agent is not None and agent.status is Status.PASS:
        agent_note = f"; {agent.summary}"
        evidence += agent.evidence
    if confirmed:
        return _holds(
            Status.PASS,
            Reason.HEALTHY,
            f"sandbox runtime in place: RuntimeClass {'; '.join(confirmed[:3])}{agent_note}",
            evidence,
        )
    return _holds(
        Status.WARN,
        Reason.CRDS_ONLY,
        f"sandbox RuntimeClass {sample(common.name_of(rc) for rc in sandbox)} defined, but no node, pod "
        f"or installer shows the runtime installed{agent_note}",
        evidence,
    )
