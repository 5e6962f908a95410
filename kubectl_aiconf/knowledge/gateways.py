"""Gateway API implementations (by GatewayClass controllerName) and the Gateway API Inference Extension."""

from __future__ import annotations

from dataclasses import dataclass, field

from kubectl_aiconf.knowledge._base import Api, Component, Record, search

GATEWAY_GROUP = "gateway.networking.k8s.io"
GATEWAY_CORE_CRDS = ("gatewayclasses", "gateways", "httproutes")
GATEWAY_CRDS = GATEWAY_CORE_CRDS + ("grpcroutes", "referencegrants")
GATEWAY_APIS = (
    Api(GATEWAY_GROUP, "gatewayclasses", "GatewayClass", False),
    Api(GATEWAY_GROUP, "gateways", "Gateway"),
    Api(GATEWAY_GROUP, "httproutes", "HTTPRoute"),
)


@dataclass(frozen=True)
class GatewayImplementation(Record):
    key: str
    name: str
    controller: str  # regex on GatewayClass spec.controllerName
    workloads: Component = field(default_factory=Component)  # none: the controller runs outside the cluster (managed)
    example: str = ""  # a controllerName the regex matches (tested)

    KIND = "gateway"


# First match wins: OpenShift's controller is Istio-based, so it comes before Istio. The Ingress Operator runs
# that istiod in openshift-ingress for OpenShift's own classes only: it is not the controller of an Istio class.
# An implementation whose controller runs in the cluster has its class and controller in the fixtures
# ai_inference/implementations-healthy and implementations-down (tests/test_checks_networking.py CONTROLLERS).
GATEWAY_IMPLEMENTATIONS: tuple[GatewayImplementation, ...] = (
    GatewayImplementation(
        "openshift",
        "OpenShift Gateway API",
        r"^openshift\.io/gateway-controller",
        Component(r"^istiod", r"/(pilot|istio-pilot)[^/]*(:|@|$)", r"^openshift-ingress$"),
        "openshift.io/gateway-controller/v1",
    ),
    GatewayImplementation(
        "istio",
        "Istio",
        r"^istio\.io/",
        Component(r"^istiod(-.+)?$", r"/pilot(:|@|$)", r"^(?!openshift-ingress$)"),
        "istio.io/gateway-controller",
    ),
    GatewayImplementation(
        "envoy-gateway",
        "Envoy Gateway",
        r"^gateway\.envoyproxy\.io/",
        Component(r"^envoy-gateway$", r"envoyproxy/gateway(:|@|$)"),
        "gateway.envoyproxy.io/gatewayclass-controller",
    ),
    GatewayImplementation(
        "kgateway",
        "kgateway",
        r"^(kgateway\.dev/|solo\.io/gloo-gateway)",
        Component(r"^(kgateway|gloo)$", r"/(kgateway|gloo)(:|@|$)"),
        "kgateway.dev/kgateway",
    ),
    GatewayImplementation(
        "traefik",
        "Traefik",
        r"^traefik\.io/",
        Component(r"^traefik", r"(^|/)traefik(:|@|$)"),
        "traefik.io/gateway-controller",
    ),
    GatewayImplementation(
        "cilium",
        "Cilium",
        r"^io\.cilium/",
        Component(r"^cilium-operator$", r"cilium/operator"),
        "io.cilium/gateway-controller",
    ),
    GatewayImplementation(
        "nginx",
        "NGINX Gateway Fabric",
        r"^gateway\.nginx\.org/",
        Component(r"nginx-gateway", r"nginx-gateway-fabric"),
        "gateway.nginx.org/nginx-gateway-controller",
    ),
    GatewayImplementation(
        "kong",
        "Kong",
        r"^konghq\.com/",
        Component(r"^kong", r"kong/(kubernetes-ingress-controller|gateway-operator|kong-operator)"),
        "konghq.com/kic-gateway-controller",
    ),
    GatewayImplementation(
        "gke", "GKE Gateway controller (managed)", r"^networking\.gke\.io/", example="networking.gke.io/gateway"
    ),
    GatewayImplementation(
        "aws-lbc",
        "AWS Load Balancer Controller",
        r"^gateway\.k8s\.aws/",
        Component(r"aws-load-balancer-controller", r"aws-load-balancer-controller"),
        "gateway.k8s.aws/alb",
    ),
    GatewayImplementation(
        "aws-lattice",
        "AWS Gateway API Controller (VPC Lattice)",
        r"^application-networking\.k8s\.aws/",
        Component(r"gateway-api-controller", r"aws-gateway-controller"),
        "application-networking.k8s.aws/gateway-api-controller",
    ),
    GatewayImplementation(
        "apisix",
        "Apache APISIX",
        r"^apisix\.apache\.org/",
        Component(r"apisix-ingress-controller", r"apisix-ingress-controller"),
        "apisix.apache.org/apisix-ingress-controller",
    ),
    GatewayImplementation(
        "contour",
        "Contour",
        r"^projectcontour\.io/",
        Component(r"^contour", r"projectcontour/contour"),
        "projectcontour.io/gateway-controller",
    ),
    GatewayImplementation(
        "azure-agc",
        "Azure Application Gateway for Containers",
        r"^alb\.networking\.azure\.io/",
        Component(r"^alb-controller", r"alb-controller"),
        "alb.networking.azure.io/alb-controller",
    ),
)
BY_KEY: dict[str, GatewayImplementation] = {g.key: g for g in GATEWAY_IMPLEMENTATIONS}


def gateway_implementation(controller_name: str) -> GatewayImplementation | None:
    """The implementation behind a GatewayClass's controllerName (the first that matches), or None."""
    return next((i for i in GATEWAY_IMPLEMENTATIONS if search(i.controller, controller_name)), None)


# Gateway API Inference Extension ----------------------------------------------------------------------------
GAIE_GROUPS = ("inference.networking.k8s.io", "inference.networking.x-k8s.io")  # GA, then the older alpha group
GAIE_APIS = (
    Api("inference.networking.k8s.io", "inferencepools", "InferencePool"),
    Api("inference.networking.x-k8s.io", "inferencepools", "InferencePool"),
)
# Endpoint-picker images: the GAIE reference EPP and llm-d's inference scheduler.
ENDPOINT_PICKER = Component(image=r"gateway-api-inference-extension/epp|llm-d-inference-scheduler|/epp(:|@|$)")

RECORDS = GATEWAY_IMPLEMENTATIONS
