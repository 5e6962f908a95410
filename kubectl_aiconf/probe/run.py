"""Running a probe plan against the cluster: preflight, create, wait, collect, judge, clean up.

All API calls go through `Connection.request`. Progress goes to stderr, one line per step, so that a user
(or a CI log) sees what is created, what is waited for and what is collected.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import TextIO

from kubectl_aiconf.probe import cleanup
from kubectl_aiconf.probe.plan import DRA, Plan, PlanError, ProbeOptions, ProbePod, build_plan
from kubectl_aiconf.probe.verdict import PodOutcome, parse_output, parse_time, summarize
from kubectl_aiconf.result import CheckResult, Reason, Status
from kubectl_aiconf.view import ClusterView, LoadError
from kubectl_aiconf.view.live import ApiError, ConnectError, Connection

POLL_SECONDS = 1.0
POLL_FAILURES_TOLERATED = 3  # consecutive connection errors while waiting before the run gives up
# A pod the scheduler keeps calling unschedulable for this long is given up (DRA pods are briefly
# unschedulable until the controller has created their claim).
UNSCHEDULABLE_GRACE = 15.0
SERVICE_ACCOUNT_WAIT = 20.0
ACTIVE_MARGIN = 120.0  # seconds after the probe timeout during which a run may still be cleaning up
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


class Progress:
    """`probe [  2.1s] message` lines on stderr."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.started = time.monotonic()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def __call__(self, message: str) -> None:
        self.stream.write(f"probe [{self.elapsed:5.1f}s] {message}\n")
        self.stream.flush()


# preflight --------------------------------------------------------------------------------------------------
def describe_permission(verb: str, group: str, resource: str, subresource: str, namespace: str) -> str:
    what = resource + (f"/{subresource}" if subresource else "") + (f".{group}" if group else "")
    where = "in the probe namespace" if namespace else "(cluster scope)"
    return f"{verb} {what} {where}"


def missing_permissions(conn: Connection, plan: Plan) -> list[str]:
    """Every permission of `plan.permissions()` that SelfSubjectAccessReview denies (or cannot confirm)."""

    def review(perm):
        verb, group, resource, subresource, namespace = perm
        attrs = {"verb": verb, "group": group, "resource": resource}
        if subresource:
            attrs["subresource"] = subresource
        if namespace:
            attrs["namespace"] = namespace
        body = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": attrs},
        }
        try:
            answer = conn.request("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", body=body)
        except ApiError as exc:
            return f"{describe_permission(*perm)} (cannot check: {exc})"
        return None if (answer.get("status") or {}).get("allowed") else describe_permission(*perm)

    perms = plan.permissions()
    with ThreadPoolExecutor(max_workers=len(perms)) as pool:
        return [m for m in pool.map(review, perms) if m]


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
    def __init__(self, conn: Connection, plan: Plan, progress: Callable[[str], None], keep: bool = False) -> None:
        self.conn = conn
        self.keep = keep
        self.plan = plan
        self.progress = progress
        self.ns = plan.namespace
        self.created_namespace = False
        self.outcomes: dict[str, PodOutcome] = {}
        self.unschedulable_since: dict[str, float] = {}
        self.created: set[str] = set()
        self.allocations: dict[str, list[str]] = {}  # pod -> driver/pool/device of its claim
        self.claims: dict[str, list[str]] = {}  # pod -> names of its claims
        self.poll_failures = 0  # consecutive connection errors while waiting

    # creating ---------------------------------------------------------------------------------------------
    def create_namespace(self) -> None:
        # Mark first: an interrupt while the request is in flight must still lead to a DELETE.
        self.created_namespace = True
        manifest = self.plan.namespace_manifest()
        if not self.keep:
            # `kubectl aiconf cleanup` leaves the namespace of a run that may still be going on alone.
            until = datetime.now(timezone.utc) + timedelta(seconds=self.plan.options.timeout + ACTIVE_MARGIN)
            manifest["metadata"]["annotations"] = {cleanup.ACTIVE_UNTIL: until.strftime("%Y-%m-%dT%H:%M:%SZ")}
        try:
            self.conn.request("POST", "/api/v1/namespaces", body=manifest)
        except ApiError as exc:
            if exc.status == 409:  # not ours: never delete it
                self.created_namespace = False
            raise
        self.progress(f"created namespace {self.ns} (Pod Security: restricted)")

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
                    time.sleep(0.5)
                    continue
                raise
        self.created.add(pod.name)
        how = f"{pod.target.describe()}, on node {pod.node}" if pod.target else f"no request, pinned to node {pod.node}"
        self.progress(f"created pod {pod.name} ({pod.role}: {how})")

    # waiting ----------------------------------------------------------------------------------------------
    def run(self, deadline: float) -> list[PodOutcome]:
        self.create_namespace()
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
            if any(p.mechanism == DRA and p.name not in self.allocations for p in pending.values()):
                self._record_allocations()
            listing = self._list_pods()
            if listing is None:  # the API server did not answer this time; the deadline still holds
                time.sleep(POLL_SECONDS)
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
            time.sleep(POLL_SECONDS)

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
def _join(*notes: str) -> str:
    return "; ".join(n for n in notes if n)


