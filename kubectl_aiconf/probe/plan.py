"""What the accelerator probe will run: a pure function of the loaded cluster view.

The plan chooses, per mechanism (device plugin extended resources, DRA claims), one target node that is
Ready and has free devices, and builds the manifests of short probe pods that list the accelerator device
nodes they can see:

  positive   a pod given one accelerator must see exactly one (`single`, or both pods of a `pair`)
  pair       two pods on the same node at the same time, one accelerator each: their devices must differ
             (skipped when the node shares devices by design: time-slicing, MPS, Neuron cores)
  multi      a pod whose first container gets the accelerator and whose second does not
  negative   a pod without any request, pinned to an accelerator node, one container asking the node's
             container runtimes for every device through their *_VISIBLE_DEVICES variables: must see nothing

What it knows about vendors (device nodes, listing commands, taints, runtimes) comes from
knowledge.accelerators.

Nothing here talks to the API server, so every decision can be tested on fixtures.
"""

from __future__ import annotations

import json
import re
import secrets
import string
from dataclasses import dataclass, field

from kubectl_aiconf.checks import common
from kubectl_aiconf.knowledge import accelerators as acc
from kubectl_aiconf.knowledge import sandboxes
from kubectl_aiconf.knowledge._base import search
from kubectl_aiconf.probe import DEFAULT_IMAGE, DEFAULT_TIMEOUT, MECHANISMS
from kubectl_aiconf.resources import DEVICECLASSES, NODES, RESOURCECLAIMS, RESOURCESLICES, RUNTIMECLASSES
from kubectl_aiconf.view import ClusterView, Listing, Resource

DEVICE_PLUGIN, DRA = "device-plugin", "dra"

NAMESPACE_PREFIX = "aiconf-probe-"
MANAGED_BY = ("app.kubernetes.io/managed-by", "kubectl-aiconf")
COMPONENT = ("app.kubernetes.io/component", "accelerator-probe")
PROBE_SELECTOR = f"{MANAGED_BY[0]}={MANAGED_BY[1]},{COMPONENT[0]}={COMPONENT[1]}"
ROLE_ANNOTATION = "kubectl-aiconf/probe-role"
CLAIM_TEMPLATE = "aiconf-one-accelerator"
CLAIM_NAME = "accelerator"

# Only pods that are not finished hold devices; listing just those keeps the list small on big clusters.
PROBE_PODS = Resource(
    "",
    "pods",
    "Pod",
    True,
    keep=(
        "spec.nodeName",
        "spec.containers[].name",
        "spec.containers[].resources",
        "spec.initContainers[].name",
        "spec.initContainers[].resources",
        "spec.initContainers[].restartPolicy",
        "spec.resourceClaims",
        "status.phase",
    ),
    field_selector="status.phase!=Succeeded,status.phase!=Failed",
)
PLAN_READS = (NODES, PROBE_PODS, DEVICECLASSES, RESOURCESLICES, RESOURCECLAIMS, RUNTIMECLASSES)

# Prefix of the AICONF keys under which the script prints a vendor's device listing: `list-<vendor key>`.
LISTING_KEY = "list-"


def _probe_script() -> str:
    """The probe's shell script (POSIX sh; busybox is enough). It prints one `AICONF key=value` line per fact
    and always exits 0: the verdict is the plugin's, from these lines.

      device=PATH       an accelerator device node the container can open (every vendor's, from the registry)
      env-device=ID     a device the DRA example driver announced through GPU_DEVICE_<n> variables
      cdi-claim=NAME    a claim whose CDI injection reached the container, as Kubernetes' DRA test driver
                        announces it: a variable claim_<claim>_<request>=true (NAME is the variable)
      list-VENDOR=LINE  a line of the vendor's device listing (`nvidia-smi -L`, ...) when the runtime or image
                        provides the command: the verdict reads device ids from it with the vendor's pattern
      count=N           number of device= lines
      done              the script ran to the end (a cut-off log is not a result)
    """
    lines = [
        "n=0",
        f"for d in {' '.join(acc.probe_device_globs())}; do",
        '  [ -e "$d" ] || continue',
        '  echo "AICONF device=$d"',
        "  n=$((n+1))",
        "done",
        r"env | sed -n 's/^GPU_DEVICE_[0-9][0-9]*=\(.*\)$/AICONF env-device=\1/p'",
        r"env | sed -n 's/^\(claim_[A-Za-z0-9_]*\)=true$/AICONF cdi-claim=\1/p'",
    ]
    for vendor in acc.VENDORS:
        # Only listings that name devices by id can tell two pods' devices apart; the first one found runs.
        listings = [c for c in vendor.probe_commands if c.uuid]
        for i, listing in enumerate(listings):
            lines.append(f"{'elif' if i else 'if'} command -v {listing.command.split()[0]} >/dev/null 2>&1; then")
            lines.append(f"  {listing.command} 2>/dev/null | sed 's/^/AICONF {LISTING_KEY}{vendor.key}=/'")
        if listings:
            lines.append("fi")
    return "\n".join(lines + ['echo "AICONF count=$n"', 'echo "AICONF done"']) + "\n"


