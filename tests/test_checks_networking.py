"""Networking checks on hand-written fixtures under testdata/checks/<requirement>/<case>/.

Each check has a table of every fixture's status and reason; the tests after it pin the facts seen (evidence
names and values) and what a message must or must not claim where something could not be read.
"""

from __future__ import annotations

import pytest

from conftest import TESTDATA, run_check
from kubectl_aiconf import resources
from kubectl_aiconf.knowledge import gateways
from kubectl_aiconf.result import Reason, Status

PASS, WARN, FAIL, NA, UNKNOWN = Status.PASS, Status.WARN, Status.FAIL, Status.NA, Status.UNKNOWN


def evidence_of(result, kind: str, name: str) -> str:
    """The fact shown for one evidence object; fails the test when it is missing."""
    for e in result.evidence:
        if e.kind == kind and e.name == name:
            return e.fact
    raise AssertionError(f"no evidence {kind} {name} in {[str(e) for e in result.evidence]}")


def run_forbidden(fixture: str, requirement_id: str, resource):
    """The check's result on a fixture with one more listing forbidden (as the blind sweep injects it)."""
    from kubectl_aiconf.catalogue import BY_ID
    from kubectl_aiconf.checks import check_for
    from kubectl_aiconf.view import Listing, Outcome
    from kubectl_aiconf.view.snapshot import SnapshotView

    view = SnapshotView(TESTDATA / "checks" / fixture, "1.36")
    check = check_for(requirement_id, BY_ID[requirement_id].category)
    view._listings[resource.key] = Listing(resource, Outcome.FORBIDDEN, detail="forbidden by the test")
    view.load(check.reads)
    return check.run(view)


@pytest.mark.parametrize(
    "fixture, forbidden, status",
    [
        ("ai_inference/healthy", resources.DEPLOYMENTS, PASS),  # the Programmed Gateway decides
        ("ai_inference/istio", resources.GATEWAYS, PASS),  # the healthy controller decides
        ("ai_inference/programmed-classes-forbidden", resources.HTTPROUTES, PASS),
        ("ai_inference/unhealthy", resources.HTTPROUTES, FAIL),
        ("ai_inference/rejected", resources.DEPLOYMENTS, FAIL),
        ("ai_inference/absent", resources.HTTPROUTES, FAIL),
        ("ai_inference/managed-no-gateway", resources.CRDS, WARN),
        ("advanced_inference_ingress/healthy", resources.CRDS, PASS),
        ("advanced_inference_ingress/unhealthy", resources.CRDS, FAIL),
        ("advanced_inference_ingress/not-attached", resources.CRDS, WARN),
        ("high_performance_networking/efa", resources.NIC_CLUSTERPOLICIES, PASS),
        ("high_performance_networking/unhealthy", resources.NETWORK_ATTACHMENT_DEFINITIONS, FAIL),
        ("high_performance_networking/multus-only", resources.CRDS, WARN),
        ("disaggregated_inference/healthy", resources.CRDS, PASS),
        ("disaggregated_inference/unhealthy", resources.CRDS, FAIL),
        ("disaggregated_inference/one-role", resources.CRDS, WARN),
    ],
)
def test_a_verdict_holds_when_only_what_it_does_not_rest_on_is_unreadable(fixture, forbidden, status):
    r = run_forbidden(fixture, fixture.partition("/")[0], forbidden)
    assert r.status is status, r.message
    assert r.holds_despite_blind


# ai_inference ---------------------------------------------------------------------------------------------
def ai(case: str):
    return run_check(f"ai_inference/{case}", "ai_inference")


