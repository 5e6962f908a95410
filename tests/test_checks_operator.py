"""robust_controller on hand-written fixtures under testdata/checks/robust_controller/<case>/."""

from __future__ import annotations

from conftest import run_check

from kubectl_aiconf.result import Status


def rc(case: str):
    return run_check(f"robust_controller/{case}", "robust_controller")


def evidence_of(result, kind: str, name: str) -> str:
    for e in result.evidence:
        if e.kind == kind and e.name == name:
            return e.fact
    raise AssertionError(f"no evidence {kind} {name} in {[str(e) for e in result.evidence]}")


def test_kuberay_without_webhooks_and_reconciled_raycluster_passes():
    r = rc("healthy")
    assert r.status is Status.PASS
    assert r.message.startswith("AI operator KubeRay works")
    assert "controller ray-system/kuberay-operator 1/1 available" in r.message
    assert "no admission webhook" in r.message
    assert "RayCluster ml/raycluster-kuberay reconciled (state ready)" in r.message
    assert evidence_of(r, "CustomResourceDefinition", "*.ray.io") == "Established: rayclusters, rayjobs, rayservices"
    assert "jobDeploymentStatus Complete" in evidence_of(r, "RayJob", "ml/rayjob-sample")


def test_kubeflow_trainer_with_webhook_and_complete_trainjob_passes():
    r = rc("kubeflow-trainer")
    assert r.status is Status.PASS
    assert "Kubeflow Trainer" in r.message and "1/1 webhook(s) healthy" in r.message
    assert "TrainJob team-a/pytorch-mnist reconciled (Complete=True)" in r.message
    assert "selects 1 ready pod(s)" in evidence_of(r, "ValidatingWebhookConfiguration",
                                                   "validator.trainer.kubeflow.org")


def test_kserve_with_validating_and_mutating_webhooks_passes():
    r = rc("kserve")
    assert r.status is Status.PASS
    assert "KServe" in r.message and "2/2 webhook(s) healthy" in r.message
    assert evidence_of(r, "InferenceService", "models/sklearn-iris") == "Ready=True"
    assert "defaulter" in evidence_of(r, "MutatingWebhookConfiguration", "inferenceservice.serving.kserve.io")


def test_dynamo_shares_nvidia_com_with_the_gpu_operator():
    r = rc("dynamo")
    assert r.status is Status.PASS
    assert "NVIDIA Dynamo works: 2 CRD(s) Established" in r.message
    assert "clusterpolicies" not in evidence_of(r, "CustomResourceDefinition", "*.nvidia.com")
    assert evidence_of(r, "DynamoGraphDeployment", "dynamo/vllm-disagg") == "state successful"


def test_operator_without_custom_resources_passes_and_says_so():
    r = rc("no-cr-yet")
    assert r.status is Status.PASS
    assert "no custom resource yet, reconciliation not exercised" in r.message


def test_managed_controller_with_reconciled_custom_resource_passes():
    r = rc("managed")
    assert r.status is Status.PASS
    assert "no controller workload in the cluster" in r.message
    assert "RayCluster research/tuning reconciled" in r.message


def test_scheduler_operator_counts_when_no_ai_operator():
    r = rc("scheduler-only")
    assert r.status is Status.PASS
    assert r.message.startswith("no AI-specific operator found, but Kueue is a working CRD-based operator")


def test_broken_kueue_webhook_on_ray_group_is_not_blamed_on_kuberay():
    r = rc("kuberay-with-broken-kueue")
    assert r.status is Status.PASS
    assert "KubeRay works" in r.message and "no admission webhook" in r.message
    assert "not working: Kueue" in r.message
    assert "no ready pod" in evidence_of(r, "MutatingWebhookConfiguration", "kueue-mutating-webhook-configuration")


def test_controller_down_fails():
    r = rc("unhealthy")
    assert r.status is Status.FAIL
    assert "installed but not working: Kubeflow Trainer: 3 CRD(s) Established" in r.message
    assert "0/1 available" in r.message and "0/1 webhook(s) healthy" in r.message


def test_webhook_without_ca_bundle_fails():
    r = rc("webhook-broken")
    assert r.status is Status.FAIL
    assert "empty caBundle" in evidence_of(r, "ValidatingWebhookConfiguration", "validator.trainer.kubeflow.org")


def test_crds_only_warns():
    r = rc("crds-only")
    assert r.status is Status.WARN
    assert "KubeRay: 3 CRD(s) Established, no controller workload in the cluster" in r.message


def test_unrecognised_ai_operator_warns_and_is_shown():
    r = rc("unrecognised")
    assert r.status is Status.WARN
    assert "serving.acme.ai (webhook healthy)" in r.message
    assert "unrecognised operator" in evidence_of(r, "APIGroup", "serving.acme.ai")


def test_forbidden_workloads_is_unknown_and_names_the_permission():
    r = rc("forbidden")
    assert r.status is Status.UNKNOWN
    assert "list deployments.apps in all namespaces" in r.message


def test_forbidden_webhooks_without_reconciled_resource_is_unknown():
    r = rc("webhooks-forbidden")
    assert r.status is Status.UNKNOWN
    assert "list validatingwebhookconfigurations.admissionregistration.k8s.io (cluster scope)" in r.message


def test_absent_fails():
    r = rc("absent")
    assert r.status is Status.FAIL
    assert "no AI operator with CRDs" in r.message