PROBE_SCRIPT = _probe_script()
# The negative pod's container that sets every *_VISIBLE_DEVICES variable of the node's runtimes to `all`.
VISIBLE_DEVICES_CONTAINER = "visible-devices-all"
# Pair pods wait a moment after printing so that both hold their device at the same time.
PAIR_LINGER_SECONDS = 3
_CEL_DRIVER = re.compile(r"""device\.driver\s*==\s*['"]([^'"]+)['"]""")
_CEL_DRIVER_CLAUSE = re.compile(r"""device\.driver\s*==\s*(['"])([^'"]+)\1""")
_CEL_ATTRIBUTE_CLAUSE = re.compile(
    r"""device\.attributes\[\s*(['"])([^'"]+)\1\s*\]\.([A-Za-z_][A-Za-z0-9_]*)\s*==\s*"""
    r"""(?:(['"])([^'"]*)\4|(true|false)|(-?\d+))"""
)


class PlanError(Exception):
    """The probe cannot run at all; the message says why (becomes an UNKNOWN result)."""


@dataclass(frozen=True)
class ProbeOptions:
    mechanism: str = "auto"
    image: str = DEFAULT_IMAGE
    node: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    namespace: str | None = None  # generated when None
    allow_scale_up: bool = False  # --allow-scale-up: the cluster_autoscaling probe may add a node


@dataclass
class Target:
    """One node and one way of getting an accelerator on it."""

    mechanism: str  # DEVICE_PLUGIN or DRA
    node: str
    free: int
    family: str  # device family: which device nodes are one accelerator (acc.unit_device_patterns)
    resource: str | None = None  # extended resource (device plugin)
    device_class: str | None = None  # DRA
    driver: str | None = None  # DRA
    shared: str | None = None  # why two pods may legitimately get the same device
    uncertain: str | None = None  # why `free` may be too high (then the plan counts on one device only)
    notes: list[str] = field(default_factory=list)

    @property
    def vendor(self) -> str | None:
        """The vendor whose devices it hands out (None for an unknown driver or the example driver)."""
        if self.resource:
            return acc.vendor_of_resource(self.resource)
        return acc.vendor_of_driver(self.driver or "")

    @property
    def usable_free(self) -> int:
        return min(self.free, 1) if self.uncertain else self.free

    @property
    def prefix(self) -> str:
        return "dp" if self.mechanism == DEVICE_PLUGIN else "dra"

    def describe(self) -> str:
        if self.mechanism == DEVICE_PLUGIN:
            return f"{self.resource} through the device plugin"
        return f"DRA claim on DeviceClass {self.device_class} (driver {self.driver})"


@dataclass
class ProbePod:
    name: str
    role: str  # single, pair, multi, negative
    node: str
    wave: int  # pods of wave 2 start once wave 1 is finished (a node with too few free devices)
    manifest: dict
    expect: dict[str, int]  # container -> number of accelerators it must see
    target: Target | None = None  # None for negative pods
    partner: str | None = None  # the other pod of a pair

    @property
    def mechanism(self) -> str | None:
        return self.target.mechanism if self.target else None


@dataclass
class Plan:
    namespace: str
    options: ProbeOptions
    targets: list[Target]
    pods: list[ProbePod]
    prerequisites: list[dict]  # objects created before the pods (ResourceClaimTemplates)
    skipped: list[tuple[str, str]]  # (probe, why) for probes that cannot run here
    resource_api: str | None  # resource.k8s.io version used for claim templates
    simulated_nodes: set[str] = field(default_factory=set)

    def namespace_manifest(self) -> dict:
        return namespace_manifest(self.namespace)

    def manifests(self) -> list[dict]:
        """Everything the probe creates, in creation order."""
        return [self.namespace_manifest()] + list(self.prerequisites) + [p.manifest for p in self.pods]

    @property
    def waves(self) -> list[list[ProbePod]]:
        out: dict[int, list[ProbePod]] = {}
        for pod in self.pods:
            out.setdefault(pod.wave, []).append(pod)
        return [out[k] for k in sorted(out)]

    def permissions(self) -> list[tuple[str, str, str, str, str]]:
        """(verb, group, resource, subresource, namespace) the run needs; namespace "" = cluster scope."""
        ns = self.namespace
        needed = [
            ("create", "", "namespaces", "", ""),
            ("get", "", "namespaces", "", ""),
            ("delete", "", "namespaces", "", ""),
            ("create", "", "pods", "", ns),
            ("list", "", "pods", "", ns),
            ("get", "", "pods", "log", ns),
        ]
        if self.prerequisites:
            needed.append(("create", "resource.k8s.io", "resourceclaimtemplates", "", ns))
        return needed


# helpers ----------------------------------------------------------------------------------------------------
def new_namespace_name() -> str:
    alphabet = string.ascii_lowercase + string.digits
    return NAMESPACE_PREFIX + "".join(secrets.choice(alphabet) for _ in range(6))


def _labels() -> dict[str, str]:
    return {MANAGED_BY[0]: MANAGED_BY[1], COMPONENT[0]: COMPONENT[1]}


def namespace_manifest(name: str) -> dict:
    labels = _labels()
    labels["app.kubernetes.io/instance"] = name
    # Pod Security "restricted": the probe must not need any privilege to prove isolation.
    for mode in ("enforce", "audit", "warn"):
        labels[f"pod-security.kubernetes.io/{mode}"] = "restricted"
    labels["pod-security.kubernetes.io/enforce-version"] = "latest"
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def quantity(value: object) -> float:
    """An integer-ish Kubernetes quantity ('2', '1k', '500m') as a number; 0 when unreadable."""
    text = str(value).strip()
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([mkMGTPE]i?|)", text)
    if not match:
        return 0.0
    number = float(match.group(1))
    suffix = match.group(2)
    scale = {
        "": 1,
        "m": 0.001,
        "k": 1e3,
        "M": 1e6,
        "G": 1e9,
        "T": 1e12,
        "P": 1e15,
        "E": 1e18,
        "Ki": 2**10,
        "Mi": 2**20,
        "Gi": 2**30,
        "Ti": 2**40,
        "Pi": 2**50,
        "Ei": 2**60,
    }
    return number * scale.get(suffix, 1)


