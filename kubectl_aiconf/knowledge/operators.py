"""AI operators: CRD-based controllers (KubeRay, Kubeflow, KServe, Dynamo, ...) and how to tell that their
custom resources were reconciled. Gang schedulers count as CRD operators too, after the AI ones; their
records are derived from `schedulers` so the two views cannot disagree."""

from __future__ import annotations

from dataclasses import dataclass

from kubectl_aiconf.knowledge import schedulers
from kubectl_aiconf.knowledge._base import Api, Component, Record


@dataclass(frozen=True)
class Reconciled:
    """How a custom resource shows its controller acted on it successfully: any of the conditions True, or
    the field `state_field` of its status equal (ignoring case) to one of `states`. Any other status shows
    the controller at work without success yet; no status, that it has not touched the resource."""

    api: Api
    conditions: tuple[str, ...] = ()
    state_field: str = ""
    states: tuple[str, ...] = ()
    fact_fields: tuple[str, ...] = ()  # further status fields worth showing


@dataclass(frozen=True)
class AIOperator(Record):
    key: str
    name: str
    groups: tuple[str, ...]  # API groups of its CRDs
    workloads: Component  # its controller Deployments/StatefulSets/DaemonSets
    plurals: str = ""  # regex restricting the CRDs, for groups shared with other software
    webhook: str = ""  # regex on webhook configuration / Service names, when they do not name a group
    ai: bool = True  # False: schedulers that count as CRD operators, reported after AI operators
    reconciled: tuple[Reconciled, ...] = ()

    KIND = "operator"


KUBERAY = AIOperator(
    "kuberay",
    "KubeRay",
    ("ray.io",),
    Component(r"^kuberay-operator$|^ray-operator$", r"kuberay/operator|kuberay-operator"),
    webhook=r"kuberay",
    reconciled=(
        Reconciled(
            Api("ray.io", "rayclusters", "RayCluster"),
            conditions=("HeadPodReady",),
            state_field="state",
            states=("ready",),
        ),
        Reconciled(
            Api("ray.io", "rayjobs", "RayJob"),
            state_field="jobDeploymentStatus",
            states=("Complete", "Running"),
            fact_fields=("jobStatus",),
        ),
    ),
)
KUBEFLOW_TRAINER = AIOperator(
    "kubeflow-trainer",
    "Kubeflow Trainer",
    ("trainer.kubeflow.org",),
    Component(r"kubeflow-trainer|trainer-controller-manager", r"trainer-controller-manager"),
    webhook=r"kubeflow-trainer",
    reconciled=(Reconciled(Api("trainer.kubeflow.org", "trainjobs", "TrainJob"), conditions=("Complete",)),),
)
KUBEFLOW_TRAINING_OPERATOR = AIOperator(
    "kubeflow-training-operator",
    "Kubeflow Training Operator",
    ("kubeflow.org",),
    Component(
        r"^training-operator$|kubeflow-training-operator|^mpi-operator$", r"kubeflow/training-operator|mpi-operator"
    ),
    plurals=r"^(pytorchjobs|tfjobs|mpijobs|xgboostjobs|paddlejobs|jaxjobs|mxjobs)$",
    webhook=r"training-operator",
)
KSERVE = AIOperator(
    "kserve",
    "KServe",
    ("serving.kserve.io",),
    Component(r"^kserve-controller-manager$", r"kserve/kserve-controller"),
    webhook=r"kserve",
    reconciled=(Reconciled(Api("serving.kserve.io", "inferenceservices", "InferenceService"), conditions=("Ready",)),),
)
NIM_OPERATOR = AIOperator(
    "nim-operator",
    "NVIDIA NIM Operator",
    ("apps.nvidia.com",),
    Component(r"nim-operator", r"k8s-nim-operator"),
    webhook=r"nim-operator",
)
DYNAMO = AIOperator(
    "dynamo",
    "NVIDIA Dynamo",
    ("nvidia.com",),
    Component(r"dynamo-operator", r"ai-dynamo/kubernetes-operator|dynamo-operator"),
    plurals=r"^dynamo",
    webhook=r"dynamo",
    reconciled=(
        Reconciled(
            Api("nvidia.com", "dynamographdeployments", "DynamoGraphDeployment"),
            conditions=("Ready",),
            state_field="state",
            states=("successful", "ready", "deployed"),
        ),
    ),
)
KAITO = AIOperator("kaito", "KAITO", ("kaito.sh",), Component(r"^kaito-", r"kaito/workspace"), webhook=r"kaito")
SELDON = AIOperator(
    "seldon",
    "Seldon Core",
    ("machinelearning.seldon.io", "mlops.seldon.io"),
    Component(r"seldon-(v2-)?controller-manager", r"seldonio/seldon"),
    webhook=r"seldon",
)
KUBEAI = AIOperator("kubeai", "KubeAI", ("kubeai.org",), Component(r"^kubeai$", r"/kubeai(:|@|$)"), webhook=r"kubeai")
SLINKY = AIOperator(
    "slinky",
    "Slinky Slurm operator",
    ("slinky.slurm.net",),
    Component(r"slurm-operator", r"slinky.*/slurm-operator"),
    webhook=r"slurm-operator",
)


def _from_scheduler(s: schedulers.GangScheduler, ai: bool) -> AIOperator:
    return AIOperator(s.key, s.name, s.api_groups, s.workloads, webhook=s.webhook, ai=ai)


# LeaderWorkerSet is listed with the AI operators (it serves AI workloads); the gang schedulers after them.
LWS = _from_scheduler(schedulers.LWS, ai=True)
SCHEDULER_OPERATORS = tuple(
    _from_scheduler(s, ai=False) for s in (schedulers.KUEUE, schedulers.VOLCANO, schedulers.KAI)
)

OPERATORS: tuple[AIOperator, ...] = (
    KUBERAY,
    KUBEFLOW_TRAINER,
    KUBEFLOW_TRAINING_OPERATOR,
    KSERVE,
    NIM_OPERATOR,
    DYNAMO,
    KAITO,
    LWS,
    SELDON,
    KUBEAI,
    SLINKY,
) + SCHEDULER_OPERATORS
BY_KEY: dict[str, AIOperator] = {o.key: o for o in OPERATORS}

# API groups that look like AI/ML software, for operators the tool does not know by name.
AI_LOOKING_GROUP = (
    r"(^|[.-])(ai|ml|llm|llms|inference|serving|model|models|training|trainer|kubeflow|"
    r"ray|mlops|vllm|sglang|triton|notebooks?)([.-]|$)"
)

RECORDS = OPERATORS