@pytest.mark.parametrize(
    "case, status, reason",
    [
        ("healthy", PASS, Reason.HEALTHY),
        ("istio", PASS, Reason.HEALTHY),  # Accepted class, healthy controller, no Gateway yet
        ("cilium", PASS, Reason.HEALTHY),
        ("traefik", PASS, Reason.HEALTHY),
        ("kgateway", PASS, Reason.HEALTHY),
        ("managed-gke", PASS, Reason.HEALTHY),
        ("unrecognised-controller", PASS, Reason.HEALTHY),
        ("programmed-classes-forbidden", PASS, Reason.HEALTHY),  # a Programmed Gateway needs no class to vouch
        ("implementations-healthy", PASS, Reason.HEALTHY),
        ("implementations-down", FAIL, Reason.UNHEALTHY),  # every implementation's controller found, none available
        ("managed-no-gateway", WARN, Reason.PARTIAL),
        ("controller-not-found", WARN, Reason.PARTIAL),  # one of its Gateways has an address, none is Programmed
        ("unhealthy-and-unrecognised", WARN, Reason.PARTIAL),  # the unrecognised class may be served
        ("not-accepted", WARN, Reason.CRDS_ONLY),
        ("crds-only", WARN, Reason.CRDS_ONLY),
        ("crds-partial", WARN, Reason.CRDS_ONLY),
        ("unhealthy", FAIL, Reason.UNHEALTHY),
        ("rejected", FAIL, Reason.UNHEALTHY),
        ("absent", FAIL, Reason.NOT_INSTALLED),
        ("crds-forbidden-discovery", FAIL, Reason.NOT_INSTALLED),  # decided from discovery alone
        ("crds-forbidden-discovery-served", WARN, Reason.CRDS_ONLY),
        ("forbidden", UNKNOWN, Reason.FORBIDDEN),
        ("accepted-controller-forbidden", UNKNOWN, Reason.FORBIDDEN),
        ("rejected-gateways-hidden", UNKNOWN, Reason.NOT_IN_SNAPSHOT),
        ("rejected-no-crd-listing", UNKNOWN, Reason.NOT_IN_SNAPSHOT),  # Gateways may be served, unseen
        ("no-crd-listing", UNKNOWN, Reason.NOT_IN_SNAPSHOT),
        ("crds-forbidden", UNKNOWN, Reason.FORBIDDEN),  # no discovery document to fall back on
    ],
)
def test_ai_inference_status_and_reason(case, status, reason):
    r = ai(case)
    assert (r.status, r.reason) == (status, reason), r.message


def test_ai_inference_healthy_shows_class_gateway_routes_and_controller():
    r = ai("healthy")
    assert "Envoy Gateway" in r.message
    assert evidence_of(r, "GatewayClass", "eg").startswith("Accepted=True")
    assert "address 10.20.0.15" in evidence_of(r, "Gateway", "serving/inference-gw")
    assert "Accepted by inference-gw" in evidence_of(r, "HTTPRoute", "serving/llama-canary")
    assert "weighted backends and header matches" in evidence_of(r, "HTTPRoute", "serving/llama-canary")
    assert "1/1 available" in evidence_of(r, "Deployment", "envoy-gateway-system/envoy-gateway")


@pytest.mark.parametrize(
    "case, implementation, controller",
    [
        ("istio", "Istio", "istio-system/istiod"),
        ("cilium", "Cilium", "kube-system/cilium-operator"),
    ],
)
def test_ai_inference_healthy_controller_is_named(case, implementation, controller):
    r = ai(case)
    assert f"served by {implementation}" in r.message and controller in r.message
    assert evidence_of(r, "Deployment", controller).endswith("available")


@pytest.mark.parametrize(
    "case, implementation, gateway",
    [
        ("traefik", "Traefik", "traefik/traefik-gateway"),
        ("kgateway", "kgateway", "kgateway-system/inference-gateway"),
        ("managed-gke", "GKE Gateway controller (managed)", "default/external-http"),
    ],
)
def test_ai_inference_implementation_and_programmed_gateway_are_named(case, implementation, gateway):
    r = ai(case)
    assert f"served by {implementation}" in r.message
    assert evidence_of(r, "Gateway", gateway).startswith("Programmed=True")


def test_ai_inference_counts_only_the_route_features_in_use():
    r = ai("traefik")
    assert "1 with header matches" in r.message and "weighted" not in r.message
    plain = ai("kgateway")  # its one route has a single backend and no header match
    assert "no Accepted HTTPRoute uses weights or header matches" in plain.message
    assert "kgateway-system/llama" not in {e.name for e in plain.evidence}


def test_ai_inference_caps_evidence_of_one_kind():
    r = ai("controller-not-found")
    gateways = [e for e in r.evidence if e.kind == "Gateway"]
    assert [e.name for e in gateways] == ["serving/gw-1", "serving/gw-2", "serving/gw-3", "(+1 more)"]
    assert gateways[0].fact == "Programmed=False (Pending), no address, class eg"