def _container_request(container: dict, resource: str) -> float:
    res = container.get("resources") or {}
    value = (res.get("requests") or {}).get(resource)
    if value is None:  # extended resources: requests default to limits
        value = (res.get("limits") or {}).get(resource)
    return quantity(value) if value is not None else 0.0


def pod_request(pod: dict, resource: str) -> float:
    """The effective request of a pod for `resource`: its containers (and sidecars) or its largest init step."""
    spec = pod.get("spec") or {}
    inits = spec.get("initContainers") or []
    sidecars = sum(_container_request(c, resource) for c in inits if c.get("restartPolicy") == "Always")
    regular = sum(_container_request(c, resource) for c in spec.get("containers") or [])
    largest_init = max(
        [_container_request(c, resource) for c in inits if c.get("restartPolicy") != "Always"], default=0.0
    )
    return max(regular + sidecars, largest_init)


def tolerations_for(node: dict, explicit: bool) -> tuple[list[dict], list[str]]:
    """(tolerations for the node's accelerator taints, taints that keep the probe off the node).

    A node the user named with --probe-node is taken as it is: all its taints are tolerated.
    """
    tolerations, blocking = [], []
    for taint in (node.get("spec") or {}).get("taints") or []:
        effect = taint.get("effect")
        if effect == "PreferNoSchedule":
            continue
        key = taint.get("key") or ""
        if explicit or acc.is_accelerator_taint(key, taint.get("value") or ""):
            tol = {"key": key, "operator": "Exists"}
            if effect:
                tol["effect"] = effect
            tolerations.append(tol)
        else:
            value = taint.get("value")
            blocking.append(f"{key}{'=' + value if value else ''}:{effect}")
    return tolerations, blocking


def _listing_problem(listing: Listing) -> str | None:
    return None if listing.visible else listing.why_unknown()


@dataclass(frozen=True)
class ClassSelector:
    """What a DeviceClass's CEL selectors ask for, as far as the plan reads them: the driver, and attribute
    equalities (`device.attributes['gpu.nvidia.com'].type == 'gpu'`) all joined by `&&`. `exact` is False
    when an expression is beyond that (the plan then counts every device of the driver, and cannot trust
    the count)."""

    driver: str  # "" when no selector names one
    attributes: tuple[tuple[str, str, str, str], ...] = ()  # (domain, name, CEL type, value as text)
    exact: bool = True

    def matches(self, driver: str, device: dict) -> bool:
        if driver != self.driver:
            return False
        found = _device_attribute_values(device, driver)
        return all(found.get((domain, name)) == (typ, value) for domain, name, typ, value in self.attributes)


def class_selector(device_class: dict) -> ClassSelector:
    expressions = [
        (((sel or {}).get("cel") or {}).get("expression") or "").strip()
        for sel in (device_class.get("spec") or {}).get("selectors") or []
    ]
    driver, attributes, exact = "", [], True
    for expression in expressions:
        if "||" in expression or "!" in expression.replace("!=", "") or "?" in expression:
            exact = False  # a clause under || or ! does not have to hold: read none of them
            break
        for clause in (c.strip().strip("()").strip() for c in expression.split("&&")):
            driver_match = _CEL_DRIVER_CLAUSE.fullmatch(clause)
            attribute_match = _CEL_ATTRIBUTE_CLAUSE.fullmatch(clause)
            if driver_match:
                driver = driver_match.group(2)
            elif attribute_match:
                string, boolean, integer = attribute_match.group(5, 6, 7)
                typed = (
                    ("string", string)
                    if string is not None
                    else ("bool", boolean)
                    if boolean is not None
                    else ("int", str(int(integer)))
                )
                attributes.append((attribute_match.group(2), attribute_match.group(3), *typed))
            else:
                exact = False
    if exact and driver:
        return ClassSelector(driver, tuple(attributes))
    # Beyond the plan: the driver named anywhere, every one of its devices counted, the count a guess.
    for expression in expressions:
        match = _CEL_DRIVER.search(expression)
        if match:
            return ClassSelector(match.group(1), (), False)
    return ClassSelector("", (), False)


def _device_attribute_values(device: dict, driver: str) -> dict[tuple[str, str], tuple[str, str]]:
    """{(domain, name): (CEL type, value as text)}; names without a domain are in the driver's."""
    body = common.device_body(device)
    out = {}
    for key, value in (body.get("attributes") or {}).items():
        if not isinstance(value, dict):
            continue
        domain, _, name = key.rpartition("/")
        for typ in ("string", "version", "int", "bool"):
            if typ in value:
                raw = value[typ]
                out[(domain or driver, name)] = (typ, str(raw).lower() if typ == "bool" else str(raw))
                break
    return out


def _device_tainted(device: dict) -> bool:
    body = common.device_body(device)
    return any(t.get("effect") in ("NoSchedule", "NoExecute") for t in body.get("taints") or [])


