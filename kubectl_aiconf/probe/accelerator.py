"""secure_accelerator_access as a probe of the suite: plan.py plans it, run.Execution runs it, verdict.py
judges it."""

from __future__ import annotations

import time

from kubectl_aiconf.probe.plan import PLAN_READS, ProbeOptions, build_plan, describe_plan
from kubectl_aiconf.probe.suite import Context, Part
from kubectl_aiconf.result import CheckResult
from kubectl_aiconf.view import ClusterView

READS = PLAN_READS


def plan(view: ClusterView, options: ProbeOptions) -> Part:
    planned = build_plan(view, options)

    def execute(ctx: Context) -> CheckResult:
        from kubectl_aiconf.probe.run import Execution
        from kubectl_aiconf.probe.verdict import summarize

        ctx.progress(
            f"plan: {len(planned.pods)} pods"
            + "".join(f"; {t.describe()} on {t.node} ({t.free} free)" for t in planned.targets)
            + "".join(f"; skipped {probe}: {why}" for probe, why in planned.skipped)
        )
        started = time.monotonic()
        outcomes = Execution(ctx.conn, planned, ctx.progress, ctx.stop).run(ctx.deadline)
        return summarize(planned, outcomes, time.monotonic() - started)

    # The namespace and the image/timeout lines are the suite's.
    summary = describe_plan(planned).splitlines()[1:-1]
    own = [p for p in planned.permissions() if p[4]]  # those in the probe namespace
    objects = list(planned.prerequisites) + [p.manifest for p in planned.pods]
    return Part(objects, own, execute, summary, holds_devices=bool(planned.targets))