def test_ai_inference_unrecognised_controller_is_named():
    r = ai("unrecognised-controller")
    assert "lb.acme.example/gateway-controller" in r.message
    assert "(unrecognised implementation)" in evidence_of(r, "GatewayClass", "acme-lb")


# Where each implementation that runs in the cluster has its controller in implementations-healthy and
# implementations-down (one Deployment each; OpenShift's istiod is not Istio's, nor the other way round).
CONTROLLERS = {
    "openshift": "openshift-ingress/istiod-openshift-gateway",
    "istio": "istio-system/istiod",
    "envoy-gateway": "envoy-gateway-system/envoy-gateway",
    "kgateway": "kgateway-system/kgateway",
    "traefik": "traefik/traefik",
    "cilium": "kube-system/cilium-operator",
    "nginx": "nginx-gateway/nginx-gateway",
    "kong": "kong/kong-controller",
    "aws-lbc": "kube-system/aws-load-balancer-controller",
    "aws-lattice": "aws-application-networking-system/gateway-api-controller",
    "apisix": "apisix/apisix-ingress-controller",
    "contour": "projectcontour/contour-gateway-provisioner",
    "azure-agc": "azure-alb-system/alb-controller",
}
IN_CLUSTER = [impl for impl in gateways.GATEWAY_IMPLEMENTATIONS if impl.workloads.visible]


def test_every_in_cluster_gateway_implementation_has_a_controller_fixture():
    assert set(CONTROLLERS) == {impl.key for impl in IN_CLUSTER}


def ai_with_one_class(case: str, impl: gateways.GatewayImplementation):
    """ai_inference on a fixture whose GatewayClass listing is cut down to the classes of one implementation."""
    from kubectl_aiconf.catalogue import BY_ID
    from kubectl_aiconf.checks import check_for
    from kubectl_aiconf.view import Listing, Outcome
    from kubectl_aiconf.view.snapshot import SnapshotView

    view = SnapshotView(TESTDATA / "checks" / "ai_inference" / case, "1.35")
    check = check_for("ai_inference", BY_ID["ai_inference"].category)
    view.load(check.reads)
    classes = view.list(resources.GATEWAYCLASSES)
    mine = [gc for gc in classes.items if gateways.gateway_implementation(gc["spec"]["controllerName"]) is impl]
    assert mine, f"no GatewayClass of {impl.key} in ai_inference/{case}"
    view._listings[resources.GATEWAYCLASSES.key] = Listing(
        resources.GATEWAYCLASSES, Outcome.OK, mine, version=classes.version
    )
    return check.run(view)


def controllers_named(result, impl: gateways.GatewayImplementation) -> set[str]:
    return {e.name for e in result.evidence if e.kind == "Deployment" and e.fact.startswith(f"{impl.name} controller")}


@pytest.mark.parametrize("impl", IN_CLUSTER, ids=lambda impl: impl.key)
def test_ai_inference_each_implementation_passes_on_its_own_available_controller(impl):
    r = ai_with_one_class("implementations-healthy", impl)
    assert (r.status, r.reason) == (PASS, Reason.HEALTHY), r.message
    assert f"served by {impl.name}:" in r.message and f"controller {CONTROLLERS[impl.key]} available" in r.message
    assert controllers_named(r, impl) == {CONTROLLERS[impl.key]}


@pytest.mark.parametrize("impl", IN_CLUSTER, ids=lambda impl: impl.key)
def test_ai_inference_each_implementation_fails_when_its_controller_is_down(impl):
    r = ai_with_one_class("implementations-down", impl)
    assert (r.status, r.reason) == (FAIL, Reason.UNHEALTHY), r.message
    assert f"Accepted by {impl.name}, but its controller is not available" in r.message
    assert controllers_named(r, impl) == {CONTROLLERS[impl.key]}
    assert evidence_of(r, "Deployment", CONTROLLERS[impl.key]).endswith("0/1 available")


def test_ai_inference_programmed_gateway_with_classes_forbidden_names_the_blind_spot():
    r = ai("programmed-classes-forbidden")
    assert "list gatewayclasses.gateway.networking.k8s.io (cluster scope)" in r.message
    assert evidence_of(r, "Gateway", "serving/inference-gw").startswith("Programmed=True")


def test_ai_inference_unhealthy_controller_evidence():
    r = ai("unhealthy")
    assert evidence_of(r, "Deployment", "envoy-gateway-system/envoy-gateway").endswith("0/1 available")
    assert "AddressNotAssigned" in evidence_of(r, "Gateway", "serving/inference-gw")


