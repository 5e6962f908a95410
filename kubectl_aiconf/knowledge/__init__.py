"""What the tool recognises in a cluster, in one place: typed, frozen records and the few questions several
checks ask about them.

Modules (each lists its records in `RECORDS`):

  accelerators  accelerator vendors (NVIDIA, AMD, Intel GPU, Intel Gaudi, AWS Neuron, Google TPU, Huawei
                Ascend), cloud providers' accelerator labels, sharing stacks (HAMi), DRA driver names
  schedulers    gang schedulers (Kueue, Volcano, KAI, coscheduling) and hints (YuniKorn, LWS, Workload API)
  gateways      Gateway API implementations by controllerName, the Gateway API Inference Extension
  autoscalers   cluster autoscalers, managed node pools, metrics APIs, KEDA and prometheus-adapter
  monitoring    Prometheus Operator, Prometheus, Azure/Google managed Prometheus, VictoriaMetrics, Alloy, OTel
  operators     AI operators (KubeRay, Kubeflow, KServe, Dynamo, ...) and how their resources show reconciliation
  serving       disaggregated serving stacks (llm-d, Dynamo, SGLang, vLLM)
  networks      specialised network device stacks (Multus, SR-IOV, RDMA, DRANET, EFA)
  sandboxes     sandbox runtimes (gVisor, Kata) and agent-sandbox

Records hold data only: strings, tuples and patterns kept as text (compiled once by `_base.rx`). Nothing
here imports the Kubernetes client or the checks, so any module can use it.

To teach the tool a new thing, add one record to the module's tuple; the checks, the probe and the
permissions read the tuples, never a copy:

  a GPU vendor   a `Vendor` in accelerators.VENDORS: extended resources with what one unit grants, node
                 labels and PCI ids, device plugin, DRA driver, exporters and metric names, env vars and
                 device nodes, sharing mechanisms, probe globs. Its key becomes the probe's device family.
  a scheduler    a `GangScheduler` in schedulers.SCHEDULERS (APIs, queue objects, controller workloads);
                 robust_controller sees it as a CRD operator through operators.SCHEDULER_OPERATORS.
  a gateway      a `GatewayImplementation` in gateways.GATEWAY_IMPLEMENTATIONS (controllerName regex with an
                 example, controller workloads); order matters where one implementation builds on another.

Then add fixtures under testdata/checks/ on which the record's checks PASS and on which they do not: tests
list the records that lack either (tests/knowledge_coverage.py).
"""

from __future__ import annotations

import importlib

MODULES = (
    "accelerators",
    "schedulers",
    "gateways",
    "autoscalers",
    "monitoring",
    "operators",
    "serving",
    "networks",
    "sandboxes",
)


def all_records() -> dict[str, object]:
    """Every record of every module by its `record_id` (`accelerator:nvidia`, `scheduler:kueue`, ...)."""
    out: dict[str, object] = {}
    for name in MODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        for record in module.RECORDS:
            out[record.record_id] = record
    return out
