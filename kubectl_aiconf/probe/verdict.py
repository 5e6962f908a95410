"""From what the probe pods printed to a verdict: pure functions, no API calls."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from kubectl_aiconf.knowledge import accelerators as acc
from kubectl_aiconf.knowledge._base import rx
from kubectl_aiconf.probe.plan import LISTING_KEY, Plan, ProbePod, claim_env_name, template_claim_env
from kubectl_aiconf.result import CheckResult, Evidence, Reason, Status

PASS, FAIL, UNKNOWN = "pass", "fail", "unknown"
SKIPPED = "skipped"  # a comparison that cannot be made by design; it neither proves nor blocks anything
EXCERPT_CHARS = 240


@dataclass
class Output:
    """The AICONF lines of one container."""

    lines: list[str] = field(default_factory=list)
    devices: list[str] = field(default_factory=list)
    env_devices: list[str] = field(default_factory=list)
    cdi_claims: list[str] = field(default_factory=list)  # claim_<claim>_<request> variables the CDI edits set
    uuids: list[str] = field(default_factory=list)  # ids of the devices the vendors' device listings name
    complete: bool = False

    def excerpt(self) -> str:
        text = " | ".join(line for line in self.lines if line != "AICONF done") or "(no AICONF lines)"
        return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 3] + "..."

    def units(self, family: str) -> list[str]:
        """The accelerators this output shows, for a device family (device nodes, or example-driver ids)."""
        patterns = acc.unit_device_patterns()
        unit = patterns.get(family) or patterns["generic"]
        found = [d for d in self.devices if rx(unit).match(d)]
        if family == "generic":
            found += [f"env:{d}" for d in self.env_devices]
        return found


def parse_output(text: str) -> Output:
    out = Output()
    for raw in (text or "").splitlines():
        line = raw.strip()
        if not line.startswith("AICONF "):
            continue
        out.lines.append(line)
        key, _, value = line[len("AICONF ") :].partition("=")
        if key == "device" and value:
            out.devices.append(value)
        elif key == "env-device" and value:
            out.env_devices.append(value)
        elif key == "cdi-claim" and value:
            out.cdi_claims.append(value)
        elif key.startswith(LISTING_KEY) and value:
            device_id = _listed_id(key[len(LISTING_KEY) :], value)
            if device_id:
                out.uuids.append(device_id)
        elif key == "done":
            out.complete = True
    return out


def _listed_id(vendor_key: str, line: str) -> str | None:
    """The device id in a line of a vendor's device listing, by the pattern of its listing command."""
    vendor = acc.BY_KEY.get(vendor_key)
    for command in vendor.probe_commands if vendor else ():
        match = rx(command.uuid).search(line) if command.uuid else None
        if match:
            return match.group(1)
    return None


def _env_set(pod: ProbePod, container: str) -> str:
    """`NAME=value, ...` of the variables a probe container sets."""
    spec: dict = next((c for c in pod.manifest["spec"]["containers"] if c["name"] == container), {})
    return ", ".join(f"{e['name']}={e['value']}" for e in spec.get("env") or [])


@dataclass
class PodOutcome:
    """What happened to one probe pod."""

    pod: ProbePod
    state: str  # "done" (ran to completion), or why not: "unschedulable", "image", "failed", "timeout", "error"
    detail: str = ""
    node: str | None = None  # where it ran
    outputs: dict[str, Output] = field(default_factory=dict)
    windows: dict[str, tuple[datetime | None, datetime | None]] = field(default_factory=dict)  # start, finish
    allocated: list[str] = field(default_factory=list)  # DRA devices of its claim: driver/pool/device
    claims: list[str] = field(default_factory=list)  # names of its ResourceClaims, when they could be read

    @property
    def ran(self) -> bool:
        return self.state == "done"


