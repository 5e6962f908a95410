"""Active accelerator-isolation probe (`kubectl aiconf check --probe`).

plan.py decides what to run from the loaded cluster view (pure), run.py creates it, waits, collects the pods'
output and judges it (verdict.py), cleanup.py removes it whatever happens. This module only holds the
defaults the command line shows, so that `--help` imports nothing else.
"""

REQUIREMENT_ID = "secure_accelerator_access"
MECHANISMS = ("auto", "device-plugin", "dra")
# Small, public, multi-arch, with a POSIX shell; mirror it (or any image with `sh`) for air-gapped registries.
DEFAULT_IMAGE = "docker.io/library/busybox:1.36"
DEFAULT_TIMEOUT = 90.0
