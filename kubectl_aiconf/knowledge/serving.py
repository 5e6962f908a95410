"""Disaggregated serving stacks (separate prefill and decode instances) and how their pods show their role."""

from __future__ import annotations

from collections.abc import Mapping
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
    # A worker process of the stack whose decode role carries no flag of its own: a decode worker where
    # prefill workers of the stack run beside it.
    worker_args: str = ""

    KIND = "serving"


# In the order a pod is attributed to a stack (an llm-d pod may run vLLM).
SERVING_STACKS: tuple[ServingStack, ...] = (
    ServingStack("llm-d", "llm-d", label_prefix="llm-d.ai/", role_labels=("llm-d.ai/role",)),
    ServingStack(
        "dynamo",
        "NVIDIA Dynamo",
        label_prefix="nvidia.com/dynamo",
        word="dynamo",
        role_labels=("nvidia.com/dynamo-sub-component-type", "nvidia.com/dynamo-component-type"),
        operator=operators.DYNAMO.key,
        worker_args=r"dynamo\.(vllm|sglang|trtllm)",
    ),
    ServingStack("sglang", "SGLang", word="sglang"),
    ServingStack("vllm", "vLLM", word="vllm"),
)
BY_KEY: dict[str, ServingStack] = {s.key: s for s in SERVING_STACKS}
ROLE_LABELS = tuple(label for s in SERVING_STACKS for label in s.role_labels)

# Command-line flags of prefill and decode workers (vLLM, SGLang, Dynamo) and of KV-cache transfer.
PREFILL_ARGS = r"(?i)--is-prefill-worker|--disaggregation-mode[= ]+[\"']?prefill|kv_producer"
DECODE_ARGS = r"(?i)--is-decode-worker|--disaggregation-mode[= ]+[\"']?decode|kv_consumer"
KV_TRANSFER_ARGS = r"(?i)--kv-transfer-config|--disaggregation-(transfer-backend|bootstrap-port)"


def stack_of_pod(labels: Mapping[str, object] | None, text: str) -> ServingStack | None:
    """The stack a serving pod belongs to, in the order of SERVING_STACKS: the first one whose label prefix
    a label of the pod starts with, or whose word `text` (its command lines and images) names."""
    for stack in SERVING_STACKS:
        if stack.label_prefix and any(str(key).startswith(stack.label_prefix) for key in labels or {}):
            return stack
        if stack.word and stack.word in text.lower():
            return stack
    return None


RECORDS = SERVING_STACKS