def unknown(message: str) -> CheckResult:
    return CheckResult(Status.UNKNOWN, message, reason=Reason.PROBE_INCONCLUSIVE)


def run_probe(
    view: ClusterView, conn: Connection, options: ProbeOptions, keep: bool = False, stream: TextIO | None = None
) -> CheckResult:
    """Plan, preflight, run and clean up; the result for secure_accelerator_access.

    Interrupts (Ctrl-C, SIGTERM, SIGHUP) clean up and then propagate as KeyboardInterrupt.
    """
    progress = Progress(stream)
    try:
        plan = build_plan(view, options)
    except PlanError as exc:
        progress(f"cannot run: {exc}")
        return unknown(f"probe cannot run: {exc}")
    progress(
        f"plan: {len(plan.pods)} pods in namespace {plan.namespace}"
        + "".join(f"; {t.describe()} on {t.node} ({t.free} free)" for t in plan.targets)
        + "".join(f"; skipped {probe}: {why}" for probe, why in plan.skipped)
    )
    try:
        missing = missing_permissions(conn, plan)
    except ConnectError as exc:
        return unknown(f"probe cannot run: {exc}")
    if missing:
        progress("missing permissions, nothing created: " + "; ".join(missing))
        return unknown("probe cannot run, missing permissions (nothing was created): " + "; ".join(missing))

    execution = Execution(conn, plan, progress, keep)
    outcomes: list[PodOutcome] | None = None
    note = ""
    with cleanup.interrupts_as_keyboard_interrupt():
        try:
            outcomes = execution.run(time.monotonic() + options.timeout)
        except KeyboardInterrupt:
            progress("interrupted; cleaning up")
            raise
        except (ApiError, ConnectError) as exc:
            progress(f"failed: {exc}")
            note = f"probe aborted: {exc}"
        finally:
            if execution.created_namespace:
                if keep:
                    progress(
                        f"keeping namespace {plan.namespace} (--keep); remove it with "
                        f"`kubectl delete namespace {plan.namespace}` or `kubectl aiconf cleanup`"
                    )
                else:
                    try:
                        if not cleanup.delete_namespace(conn, plan.namespace, progress):
                            note = _join(note, f"namespace {plan.namespace} was still terminating at the end")
                    except (ApiError, LoadError) as exc:
                        progress(f"could not delete namespace {plan.namespace}: {exc}; run `kubectl aiconf cleanup`")
                        note = _join(note, f"namespace {plan.namespace} could not be deleted: {exc}")
    seconds = progress.elapsed
    if outcomes is None:
        result = unknown(note or "probe did not run")
    else:
        result = summarize(plan, outcomes, seconds, note)
    progress(f"done in {seconds:.1f}s: {result.status}")
    return result
