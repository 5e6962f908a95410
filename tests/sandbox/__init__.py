"""Throw-away Kubernetes control plane (etcd, kube-apiserver, controller-manager, scheduler, kwok) for
integration tests and `make demo`. See sandbox.py for the API and ``python -m tests.sandbox --help``."""

from .sandbox import Sandbox, SandboxError
from .scenarios import load_objects, scenario_names

__all__ = ["Sandbox", "SandboxError", "load_objects", "scenario_names"]
