"""robust_controller on hand-written fixtures under testdata/checks/robust_controller/<case>/.

Every fixture has its status and reason in a table; the tests after it show what was seen (evidence names and
facts) where that is the point of the fixture.
"""

from __future__ import annotations

import pytest

from conftest import fact, run_check
from kubectl_aiconf.checks.operator import GOOD, NONE, SEEN, _reconciled
from kubectl_aiconf.knowledge import operators
from kubectl_aiconf.result import Reason, Status


def rc(case: str):
    return run_check(f"robust_controller/{case}", "robust_controller")


@pytest.mark.parametrize(
    "case, status, reason",
    [
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
        # A webhook reached by URL cannot be seen answering; one that does not refuses every new custom resource
        # (the real-stack sandbox shows it with KubeRay): not confirmed, whatever the existing resources show.
        ("url-webhook", Status.UNKNOWN, Reason.NEEDS_PROBE),
        ("kuberay-url-webhook-kueue-stopped", Status.UNKNOWN, Reason.NEEDS_PROBE),
        ("kuberay-url-webhook-kueue-works", Status.PASS, Reason.HEALTHY),
        ("scheduler-only", Status.PASS, Reason.HEALTHY),
        # A scheduler seen working holds beside an unread listing, as an AI operator does.
        ("scheduler-only-statefulsets-forbidden", Status.PASS, Reason.HEALTHY),
        ("kuberay-with-broken-kueue", Status.PASS, Reason.HEALTHY),
        ("kuberay-and-kserve-webhook-missing", Status.PASS, Reason.HEALTHY),
        # Every operator of the registry is recognised and judged the same way (issue 10, point 4).
        ("training-operator", Status.PASS, Reason.HEALTHY),
        ("nim-operator", Status.PASS, Reason.HEALTHY),
        ("kaito", Status.PASS, Reason.HEALTHY),
        ("lws", Status.PASS, Reason.HEALTHY),
        ("seldon", Status.PASS, Reason.HEALTHY),
        ("kubeai", Status.PASS, Reason.HEALTHY),
        ("slinky", Status.PASS, Reason.HEALTHY),
        ("volcano", Status.PASS, Reason.HEALTHY),
        ("kai", Status.PASS, Reason.HEALTHY),
        ("dynamo-without-status", Status.WARN, Reason.UNHEALTHY),
        ("nim-operator-crds-only", Status.WARN, Reason.CRDS_ONLY),
        ("seldon-crds-only", Status.WARN, Reason.CRDS_ONLY),
        ("slinky-crds-only", Status.WARN, Reason.CRDS_ONLY),
        ("kai-crds-only", Status.WARN, Reason.CRDS_ONLY),
        ("training-operator-down", Status.FAIL, Reason.UNHEALTHY),
        ("kaito-webhook-broken", Status.FAIL, Reason.UNHEALTHY),
        # A webhook known only by its rules (KAITO's group, and the core group) is KAITO's: its missing Service counts.
        ("kaito-webhook-by-rules", Status.FAIL, Reason.UNHEALTHY),
        ("kserve-webhook-by-service", Status.FAIL, Reason.UNHEALTHY),  # known as KServe's by its Service's name
        ("lws-down", Status.FAIL, Reason.UNHEALTHY),
        ("kubeai-down", Status.FAIL, Reason.UNHEALTHY),
        ("volcano-down", Status.FAIL, Reason.UNHEALTHY),
        ("kueue-down", Status.FAIL, Reason.UNHEALTHY),
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
    ],
)
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
    assert "selects 1 ready pod" in fact(
        rc("kubeflow-trainer"), "ValidatingWebhookConfiguration", "validator.trainer.kubeflow.org"
    )
    assert "defaulter" in fact(rc("kserve"), "MutatingWebhookConfiguration", "inferenceservice.serving.kserve.io")
    assert "not found" in fact(
        rc("webhook-service-missing"), "ValidatingWebhookConfiguration", "inferenceservice.serving.kserve.io"
    )
    assert "empty caBundle" in fact(
        rc("webhook-broken"), "ValidatingWebhookConfiguration", "validator.trainer.kubeflow.org"
    )


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
    assert "unrecognised operator" in got and "acme-model-webhook selects 1 ready pod" in got