def test_ai_inference_rejected_class_evidence():
    r = ai("rejected")
    assert "InvalidParameters" in evidence_of(r, "GatewayClass", "eg")
    assert "1/1 available" in evidence_of(r, "Deployment", "envoy-gateway-system/envoy-gateway")


def test_ai_inference_crds_and_pending_class_evidence():
    assert "httproutes" in evidence_of(ai("crds-only"), "CustomResourceDefinition", "*.gateway.networking.k8s.io")
    assert "missing" not in ai("crds-only").message
    partial = ai("crds-partial")
    assert "(missing: httproutes)" in partial.message
    assert evidence_of(partial, "CustomResourceDefinition", "httproutes.gateway.networking.k8s.io") == "not Established"


def test_ai_inference_api_told_by_discovery_when_crds_are_forbidden():
    r = ai("crds-forbidden-discovery-served")
    assert "missing" not in r.message  # discovery says nothing of the CRDs that are not there
    assert evidence_of(r, "APIGroup", "gateway.networking.k8s.io").startswith(
        "serves gatewayclasses, gateways, httproutes (per discovery; forbidden"
    )
    assert "Accepted=Unknown (Pending" in evidence_of(ai("not-accepted"), "GatewayClass", "nginx")


def test_ai_inference_forbidden_names_the_permissions():
    r = ai("forbidden")
    assert "list gatewayclasses.gateway.networking.k8s.io (cluster scope)" in r.message
    assert "list gateways.gateway.networking.k8s.io in all namespaces" in r.message
    assert "whether a Gateway API controller accepted a GatewayClass" in r.message  # the CRDs show it installed


def test_ai_inference_several_classes_are_named_together():
    r = ai("unhealthy-and-unrecognised")
    assert "GatewayClasses acme-lb, eg are Accepted" in r.message


def test_ai_inference_controller_not_listable_is_never_called_absent():
    r = ai("accepted-controller-forbidden")
    assert "list deployments.apps in all namespaces" in r.message
    assert "no running controller workload was found" not in r.message and "not available" not in r.message


def test_ai_inference_rejected_class_without_gateway_listing_names_it():
    """Issue 10: hiding Gateways turned this FAIL into WARN."""
    r = ai("rejected-gateways-hidden")
    assert "the snapshot holds no gateways.gateway.networking.k8s.io listing" in r.message
    assert "no Gateway is Programmed" not in r.message
    r = ai("rejected-no-crd-listing")
    assert "the snapshot holds no customresourcedefinitions.apiextensions.k8s.io listing" in r.message


def test_ai_inference_snapshot_without_crd_listing_never_says_not_installed():
    """Issue 10: a snapshot holding no CRD listing at all gave FAIL "Gateway API is not installed"."""
    r = ai("no-crd-listing")
    assert "the snapshot holds no customresourcedefinitions.apiextensions.k8s.io listing" in r.message
    assert "whether Gateway API is installed" in r.message and "not installed" not in r.message


def test_ai_inference_absence_told_by_crds_says_so():
    assert "no gateway.networking.k8s.io CRDs" in ai("absent").message


def test_ai_inference_absence_told_by_discovery_holds_although_crds_are_forbidden():
    r = ai("crds-forbidden-discovery")
    assert "discovery" in r.message and r.holds_despite_blind


# advanced_inference_ingress -------------------------------------------------------------------------------
def gaie(case: str):
    return run_check(f"advanced_inference_ingress/{case}", "advanced_inference_ingress", "1.36")


