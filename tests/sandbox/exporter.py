"""A stand-in for NVIDIA's DCGM exporter on the sandbox's real node, for the accelerator_metrics probe.

It is NOT the DCGM exporter: the real node's GPUs are the test device plugin's fakes, which no DCGM can read.
It is a DaemonSet named and labelled as the GPU Operator installs the exporter (`nvidia-dcgm-exporter` in
`gpu-operator`, port 9400, a Service in front), whose pod on the real node is busybox's httpd serving a
metrics page in the exporter's format: utilisation, memory, temperature and power per device, labelled
`gpu`, `UUID`, `pci_bus_id` as the exporter labels them, one device per GPU the device plugin announces.

What is real around it: the DaemonSet controller, the scheduler, the kubelet, containerd and runc running the
pod, the pod network, and the API server's pod proxy through which the probe reads the page.

`broken` makes it publish what a broken exporter would: "missing-device" drops one GPU's memory series,
"no-memory" every memory series.
"""

from __future__ import annotations

NAMESPACE = "gpu-operator"
NAME = "nvidia-dcgm-exporter"
PORT = 9400
LABELS = {"app": NAME, "app.kubernetes.io/name": "dcgm-exporter"}


def page(devices: int, node: str, broken: str = "") -> str:
    """The exporter's metrics page for `devices` GPUs."""
    rows = {
        "DCGM_FI_DEV_GPU_UTIL": ("gauge", "GPU utilization (in %).", lambda i: 10 * i),
        "DCGM_FI_DEV_FB_USED": ("gauge", "Framebuffer memory used (in MiB).", lambda i: 1024 * (i + 1)),
        "DCGM_FI_DEV_FB_FREE": ("gauge", "Framebuffer memory free (in MiB).", lambda i: 40000 - 1024 * (i + 1)),
        "DCGM_FI_DEV_GPU_TEMP": ("gauge", "GPU temperature (in C).", lambda i: 40 + i),
        "DCGM_FI_DEV_POWER_USAGE": ("gauge", "Power draw (in W).", lambda i: 60.5 + i),
    }
    lines = []
    for metric, (kind, help_, value) in rows.items():
        memory = metric.startswith("DCGM_FI_DEV_FB_")
        if memory and broken == "no-memory":
            continue
        lines += [f"# HELP {metric} {help_}", f"# TYPE {metric} {kind}"]
        for i in range(devices):
            if memory and broken == "missing-device" and i == devices - 1:
                continue
            labels = (
                f'gpu="{i}",UUID="GPU-aiconf-{i:04d}",pci_bus_id="00000000:{0x10 + i:02X}:00.0",'
                f'device="nvidia{i}",modelName="AICONF-SIMULATED-GPU",Hostname="{node}"'
            )
            lines.append(f"{metric}{{{labels}}} {value(i)}")
    return "\n".join(lines) + "\n"


def objects(node_labels: dict, toleration: dict, image: str, devices: int, node: str, broken: str = "") -> list[dict]:
    """Namespace, DaemonSet (on the nodes with `node_labels`) and Service of the stand-in exporter."""
    script = (
        "mkdir -p /tmp/www && cat > /tmp/www/metrics <<'EOF'\n"
        + page(devices, node, broken)
        + f"EOF\nexec httpd -f -p {PORT} -h /tmp/www\n"
    )
    security = {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "runAsNonRoot": True,
        "runAsUser": 65534,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
        {
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": LABELS},
            "spec": {
                "selector": {"matchLabels": {"app": NAME}},
                "template": {
                    "metadata": {"labels": LABELS},
                    "spec": {
                        "nodeSelector": node_labels,
                        "tolerations": [toleration],
                        "terminationGracePeriodSeconds": 1,
                        "containers": [
                            {
                                "name": "nvidia-dcgm-exporter",
                                "image": image,
                                "imagePullPolicy": "Never",
                                "command": ["sh", "-c", script],
                                "ports": [{"name": "metrics", "containerPort": PORT}],
                                "securityContext": security,
                            }
                        ],
                    },
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": LABELS},
            "spec": {"selector": {"app": NAME}, "ports": [{"name": "gpu-metrics", "port": PORT}]},
        },
    ]