def test_custom_resources_show_how_far_the_controller_got():
    assert fact(rc("cr-without-status"), "RayCluster", "ml/raycluster-a") == "no status"
    assert fact(rc("cr-not-succeeded"), "RayCluster", "ml/raycluster-pending") == "state suspended"
    assert (
        fact(rc("cr-not-succeeded"), "RayJob", "ml/rayjob-initializing")
        == "jobDeploymentStatus Initializing, jobStatus PENDING"
    )
    assert fact(rc("trainjob-running"), "TrainJob", "team-a/llama-finetune") == "Created=True, Suspended=False"


def test_crds_found_through_discovery_leave_out_subresources():
    assert (
        fact(rc("crds-forbidden"), "CustomResourceDefinition", "*.ray.io")
        == "Established: rayclusters, rayjobs, rayservices"
    )


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
    assert "0/1 webhook healthy, 1 not checked" in r.message
    assert "(not checked)" in fact(r, "ValidatingWebhookConfiguration", "inferenceservice.serving.kserve.io")
    assert r.message.startswith("KServe found but cannot be confirmed working: a webhook it needs is reached by URL")


def test_a_scheduler_carries_the_verdict_past_an_unconfirmed_ai_operator_and_says_so():
    r = rc("kuberay-url-webhook-kueue-works")
    assert r.message.startswith("no AI-specific operator works, but Kueue is a working CRD-based operator")
    assert "not confirmed (webhook by URL): KubeRay" in r.message


@pytest.mark.parametrize(
    "case, permission",
    [
        ("forbidden", "list deployments.apps in all namespaces"),
        ("webhooks-forbidden", "list validatingwebhookconfigurations.admissionregistration.k8s.io (cluster scope)"),
        ("crs-forbidden", "list rayclusters.ray.io in all namespaces"),
        ("managed-crs-forbidden", "list rayclusters.ray.io in all namespaces"),
        ("crds-forbidden-none-served", "list customresourcedefinitions.apiextensions.k8s.io (cluster scope)"),
    ],
)
def test_unknown_names_the_missing_permission(case, permission):
    assert permission in rc(case).message


def test_schedulers_count_after_ai_operators_and_by_their_own_name():
    assert rc("volcano").message.startswith("no AI-specific operator found, but Volcano")
    assert rc("kai").message.startswith("no AI-specific operator found, but KAI Scheduler")
    assert rc("lws").message.startswith("AI operator LeaderWorkerSet works")


def test_an_operator_sharing_its_api_group_owns_only_its_own_crds():
    r = rc("training-operator")
    assert fact(r, "CustomResourceDefinition", "*.kubeflow.org") == "Established: mpijobs, pytorchjobs, tfjobs"
    assert fact(r, "ValidatingWebhookConfiguration", "validator.training-operator.kubeflow.org").startswith(
        "webhook validator.pytorchjob.training-operator.kubeflow.org"
    )


def test_the_absent_message_names_operators_the_registry_judges_by_their_resources():
    assert "(such as KubeRay, Kubeflow Trainer or KServe)" in rc("absent").message


RAY, RAYJOB = operators.KUBERAY.reconciled
DYNAMO = operators.DYNAMO.reconciled[0]


@pytest.mark.parametrize(
    "how, status, verdict, shown",
    [
        (RAY, {"state": "ready"}, GOOD, "state ready"),
        (RAY, {"state": "Ready"}, GOOD, "state Ready"),  # states compare ignoring case
        (RAY, {"conditions": [{"type": "HeadPodReady", "status": "True"}]}, GOOD, "HeadPodReady=True"),
        (RAY, {"conditions": [{"type": "HeadPodReady", "status": "False"}]}, SEEN, "HeadPodReady=False"),
        (RAY, {"state": "suspended"}, SEEN, "state suspended"),
        (RAY, {"availableWorkerReplicas": 0}, SEEN, "status set"),
        (RAY, {}, NONE, "no status"),
        (
            RAYJOB,
            {"jobDeploymentStatus": "running", "jobStatus": "RUNNING"},
            GOOD,
            "jobDeploymentStatus running, jobStatus RUNNING",
        ),
        (RAYJOB, {"jobStatus": "PENDING"}, SEEN, "jobStatus PENDING"),
        (DYNAMO, {"state": "pending", "conditions": [{"type": "Ready", "status": "True"}]}, GOOD, "state pending"),
        (DYNAMO, {"state": "failed"}, SEEN, "state failed"),
    ],
)
def test_reconciled_is_told_by_the_records_state_and_conditions(how, status, verdict, shown):
    obj = {"kind": how.api.kind, "metadata": {"name": "x"}}
    if status:
        obj["status"] = status
    assert _reconciled(obj, how) == (verdict, shown)
