"""Networking checks on hand-written fixtures under testdata/checks/<requirement>/<case>/."""

from __future__ import annotations

import pytest
from conftest import run_check

from kubectl_aiconf.result import Status


def evidence_of(result, kind: str, name: str) -> str:
    """The fact shown for one evidence object; fails the test when it is missing."""
    for e in result.evidence:
        if e.kind == kind and e.name == name:
            return e.fact
    raise AssertionError(f"no evidence {kind} {name} in {[str(e) for e in result.evidence]}")


# ai_inference ---------------------------------------------------------------------------------------------
def ai(case: str):
    return run_check(f"ai_inference/{case}", "ai_inference")


def test_ai_inference_healthy_envoy_gateway_with_programmed_gateway_and_routes():
    r = ai("healthy")
    assert r.status is Status.PASS
    assert "Envoy Gateway" in r.message and "GatewayClass eg Accepted" in r.message
    assert "1 Gateway(s) Programmed" in r.message
    assert "weighted backends" in r.message and "header matches" in r.message
    assert evidence_of(r, "GatewayClass", "eg").startswith("Accepted=True")
    assert "address 10.20.0.15" in evidence_of(r, "Gateway", "serving/inference-gw")
    assert "Accepted by inference-gw" in evidence_of(r, "HTTPRoute", "serving/llama-canary")
    assert "1/1 available" in evidence_of(r, "Deployment", "envoy-gateway-system/envoy-gateway")


@pytest.mark.parametrize("case, implementation, controller", [
    ("istio", "Istio", "istio-system/istiod"),
    ("cilium", "Cilium", "kube-system/cilium-operator"),
])
def test_ai_inference_accepted_class_with_healthy_controller_and_no_gateway(case, implementation, controller):
    r = ai(case)
    assert r.status is Status.PASS
    assert f"served by {implementation}" in r.message
    assert f"controller {controller} available (no Programmed Gateway yet)" in r.message
    assert "no Accepted HTTPRoute uses weights or header matches yet" in r.message


@pytest.mark.parametrize("case, implementation, gateway", [
    ("traefik", "Traefik", "traefik/traefik-gateway"),
    ("kgateway", "kgateway", "kgateway-system/inference-gateway"),
    ("managed-gke", "GKE Gateway controller (managed)", "default/external-http"),
])
def test_ai_inference_other_implementations_with_programmed_gateway(case, implementation, gateway):
    r = ai(case)
    assert r.status is Status.PASS
    assert f"served by {implementation}" in r.message
    assert evidence_of(r, "Gateway", gateway).startswith("Programmed=True")


def test_ai_inference_traefik_header_route_is_reported():
    r = ai("traefik")
    assert "1 with header matches" in r.message and "weighted" not in r.message


def test_ai_inference_unrecognised_controller_still_counts():
    r = ai("unrecognised-controller")
    assert r.status is Status.PASS
    assert "unrecognised controller lb.acme.example/gateway-controller" in r.message
    assert "(unrecognised implementation)" in evidence_of(r, "GatewayClass", "acme-lb")


def test_ai_inference_managed_class_without_gateway_warns():
    r = ai("managed-no-gateway")
    assert r.status is Status.WARN
    assert "no Gateway is Programmed" in r.message


def test_ai_inference_unhealthy_controller_fails():
    r = ai("unhealthy")
    assert r.status is Status.FAIL
    assert "controller is not available" in r.message
    assert evidence_of(r, "Deployment", "envoy-gateway-system/envoy-gateway").endswith("0/1 available")
    assert "AddressNotAssigned" in evidence_of(r, "Gateway", "serving/inference-gw")


def test_ai_inference_class_rejected_by_its_controller_fails():
    r = ai("rejected")
    assert r.status is Status.FAIL
    assert "GatewayClass eg was rejected by its controller" in r.message
    assert "InvalidParameters" in evidence_of(r, "GatewayClass", "eg")
    assert "1/1 available" in evidence_of(r, "Deployment", "envoy-gateway-system/envoy-gateway")


def test_ai_inference_crds_only_warns():
    r = ai("crds-only")
    assert r.status is Status.WARN
    assert "CRDs are installed" in r.message and "no GatewayClass" in r.message
    assert "httproutes" in evidence_of(r, "CustomResourceDefinition", "*.gateway.networking.k8s.io")


def test_ai_inference_class_not_accepted_warns():
    r = ai("not-accepted")
    assert r.status is Status.WARN
    assert "no controller has Accepted it" in r.message
    assert "Accepted=Unknown (Pending" in evidence_of(r, "GatewayClass", "nginx")


