"""Running a probe plan against the cluster: preflight, create, wait, collect, judge, clean up.

All API calls go through `Connection.request`. Progress goes to stderr, one line per step, so that a user
(or a CI log) sees what is created, what is waited for and what is collected.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import TextIO

from kubectl_aiconf.probe import UNSCHEDULABLE_GRACE, suite
from kubectl_aiconf.probe.plan import DRA, Plan, ProbeOptions, ProbePod
from kubectl_aiconf.probe.suite import ACTIVE_MARGIN as ACTIVE_MARGIN
from kubectl_aiconf.probe.suite import SERVICE_ACCOUNT_WAIT
from kubectl_aiconf.probe.suite import Progress as Progress
from kubectl_aiconf.probe.suite import describe_permission as describe_permission
from kubectl_aiconf.probe.verdict import PodOutcome, parse_output, parse_time
from kubectl_aiconf.result import CheckResult
from kubectl_aiconf.view import ClusterView
from kubectl_aiconf.view.live import ApiError, ConnectError, Connection

POLL_SECONDS = 1.0
POLL_FAILURES_TOLERATED = 3  # consecutive connection errors while waiting before the run gives up
IMAGE_ERRORS = {
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "ErrImageNeverPull",
    "RegistryUnavailable",
    "SignatureValidationFailed",
}
START_ERRORS = {
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
    "PreCreateHookError",
    "PreStartHookError",
    "CrashLoopBackOff",
}


# preflight --------------------------------------------------------------------------------------------------
def missing_permissions(conn: Connection, plan) -> list[str]:
    """Every permission of `plan.permissions()` that SelfSubjectAccessReview denies (or cannot confirm)."""
    return list(suite.missing_permissions(conn, plan.permissions()).values())


# pod status -------------------------------------------------------------------------------------------------
def pod_state(pod: dict) -> tuple[str, str]:
    """(state, detail): succeeded, failed, unschedulable, image, error, running or pending."""
    status = pod.get("status") or {}
    phase = status.get("phase")
    statuses = (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or [])
    if phase == "Succeeded":
        return "succeeded", ""
    if phase == "Failed":
        why = ": ".join(x for x in (status.get("reason"), status.get("message")) if x)
        for cs in statuses:
            term = (cs.get("state") or {}).get("terminated") or {}
            if term and term.get("exitCode") not in (0, None):
                why = why or f"container {cs.get('name')} exited with {term.get('exitCode')} ({term.get('reason')})"
        return "failed", f"the pod failed: {why}" if why else "the pod failed"
    for cs in statuses:
        waiting = (cs.get("state") or {}).get("waiting") or {}
        reason = waiting.get("reason") or ""
        detail = f"{reason}: {waiting.get('message') or ''}".rstrip(": ")
        if reason in IMAGE_ERRORS:
            return "image", f"image pull failed for {cs.get('image') or 'the probe image'} ({detail})"
        if reason in START_ERRORS:
            return "error", f"container {cs.get('name')} cannot start ({detail})"
    for cond in status.get("conditions") or []:
        if (
            cond.get("type") == "PodScheduled"
            and cond.get("status") == "False"
            and cond.get("reason") in ("Unschedulable", "SchedulerError")
        ):
            return "unschedulable", _scheduler_message(cond.get("message") or cond.get("reason"))
    return ("running", "") if phase == "Running" else ("pending", "")


def _scheduler_message(message: str) -> str:
    """The scheduler's reason without its preemption post-scriptum."""
    head = re.split(r"\s*(?:still not schedulable,?\s*)?preemption:", message or "", maxsplit=1)[0]
    return head.strip().rstrip(".,") + "." if head.strip() else message