@dataclass
class Verdict:
    probe: str  # pod name, or "dp-pair" for the pair comparison
    outcome: str  # PASS, FAIL, UNKNOWN
    fact: str
    role: str
    reason: str = ""  # why a pod could not run (several pods often share it)


def parse_time(value: object) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def _where(o: PodOutcome) -> str:
    pod = o.pod
    how = f" via {pod.target.describe()}" if pod.target else ""
    return f"on {o.node or pod.node}{how}"


def _show(items: list[str]) -> str:
    return ", ".join(items) if items else "nothing"


def own_claim_injections(o: PodOutcome, out: Output) -> list[str]:
    """The claim injections (claim_<claim>_<request>) in `out` that are of the pod's own claim: its claim's
    name when it was read, else the name the resourceclaim controller gives the claim of this pod."""
    if o.claims:
        own = {claim_env_name(c) for c in o.claims}
        return [c for c in out.cdi_claims if c in own]
    pattern = template_claim_env(o.pod.name)
    return [c for c in out.cdi_claims if re.match(pattern, c)]


def claim_level(pod: ProbePod) -> bool:
    """Whether the pod's driver shows a container only which claims reached it, not which device."""
    return bool(pod.target and pod.target.driver and acc.injects_claim_env(pod.target.driver))


def judge_pod(o: PodOutcome) -> Verdict:
    pod = o.pod
    if not o.ran:
        return Verdict(pod.name, UNKNOWN, f"could not run {_where(o)}: {o.detail}", pod.role, o.detail)
    family = pod.target.family if pod.target else "generic"
    problems, seen = [], []
    compared = ""  # what a claim-level judgement compared, for the evidence
    for container, expected in pod.expect.items():
        out = o.outputs.get(container)
        if out is None or not out.complete:
            return Verdict(
                pod.name,
                UNKNOWN,
                f"container {container} {_where(o)} printed no complete probe "
                f"output (log: {out.excerpt() if out else 'none'})",
                pod.role,
            )
        # A claim's CDI injection reaches only the containers that list the claim: any other claim's (a
        # neighbour's), or its own in a container that did not ask, leaked.
        own = own_claim_injections(o, out) if expected else []
        foreign = [c for c in out.cdi_claims if c not in own]
        if foreign:
            problems.append(
                f"container {container} sees the CDI injection of claims it was not given: {_show(foreign)}"
            )
        if expected == 0:
            visible = out.devices + [f"env:{d}" for d in out.env_devices] + [f"device {u}" for u in out.uuids]
            seen.append(f"{container}: {_show(visible + [f'cdi:{c}' for c in out.cdi_claims])}")
            if visible:
                env = _env_set(pod, container)
                why = f" with {env}" if env else ""
                problems.append(f"container {container}{why} requested no accelerator but sees {_show(visible)}")
        elif claim_level(pod) and not out.units(family) and not out.uuids:
            # The driver names no device inside the container: what can be compared is which claims' CDI
            # injections reached it, against the claim it was given (the claim's status names the device).
            seen.append(f"{container}: {_show([f'cdi:{c}' for c in own])}")
            compared = (
                f"compared claim-level CDI injection: {pod.target.driver if pod.target else 'the driver'} "
                "names no device inside the container"
            )
            if len(own) != expected:
                problems.append(
                    f"container {container} was given {expected} claim but sees the CDI injection of "
                    f"{len(own)} of its own"
                )
        else:
            units = out.units(family)
            seen.append(f"{container}: {_show(units)}" + (f" ({', '.join(out.uuids)})" if out.uuids else ""))
            if len(units) != expected:
                problems.append(
                    f"container {container} was given {expected} accelerator but sees "
                    f"{len(units)}" + (f" ({_show(units)})" if units else "")
                )
            elif out.uuids and len(out.uuids) != expected:
                problems.append(
                    f"container {container} was given {expected} accelerator but its device listing "
                    f"names {len(out.uuids)} ({', '.join(out.uuids)})"
                )
    excerpt = "; ".join(f"{c}: {o.outputs[c].excerpt()}" for c in pod.expect if c in o.outputs)
    alloc = f"; claim allocated {', '.join(o.allocated)}" if o.allocated else ""
    if compared:
        alloc += f"; {compared}"
    if problems:
        return Verdict(pod.name, FAIL, f"{'; '.join(problems)} {_where(o)}{alloc} (log: {excerpt})", pod.role)
    return Verdict(pod.name, PASS, f"{'; '.join(seen)} {_where(o)}{alloc} (log: {excerpt})", pod.role)


