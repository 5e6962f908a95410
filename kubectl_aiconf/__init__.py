"""kubectl-aiconf: inspect a Kubernetes cluster against the CNCF Kubernetes AI Conformance checklist."""

__version__ = "0.1.0"
