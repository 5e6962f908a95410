"""Security: mediated, isolated accelerator access and sandboxed workloads."""

from __future__ import annotations

import re

from kubectl_aiconf.checks import common, requirement_check
from kubectl_aiconf.resources import (
    CLUSTERPOLICIES, CRDS, DAEMONSETS, DEPLOYMENTS, NODES, PODS, RESOURCESLICES, RUNTIMECLASSES, STATEFULSETS,
)
from kubectl_aiconf.result import CheckResult, Evidence, Status
from kubectl_aiconf.view import ClusterView, Listing

_WORKLOADS = (DEPLOYMENTS, STATEFULSETS, DAEMONSETS)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}{'es' if word.endswith('s') else 's'}"


def _sample(names, limit: int = 3) -> str:
    names = sorted(set(names))
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _blind(*listings: Listing) -> list[Listing]:
    return [listing for listing in listings if not listing.visible]


# secure_accelerator_access ----------------------------------------------------------------------------------
_ACCEL_WORD = re.compile(r"nvidia|gpu|amd|intel|neuron|habana|gaudi|tpu|xpu|npu|accel|hami")
_DEVICE_PLUGIN = re.compile(r"device-?plugin")
_NOT_ACCEL_PLUGIN = re.compile(r"rdma|sriov|network|smarter-device|kvm")
# Images of the components that legitimately touch accelerator devices directly: device plugins, DRA drivers,
# GPU Operator parts (driver, toolkit, validator, feature discovery, MIG manager, DCGM), vendor equivalents.
_INFRA_IMAGE = re.compile(
    r"gpu-operator|device-plugin|dcgm|container-toolkit|gpu-feature-discovery|mig-manager|dra-driver|"
    r"nvidia/driver|/cloud-native/|k8s-driver-manager|node-feature-discovery|amdgpu|rocm/k8s|"
    r"neuron-(device|monitor|scheduler)|habana|fake-gpu-operator|hami|vgpu-manager|vgpu-device-manager")
_SYSTEM_NAMESPACE = re.compile(r"^(kube-system|kube-public|kube-node-lease)$|^openshift-|^gke-|^gmp-|-system$")
_DEVICE_PATH = re.compile(r"^/dev/(nvidia|dri|kfd|accel|neuron|vfio|davinci)")
_ACCEL_REQUEST = re.compile(r"^(nvidia\.com/|amd\.com/|gpu\.intel\.com/|habana\.ai/|aws\.amazon\.com/neuron|"
                            r"google\.com/tpu|volcano\.sh/vgpu)")
_VISIBLE_OK = {"", "void", "none"}
_DRA_DRIVER_IMAGE = re.compile(r"dra-driver|dra-example-driver|resource-driver")


def _requests_accelerator(pod: dict) -> bool:
    spec = pod.get("spec") or {}
    if spec.get("resourceClaims"):
        return True
    for c in spec.get("containers") or []:
        res = c.get("resources") or {}
        for key in list((res.get("limits") or {})) + list((res.get("requests") or {})):
            if _ACCEL_REQUEST.match(key):
                return True
    return False


def _is_infra_pod(pod: dict, infra_namespaces: set[str]) -> bool:
    ns = (pod.get("metadata") or {}).get("namespace") or ""
    if ns in infra_namespaces or _SYSTEM_NAMESPACE.search(ns):
        return True
    return any(_INFRA_IMAGE.search(c.get("image") or "") for c in (pod.get("spec") or {}).get("containers") or [])


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
        for vol in spec.get("volumes") or []:
            path = (vol.get("hostPath") or {}).get("path") or ""
            if _DEVICE_PATH.match(path):
                found.setdefault("with a hostPath device mount", []).append((pod, f"mounts hostPath {path}"))
        if requested or spec.get("nodeName") not in accel_nodes:
            continue
        for c in spec.get("containers") or []:
            # Node agents (CNI, CSI, monitoring) are privileged DaemonSets on every node by design: only
            # privileged workloads that are not node agents are reported.
            if (c.get("securityContext") or {}).get("privileged") and not _owned_by_daemonset(pod):
                found.setdefault("privileged without an accelerator request", []).append(
                    (pod, f"container {c.get('name')} is privileged on accelerator node {spec.get('nodeName')} "
                          "and requests no accelerator"))
            for env in c.get("env") or []:
                if env.get("name") == "NVIDIA_VISIBLE_DEVICES" and str(env.get("value", "")).lower() not in _VISIBLE_OK:
                    found.setdefault("setting NVIDIA_VISIBLE_DEVICES without a request", []).append(
                        (pod, f"container {c.get('name')} sets NVIDIA_VISIBLE_DEVICES={env.get('value')} without "
                              "requesting an accelerator (sees GPUs if the runtime honours the variable)"))
    return found


