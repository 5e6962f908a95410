"""robust_controller on hand-written fixtures under testdata/checks/robust_controller/<case>/.

Every fixture has its status and reason in a table; the tests after it show what was seen (evidence names and
facts) where that is the point of the fixture.
"""

from __future__ import annotations

import pytest
from conftest import fact, run_check

from kubectl_aiconf.result import Reason, Status


def rc(case: str):
    return run_check(f"robust_controller/{case}", "robust_controller")


@pytest.mark.parametrize("case, status, reason", [
    ("healthy", Status.PASS, Reason.HEALTHY),
    ("kubeflow-trainer", Status.PASS, Reason.HEALTHY),
    ("kserve", Status.PASS, Reason.HEALTHY),
    ("dynamo", Status.PASS, Reason.HEALTHY),
    ("no-cr-yet", Status.PASS, Reason.HEALTHY),
    ("cr-not-succeeded", Status.PASS, Reason.HEALTHY),
    ("trainjob-running", Status.PASS, Reason.HEALTHY),
    ("managed", Status.PASS, Reason.HEALTHY),
    # A reconciled custom resource proves the controller works wherever it runs.
    ("managed-deployments-forbidden", Status.PASS, Reason.HEALTHY),
    # Discovery serves exactly the Established CRDs: the operator is found without the CRD list.
    ("crds-forbidden", Status.PASS, Reason.HEALTHY),
    ("url-webhook", Status.PASS, Reason.HEALTHY),
    ("scheduler-only", Status.PASS, Reason.HEALTHY),
    ("kuberay-with-broken-kueue", Status.PASS, Reason.HEALTHY),
    ("kuberay-and-kserve-webhook-missing", Status.PASS, Reason.HEALTHY),
    # A controller that leaves every custom resource without status is not reconciling (issue 10, point 8).
    ("cr-without-status", Status.WARN, Reason.UNHEALTHY),
    ("crds-only", Status.WARN, Reason.CRDS_ONLY),
    ("unhealthy", Status.FAIL, Reason.UNHEALTHY),
    ("webhook-broken", Status.FAIL, Reason.UNHEALTHY),
    ("webhook-service-missing", Status.FAIL, Reason.UNHEALTHY),
    ("crd-not-established", Status.FAIL, Reason.UNHEALTHY),
    ("controller-only", Status.FAIL, Reason.UNHEALTHY),
    ("absent", Status.FAIL, Reason.NOT_INSTALLED),
    ("unrecognised", Status.UNKNOWN, Reason.UNRECOGNISED),
    ("forbidden", Status.UNKNOWN, Reason.FORBIDDEN),
    ("webhooks-forbidden", Status.UNKNOWN, Reason.FORBIDDEN),
    ("crs-forbidden", Status.UNKNOWN, Reason.FORBIDDEN),
    # Issue 10: the managed fixture with RayClusters forbidden was WARN.
    ("managed-crs-forbidden", Status.UNKNOWN, Reason.FORBIDDEN),
    # Issue 10: a webhook whose Service could not be read was counted healthy ("1/1").
    ("services-failing", Status.UNKNOWN, Reason.READ_FAILED),
    ("crds-forbidden-none-served", Status.UNKNOWN, Reason.FORBIDDEN),
])
def test_verdicts(case, status, reason):
    r = rc(case)
    assert (r.status, r.reason) == (status, reason), r.message


def test_healthy_kuberay_shows_crds_controller_and_reconciled_resources():
    r = rc("healthy")
    assert fact(r, "CustomResourceDefinition", "*.ray.io") == "Established: rayclusters, rayjobs, rayservices"
    assert fact(r, "Deployment", "ray-system/kuberay-operator") == "KubeRay controller: 1/1 available"
    assert fact(r, "RayCluster", "ml/raycluster-kuberay") == "state ready"
    assert "jobDeploymentStatus Complete" in fact(r, "RayJob", "ml/rayjob-sample")