@pytest.mark.parametrize(
    "case, status, reason",
    [
        ("healthy", PASS, Reason.HEALTHY),
        ("legacy-x-k8s", PASS, Reason.HEALTHY),
        ("attached-by-route", PASS, Reason.HEALTHY),
        ("not-attached", WARN, Reason.PARTIAL),
        ("no-model-servers", WARN, Reason.PARTIAL),  # a healthy picker with nothing to pick from
        ("crds-only", WARN, Reason.CRDS_ONLY),
        ("epp-only", WARN, Reason.CRDS_ONLY),
        ("unhealthy", FAIL, Reason.UNHEALTHY),
        ("no-endpoint-picker", FAIL, Reason.UNHEALTHY),
        ("epp-service-missing", FAIL, Reason.UNHEALTHY),
        ("absent", FAIL, Reason.NOT_INSTALLED),
        ("forbidden", UNKNOWN, Reason.FORBIDDEN),
        ("epp-forbidden", UNKNOWN, Reason.FORBIDDEN),
        ("pods-forbidden", UNKNOWN, Reason.FORBIDDEN),
        ("not-attached-routes-forbidden", UNKNOWN, Reason.FORBIDDEN),  # an Accepted route may attach it
        ("epp-service-missing-deployments-forbidden", UNKNOWN, Reason.FORBIDDEN),
        ("epp-service-without-selector", UNKNOWN, Reason.UNRECOGNISED),
        ("epp-kind-not-service", UNKNOWN, Reason.UNRECOGNISED),
        ("no-crd-listing", UNKNOWN, Reason.NOT_IN_SNAPSHOT),
    ],
)
def test_gaie_status_and_reason(case, status, reason):
    r = gaie(case)
    assert (r.status, r.reason) == (status, reason), r.message


def test_gaie_healthy_pool_evidence():
    r = gaie("healthy")
    assert "InferencePool llm/llama" in r.message and "2 ready model servers" in r.message
    fact = evidence_of(r, "InferencePool", "llm/llama")
    assert "inference.networking.k8s.io/v1" in fact and "HTTPRoute llm/llama-route Accepted" in fact
    assert "Service llm/llama-epp selects 1 ready pod" in fact


def test_gaie_legacy_pool_finds_the_picker_deployment_by_name():
    r = gaie("legacy-x-k8s")
    fact = evidence_of(r, "InferencePool", "llm/llama")
    assert "inference.networking.x-k8s.io/v1alpha2" in fact
    assert "Deployment llm/llama-epp: 1/1 available" in fact
    assert "inferencepools" in evidence_of(r, "CustomResourceDefinition", "*.inference.networking.x-k8s.io")


def test_gaie_route_alone_attaches_a_pool():
    assert "attached to HTTPRoute llm/llama-route" in gaie("attached-by-route").message


def test_gaie_refused_parents_and_routes_do_not_attach():
    fact = evidence_of(gaie("not-attached"), "InferencePool", "llm/llama")
    assert "not Accepted by inference-gateway (NotSupportedByGateway)" in fact
    assert "no Accepted condition from staging/staging-gateway" in fact
    assert "HTTPRoute llm/llama-route not Accepted" in fact


def test_gaie_missing_picker_service_is_named():
    fact = evidence_of(gaie("epp-service-missing"), "InferencePool", "llm/llama")
    assert "endpoint picker Service llm/llama-epp not found" in fact


def test_gaie_pool_without_ready_model_servers_never_passes():
    """Issue 10: a healthy endpoint picker and zero ready model servers survived mutation as PASS."""
    r = gaie("no-model-servers")
    fact = evidence_of(r, "InferencePool", "llm/llama")
    assert "0 ready model server pods" in fact and "Service llm/llama-epp selects 1 ready pod" in fact


def test_gaie_unhealthy_picker_evidence():
    assert "0 ready model server pods" in evidence_of(gaie("unhealthy"), "InferencePool", "llm/llama")


def test_gaie_crds_only_evidence():
    r = gaie("crds-only")
    assert evidence_of(r, "CustomResourceDefinition", "*.inference.networking.k8s.io") == "Established: inferencepools"


def test_gaie_says_what_shows_the_extension_installed():
    assert "(CRDs)" in gaie("crds-only").message
    assert "(an endpoint picker workload)" in gaie("epp-only").message


def test_gaie_picker_workload_without_the_api_is_shown():
    r = gaie("epp-only")
    assert "endpoint picker image, 1/1 available" == evidence_of(r, "Deployment", "llm/llama-epp")


@pytest.mark.parametrize(
    "case, unsure, permission",
    [
        (
            "forbidden",
            "whether an InferencePool exists",
            "list inferencepools.inference.networking.k8s.io in all namespaces",
        ),
        ("epp-forbidden", "endpoint picker llama-epp cannot be checked", "list services in all namespaces"),
        ("pods-forbidden", "its model servers cannot be checked", "list pods in all namespaces"),
        (
            "not-attached-routes-forbidden",
            "whether an Accepted HTTPRoute sends traffic to it",
            "list httproutes.gateway.networking.k8s.io in all namespaces",
        ),
        (
            "epp-service-missing-deployments-forbidden",
            "endpoint picker llama-epp cannot be checked",
            "list deployments.apps in all namespaces",
        ),
    ],
)
def test_gaie_blind_spots_are_named(case, unsure, permission):
    message = gaie(case).message
    assert unsure in message and permission in message