def _requirement_holds(requirement: dict, values: dict[str, str]) -> bool:
    key, operator, wanted = requirement.get("key"), requirement.get("operator"), requirement.get("values") or []
    have = values.get(key) if isinstance(key, str) else None
    if operator == "In":
        return have is not None and have in wanted
    if operator == "NotIn":
        return have is None or have not in wanted
    if operator == "Exists":
        return have is not None
    if operator == "DoesNotExist":
        return have is None
    if operator in ("Gt", "Lt") and have is not None and wanted:
        try:
            return int(have) > int(wanted[0]) if operator == "Gt" else int(have) < int(wanted[0])
        except ValueError:
            return False
    return False


def node_selector_matches(selector: dict, node: dict) -> bool:
    """A core/v1 NodeSelector (as ResourceSlices use it): any term whose every requirement holds."""
    labels, fields = common.labels_of(node), {"metadata.name": common.name_of(node)}
    for term in selector.get("nodeSelectorTerms") or []:
        requirements = [(r, labels) for r in term.get("matchExpressions") or []] + [
            (r, fields) for r in term.get("matchFields") or []
        ]
        if requirements and all(_requirement_holds(r, values) for r, values in requirements):
            return True
    return False


# DRA inventory ----------------------------------------------------------------------------------------------
@dataclass
class FreeDevice:
    driver: str
    device: dict
    network_attached: bool  # published for many nodes (allNodes or a node selector), not one node's own

    @property
    def partitionable(self) -> bool:
        """Draws on counters shared with other devices (a GPU published whole and as partitions): allocating
        one may use up others."""
        return bool(common.device_body(self.device).get("consumesCounters"))


def _device_reach(spec: dict, device: dict, nodes: list[dict]) -> tuple[list[str], bool]:
    """(names among `nodes` that can use the device, whether it is network-attached). With
    perDeviceNodeSelection the device says where it is, otherwise its slice does."""
    where = common.device_body(device)
    source = (
        where
        if spec.get("perDeviceNodeSelection")
        or where.get("nodeName")
        or where.get("allNodes")
        or where.get("nodeSelector")
        else spec
    )
    if source.get("nodeName"):
        return [source["nodeName"]], False
    if source.get("allNodes"):
        return [common.name_of(n) for n in nodes], True
    if source.get("nodeSelector"):
        return [common.name_of(n) for n in nodes if node_selector_matches(source["nodeSelector"], n)], True
    return [], False


def dra_free_devices(slices: list[dict], claims: list[dict], nodes: list[dict]) -> dict[str, list[FreeDevice]]:
    """node name (of `nodes`) -> devices it can use from the current pool generations, untainted and not
    allocated to any claim."""
    current, _ = common.current_slices(slices)
    allocated = set()
    for claim in claims:
        results = ((((claim.get("status") or {}).get("allocation") or {}).get("devices") or {}).get("results")) or []
        for r in results:
            allocated.add((r.get("driver"), r.get("pool"), r.get("device")))
    names = {common.name_of(n) for n in nodes}
    free: dict[str, list[FreeDevice]] = {}
    for s in current:
        spec = s.get("spec") or {}
        driver, pool = str(spec.get("driver") or ""), (spec.get("pool") or {}).get("name")
        for device in common.slice_devices(s):
            if _device_tainted(device) or (driver, pool, device.get("name")) in allocated:
                continue
            reach, network_attached = _device_reach(spec, device, nodes)
            for node in reach:
                if node in names:
                    free.setdefault(node, []).append(FreeDevice(driver, device, network_attached))
    return free


def _dra_classes(view: ClusterView) -> list[tuple[dict, ClassSelector]]:
    """(DeviceClass, its selector) of classes that select accelerator devices, best candidates first.

    Only for a view whose DeviceClass listing is visible (build_plan checks)."""
    found = []
    for dc in view.list(DEVICECLASSES).items:
        selector = class_selector(dc)
        name = common.name_of(dc)
        if (
            not selector.driver
            or not common.is_accelerator_driver(selector.driver)
            or search(acc.NOT_ACCELERATOR_CLASS, name)
        ):
            continue
        found.append((dc, selector))
    # whole devices before partitions (MIG slices), real drivers before example ones, then by name
    found.sort(
        key=lambda item: (
            _partition_class(common.name_of(item[0])),
            common.is_example_driver(item[1].driver),
            not common.name_of(item[0]).startswith("gpu."),
            common.name_of(item[0]),
        )
    )
    return found


def _partition_class(name: str) -> bool:
    """A DeviceClass that hands out partitions of devices, by the names the vendors' partitioning uses."""
    return any(search(m.device_classes, name) for v in acc.VENDORS for m in v.mechanisms if m.kind == "partition")


def _dra_class_sharing(dc: dict) -> str | None:
    if acc.dra_class_sharing(dc):
        return f"DeviceClass {common.name_of(dc)} configures device sharing (time-slicing/MPS)"
    return None