def _overlap(a: PodOutcome, b: PodOutcome) -> bool | None:
    (sa, fa), (sb, fb) = a.windows.get("probe", (None, None)), b.windows.get("probe", (None, None))
    if sa is None or fa is None or sb is None or fb is None:
        return None
    return sa <= fb and sb <= fa


def judge_pair(a: PodOutcome, b: PodOutcome) -> Verdict:
    """Both pods must have run (a pod that did not has its own verdict saying why)."""
    name = a.pod.name.rsplit("-", 1)[0]
    family = a.pod.target.family if a.pod.target else "generic"  # pair pods always have one
    oa, ob = a.outputs.get("probe"), b.outputs.get("probe")
    if not (oa and ob and oa.complete and ob.complete):
        return Verdict(name, UNKNOWN, "the two pods did not both print their devices", "isolation")
    if oa.uuids and ob.uuids:
        ids_a, ids_b, what = set(oa.uuids), set(ob.uuids), "device ids"
    elif family in acc.SHARED_NODE_FAMILIES:
        shares, lister = acc.SHARED_NODE_FAMILIES[family]
        return Verdict(
            name,
            SKIPPED,
            f"{shares} and the runtime put no {lister} in the image to tell them apart; "
            f"use a --probe-image with {lister} to compare them",
            "isolation",
        )
    elif claim_level(a.pod) and not oa.units(family) and not ob.units(family):
        # Nothing inside the containers names a device: compare what the claims' status says was allocated
        # (each pod seeing only its own claim's injection is judged per pod).
        if not a.allocated or not b.allocated:
            return Verdict(
                name,
                UNKNOWN,
                "the driver names no device inside the containers and the claims' allocations could not be read",
                "isolation",
            )
        ids_a, ids_b, what = set(a.allocated), set(b.allocated), "devices (by their claims' allocation)"
    else:
        ids_a, ids_b, what = set(oa.units(family)), set(ob.units(family)), "devices"
    if not ids_a or not ids_b:
        return Verdict(name, UNKNOWN, "one of the two pods saw no accelerator to compare", "isolation")
    together = _overlap(a, b)
    shared = sorted(ids_a & ids_b)
    where = f"on {a.node or a.pod.node}"
    if shared:
        if together is False:
            return Verdict(
                name,
                UNKNOWN,
                f"both pods saw {_show(shared)} {where}, but they did not run at the "
                "same time, so the device may have been handed over",
                "isolation",
            )
        return Verdict(
            name,
            FAIL,
            f"two pods that each got one accelerator {where} at the same time both see "
            f"{_show(shared)} ({a.pod.name}: {_show(sorted(ids_a))}; {b.pod.name}: "
            f"{_show(sorted(ids_b))})",
            "isolation",
        )
    when = " while running at the same time" if together else ""
    return Verdict(
        name,
        PASS,
        f"two pods {where} got different {what}{when}: {a.pod.name} {_show(sorted(ids_a))}, "
        f"{b.pod.name} {_show(sorted(ids_b))}",
        "isolation",
    )


def judge(outcomes: list[PodOutcome]) -> list[Verdict]:
    verdicts = [judge_pod(o) for o in outcomes]
    by_name = {o.pod.name: o for o in outcomes}
    for o in outcomes:
        partner = by_name.get(o.pod.partner or "")
        if o.pod.role == "pair" and partner and o.pod.name < partner.pod.name and o.ran and partner.ran:
            verdicts.append(judge_pair(o, partner))
    return verdicts