def test_gaie_model_servers_not_counted_without_pods():
    r = gaie("pods-forbidden")
    assert "model server pods not checked" in evidence_of(r, "InferencePool", "llm/llama")
    assert "ready model server" not in r.message


def test_gaie_snapshot_without_crd_listing_names_it():
    r = gaie("no-crd-listing")
    assert "the snapshot holds no customresourcedefinitions.apiextensions.k8s.io listing" in r.message


# high_performance_networking ------------------------------------------------------------------------------
def hpn(case: str):
    return run_check(f"high_performance_networking/{case}", "high_performance_networking", "1.36")


@pytest.mark.parametrize(
    "case, status, reason",
    [
        ("healthy", PASS, Reason.HEALTHY),
        ("dra-nic-attributes", PASS, Reason.HEALTHY),  # told by device attributes, not the driver's name
        ("rdma-network-operator", PASS, Reason.HEALTHY),
        ("efa", PASS, Reason.HEALTHY),
        ("sriov", PASS, Reason.HEALTHY),
        ("plugin-on-no-node", WARN, Reason.PARTIAL),
        ("multus-only", WARN, Reason.PARTIAL),
        ("hardware-not-exposed", WARN, Reason.PARTIAL),
        ("nic-policy-ready", WARN, Reason.PARTIAL),
        ("crds-only", WARN, Reason.CRDS_ONLY),
        ("unhealthy", FAIL, Reason.UNHEALTHY),
        ("dranet-not-ready", FAIL, Reason.UNHEALTHY),
        ("efa-plugin-not-ready", FAIL, Reason.UNHEALTHY),
        ("absent", NA, Reason.NOT_APPLICABLE),
        ("forbidden", UNKNOWN, Reason.FORBIDDEN),
        ("policies-forbidden", UNKNOWN, Reason.FORBIDDEN),  # a broken Network Operator may hide there
        ("daemonsets-forbidden", UNKNOWN, Reason.FORBIDDEN),  # a broken device plugin may hide there
    ],
)
def test_hpn_status_and_reason(case, status, reason):
    r = hpn(case)
    assert (r.status, r.reason) == (status, reason), r.message


def test_hpn_dranet_slices_show_their_attributes():
    r = hpn("healthy")
    assert "DRA driver dra.net (3 devices with attributes)" in r.message
    fact = evidence_of(r, "ResourceSlice", "gpu-a-dra.net-x7k2p")
    assert "on 2 nodes" in fact and "dra.net/rdma" in fact
    assert "gpu.nvidia.com" not in " ".join(str(e) for e in r.evidence)  # GPU slices are not network devices
    assert evidence_of(r, "DaemonSet", "kube-system/dranet") == "DRANET: 2/2 ready"


def test_hpn_rdma_resources_with_multus():
    r = hpn("rdma-network-operator")
    assert "rdma/rdma_shared_device_a on 2 nodes" in r.message and "attachable through Multus" in r.message
    assert evidence_of(r, "NicClusterPolicy", "nic-cluster-policy") == "state ready"
    assert "secondary network" in evidence_of(r, "NetworkAttachmentDefinition", "default/rdma-net-ipam")


@pytest.mark.parametrize(
    "case, resource", [("efa", "vpc.amazonaws.com/efa on 2 nodes"), ("sriov", "openshift.io/mlxnics on 1 node")]
)
def test_hpn_device_plugin_resources_count_ready_nodes_only(case, resource):
    assert resource in hpn(case).message  # efa: its third node is NotReady


@pytest.mark.parametrize(
    "case, broken, daemonset",
    [
        ("unhealthy", "NicClusterPolicy nic-cluster-policy notReady", "nvidia-network-operator/rdma-shared-dp-ds"),
        ("dranet-not-ready", "DRANET kube-system/dranet not ready (0/2 ready)", "kube-system/dranet"),
        (
            "efa-plugin-not-ready",
            "EFA device plugin kube-system/aws-efa-k8s-device-plugin-daemonset not ready",
            "kube-system/aws-efa-k8s-device-plugin-daemonset",
        ),
    ],
)
def test_hpn_unhealthy_names_what_is_broken(case, broken, daemonset):
    r = hpn(case)
    assert broken in r.message
    assert evidence_of(r, "DaemonSet", daemonset).endswith("0/2 ready")