# planning ---------------------------------------------------------------------------------------------------
def device_plugin_targets(
    nodes: list[dict], pods: list[dict], classes: list[tuple[dict, ClassSelector]]
) -> tuple[list[Target], list[str]]:
    """Candidate device-plugin targets (best first) and why other accelerator nodes were passed over."""
    wanted = {common.name_of(n): common.accelerator_resources(n) for n in nodes}
    used: dict[tuple[str, str], float] = {}
    for pod in pods:
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        node = (pod.get("spec") or {}).get("nodeName")
        if not isinstance(node, str):  # not scheduled: holds no device
            continue
        for res in wanted.get(node) or ():
            used[(node, res)] = used.get((node, res), 0.0) + pod_request(pod, res)
    mapped = {
        ((dc.get("spec") or {}).get("extendedResourceName")): common.name_of(dc)
        for dc, _ in classes
        if (dc.get("spec") or {}).get("extendedResourceName")
    }
    targets, passed = [], []
    for node in nodes:
        name = common.name_of(node)
        for res, count in sorted(common.accelerator_resources(node).items()):
            free = int(count - used.get((name, res), 0))
            if free < 1:
                passed.append(f"{name}: all {count} {res} in use")
                continue
            labels = common.labels_of(node)
            target = Target(
                DEVICE_PLUGIN,
                name,
                free,
                acc.device_family_of_resource(res, labels),
                resource=res,
                shared=acc.sharing_reason(labels, res),
            )
            if res in mapped:
                # DRAExtendedResource: on nodes that advertise the resource a device plugin serves it; only
                # elsewhere would DeviceClass `mapped[res]` allocate it through DRA.
                target.notes.append(
                    f"{res} is advertised by the node's device plugin (DeviceClass "
                    f"{mapped[res]} serves {res} only on nodes without it)"
                )
            targets.append(target)
    # real nodes first (a simulated node's pods prove nothing, and kwok may never finish them), then most free
    # devices, then whole devices before partitions, then by node
    simulated = {common.name_of(n) for n in nodes if common.is_simulated_node(n)}
    targets.sort(
        key=lambda t: (
            t.node in simulated,
            -min(t.free, 3),
            not acc.is_whole_accelerator_resource(t.resource or ""),
            t.node,
        )
    )
    return targets, passed


def dra_targets(
    view: ClusterView, nodes: list[dict], classes: list[tuple[dict, ClassSelector]]
) -> tuple[list[Target], list[str]]:
    """Candidate DRA targets (best first) and why they were not found. Only for a view whose ResourceSlice and
    ResourceClaim listings are visible (build_plan checks): unknown claims are not "nothing allocated"."""
    free = dra_free_devices(view.list(RESOURCESLICES).items, view.list(RESOURCECLAIMS).items, nodes)
    ranked: list[tuple[int, Target]] = []  # (rank of its class, target)
    passed: list[str] = []
    for rank, (dc, selector) in enumerate(classes):
        class_name = common.name_of(dc)
        for node_name in sorted(free):
            devices = [d for d in free[node_name] if selector.matches(d.driver, d.device)]
            if not devices:
                continue
            target = Target(
                DRA,
                node_name,
                len(devices),
                acc.device_family_of_driver(selector.driver, class_name),
                device_class=class_name,
                driver=selector.driver,
                shared=_dra_class_sharing(dc),
            )
            if not selector.exact:
                target.uncertain = (
                    f"DeviceClass {class_name} selects devices by a CEL expression the plan does "
                    f"not evaluate, so not all {len(devices)} devices of {selector.driver} on "
                    f"{node_name} may fit it"
                )
            elif any(d.partitionable for d in devices):
                target.uncertain = (
                    f"the {len(devices)} devices of {selector.driver} on {node_name} draw on "
                    "shared counters (partitions of the same hardware), so fewer may be "
                    "allocatable at once"
                )
            if any(d.network_attached for d in devices):
                target.notes.append(
                    f"devices of {selector.driver} are published for several nodes (allNodes or "
                    "a node selector), not by the node itself"
                )
            ext = (dc.get("spec") or {}).get("extendedResourceName")
            if ext:
                target.notes.append(
                    f"DeviceClass {target.device_class} also serves extended resource {ext} "
                    "requests on nodes without a device plugin for it"
                )
            if common.is_example_driver(selector.driver):
                target.notes.append(f"{selector.driver} is an example driver: its devices are simulated")
            ranked.append((rank, target))
    # real nodes first (as for device plugins), then the class order (best class first), then nodes with most
    # free devices
    simulated = {common.name_of(n) for n in nodes if common.is_simulated_node(n)}
    ranked.sort(key=lambda rt: (rt[1].node in simulated, rt[0], -min(rt[1].usable_free, 3), rt[1].node))
    targets = [t for _, t in ranked]
    if classes and not targets:
        passed.append(
            "no Ready node has a free device of DeviceClass " + ", ".join(common.name_of(dc) for dc, _ in classes)
        )
    return targets, passed