def _device_plugins(view: ClusterView) -> list[dict]:
    out = []
    for ds in view.list(DAEMONSETS).items:
        text = " ".join([common.name_of(ds)] + common.workload_images(ds))
        if _DEVICE_PLUGIN.search(text) and _ACCEL_WORD.search(text) and not _NOT_ACCEL_PLUGIN.search(text):
            out.append(ds)
    return out


@requirement_check("secure_accelerator_access",
                   reads=(NODES, PODS, RESOURCESLICES, RUNTIMECLASSES, CLUSTERPOLICIES) + _WORKLOADS)
def secure_accelerator_access(view: ClusterView) -> CheckResult:
    # Isolation is behaviour: only a probe (a pod without a request sees no device; two pods do not see each
    # other's) can confirm it, and probe results override this passive result. Passively this check reports
    # the layers that should mediate access and never returns PASS.
    nodes, pods, slices = view.list(NODES), view.list(PODS), view.list(RESOURCESLICES)
    rcs, policies = view.list(RUNTIMECLASSES), view.list(CLUSTERPOLICIES)
    workload_listings = [view.list(r) for r in _WORKLOADS]
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
        evidence.append(Evidence("Node", names[0], f"{res} allocatable (device plugin registered)"
                                 + (f"; also on {_plural(len(names) - 1, 'more node')}" if len(names) > 1 else "")))
    plugins = _device_plugins(view)
    plugin_states = [common.workload_health(p) for p in plugins]
    for p, (_, fact) in zip(plugins, plugin_states):
        evidence.append(common.evidence(p, f"device plugin {fact}"))
    dra_workloads = [ds for ds in view.list(DAEMONSETS).items
                     if any(_DRA_DRIVER_IMAGE.search(i) for i in common.workload_images(ds))]

    # Mediation layer 2: DRA drivers publishing accelerator devices.
    current, _ = common.current_slices(slices.items)
    dra: dict[str, set[str]] = {}
    for s in current:
        driver = str((s.get("spec") or {}).get("driver"))
        if common.is_accelerator_driver(driver) and common.slice_devices(s):
            dra.setdefault(driver, set()).update(common.slice_node_names(s))
    for driver, on in sorted(dra.items()):
        fact = f"publishes accelerator devices on {_plural(len(on), 'node')}"
        if common.is_example_driver(driver):
            fact += " (example driver: simulated devices)"
        evidence.append(Evidence("ResourceSlice driver", driver, fact))
        accel_nodes |= on
    for ds in dra_workloads[:3]:
        evidence.append(common.evidence(ds, f"DRA kubelet plugin {common.workload_health(ds)[1]}"))

    # Runtime layer (evidence only): accelerator RuntimeClass, CDI.
    for rc in rcs.items:
        if re.search(r"nvidia|amd|rocm|habana|neuron", str(rc.get("handler") or "")):
            evidence.append(common.evidence(rc, f"handler {rc.get('handler')} (accelerator container runtime)"))
    for cp in policies.items:
        cdi = (cp.get("spec") or {}).get("cdi") or {}
        if "enabled" in cdi:
            evidence.append(common.evidence(cp, f"CDI {'enabled' if cdi.get('enabled') else 'disabled'}"
                                            + (", default" if cdi.get("default") else "")))

    mediated = bool(by_resource) or bool(dra)
    has_accelerators = bool(accel_nodes)
    if not nodes.visible:
        return common.unknown("accelerator nodes cannot be read", [nodes], evidence)
    if not mediated:
        blind = _blind(slices, *workload_listings)
        if not has_accelerators:
            if blind:
                return common.unknown("no accelerator node and no device plugin resource found", blind, evidence)
            # Nodes and DRA devices are fully visible: no accelerator at all, so no accelerator access can be
            # shown to be mediated and isolated.
            return CheckResult(Status.FAIL, f"no accelerator in the cluster ({_plural(len(nodes.items), 'node')}, "
                                            "no accelerator resources, no DRA accelerator devices): a cluster "
                                            "without accelerators cannot meet this requirement", evidence)
        if plugins:
            return CheckResult(Status.WARN, f"{_plural(len(accel_nodes), 'accelerator node')}, device plugin "
                                            f"{_sample(common.name_of(p) for p in plugins)} present, but no "
                                            "accelerator resource is allocatable on any node", evidence)
        if blind:
            return common.unknown(f"{_plural(len(accel_nodes), 'accelerator node')} and no visible mediation layer",
                                  blind, evidence)
        return CheckResult(Status.FAIL, f"{_plural(len(accel_nodes), 'accelerator node')}, but nothing mediates "
                                        "access: no allocatable accelerator resource, no device plugin and no DRA "
                                        "devices", evidence)

    layers = []
    if by_resource:
        layers.append("device plugin (" + ", ".join(sorted(by_resource)) + ")")
    if dra:
        layers.append("DRA (" + ", ".join(sorted(dra)) + ")")
    mediation = " and ".join(layers)
    notes = []
    unready = [common.name_of(p) for p, (ok, _) in zip(plugins, plugin_states) if not ok]
    if unready:
        notes.append(f"device plugin {_sample(unready)} not ready")
    plugin_nodes = {n for names in by_resource.values() for n in names}
    if plugin_nodes <= simulated and all(common.is_example_driver(d) or (on and on <= simulated)
                                         for d, on in dra.items()):
        notes.append("only simulated or example devices: no real accelerator behind them")
    note = f" ({'; '.join(notes)})" if notes else ""

    # Risk indicators are WARN, never FAIL: a passive read cannot tell whether the admin deliberately granted
    # a pod raw device access (a monitoring agent, a benchmark) or it is a leak; a probe decides.
    # Pods of the accelerator stack are recognised by image; the namespaces that stack runs in (gpu-operator,
    # nvidia-dra-driver-gpu, ...) are skipped whole, except "default", where users' pods live too.
    infra_namespaces = {(w.get("metadata") or {}).get("namespace") for w in plugins}
    for res in _WORKLOADS:
        for w in view.list(res).items:
            if any(_INFRA_IMAGE.search(i) for i in common.workload_images(w)):
                infra_namespaces.add((w.get("metadata") or {}).get("namespace"))
    infra_namespaces.discard("default")
    risks = _risks(pods.items, accel_nodes, infra_namespaces)
    if risks:
        for kind, hits in risks.items():
            for pod, fact in hits[:3]:
                evidence.append(common.evidence(pod, fact))
            if len(hits) > 3:
                evidence.append(Evidence("Pod", "...", f"{kind}: {len(hits) - 3} more pods"))
        summary = "; ".join(f"{_plural(len(h), 'pod')} {k}" for k, h in risks.items())
        return CheckResult(Status.WARN, f"access mediated by {mediation}{note}, but pods may reach accelerators "
                                        f"outside it: {summary}; isolation needs --probe", evidence)
    if not pods.visible:
        return common.unknown(f"access mediated by {mediation}{note}; isolation can only be confirmed with "
                              "--probe, and pods bypassing it cannot be looked for", [pods], evidence)
    return CheckResult(Status.UNKNOWN, f"access mediated by {mediation}{note}, no pod found bypassing it; "
                                       "isolation can only be confirmed with --probe", evidence)