def test_hpn_gpu_slices_are_not_network_devices():
    r = hpn("dranet-not-ready")  # its only ResourceSlice is a GPU's
    assert "ResourceSlice" not in {e.kind for e in r.evidence} and "DRA driver" not in r.message


@pytest.mark.parametrize(
    "case, seen",
    [
        ("plugin-on-no-node", "RDMA device plugin network-operator/rdma-shared-dp-ds scheduled on no node"),
        ("multus-only", "Multus running"),
        ("crds-only", "sriovnetwork.openshift.io"),
        ("hardware-not-exposed", "2 nodes report RDMA/SR-IOV capable NICs"),
        ("nic-policy-ready", "NicClusterPolicy nic-cluster-policy ready"),
    ],
)
def test_hpn_partial_support_names_what_was_seen(case, seen):
    assert seen in hpn(case).message


def test_hpn_crds_are_a_hint_only_when_nothing_else_was_seen():
    assert "CRDs of" not in hpn("nic-policy-ready").message  # mellanox.com CRDs, and a policy that says more


def test_hpn_multus_unlisted_is_never_called_absent():
    r = run_forbidden("high_performance_networking/multus-only", "high_performance_networking", resources.DAEMONSETS)
    assert r.status is UNKNOWN and "Multus not checked" in r.message and "no running Multus" not in r.message


def test_hpn_dra_nic_told_by_attributes():
    r = hpn("dra-nic-attributes")
    assert "DRA driver dpu.acme.example (2 devices with attributes)" in r.message
    assert "gpu.nvidia.com" not in " ".join(str(e) for e in r.evidence)


@pytest.mark.parametrize(
    "case, permission",
    [
        ("forbidden", "list nodes (cluster scope)"),
        ("forbidden", "list resourceslices.resource.k8s.io (cluster scope)"),
        ("policies-forbidden", "list nicclusterpolicies.mellanox.com (cluster scope)"),
        ("daemonsets-forbidden", "list daemonsets.apps in all namespaces"),
    ],
)
def test_hpn_blind_spots_are_named(case, permission):
    assert permission in hpn(case).message


# disaggregated_inference ----------------------------------------------------------------------------------
def disagg(case: str):
    return run_check(f"disaggregated_inference/{case}", "disaggregated_inference", "1.36")


@pytest.mark.parametrize(
    "case, status, reason",
    [
        ("healthy", PASS, Reason.HEALTHY),
        ("dynamo", PASS, Reason.HEALTHY),
        ("sglang", PASS, Reason.HEALTHY),
        ("vllm-and-unrecognised", PASS, Reason.HEALTHY),
        ("one-role", WARN, Reason.PARTIAL),
        ("sglang-decode-only", WARN, Reason.PARTIAL),
        ("kv-only", WARN, Reason.PARTIAL),
        ("dynamo-operator-no-pair", WARN, Reason.PARTIAL),
        ("crds-only", WARN, Reason.CRDS_ONLY),
        ("unhealthy", FAIL, Reason.UNHEALTHY),
        ("dynamo-prefill-pending", FAIL, Reason.UNHEALTHY),
        ("absent", FAIL, Reason.NOT_INSTALLED),
        ("forbidden", UNKNOWN, Reason.FORBIDDEN),
        ("crds-forbidden", UNKNOWN, Reason.FORBIDDEN),
    ],
)
def test_disagg_status_and_reason(case, status, reason):
    r = disagg(case)
    assert (r.status, r.reason) == (status, reason), r.message


def test_disagg_llm_d_roles_from_labels():
    r = disagg("healthy")
    assert "llm-d in namespace llm-d-pd (1 prefill, 2 decode)" in r.message
    assert (
        evidence_of(r, "Pod", "llm-d-pd/ms-pd-llm-d-modelservice-prefill-6f9b7-2xk4d")
        == "prefill, Running (label llm-d.ai/role=prefill)"
    )