def summarize(plan: Plan, outcomes: list[PodOutcome], seconds: float, namespace_note: str = "") -> CheckResult:
    """The secure_accelerator_access result from the probe verdicts."""
    verdicts = judge(outcomes)
    evidence = [Evidence("Probe", f"{plan.namespace}/{v.probe}", f"{v.outcome.upper()}: {v.fact}") for v in verdicts]
    evidence += [Evidence("Probe", f"{plan.namespace}/{probe}", f"SKIPPED: {why}") for probe, why in plan.skipped]
    for target in plan.targets:
        for note in target.notes:
            evidence.append(Evidence("Probe target", target.node, note))
    mechanisms = "; ".join(f"{t.describe()} on {t.node}" for t in plan.targets) or "no accelerator allocated"
    notes = []
    if plan.simulated_nodes:
        notes.append(f"node {', '.join(sorted(plan.simulated_nodes))} is simulated (kwok): its devices do not exist")
    if namespace_note:
        notes.append(namespace_note)
    tail = f" [{seconds:.1f}s" + "".join(f"; {n}" for n in notes) + "]"

    failed = [v for v in verdicts if v.outcome == FAIL]
    if failed:
        return CheckResult(
            Status.FAIL,
            "probe shows accelerators are not isolated: "
            + "; ".join(f"{v.probe}: {v.fact.split(' (log:')[0]}" for v in failed)
            + tail,
            evidence,
            Reason.PROBE_FAILED,
        )
    unknown = [v for v in verdicts if v.outcome == UNKNOWN]
    positive = [v for v in verdicts if v.outcome == PASS and v.role in ("single", "pair", "multi")]
    negative = [v for v in verdicts if v.outcome == PASS and v.role == "negative"]
    if unknown:
        grouped: dict[str, list[str]] = {}
        for v in unknown:
            grouped.setdefault(v.reason or v.fact, []).append(v.probe)
        parts = [f"{', '.join(probes)}: {why}" for why, probes in grouped.items()]
        return CheckResult(
            Status.UNKNOWN, "probe incomplete: " + "; ".join(parts) + tail, evidence, Reason.PROBE_INCONCLUSIVE
        )
    if not positive:
        why = "; ".join(w for _, w in plan.skipped) or "no pod was given an accelerator"
        return CheckResult(
            Status.UNKNOWN,
            "probe could not show that an allocated accelerator is visible, so "
            f"its negative result proves nothing: {why}" + tail,
            evidence,
            Reason.PROBE_INCONCLUSIVE,
        )
    if not negative:
        return CheckResult(
            Status.UNKNOWN,
            "probe ran no pod without an accelerator request" + tail,
            evidence,
            Reason.PROBE_INCONCLUSIVE,
        )
    asked = sorted({_env_set(o.pod, c) for o in outcomes if o.pod.role == "negative" for c in o.pod.expect} - {""})
    shown = [
        "a pod without a request saw no accelerator" + (f", even with {'; '.join(asked)}" if asked else ""),
        "each pod given one accelerator saw exactly one",
    ]
    by_claim = sorted({t.driver for t in plan.targets if t.driver and acc.injects_claim_env(t.driver)})
    if by_claim:
        shown[-1] += (
            f" (for {', '.join(by_claim)}: the CDI injection of its own claim and no other's, the driver naming "
            "no device inside the container)"
        )
    if any(v.role == "isolation" and v.outcome == PASS for v in verdicts):
        shown.append("two concurrent pods on one node got different devices")
    if any(v.role == "multi" for v in positive):
        shown.append("only the container given the device saw it")
    return CheckResult(
        Status.PASS, f"probe passed ({mechanisms}): " + "; ".join(shown) + tail, evidence, Reason.PROBE_PASSED
    )