def test_webhooks_are_judged_by_the_pods_behind_their_service():
    assert "selects 1 ready pod(s)" in fact(rc("kubeflow-trainer"), "ValidatingWebhookConfiguration",
                                            "validator.trainer.kubeflow.org")
    assert "defaulter" in fact(rc("kserve"), "MutatingWebhookConfiguration", "inferenceservice.serving.kserve.io")
    assert "not found" in fact(rc("webhook-service-missing"), "ValidatingWebhookConfiguration",
                               "inferenceservice.serving.kserve.io")
    assert "empty caBundle" in fact(rc("webhook-broken"), "ValidatingWebhookConfiguration",
                                    "validator.trainer.kubeflow.org")


def test_dynamo_shares_nvidia_com_with_the_gpu_operator():
    r = rc("dynamo")
    assert "clusterpolicies" not in fact(r, "CustomResourceDefinition", "*.nvidia.com")
    assert fact(r, "DynamoGraphDeployment", "dynamo/vllm-disagg") == "state successful"
    assert "DynamoGraphDeployment dynamo/vllm-disagg reconciled" in r.message


def test_a_scheduler_counts_only_when_no_ai_operator_works():
    assert rc("scheduler-only").message.startswith("no AI-specific operator found, but Kueue")


def test_a_webhook_without_backends_is_blamed_on_the_operator_it_names():
    r = rc("kuberay-and-kserve-webhook-missing")
    assert r.message.startswith("AI operator KubeRay works") and "not working: KServe" in r.message


def test_broken_kueue_webhook_on_ray_group_is_not_blamed_on_kuberay():
    r = rc("kuberay-with-broken-kueue")
    assert r.message.startswith("AI operator KubeRay works") and "not working: Kueue" in r.message
    assert "no ready pod" in fact(r, "MutatingWebhookConfiguration", "kueue-mutating-webhook-configuration")


def test_unrecognised_ai_group_is_shown_not_counted():
    got = fact(rc("unrecognised"), "APIGroup", "serving.acme.ai")
    assert "unrecognised operator" in got and "acme-model-webhook selects 1 ready pod(s)" in got


def test_custom_resources_show_how_far_the_controller_got():
    assert fact(rc("cr-without-status"), "RayCluster", "ml/raycluster-a") == "no status"
    assert fact(rc("cr-not-succeeded"), "RayCluster", "ml/raycluster-pending") == "state suspended"
    assert fact(rc("cr-not-succeeded"), "RayJob", "ml/rayjob-initializing") == \
        "jobDeploymentStatus Initializing, jobStatus PENDING"
    assert fact(rc("trainjob-running"), "TrainJob", "team-a/llama-finetune") == "Created=True, Suspended=False"


def test_crds_found_through_discovery_leave_out_subresources():
    assert fact(rc("crds-forbidden"), "CustomResourceDefinition", "*.ray.io") == \
        "Established: rayclusters, rayjobs, rayservices"


def test_a_crd_that_is_not_established_is_shown():
    assert fact(rc("crd-not-established"), "CustomResourceDefinition", "rayclusters.ray.io") == "not Established"


def test_unreadable_deployments_are_not_reported_as_no_controller():
    r = rc("managed-deployments-forbidden")
    assert "no controller workload in the cluster" not in r.message
    assert "list deployments.apps in all namespaces" in r.message


def test_a_webhook_whose_service_could_not_be_read_is_not_counted_healthy():
    r = rc("services-failing")
    assert "1/1" not in r.message and "could not list services" in r.message
    assert "not checked" in fact(r, "ValidatingWebhookConfiguration", "validator.trainer.kubeflow.org")


def test_a_url_webhook_is_reported_unchecked():
    r = rc("url-webhook")
    assert "0/1 webhook(s) healthy, 1 not checked" in r.message
    assert "(not checked)" in fact(r, "ValidatingWebhookConfiguration", "inferenceservice.serving.kserve.io")


@pytest.mark.parametrize("case, permission", [
    ("forbidden", "list deployments.apps in all namespaces"),
    ("webhooks-forbidden", "list validatingwebhookconfigurations.admissionregistration.k8s.io (cluster scope)"),
    ("crs-forbidden", "list rayclusters.ray.io in all namespaces"),
    ("managed-crs-forbidden", "list rayclusters.ray.io in all namespaces"),
    ("crds-forbidden-none-served", "list customresourcedefinitions.apiextensions.k8s.io (cluster scope)"),
])
def test_unknown_names_the_missing_permission(case, permission):
    assert permission in rc(case).message