def test_ai_inference_forbidden_is_unknown_and_names_the_permission():
    r = ai("forbidden")
    assert r.status is Status.UNKNOWN
    assert "list gatewayclasses.gateway.networking.k8s.io (cluster scope)" in r.message


def test_ai_inference_absent_fails():
    r = ai("absent")
    assert r.status is Status.FAIL
    assert "not installed" in r.message


# advanced_inference_ingress -------------------------------------------------------------------------------
def gaie(case: str):
    return run_check(f"advanced_inference_ingress/{case}", "advanced_inference_ingress", "1.36")


def test_gaie_healthy_v1_pool_with_gateway_route_epp_and_model_servers():
    r = gaie("healthy")
    assert r.status is Status.PASS
    assert "InferencePool llm/llama" in r.message
    assert "attached to inference-gateway" in r.message and "healthy endpoint picker llama-epp" in r.message
    assert "2 ready model server(s)" in r.message
    fact = evidence_of(r, "InferencePool", "llm/llama")
    assert "inference.networking.k8s.io/v1" in fact and "HTTPRoute llm/llama-route Accepted" in fact
    assert "Service llm/llama-epp selects 1 ready pod(s)" in fact


def test_gaie_legacy_x_k8s_pool_with_extension_ref_and_epp_deployment():
    r = gaie("legacy-x-k8s")
    assert r.status is Status.PASS
    fact = evidence_of(r, "InferencePool", "llm/llama")
    assert "inference.networking.x-k8s.io/v1alpha2" in fact
    assert "Deployment llm/llama-epp: 1/1 available" in fact
    assert "inferencepools" in evidence_of(r, "CustomResourceDefinition", "*.inference.networking.x-k8s.io")


def test_gaie_unhealthy_endpoint_picker_fails():
    r = gaie("unhealthy")
    assert r.status is Status.FAIL
    assert "endpoint picker llama-epp is not working" in r.message
    assert "0 ready model server pod(s)" in evidence_of(r, "InferencePool", "llm/llama")


def test_gaie_pool_not_attached_to_a_gateway_warns():
    r = gaie("not-attached")
    assert r.status is Status.WARN
    assert "no Gateway has Accepted it" in r.message


def test_gaie_crds_only_warns():
    r = gaie("crds-only")
    assert r.status is Status.WARN
    assert "no InferencePool exists" in r.message
    assert evidence_of(r, "CustomResourceDefinition", "*.inference.networking.k8s.io") == "Established: inferencepools"


def test_gaie_forbidden_pools_is_unknown_and_names_the_permission():
    r = gaie("forbidden")
    assert r.status is Status.UNKNOWN
    assert "list inferencepools.inference.networking.k8s.io in all namespaces" in r.message


def test_gaie_endpoint_picker_not_visible_is_unknown():
    r = gaie("epp-forbidden")
    assert r.status is Status.UNKNOWN
    assert "endpoint picker cannot be checked" in r.message
    assert "list services in all namespaces" in r.message


def test_gaie_absent_fails():
    r = gaie("absent")
    assert r.status is Status.FAIL
    assert "no InferencePool CRDs" in r.message


# high_performance_networking ------------------------------------------------------------------------------
def hpn(case: str):
    return run_check(f"high_performance_networking/{case}", "high_performance_networking", "1.36")


def test_hpn_dranet_resource_slices_pass_with_attributes():
    r = hpn("healthy")
    assert r.status is Status.PASS
    assert "DRA driver dra.net (3 devices with attributes)" in r.message
    fact = evidence_of(r, "ResourceSlice", "gpu-a-dra.net-x7k2p")
    assert "on 2 node(s)" in fact and "dra.net/rdma" in fact
    assert "gpu.nvidia.com" not in " ".join(str(e) for e in r.evidence)  # GPU slices are not network devices
    assert evidence_of(r, "DaemonSet", "kube-system/dranet") == "DRANET: 2/2 ready"


def test_hpn_network_operator_rdma_resources_with_multus_pass():
    r = hpn("rdma-network-operator")
    assert r.status is Status.PASS
    assert "rdma/rdma_shared_device_a on 2 node(s)" in r.message and "attachable through Multus" in r.message
    assert evidence_of(r, "NicClusterPolicy", "nic-cluster-policy") == "state ready"
    assert "secondary network" in evidence_of(r, "NetworkAttachmentDefinition", "default/rdma-net-ipam")


@pytest.mark.parametrize("case, resource", [("efa", "vpc.amazonaws.com/efa"), ("sriov", "openshift.io/mlxnics")])
def test_hpn_device_plugin_resources_pass(case, resource):
    r = hpn(case)
    assert r.status is Status.PASS
    assert resource in r.message


