"""Active probes (`kubectl aiconf check --probe`): one per requirement that running something can decide.

registry.py lists them; suite.py plans every selected probe, checks every permission, creates one namespace,
runs them under one time limit and deletes the namespace whatever happens; each probe is a module here
(accelerator.py with plan.py/run.py/verdict.py for accelerator isolation, dra.py, driver.py, sandboxing.py,
...). evidence.py writes junit.xml and e2e.log, cleanup.py removes namespaces left behind. This module only
holds the defaults the command line shows, so that `--help` imports nothing else.
"""

MECHANISMS = ("auto", "device-plugin", "dra")
# Small, public, multi-arch, with a POSIX shell; mirror it (or any image with `sh`) for air-gapped registries.
DEFAULT_IMAGE = "docker.io/library/busybox:1.36"
DEFAULT_TIMEOUT = 90.0
# The waits inside the probe timeout (each ends the wait early where waiting longer cannot help), and the one
# after it. Kept here so that `check --help` can name them without importing the probes.
UNSCHEDULABLE_GRACE = 15.0  # a pod the scheduler keeps calling unschedulable is given up after this
# Kueue makes a Workload for a queued Job within a second: none by then, its controller is not at work
WORKLOAD_WAIT = 20.0
RECONCILE_WAIT = 30.0  # an operator writes a new resource's status within seconds
ROUTE_WAIT = 30.0  # a Gateway controller reports on a new route within seconds
NAMESPACE_GONE_TIMEOUT = 90.0  # deleting the probe namespace, after the probes