# workload_sandboxing ----------------------------------------------------------------------------------------
_SANDBOX = re.compile(r"gvisor|runsc|kata|sandbox|quark|krun")
# Handlers that run ordinary containers on the host kernel, whatever the RuntimeClass is called.
_PLAIN_HANDLER = re.compile(r"^(runc|crun|youki|runhcs.*|nvidia.*|docker|containerd)$")
# Labels installers put on nodes that have the runtime (kata-deploy, GKE Sandbox).
_SANDBOX_NODE_LABELS = {"katacontainers.io/kata-runtime": "true", "sandbox.gke.io/runtime": "gvisor"}
_INSTALLER = r"kata-deploy|kata-monitor|gvisor|runsc"
_AGENT_SANDBOX_GROUP = "agents.x-k8s.io"


def _is_sandbox_class(rc: dict) -> bool:
    handler = str(rc.get("handler") or "")
    if _PLAIN_HANDLER.match(handler):
        return False
    return bool(_SANDBOX.search(handler) or _SANDBOX.search((rc.get("metadata") or {}).get("name") or ""))


@requirement_check("workload_sandboxing", reads=(RUNTIMECLASSES, NODES, PODS, CRDS) + _WORKLOADS)
def workload_sandboxing(view: ClusterView) -> CheckResult:
    rcs, nodes, pods, crds = view.list(RUNTIMECLASSES), view.list(NODES), view.list(PODS), view.list(CRDS)
    workload_listings = [view.list(r) for r in _WORKLOADS]
    evidence: list[Evidence] = []

    sandbox = [rc for rc in rcs.items if _is_sandbox_class(rc)]
    for rc in rcs.items:
        if rc not in sandbox and _SANDBOX.search(common.name_of(rc)):
            evidence.append(common.evidence(rc, f"named like a sandbox, but handler {rc.get('handler')} runs "
                                                "containers on the host kernel"))

    # Signs that a node really has the runtime. Pod overhead in the RuntimeClass is not one: it is only what
    # the class's author declared, and says nothing about any node.
    ready_nodes = [n for n in nodes.items if common.node_ready(n)]
    running: dict[str, list[dict]] = {}
    for pod in pods.items:
        rcn = (pod.get("spec") or {}).get("runtimeClassName")
        if rcn and (pod.get("status") or {}).get("phase") == "Running":
            running.setdefault(rcn, []).append(pod)
    labelled = [n for n in ready_nodes
                if any(common.labels_of(n).get(k) == v for k, v in _SANDBOX_NODE_LABELS.items())]
    installers = [w for w in common.find_workloads(view, name=_INSTALLER, image=_INSTALLER)[0]]
    installers_ok = [w for w in installers if common.workload_health(w)[0]]
    for w in installers:
        evidence.append(common.evidence(w, f"sandbox runtime installer {common.workload_health(w)[1]}"))

    confirmed = []
    for rc in sandbox:
        name = common.name_of(rc)
        spec_facts = [f"handler {rc.get('handler')}"]
        if rc.get("overhead"):
            spec_facts.append("declares pod overhead")
        selector = ((rc.get("scheduling") or {}).get("nodeSelector")) or {}
        signs = []
        if running.get(name):
            pod = running[name][0]
            signs.append(f"{_plural(len(running[name]), 'pod')} running with it, e.g. {common.name_of(pod)}")
        if selector:
            matching = [n for n in ready_nodes if all(common.labels_of(n).get(k) == v for k, v in selector.items())]
            sel = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
            spec_facts.append(f"scheduling nodeSelector {sel}")
            if matching:
                signs.append(f"{_plural(len(matching), 'Ready node')} match{'es' if len(matching) == 1 else ''} "
                             f"its nodeSelector, e.g. {common.name_of(matching[0])}")
        if labelled and re.search(r"kata|gvisor|runsc", f"{rc.get('handler')} {name}"):
            kind = "kata" if "kata" in f"{rc.get('handler')} {name}" else "gvisor"
            hits = [n for n in labelled if any(kind in f"{k}={v}" for k, v in common.labels_of(n).items()
                                               if k in _SANDBOX_NODE_LABELS)]
            if hits:
                signs.append(f"{_plural(len(hits), 'Ready node')} labelled by the {kind} installer")
        family = "kata" if "kata" in f"{rc.get('handler')} {name}" else "gvisor|runsc"
        own = [w for w in installers_ok
               if re.search(family, " ".join([common.name_of(w)] + common.workload_images(w)))]
        if own:
            signs.append(f"installer {common.name_of(own[0])} ready")
        evidence.append(common.evidence(rc, "; ".join(spec_facts + (signs or ["no sign of the runtime on any node"]))))
        if signs:
            confirmed.append(f"{name} ({signs[0]})")

    agent_crds = common.crds_of_group(view, _AGENT_SANDBOX_GROUP)
    agent_controllers = common.find_workloads(view, name=r"agent-sandbox", image=r"agent-sandbox")[0]
    evidence.extend(common.crd_evidence(view, agent_crds))
    for w in agent_controllers:
        evidence.append(common.evidence(w, f"agent-sandbox controller {common.workload_health(w)[1]}"))
    agent_ok = any(common.workload_health(w)[0] for w in agent_controllers) and any(
        common.crd_established(view, c) for c in agent_crds)

    agent_note = "; agent-sandbox (agents.x-k8s.io) controller running" if agent_ok else ""
    if confirmed:
        return CheckResult(Status.PASS, f"sandbox runtime in place: RuntimeClass {'; '.join(confirmed[:3])}"
                                        f"{agent_note}", evidence)
    blind = _blind(rcs, nodes, pods, *workload_listings)
    if sandbox:
        names = _sample(common.name_of(rc) for rc in sandbox)
        if blind:
            return common.unknown(f"sandbox RuntimeClass {names} defined, but whether any node runs it cannot be "
                                  "read", blind, evidence)
        return CheckResult(Status.WARN, f"sandbox RuntimeClass {names} defined, but no node, pod or installer "
                                        f"shows the runtime installed{agent_note}", evidence)
    if not rcs.visible:
        return common.unknown("no sandbox RuntimeClass found", [rcs], evidence)
    if agent_crds or agent_controllers:
        state = "running" if agent_ok else "installed but not running"
        return CheckResult(Status.WARN, f"agent-sandbox (agents.x-k8s.io) {state}, and no sandbox RuntimeClass "
                                        "(gVisor, Kata, ...) exists: its sandboxes would run on the host kernel",
                           evidence)
    others = [f"{common.name_of(rc)} ({rc.get('handler')})" for rc in rcs.items]
    if others:
        evidence.append(Evidence("RuntimeClass", ", ".join(others[:5]), "not a sandbox runtime"))
    return CheckResult(Status.FAIL, "no sandbox runtime: no RuntimeClass for gVisor, Kata or a similar runtime"
                       + (f" (only {_plural(len(others), 'other RuntimeClass')})" if others else ""), evidence)