def build_plan(view: ClusterView, options: ProbeOptions) -> Plan:
    """Choose targets and build every manifest. Raises PlanError when no probe can run.

    A listing that could not be read is never taken as empty: the plan stops (PlanError naming it) where
    the probe's verdict would depend on it, and goes on without it only where it was optional, saying so in
    `skipped` or the error.
    """
    if options.mechanism not in MECHANISMS:
        raise PlanError(f"unknown probe mechanism {options.mechanism!r}; use one of {', '.join(MECHANISMS)}")
    nodes_listing, pods_listing = view.list(NODES), view.list(PROBE_PODS)
    for listing in (nodes_listing, pods_listing):
        problem = _listing_problem(listing)
        if problem:
            raise PlanError(f"cannot plan the probe: {problem}")
    want_dp = options.mechanism in ("auto", DEVICE_PLUGIN)
    want_dra = options.mechanism in ("auto", DRA)
    dra_api = view.choose_version(DEVICECLASSES) if view.serves("resource.k8s.io") else None
    skipped: list[tuple[str, str]] = []
    dra_unreadable = ""  # why DRA devices are unknown, when they are
    if want_dra:
        problems = [
            p
            for p in (_listing_problem(view.list(res)) for res in (DEVICECLASSES, RESOURCESLICES, RESOURCECLAIMS))
            if p
        ]
        if problems and options.mechanism == DRA:
            raise PlanError(f"cannot plan the DRA probe: {'; '.join(problems)}")
        if problems:
            # auto: the device plugin is probed alone, and the evidence says DRA was not.
            want_dra = False
            dra_unreadable = "; ".join(problems)
            skipped.append((DRA, f"DRA devices cannot be probed: {dra_unreadable}"))
    all_nodes = nodes_listing.items
    if options.node:
        chosen = [n for n in all_nodes if common.name_of(n) == options.node]
        if not chosen:
            raise PlanError(f"node {options.node} (--probe-node) does not exist")
        if not common.node_ready(chosen[0]):
            raise PlanError(f"node {options.node} (--probe-node) is not Ready or is cordoned")
        candidates = chosen
    else:
        candidates = [n for n in all_nodes if common.node_ready(n)]

    why_not: list[str] = []
    usable: list[dict] = []
    tolerations: dict[str, list[dict]] = {}
    for node in candidates:
        tol, blocking = tolerations_for(node, explicit=bool(options.node))
        if blocking:
            why_not.append(
                f"{common.name_of(node)}: tainted {', '.join(blocking)} (name it with --probe-node "
                "to tolerate its taints)"
            )
            continue
        usable.append(node)
        tolerations[common.name_of(node)] = tol

    # DeviceClasses only add notes to device-plugin targets (an extended resource DRA may serve).
    class_listing = view.list(DEVICECLASSES)
    all_classes = _dra_classes(view) if dra_api and class_listing.visible else []
    classes = all_classes if want_dra else []
    targets: list[Target] = []
    if want_dp:
        dp, passed = device_plugin_targets(usable, pods_listing.items, all_classes)
        why_not += passed
        if dp:
            targets.append(dp[0])
        elif options.mechanism == DEVICE_PLUGIN:
            mapped = [str(ext) for dc, _ in all_classes if (ext := (dc.get("spec") or {}).get("extendedResourceName"))]
            hint = (
                f"; {', '.join(mapped)} requests are served by DRA here (DeviceClass extendedResourceName): "
                "use --probe-mechanism dra"
                if mapped
                else ""
            )
            if dra_api and not class_listing.visible:
                hint += "; whether DRA serves accelerator requests here cannot be told: " + class_listing.why_unknown()
            raise PlanError(
                "no Ready accelerator node with a free device-plugin accelerator" + _where(options, why_not) + hint
            )
    if want_dra:
        if not dra_api:
            if options.mechanism == DRA:
                raise PlanError("the cluster does not serve the resource.k8s.io API (DRA)")
        else:
            dra, passed = dra_targets(view, usable, classes)
            why_not += passed
            if dra:
                targets.append(dra[0])
            elif options.mechanism == DRA:
                reason = (
                    "no DeviceClass selects accelerator devices by driver"
                    if not classes
                    else "no Ready node has a free device of DeviceClass "
                    + ", ".join(common.name_of(dc) for dc, _ in classes)
                )
                raise PlanError(reason + _where(options, why_not))

    accel_node_names = {common.name_of(n) for n in usable if common.is_accelerator_node(n)}
    accel_node_names |= {t.node for t in targets}
    if not targets:
        unread = f"; DRA devices cannot be read: {dra_unreadable}" if dra_unreadable else ""
        if not accel_node_names and not any(common.is_accelerator_node(n) for n in all_nodes):
            if unread:
                raise PlanError("no node advertises an accelerator resource or carries accelerator labels" + unread)
            raise PlanError(
                "no accelerator nodes: no node advertises an accelerator resource or carries "
                "accelerator labels, and no DRA driver publishes accelerator devices"
            )
        if not accel_node_names:
            raise PlanError("no usable accelerator node" + _where(options, why_not) + unread)
        skipped.append(("positive", "no free accelerator on any Ready accelerator node" + _where(options, why_not)))

    runtime_listing = view.list(RUNTIMECLASSES)
    runtime_classes = runtime_listing.items if runtime_listing.visible else None
    namespace = options.namespace or new_namespace_name()
    pods: list[ProbePod] = []
    prerequisites: list[dict] = []
    node_by_name = {common.name_of(n): n for n in all_nodes}

    def runtime_for(vendors: set[str | None], node: str) -> str | None:
        """The RuntimeClass for pods on `node` that get (or must not get) devices of `vendors`: that of the
        first vendor whose devices only its own container runtime hands out, if the cluster has one."""
        vendor = next((v for v in acc.VENDORS if v.key in vendors and v.devices_need_runtime), None)
        if vendor is None:
            return None
        if runtime_classes is None:
            # Guessing either way misleads: without the vendor's runtime a pod given a device may see none (a
            # false FAIL) and its *_VISIBLE_DEVICES=all is not put to the test; naming a missing class gets the
            # pods rejected.
            raise PlanError(
                f"cannot plan the probe: whether pods on {node} need RuntimeClass {vendor.key} cannot "
                f"be told: {runtime_listing.why_unknown()}"
            )
        return runtime_class_of(vendor, runtime_classes)

    for target in targets:
        tol = tolerations.get(target.node, [])
        rc = runtime_for({target.vendor}, target.node)
        p = target.prefix
        if target.mechanism == DRA and not prerequisites:
            prerequisites.append(claim_template(namespace, target, dra_api))
        if target.usable_free >= 2 and not target.shared:
            for suffix, other in (("a", "b"), ("b", "a")):
                pods.append(
                    ProbePod(
                        f"{p}-pair-{suffix}",
                        "pair",
                        target.node,
                        1,
                        probe_pod(
                            namespace,
                            f"{p}-pair-{suffix}",
                            "pair",
                            target,
                            tol,
                            rc,
                            options,
                            [("probe", True)],
                            linger=PAIR_LINGER_SECONDS,
                        ),
                        {"probe": 1},
                        target,
                        partner=f"{p}-pair-{other}",
                    )
                )
            multi_wave = 1 if target.usable_free >= 3 else 2
        else:
            why = target.shared or target.uncertain or f"only {target.free} free device on {target.node}"
            skipped.append((f"{p}-pair", f"two concurrent pods on one node: skipped, {why}"))
            pods.append(
                ProbePod(
                    f"{p}-single",
                    "single",
                    target.node,
                    1,
                    probe_pod(namespace, f"{p}-single", "single", target, tol, rc, options, [("probe", True)]),
                    {"probe": 1},
                    target,
                )
            )
            multi_wave = 2 if target.usable_free < 2 else 1
        pods.append(
            ProbePod(
                f"{p}-multi",
                "multi",
                target.node,
                multi_wave,
                probe_pod(
                    namespace,
                    f"{p}-multi",
                    "multi",
                    target,
                    tol,
                    rc,
                    options,
                    [("with-device", True), ("without-device", False)],
                ),
                {"with-device": 1, "without-device": 0},
                target,
            )
        )

    # Negative probes: on every target node (the nodes where devices were just shown to be handed out), or
    # on one accelerator node when no device is free anywhere.
    negative_nodes = list(dict.fromkeys(t.node for t in targets)) or sorted(accel_node_names)[:1]
    for i, node_name in enumerate(negative_nodes):
        name = "negative" if i == 0 else f"negative-{i + 1}"
        vendors: set[str | None] = set(common.accelerator_vendors(node_by_name.get(node_name, {})))
        vendors |= {t.vendor for t in targets if t.node == node_name}
        env = visible_devices_env(vendors)
        pods.append(
            ProbePod(
                name,
                "negative",
                node_name,
                1,
                negative_pod(
                    namespace,
                    name,
                    node_name,
                    tolerations.get(node_name, []),
                    runtime_for(vendors, node_name),
                    options,
                    env,
                ),
                {"no-request": 0, **({VISIBLE_DEVICES_CONTAINER: 0} if env else {})},
            )
        )

    if view.serves("security.openshift.io"):
        # OpenShift's restricted SCC assigns each namespace its own UID range and rejects any other UID.
        for pod in pods:
            spec = pod.manifest["spec"]
            for ctx in [spec["securityContext"]] + [c["securityContext"] for c in spec["containers"]]:
                ctx.pop("runAsUser", None)
                ctx.pop("runAsGroup", None)
    simulated = {common.name_of(n) for n in all_nodes if common.is_simulated_node(n)}
    return Plan(namespace, options, targets, pods, prerequisites, skipped, dra_api, simulated & {p.node for p in pods})