def test_hpn_unhealthy_network_operator_fails():
    r = hpn("unhealthy")
    assert r.status is Status.FAIL
    assert "NicClusterPolicy nic-cluster-policy notReady" in r.message
    assert evidence_of(r, "DaemonSet", "nvidia-network-operator/rdma-shared-dp-ds").endswith("0/2 ready")


def test_hpn_device_plugin_scheduled_on_no_node_warns():
    r = hpn("plugin-on-no-node")
    assert r.status is Status.WARN
    assert "RDMA device plugin network-operator/rdma-shared-dp-ds scheduled on no node" in r.message

def test_hpn_multus_without_devices_warns():
    r = hpn("multus-only")
    assert r.status is Status.WARN
    assert "no specialised network device is exposed" in r.message and "Multus running" in r.message


def test_hpn_crds_only_warns():
    r = hpn("crds-only")
    assert r.status is Status.WARN
    assert "sriovnetwork.openshift.io" in r.message


def test_hpn_capable_hardware_not_exposed_warns():
    r = hpn("hardware-not-exposed")
    assert r.status is Status.WARN
    assert "2 node(s) report RDMA/SR-IOV capable NICs" in r.message


def test_hpn_forbidden_is_unknown_and_names_the_permissions():
    r = hpn("forbidden")
    assert r.status is Status.UNKNOWN
    assert "list nodes (cluster scope)" in r.message
    assert "list resourceslices.resource.k8s.io (cluster scope)" in r.message


def test_hpn_no_specialised_devices_is_not_applicable():
    r = hpn("absent")
    assert r.status is Status.NA
    assert "no specialised network devices" in r.message


# disaggregated_inference ----------------------------------------------------------------------------------
def disagg(case: str):
    return run_check(f"disaggregated_inference/{case}", "disaggregated_inference", "1.36")


def test_disagg_llm_d_prefill_and_decode_running_pass():
    r = disagg("healthy")
    assert r.status is Status.PASS
    assert "llm-d in namespace llm-d-pd (1 prefill, 2 decode)" in r.message
    assert evidence_of(r, "Pod", "llm-d-pd/ms-pd-llm-d-modelservice-prefill-6f9b7-2xk4d") == \
        "prefill, Running (label llm-d.ai/role=prefill)"


def test_disagg_dynamo_workers_told_apart_by_flags_pass():
    r = disagg("dynamo")
    assert r.status is Status.PASS
    assert "NVIDIA Dynamo in namespace dynamo (1 prefill, 1 decode)" in r.message
    assert "--is-prefill-worker" in evidence_of(r, "Pod", "dynamo/vllm-disagg-vllmprefillworker-0")
    assert evidence_of(r, "Pod", "dynamo/vllm-disagg-vllmdecodeworker-0").startswith("decode, Running")
    assert evidence_of(r, "DynamoGraphDeployment", "dynamo/vllm-disagg") == "state successful"
    assert "1/1 available" in evidence_of(
        r, "Deployment", "dynamo-system/dynamo-platform-dynamo-operator-controller-manager")


def test_disagg_sglang_roles_from_command_line_pass():
    r = disagg("sglang")
    assert r.status is Status.PASS
    assert "SGLang in namespace serving" in r.message
    assert "--disaggregation-mode=decode" in evidence_of(r, "Pod", "serving/sglang-decode-0")


def test_disagg_pods_not_running_fail():
    r = disagg("unhealthy")
    assert r.status is Status.FAIL
    assert "not running in llm-d-pd" in r.message
    assert evidence_of(r, "Pod", "llm-d-pd/pd-prefill-0").startswith("prefill, Pending")
    assert evidence_of(r, "Pod", "llm-d-pd/pd-decode-0").startswith("decode, Running, not Ready")


def test_disagg_single_role_warns():
    r = disagg("one-role")
    assert r.status is Status.WARN
    assert "only one role running in llm-d (decode only)" in r.message


def test_disagg_dynamo_crds_only_warns():
    r = disagg("crds-only")
    assert r.status is Status.WARN
    assert "NVIDIA Dynamo CRDs installed" in r.message
    assert "dynamographdeployments" in evidence_of(r, "CustomResourceDefinition", "dynamo*.nvidia.com")


def test_disagg_forbidden_pods_is_unknown():
    r = disagg("forbidden")
    assert r.status is Status.UNKNOWN
    assert "list pods in all namespaces" in r.message


def test_disagg_absent_fails():
    r = disagg("absent")
    assert r.status is Status.FAIL
    assert "no disaggregated serving stack" in r.message
