"""Disaggregated serving stacks (separate prefill and decode instances) and how their pods show their role."""

from __future__ import annotations

from dataclasses import dataclass

from kubectl_aiconf.knowledge import operators
from kubectl_aiconf.knowledge._base import Record


@dataclass(frozen=True)
class ServingStack(Record):
    key: str
    name: str
    label_prefix: str = ""  # pod labels that belong to the stack
    word: str = ""  # a word in a pod's command line or image that names the stack
    role_labels: tuple[str, ...] = ()  # pod labels whose value is `prefill` or `decode`
    operator: str = ""  # key of its operator in `operators`, when it has one

    KIND = "serving"


# In the order a pod is attributed to a stack (an llm-d pod may run vLLM).
SERVING_STACKS: tuple[ServingStack, ...] = (
    ServingStack("llm-d", "llm-d", label_prefix="llm-d.ai/", role_labels=("llm-d.ai/role",)),
    ServingStack("dynamo", "NVIDIA Dynamo", label_prefix="nvidia.com/dynamo", word="dynamo",
                 role_labels=("nvidia.com/dynamo-sub-component-type", "nvidia.com/dynamo-component-type"),
                 operator=operators.DYNAMO.key),
    ServingStack("sglang", "SGLang", word="sglang"),
    ServingStack("vllm", "vLLM", word="vllm"),
)
BY_KEY: dict[str, ServingStack] = {s.key: s for s in SERVING_STACKS}
ROLE_LABELS = tuple(label for s in SERVING_STACKS for label in s.role_labels)

# Command-line flags of prefill and decode workers (vLLM, SGLang, Dynamo) and of KV-cache transfer.
PREFILL_ARGS = r"--is-prefill-worker|--disaggregation-mode[= ]+[\"']?prefill|kv_producer"
DECODE_ARGS = r"--is-decode-worker|--disaggregation-mode[= ]+[\"']?decode|kv_consumer"
KV_TRANSFER_ARGS = r"--kv-transfer-config|--disaggregation-(transfer-backend|bootstrap-port)"
# A Dynamo worker process (its decode workers carry no flag of their own).
DYNAMO_WORKER_ARGS = r"dynamo\.(vllm|sglang|trtllm)"

RECORDS = SERVING_STACKS