def runtime_class_of(vendor: acc.Vendor, classes: list[dict]) -> str | None:
    """The RuntimeClass whose handler is the vendor's container runtime, the one named after the vendor first
    (the GPU Operator makes `nvidia` beside `nvidia-cdi` and `nvidia-legacy`). A sandbox handler that passes
    devices into a VM (kata-qemu-nvidia-gpu) is not the vendor's runtime."""
    names = sorted(
        common.name_of(rc)
        for rc in classes
        if acc.vendor_of_runtime_handler(str(rc.get("handler") or "")) == vendor.key
        and not search(sandboxes.SANDBOX_WORDS, str(rc.get("handler") or ""))
    )
    return vendor.key if vendor.key in names else next(iter(names), None)


def visible_devices_env(vendors: set[str | None]) -> list[str]:
    """The variables through which the container runtimes of a node's accelerator vendors hand out devices;
    every known one when the node has an accelerator no known vendor's (or none the plan could attribute)."""
    known = [v for v in acc.VENDORS if v.key in vendors]
    if not known or vendors - {v.key for v in known}:
        known = list(acc.VENDORS)
    return [name for v in known for name in v.visible_devices_env]


def _where(options: ProbeOptions, why_not: list[str]) -> str:
    where = f" on node {options.node}" if options.node else ""
    details = "; ".join(dict.fromkeys(why_not))
    return where + (f" ({details})" if details else "")


# manifests --------------------------------------------------------------------------------------------------
def claim_env_name(claim: str, request: str = CLAIM_NAME) -> str:
    """The variable by which Kubernetes' DRA test driver marks a container given `request` of `claim`."""
    return re.sub(r"[^a-zA-Z0-9]", "_", f"claim_{claim}_{request}")


def template_claim_env(pod: str) -> str:
    """A pattern of `claim_env_name` for the claim that the resourceclaim controller makes for probe pod `pod`
    from the claim template (named `<pod>-<claim>-<5 random characters>`)."""
    prefix = re.sub(r"[^a-zA-Z0-9]", "_", f"claim_{pod}-{CLAIM_NAME}-")
    return "^" + re.escape(prefix) + f"[a-z0-9]{{5}}_{CLAIM_NAME}$"