# execution --------------------------------------------------------------------------------------------------
class Execution:
    def __init__(
        self,
        conn: Connection,
        plan: Plan,
        progress: Callable[[str], None],
        stop: threading.Event | None = None,
    ) -> None:
        self.conn = conn
        self.stop = stop or threading.Event()  # set when the run is interrupted: waiting ends at once
        self.plan = plan
        self.progress = progress
        self.ns = plan.namespace
        self.outcomes: dict[str, PodOutcome] = {}
        self.unschedulable_since: dict[str, float] = {}
        self.created: set[str] = set()
        self.allocations: dict[str, list[str]] = {}  # pod -> driver/pool/device of its claim
        self.claims: dict[str, list[str]] = {}  # pod -> names of its claims
        self.poll_failures = 0  # consecutive connection errors while waiting

    # creating ---------------------------------------------------------------------------------------------
    def create_prerequisites(self) -> None:
        for obj in self.plan.prerequisites:
            group, version = obj["apiVersion"].split("/")
            self.conn.request("POST", f"/apis/{group}/{version}/namespaces/{self.ns}/resourceclaimtemplates", body=obj)
            request = obj["spec"]["spec"]["devices"]["requests"][0]
            device_class = (request.get("exactly") or request).get("deviceClassName")
            self.progress(
                f"created ResourceClaimTemplate {obj['metadata']['name']} (one device of DeviceClass {device_class})"
            )

    def create_pod(self, pod: ProbePod) -> None:
        deadline = time.monotonic() + SERVICE_ACCOUNT_WAIT
        while True:
            try:
                self.conn.request("POST", f"/api/v1/namespaces/{self.ns}/pods", body=pod.manifest)
                break
            except ApiError as exc:
                # A brand-new namespace has no default ServiceAccount for a moment.
                if "serviceaccount" in str(exc).lower() and time.monotonic() < deadline:
                    self.stop.wait(0.5)
                    continue
                raise
        self.created.add(pod.name)
        how = f"{pod.target.describe()}, on node {pod.node}" if pod.target else f"no request, pinned to node {pod.node}"
        self.progress(f"created pod {pod.name} ({pod.role}: {how})")

    # waiting ----------------------------------------------------------------------------------------------
    def run(self, deadline: float) -> list[PodOutcome]:
        """Create the plan's objects in its namespace (made by the suite) and wait for its pods."""
        self.create_prerequisites()
        waves = self.plan.waves
        for number, wave in enumerate(waves, 1):
            todo = [p for p in wave if p.name not in self.outcomes]
            for pod in todo:
                blocked = self._blocked(pod)
                if blocked:
                    self.outcomes[pod.name] = PodOutcome(pod, blocked[0], blocked[1])
                elif time.monotonic() >= deadline:
                    self.outcomes[pod.name] = PodOutcome(pod, "timeout", "not started before the probe timeout")
                else:
                    self.create_pod(pod)
            waiting = [p for p in todo if p.name not in self.outcomes]
            if waiting:
                extra = f" (wave {number} of {len(waves)})" if len(waves) > 1 else ""
                self.progress(
                    f"waiting for {len(waiting)} pods to finish{extra}, at most "
                    f"{max(0.0, deadline - time.monotonic()):.0f}s more"
                )
                self._wait(waiting, deadline)
        return [self.outcomes[p.name] for p in self.plan.pods]

    def _blocked(self, pod: ProbePod) -> tuple[str, str] | None:
        """Why a later-wave pod need not start: the same image could not be pulled, or its target failed."""
        for other in self.outcomes.values():
            if other.state == "image":
                return "image", other.detail
            if (
                other.state == "unschedulable"
                and other.pod.target
                and pod.target
                and other.pod.target.mechanism == pod.target.mechanism
            ):
                return "unschedulable", f"not started: {other.pod.name} was unschedulable"
        return None

    def _wait(self, pods: list[ProbePod], deadline: float) -> None:
        pending = {p.name: p for p in pods}
        last_state: dict[str, str] = {}
        while pending:
            if self.stop.is_set():
                raise suite.Stopped()
            if any(p.mechanism == DRA and p.name not in self.allocations for p in pending.values()):
                self._record_allocations()
            listing = self._list_pods()
            if listing is None:  # the API server did not answer this time; the deadline still holds
                self.stop.wait(POLL_SECONDS)
                continue
            live = {(p.get("metadata") or {}).get("name"): p for p in listing.get("items") or []}
            now = time.monotonic()
            for name, pod in list(pending.items()):
                obj = live.get(name)
                if obj is None:
                    self._finish(pod, PodOutcome(pod, "error", "the pod disappeared"))
                    del pending[name]
                    continue
                state, detail = pod_state(obj)
                if state != last_state.get(name) and state in ("running", "pending"):
                    node = (obj.get("spec") or {}).get("nodeName")
                    if state == "running":
                        self.progress(f"pod {name} is running on {node}")
                last_state[name] = state
                if state in ("succeeded", "failed"):
                    self._finish(pod, self._collect(pod, obj, state, detail))
                    del pending[name]
                elif state in ("image", "error"):
                    self._finish(pod, PodOutcome(pod, state, detail, node=(obj.get("spec") or {}).get("nodeName")))
                    del pending[name]
                elif state == "unschedulable":
                    since = self.unschedulable_since.setdefault(name, now)
                    if now - since >= UNSCHEDULABLE_GRACE or now >= deadline:
                        self._finish(pod, PodOutcome(pod, "unschedulable", f"unschedulable: {detail}"))
                        del pending[name]
                else:
                    self.unschedulable_since.pop(name, None)
            if not pending:
                return
            if time.monotonic() >= deadline:
                for name, pod in pending.items():
                    obj = live.get(name) or {}
                    phase = (obj.get("status") or {}).get("phase") or "unknown"
                    node = (obj.get("spec") or {}).get("nodeName")
                    where = f" on {node}" if node else ", not scheduled"
                    waiting = sorted(
                        {
                            ((cs.get("state") or {}).get("waiting") or {}).get("reason") or ""
                            for cs in (obj.get("status") or {}).get("containerStatuses") or []
                        }
                        - {""}
                    )
                    if waiting:
                        where += f": {', '.join(waiting)}"
                    self._finish(
                        pod,
                        PodOutcome(
                            pod,
                            "timeout",
                            f"timed out after {self.plan.options.timeout:.0f}s (still {phase}{where})",
                            node=node,
                        ),
                    )
                return
            self.stop.wait(POLL_SECONDS)

    def _list_pods(self) -> dict | None:
        """The probe namespace's pods; None after a connection error, unless they keep coming."""
        try:
            listing = self.conn.request("GET", f"/api/v1/namespaces/{self.ns}/pods")
        except ConnectError as exc:
            self.poll_failures += 1
            if self.poll_failures > POLL_FAILURES_TOLERATED:
                raise
            self.progress(f"listing pods failed ({exc}); trying again")
            return None
        self.poll_failures = 0
        return listing

    def _finish(self, pod: ProbePod, outcome: PodOutcome) -> None:
        self.outcomes[pod.name] = outcome
        if outcome.ran:
            devices = sorted({d for o in outcome.outputs.values() for d in o.devices + o.env_devices})
            devices += sorted({f"the CDI injection {c}" for o in outcome.outputs.values() for c in o.cdi_claims})
            self.progress(f"pod {pod.name} finished on {outcome.node}; it saw {', '.join(devices) or 'no device'}")
        else:
            self.progress(f"pod {pod.name}: {outcome.detail}")

    # collecting -------------------------------------------------------------------------------------------
    def _collect(self, pod: ProbePod, obj: dict, state: str, detail: str) -> PodOutcome:
        node = (obj.get("spec") or {}).get("nodeName")
        outcome = PodOutcome(pod, "done", node=node)
        statuses = {cs.get("name"): cs for cs in (obj.get("status") or {}).get("containerStatuses") or []}
        self.progress(f"pod {pod.name} {state}; collecting the logs of {', '.join(pod.expect)}")
        for container in pod.expect:
            term = ((statuses.get(container) or {}).get("state") or {}).get("terminated") or {}
            outcome.windows[container] = (parse_time(term.get("startedAt")), parse_time(term.get("finishedAt")))
            try:
                text = self.conn.request(
                    "GET",
                    f"/api/v1/namespaces/{self.ns}/pods/{pod.name}/log",
                    query=[("container", container)],
                    accept="application/json, */*",
                    text=True,
                )
            except ApiError as exc:
                if state == "failed":  # e.g. rejected by the kubelet before any container started
                    return PodOutcome(
                        pod,
                        "failed",
                        f"{detail} (log of container {container}: {exc})",
                        node=node,
                        outputs=outcome.outputs,
                    )
                return PodOutcome(pod, "error", f"cannot read the log of container {container}: {exc}", node=node)
            outcome.outputs[container] = parse_output(text)
        if state == "failed" and not all(o.complete for o in outcome.outputs.values()):
            return PodOutcome(pod, "failed", detail, node=node, outputs=outcome.outputs)
        outcome.allocated = self.allocations.get(pod.name, [])
        outcome.claims = self.claims.get(pod.name, [])
        return outcome

    def _record_allocations(self) -> None:
        """Remember which devices the scheduler allocated to each pod's claims. Read while the pods run: the
        claims of finished pods are deleted by the controller. Best effort (evidence only; reading claims may
        be forbidden)."""
        version = self.plan.resource_api or "v1"
        try:
            claims = self.conn.request("GET", f"/apis/resource.k8s.io/{version}/namespaces/{self.ns}/resourceclaims")
        except (ApiError, ConnectError):
            return
        for claim in claims.get("items") or []:
            owners = [
                o.get("name")
                for o in (claim.get("metadata") or {}).get("ownerReferences") or []
                if o.get("kind") == "Pod"
            ]
            allocation = (claim.get("status") or {}).get("allocation") or {}
            results = (allocation.get("devices") or {}).get("results") or []
            devices = [f"{r.get('driver')}/{r.get('pool')}/{r.get('device')}" for r in results]
            for owner in owners:
                if devices and owner not in self.allocations:
                    self.allocations[owner] = devices
                    self.claims[owner] = [claim["metadata"]["name"]]
                    self.progress(
                        f"claim {claim['metadata']['name']} of pod {owner}: scheduler allocated " + ", ".join(devices)
                    )


# entry points -----------------------------------------------------------------------------------------------
def run_probe(
    view: ClusterView, conn: Connection, options: ProbeOptions, keep: bool = False, stream: TextIO | None = None
) -> CheckResult:
    """The accelerator-isolation probe alone (the suite with one probe); its secure_accelerator_access result."""
    from kubectl_aiconf.probe.registry import BY_ID

    return suite.run_suite(view, conn, [BY_ID["secure_accelerator_access"]], options, keep, stream)[0].result
