"""accelerator_metrics probe: scrape each accelerator node's exporter through the API server's pod proxy
(read-only, creates nothing) and check that it publishes utilisation and memory per device, each device
distinct by its labels, as many devices as the node has accelerators.

Pure: `scrape_targets` (which exporter pods on which accelerator nodes, on which port) and `judge` (the
verdict from the scraped text). Thin: `run`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kubectl_aiconf.checks import common as c
from kubectl_aiconf.knowledge import accelerators as acc
from kubectl_aiconf.probe import kit
from kubectl_aiconf.result import CheckResult, Evidence

MAX_NODES = 5  # exporters scraped per run (one per node); enough to show the pattern, quick on big clusters
# Labels that say where a series was scraped, not which device it is about.
NOT_DEVICE_LABELS = {"instance", "job", "Hostname", "hostname", "node", "namespace", "pod", "container", "exported_pod"}
PORT_NAMES = ("metrics", "http-metrics", "gpu-metrics", "prometheus")


@dataclass
class ScrapeTarget:
    vendor: str
    exporter: acc.Exporter
    namespace: str
    pod: str
    node: str
    port: int
    expected: int | None  # accelerators the node has (None: cannot tell)
    expected_from: str = ""

    @property
    def path(self) -> str:
        return f"/api/v1/namespaces/{self.namespace}/pods/{self.pod}:{self.port}/proxy/metrics"

    @property
    def where(self) -> str:
        return f"{self.namespace}/{self.pod} on {self.node}"


@dataclass
class Scrape:
    target: ScrapeTarget
    text: str | None = None
    error: str = ""  # why it could not be read


def expected_devices(vendor: str, node: dict) -> tuple[int | None, str]:
    """How many of the vendor's accelerators the node has: its device count label, else its whole devices in
    allocatable."""
    labelled = acc.device_count(vendor, c.labels_of(node))
    if labelled:
        return labelled, "device count label"
    whole = {
        r: n
        for r, n in c.accelerator_resources(node).items()
        if acc.vendor_of_resource(r) == vendor and acc.is_whole_accelerator_resource(r)
    }
    if whole:
        return sum(whole.values()), ", ".join(f"{r}={n}" for r, n in sorted(whole.items()))
    return None, ""


def _port(pod: dict, exporter: acc.Exporter) -> int | None:
    ports = [p for ct in (pod.get("spec") or {}).get("containers") or [] for p in ct.get("ports") or []]
    numbers = [int(p["containerPort"]) for p in ports if p.get("containerPort")]
    if exporter.port in numbers:
        return exporter.port
    named = [int(p["containerPort"]) for p in ports if p.get("name") in PORT_NAMES and p.get("containerPort")]
    if named:
        return named[0]
    if numbers:
        return numbers[0]
    return exporter.port


def find_exporters(daemonsets: list[dict]) -> list[tuple[str, acc.Exporter, dict]]:
    """(vendor, exporter record, DaemonSet) for every DaemonSet that is a known exporter."""
    found = []
    for ds in daemonsets:
        meta = ds.get("metadata") or {}
        for vendor, exporter in acc.exporters():
            if exporter.component.matches(meta.get("name") or "", c.workload_images(ds), meta.get("namespace") or ""):
                found.append((vendor, exporter, ds))
                break
    return found


def scrape_targets(
    exporters: list[tuple[str, acc.Exporter, dict]], pods: list[dict], nodes: list[dict]
) -> tuple[list[ScrapeTarget], list[str]]:
    """One running exporter pod per accelerator node of its vendor (at most MAX_NODES), and notes on the
    accelerator nodes without one."""
    by_name = {c.name_of(n): n for n in nodes}
    targets, notes, covered = [], [], set()
    for vendor, exporter, ds in exporters:
        ns = (ds.get("metadata") or {}).get("namespace") or ""
        selector = (ds.get("spec") or {}).get("selector") or {}
        for pod in pods:
            meta = pod.get("metadata") or {}
            if meta.get("namespace") != ns or not kit.selector_matches(selector or None, meta.get("labels") or {}):
                continue
            node_name = (pod.get("spec") or {}).get("nodeName") or ""
            node = by_name.get(node_name)
            if node is None or (pod.get("status") or {}).get("phase") != "Running" or (vendor, node_name) in covered:
                continue
            if vendor not in c.accelerator_vendors(node) or c.is_simulated_node(node):
                continue
            port = _port(pod, exporter)
            if port is None:
                notes.append(f"{ns}/{meta.get('name')}: no metrics port known")
                continue
            expected, source = expected_devices(vendor, node)
            covered.add((vendor, node_name))
            targets.append(
                ScrapeTarget(vendor, exporter, ns, meta.get("name") or "", node_name, port, expected, source)
            )
    simulated = []
    for node in nodes:
        if c.is_simulated_node(node) and c.accelerator_vendors(node):
            simulated.append(c.name_of(node))
            continue
        for vendor in c.accelerator_vendors(node):
            if (vendor, c.name_of(node)) not in covered:
                notes.append(f"node {c.name_of(node)}: no running {vendor} exporter pod to scrape")
    if simulated:
        notes.append(f"not scraped: {', '.join(simulated)} simulated (kwok), their devices do not exist")
    return targets[:MAX_NODES], notes


def _device_key(sample: kit.Sample, exporter: acc.Exporter) -> tuple[tuple[str, str], ...]:
    keys = exporter.device_labels or tuple(k for k, _ in sample.labels if k not in NOT_DEVICE_LABELS)
    return tuple((k, v) for k, v in sample.labels if k in keys)


def _show(key: tuple[tuple[str, str], ...]) -> str:
    return ",".join(f"{k}={v}" for k, v in key) or "no device label"


@dataclass
class NodeVerdict:
    outcome: str  # PASS, FAIL, UNKNOWN
    fact: str
    problems: list[str] = field(default_factory=list)


def judge_scrape(scrape: Scrape) -> NodeVerdict:
    t = scrape.target
    if scrape.text is None:
        return NodeVerdict("UNKNOWN", f"could not scrape {t.where} port {t.port}: {scrape.error}")
    samples, bad = kit.parse_prometheus(scrape.text)
    if not samples:
        why = f"{len(bad)} lines that are not Prometheus samples" if bad else "an empty page"
        return NodeVerdict("FAIL", f"{t.where} port {t.port} served {why}", [f"{t.where} serves no metrics"])
    problems, facts = [], []
    devices: dict[str, set] = {}
    for what, names in (("utilisation", t.exporter.utilisation), ("memory", t.exporter.memory)):
        series = [s for s in samples if s.name in names and kit.finite(s.value)]
        if not series:
            problems.append(f"no {what} metric ({' or '.join(names)})")
            continue
        name = next(n for n in names if any(s.name == n for s in series))  # the first the exporter publishes
        keys = [_device_key(s, t.exporter) for s in series if s.name == name]
        distinct = set(keys)
        devices[what] = distinct
        if len(distinct) < len(keys) or not all(keys):
            problems.append(
                f"{name}: {len(keys)} series but only {len([k for k in distinct if k])} distinct devices by "
                f"{', '.join(t.exporter.device_labels) or 'their labels'}"
            )
        facts.append(f"{name} for {len(distinct)} devices ({'; '.join(_show(k) for k in sorted(distinct)[:4])})")
        if t.expected is not None and len(distinct) != t.expected:
            problems.append(f"{name} covers {len(distinct)} devices, the node has {t.expected} ({t.expected_from})")
    if len(devices) == 2 and devices["utilisation"] != devices["memory"]:
        only = devices["utilisation"] ^ devices["memory"]
        problems.append(f"utilisation and memory cover different devices ({'; '.join(_show(k) for k in only)})")
    fact = f"{t.where} port {t.port}: " + ("; ".join(facts) or "no per-device series")
    if problems:
        return NodeVerdict("FAIL", f"{fact}: {'; '.join(problems)}", problems)
    if t.expected is None:
        return NodeVerdict("UNKNOWN", f"{fact}; how many accelerators {t.node} has cannot be told")
    return NodeVerdict("PASS", f"{fact}; matches the node's {t.expected} ({t.expected_from})")


def judge(scrapes: list[Scrape], notes: list[str]) -> CheckResult:
    verdicts = [judge_scrape(s) for s in scrapes]
    evidence = [
        Evidence("Probe scrape", s.target.path, f"{v.outcome}: {v.fact}") for s, v in zip(scrapes, verdicts)
    ] + [Evidence("Probe plan", "accelerator_metrics", n) for n in notes]
    if not scrapes:
        return kit.unknown(
            "no running accelerator exporter pod to scrape" + (f" ({'; '.join(notes)})" if notes else ""), evidence
        )
    failed = [(s, v) for s, v in zip(scrapes, verdicts) if v.outcome == "FAIL"]
    if failed:
        return kit.failed(
            "; ".join(f"{s.target.exporter.name} {s.target.where}: {'; '.join(v.problems)}" for s, v in failed),
            evidence,
        )
    unknown = [v for v in verdicts if v.outcome == "UNKNOWN"]
    if unknown:
        return kit.unknown("; ".join(v.fact for v in unknown), evidence)
    names = ", ".join(dict.fromkeys(s.target.exporter.name for s in scrapes))
    return kit.passed(
        f"{names} publishes utilisation and memory per device, each device distinct, as many as the node has, "
        f"on {len(scrapes)} node{'s' if len(scrapes) != 1 else ''} (scraped through the API server)"
        + (f"; {'; '.join(notes)}" if notes else ""),
        evidence,
    )


# run --------------------------------------------------------------------------------------------------------
def _reads():
    from kubectl_aiconf.resources import DAEMONSETS, NODES

    return (NODES, DAEMONSETS)


READS = _reads()


def plan(view, options):
    from kubectl_aiconf.probe.plan import PlanError
    from kubectl_aiconf.resources import DAEMONSETS, NODES

    nodes, daemonsets = view.list(NODES), view.list(DAEMONSETS)
    for listing in (nodes, daemonsets):
        if not listing.visible:
            raise PlanError(f"{listing.resource.kind} objects cannot be read: {listing.why_unknown()}")
    exporters = find_exporters(daemonsets.items)
    if not exporters:
        raise PlanError("no known accelerator metrics exporter DaemonSet found")
    namespaces = sorted({(ds.get("metadata") or {}).get("namespace") or "" for _, _, ds in exporters})

    def execute(ctx) -> CheckResult:
        pods: list[dict] = []
        for namespace in namespaces:
            pods += ctx.conn.request("GET", f"/api/v1/namespaces/{namespace}/pods").get("items") or []
        targets, notes = scrape_targets(exporters, pods, nodes.items)
        return judge([scrape(ctx, t) for t in targets], notes)

    summary = [
        f"scrapes {e.name} ({ds['metadata']['namespace']}/{ds['metadata']['name']}) through the pod proxy"
        for _, e, ds in exporters
    ]
    perms = [("list", "", "pods", "", ns) for ns in namespaces] + [
        ("get", "", "pods", "proxy", ns) for ns in namespaces
    ]
    return kit.part([], execute, summary, perms)


def scrape(ctx, target: ScrapeTarget) -> Scrape:
    from kubectl_aiconf.view.live import ApiError, ConnectError

    ctx.progress(f"scraping {target.path}")
    try:
        return Scrape(target, text=ctx.conn.request("GET", target.path, accept="text/plain, */*", text=True))
    except (ApiError, ConnectError) as exc:
        return Scrape(target, error=str(exc))