def claim_template(namespace: str, target: Target, api_version: str | None) -> dict:
    version = api_version or "v1"
    request: dict[str, object]
    if version == "v1beta1":  # v1beta1 requests are flat; v1beta2 and v1 wrap them in `exactly`
        request = {
            "name": CLAIM_NAME,
            "deviceClassName": target.device_class,
            "count": 1,
            "allocationMode": "ExactCount",
        }
    else:
        request = {
            "name": CLAIM_NAME,
            "exactly": {"deviceClassName": target.device_class, "count": 1, "allocationMode": "ExactCount"},
        }
    return {
        "apiVersion": f"resource.k8s.io/{version}",
        "kind": "ResourceClaimTemplate",
        "metadata": {"name": CLAIM_TEMPLATE, "namespace": namespace, "labels": _labels()},
        "spec": {"spec": {"devices": {"requests": [request]}}},
    }


def _security_context() -> dict:
    return {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "runAsNonRoot": True,
        "runAsUser": 65534,
        "runAsGroup": 65534,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def _container(name: str, image: str, linger: int = 0, env: list[dict] | None = None) -> dict:
    script = PROBE_SCRIPT + (f"sleep {linger}\n" if linger else "")
    container: dict[str, object] = {
        "name": name,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["sh", "-c", script],
        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "64Mi"}},
        "securityContext": _security_context(),
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }
    if env:
        container["env"] = env
    return container


def _pod(
    namespace: str,
    name: str,
    role: str,
    containers: list[dict],
    tolerations: list[dict],
    runtime_class: str | None,
    options: ProbeOptions,
) -> dict:
    spec: dict = {
        "restartPolicy": "Never",
        "activeDeadlineSeconds": int(options.timeout) + 30,
        "terminationGracePeriodSeconds": 1,
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 65534,
            "runAsGroup": 65534,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": containers,
    }
    if tolerations:
        spec["tolerations"] = tolerations
    if runtime_class:
        spec["runtimeClassName"] = runtime_class
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": _labels(), "annotations": {ROLE_ANNOTATION: role}},
        "spec": spec,
    }


def probe_pod(
    namespace: str,
    name: str,
    role: str,
    target: Target,
    tolerations: list[dict],
    runtime_class: str | None,
    options: ProbeOptions,
    containers: list[tuple[str, bool]],
    linger: int = 0,
) -> dict:
    """A pod whose containers flagged True get one accelerator through the target's mechanism.

    The scheduler places it (pinning with nodeName would bypass DRA allocation), kept on the target node by
    node affinity on the node's name.
    """
    built = []
    for cname, gets_device in containers:
        c = _container(cname, options.image, linger)
        if gets_device and target.mechanism == DEVICE_PLUGIN:
            c["resources"]["requests"][target.resource] = "1"
            c["resources"]["limits"][target.resource] = "1"
        elif gets_device:
            c["resources"]["claims"] = [{"name": CLAIM_NAME}]
        built.append(c)
    pod = _pod(namespace, name, role, built, tolerations, runtime_class, options)
    pod["spec"]["affinity"] = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [target.node]}]}
                ]
            }
        }
    }
    if target.mechanism == DRA:
        pod["spec"]["resourceClaims"] = [{"name": CLAIM_NAME, "resourceClaimTemplateName": CLAIM_TEMPLATE}]
    return pod


def negative_pod(
    namespace: str,
    name: str,
    node: str,
    tolerations: list[dict],
    runtime_class: str | None,
    options: ProbeOptions,
    env_names: list[str],
) -> dict:
    """No request at all, pinned to an accelerator node. A second container, when the node's runtimes honour
    `env_names`, asks them for every device through the environment, which only an allocation may grant."""
    containers = [_container("no-request", options.image)]
    if env_names:
        containers.append(
            _container(
                VISIBLE_DEVICES_CONTAINER, options.image, env=[{"name": name, "value": "all"} for name in env_names]
            )
        )
    pod = _pod(namespace, name, "negative", containers, tolerations, runtime_class, options)
    pod["spec"]["nodeName"] = node  # fine without claims: nothing to allocate
    return pod


# showing a plan (--dry-run) ---------------------------------------------------------------------------------
def describe_plan(plan: Plan) -> str:
    """A human summary of what the probe would create."""
    lines = [f"namespace {plan.namespace} (Pod Security restricted, labelled {PROBE_SELECTOR})"]
    for obj in plan.prerequisites:
        request = obj["spec"]["spec"]["devices"]["requests"][0]
        device_class = (request.get("exactly") or request).get("deviceClassName")
        lines.append(f"ResourceClaimTemplate {obj['metadata']['name']}: one device of DeviceClass {device_class}")
    for pod in plan.pods:
        how = pod.target.describe() if pod.target else "no accelerator request, pinned with nodeName"
        expect = ", ".join(f"{c} must see {n}" for c, n in pod.expect.items())
        wave = f" [after wave {pod.wave - 1}]" if pod.wave > 1 else ""
        lines.append(f"pod {pod.name} ({pod.role}) on {pod.node}: {how}; {expect}{wave}")
    for probe, why in plan.skipped:
        lines.append(f"skipped {probe}: {why}")
    for target in plan.targets:
        lines += [f"note on {target.node}: {n}" for n in target.notes]
    lines.append(
        f"image {plan.options.image}; timeout {plan.options.timeout:g}s; nothing was created "
        "(use -o yaml for the manifests)"
    )
    return "\n".join(lines)


def render_plan(plan: Plan, output: str) -> str:
    """The plan as `-o yaml` (multi-document manifests), `-o json` (a v1 List) or a summary."""
    if output == "yaml":
        import yaml

        return yaml.safe_dump_all(plan.manifests(), sort_keys=False).rstrip()
    if output == "json":
        return json.dumps({"apiVersion": "v1", "kind": "List", "items": plan.manifests()}, indent=2)
    return describe_plan(plan)