def test_disagg_dynamo_workers_told_apart_by_flags():
    r = disagg("dynamo")
    assert "NVIDIA Dynamo in namespace dynamo (1 prefill, 1 decode)" in r.message
    assert "--is-prefill-worker" in evidence_of(r, "Pod", "dynamo/vllm-disagg-vllmprefillworker-0")
    assert evidence_of(r, "Pod", "dynamo/vllm-disagg-vllmdecodeworker-0").startswith("decode, Running")
    assert evidence_of(r, "DynamoGraphDeployment", "dynamo/vllm-disagg") == "state successful"
    assert "1/1 available" in evidence_of(
        r, "Deployment", "dynamo-system/dynamo-platform-dynamo-operator-controller-manager"
    )


def test_disagg_sglang_roles_from_command_line():
    r = disagg("sglang")
    assert "SGLang in namespace serving" in r.message
    assert "--disaggregation-mode=decode" in evidence_of(r, "Pod", "serving/sglang-decode-0")


def test_disagg_stacks_are_named_per_namespace():
    r = disagg("vllm-and-unrecognised")
    assert "vLLM in namespace vllm-pd (1 prefill, 1 decode)" in r.message
    assert "unrecognised stack in namespace acme" in r.message
    assert evidence_of(r, "Pod", "vllm-pd/vllm-prefill-0") == "prefill, Running (args kv_producer)"


def test_disagg_dynamo_worker_beside_a_pending_prefill_worker_is_its_decode():
    r = disagg("dynamo-prefill-pending")
    assert "not running in dynamo" in r.message
    assert evidence_of(r, "Pod", "dynamo/vllm-disagg-vllmprefillworker-0").startswith("prefill, Pending")
    assert (
        evidence_of(r, "Pod", "dynamo/vllm-disagg-vllmdecodeworker-0")
        == "decode, Running (NVIDIA Dynamo worker dynamo.vllm, no prefill flag)"
    )
    assert evidence_of(r, "DynamoGraphDeployment", "dynamo/vllm-disagg") == "state pending"


def test_disagg_pods_not_running_evidence():
    r = disagg("unhealthy")
    assert "llm-d-pd" in r.message
    assert evidence_of(r, "Pod", "llm-d-pd/pd-prefill-0").startswith("prefill, Pending")
    assert evidence_of(r, "Pod", "llm-d-pd/pd-decode-0").startswith("decode, Running, not Ready")


@pytest.mark.parametrize(
    "case, seen",
    [
        ("one-role", "only one role running in llm-d (decode only)"),
        ("sglang-decode-only", "only one role running in serving (decode only)"),
        ("kv-only", "KV-transfer serving pods without a prefill/decode role in serving"),
        ("dynamo-operator-no-pair", "NVIDIA Dynamo operator running, 1 DynamoGraphDeployment"),
        ("crds-only", "NVIDIA Dynamo CRDs installed"),
    ],
)
def test_disagg_partial_stacks_name_what_was_seen(case, seen):
    assert seen in disagg(case).message


def test_disagg_kv_transfer_pod_evidence():
    r = disagg("kv-only")
    assert evidence_of(r, "Pod", "serving/vllm-kv-0") == "KV-transfer serving pod (args --kv-transfer-config)"


def test_disagg_other_nvidia_crds_are_not_dynamo():
    r = disagg("absent")
    assert "CustomResourceDefinition" not in {e.kind for e in r.evidence}
    assert "no NVIDIA Dynamo CRDs" in r.message and "(llm-d, NVIDIA Dynamo, SGLang, vLLM)" in r.message


def test_disagg_dynamo_operator_unlisted_is_never_called_absent():
    r = run_forbidden("disaggregated_inference/crds-only", "disaggregated_inference", resources.DEPLOYMENTS)
    assert (r.status, r.reason) == (WARN, Reason.CRDS_ONLY)
    assert "NVIDIA Dynamo CRDs installed (operator not checked)" in r.message


def test_disagg_dynamo_crds_evidence():
    r = disagg("crds-only")
    assert evidence_of(r, "CustomResourceDefinition", "dynamographdeployments.nvidia.com") == "Established"


@pytest.mark.parametrize(
    "case, permission",
    [
        ("forbidden", "list pods in all namespaces"),
        ("crds-forbidden", "list customresourcedefinitions.apiextensions.k8s.io (cluster scope)"),
    ],
)
def test_disagg_blind_spots_are_named(case, permission):
    r = disagg(case)
    assert permission in r.message and "no NVIDIA Dynamo CRDs" not in r.message
