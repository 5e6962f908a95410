"""Active accelerator-isolation probe (`kubectl aiconf check --probe`).

plan.py decides what to run from the loaded cluster view (pure), run.py creates it, waits, collects the pods'
output and judges it (verdict.py), cleanup.py removes it whatever happens.
"""

from kubectl_aiconf.probe.plan import (  # noqa: F401
    DEFAULT_IMAGE, DEFAULT_TIMEOUT, MECHANISMS, PLAN_READS, PlanError, ProbeOptions, build_plan, render_plan,
)

REQUIREMENT_ID = "secure_accelerator_access"
