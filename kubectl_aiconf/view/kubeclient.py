"""The parts of the official Kubernetes client the live view uses, imported without the rest of it.

The view needs the client's kubeconfig loading (credentials, exec plugins, auth providers, certificates)
and its configured HTTP pool: `kubernetes.config` and `kubernetes.client.{configuration,api_client,rest}`.
Importing them the usual way runs `kubernetes/__init__.py` and `kubernetes/client/__init__.py`, which import
every API class and every one of several hundred models: about 0.5 s and 55 MB, a third of a 5,000-node
check's memory, for code the view never calls.

So the packages `kubernetes`, `kubernetes.client` and `kubernetes.client.models` are stood in by empty
package modules while those few modules are imported, and removed again afterwards: the classes stay
referenced from here, and a later `import kubernetes` anywhere in the process (the tests' sandbox helpers
do this) gets the whole, normal package. When the package is already imported, it is used as it is.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_STAND_INS = ("kubernetes", "kubernetes.client", "kubernetes.client.models")
_lock = threading.Lock()
_loaded: KubeClient | None = None


@dataclass(frozen=True)
class KubeClient:
    Configuration: Any  # kubernetes.client.Configuration
    ApiClient: Any  # kubernetes.client.ApiClient
    config: Any  # the kubernetes.config package: load_kube_config_from_dict, ConfigException


def kube_client() -> KubeClient:
    """The client's Configuration and ApiClient classes and its config package, imported once."""
    global _loaded
    with _lock:
        if _loaded is None:
            _loaded = _from_loaded_package() or _import_parts()
        return _loaded


def _from_loaded_package() -> KubeClient | None:
    client = sys.modules.get("kubernetes.client")
    config = sys.modules.get("kubernetes.config")
    if client is None or config is None or not hasattr(client, "ApiClient"):
        return None
    return KubeClient(client.Configuration, client.ApiClient, config)


def _import_parts() -> KubeClient:
    spec = importlib.util.find_spec("kubernetes")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the kubernetes package is not installed")
    root = Path(next(iter(spec.submodule_search_locations)))
    before = set(sys.modules)
    saved = {name: sys.modules.get(name) for name in _STAND_INS}
    try:
        for name in _STAND_INS:
            package = types.ModuleType(name)
            package.__path__ = [str(root.joinpath(*name.split(".")[1:]))]
            package.__package__ = name
            sys.modules[name] = package
        configuration = importlib.import_module("kubernetes.client.configuration")
        api_client = importlib.import_module("kubernetes.client.api_client")
        # kubernetes.config imports these two names from the package.
        stand_in = sys.modules["kubernetes.client"]
        stand_in.Configuration = configuration.Configuration  # type: ignore[attr-defined]
        stand_in.ApiClient = api_client.ApiClient  # type: ignore[attr-defined]
        config = importlib.import_module("kubernetes.config")
        return KubeClient(configuration.Configuration, api_client.ApiClient, config)
    finally:
        # Forget every kubernetes module imported here, so that the next `import kubernetes` is a whole one.
        for name in set(sys.modules) - before:
            if name == "kubernetes" or name.startswith("kubernetes."):
                del sys.modules[name]
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
