"""A read-only view of a cluster, the same whether it is live or read from a snapshot.

Checks never talk to the API server: the runner asks the view to load every resource the chosen checks
declared (one concurrent round of list calls when live), then checks read the loaded listings.
"""

from __future__ import annotations

import builtins
import contextlib
import enum
import gc
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from sys import intern
from typing import Any


@dataclass(frozen=True)
class Resource:
    """A kind of object the checks read, and the fields they need from it.

    `keep` lists dotted field paths kept after reading (`a.b[].c` walks into a list, `a.b[type=Ready]` keeps
    only the list items whose `type` is `Ready`, `a.b[c]` those that have a `c`); identity fields are always
    kept. Trimming objects as pages
    arrive keeps memory flat on large clusters and makes snapshots hold exactly what the checks read.
    """

    group: str  # "" for the core group
    resource: str  # plural name
    kind: str
    namespaced: bool
    keep: tuple[str, ...] = ()
    versions: tuple[str, ...] = ()  # acceptable versions in preference order; () = the server's preferred
    field_selector: str = ""  # e.g. "metadata.name=cluster-autoscaler-status"
    metadata_only: bool = False  # list as PartialObjectMetadata: for objects whose body the checks never read
    sliced: bool = False  # when there are many, list per namespace concurrently (see LiveView._list_sliced)

    @property
    def qualified(self) -> str:
        """`nodes`, `daemonsets.apps`: the name kubectl and RBAC messages use."""
        return f"{self.resource}.{self.group}" if self.group else self.resource

    @property
    def key(self) -> str:
        return self.qualified + (f"?{self.field_selector}" if self.field_selector else "")


class Outcome(str, enum.Enum):
    OK = "ok"  # listed; items are complete
    FORBIDDEN = "forbidden"  # RBAC denied the list
    NOT_SERVED = "not-served"  # the API group/resource is not served by this cluster
    NO_DATA = "no-data"  # snapshot mode: the snapshot holds no listing of this resource
    ERROR = "error"  # the server answered with an error or timed out


class BlindRead(Exception):
    """A check read the items of a listing it could not see: a defect in the check, never a verdict."""


@dataclass
class ListingTiming:
    """Where the time of one live listing went (`--debug` and bench/profile_check.py print it)."""

    key: str
    pages: int = 0
    bytes: int = 0
    seconds: float = 0.0  # first request sent to last item kept
    wire: float = 0.0  # waiting for the server and reading the bodies
    decode: float = 0.0  # json.loads of the pages
    project: float = 0.0  # trimming the items to the kept fields

    def add_page(self, size: int, wire: float, decode: float, project: float) -> None:
        self.pages += 1
        self.bytes += size
        self.wire += wire
        self.decode += decode
        self.project += project

    def __str__(self) -> str:
        return (
            f"{self.key}: {self.seconds:.2f}s, {self.pages} pages, {self.bytes / 2**20:.1f} MB "
            f"(wire {self.wire:.2f}s, decode {self.decode:.2f}s, trim {self.project:.2f}s)"
        )


class Listing:
    """The outcome of listing one resource, and its items when (and only when) they are known.

    Reading `items` of a listing that is not `visible` raises BlindRead: an empty list there would read as
    "none exist", the one conclusion a forbidden, failed or missing listing must never give.
    """

    def __init__(
        self,
        resource: Resource,
        outcome: Outcome,
        items: list[dict] | None = None,
        version: str | None = None,
        detail: str = "",
    ) -> None:
        self.resource = resource
        self.outcome = outcome
        self._items = items if outcome is Outcome.OK and items is not None else []
        self.version = version  # group version the items were read with
        self.detail = detail  # server message for FORBIDDEN/ERROR
        self.timing: ListingTiming | None = None  # live listings only

    def __repr__(self) -> str:
        return f"Listing({self.resource.key}, {self.outcome.value}, {len(self._items)} items)"

    @property
    def items(self) -> list[dict]:
        if not self.visible:
            raise BlindRead(f"{self.resource.key}: {self.why_unknown()}")
        return self._items

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK

    @property
    def visible(self) -> bool:
        """True when the tool knows the full set of these objects (listed, or the API is not served)."""
        return self.outcome in (Outcome.OK, Outcome.NOT_SERVED)

    @property
    def missing_permission(self) -> str:
        scope = "in all namespaces" if self.resource.namespaced else "(cluster scope)"
        return f"list {self.resource.qualified} {scope}"

    def why_unknown(self) -> str:
        """One phrase saying why the items are not known; only meaningful when not `visible`."""
        if self.outcome is Outcome.FORBIDDEN:
            return f"forbidden: missing permission to {self.missing_permission}"
        if self.outcome is Outcome.NO_DATA:
            return f"the snapshot holds no {self.resource.qualified} listing"
        return f"could not list {self.resource.qualified}: {self.detail or 'error'}"


class LoadError(Exception):
    """The view cannot be built at all (unreachable server, authentication failure, unreadable snapshot)."""


class ClusterView:
    """Common interface of the live and snapshot views.

    Subclasses fill `kubernetes_version`, `_served` (group -> {version -> [resource names]}, versions in
    preference order) and `_listings`.
    """

    source = "unknown"

    def __init__(self) -> None:
        self.context: str | None = None
        self.kubernetes_version: str | None = None
        self._served: dict[str, dict[str, list[str]]] = {}
        self._listings: dict[str, Listing] = {}

    # discovery -------------------------------------------------------------------------------------------
    def serves(self, group: str, resource: str | None = None, version: str | None = None) -> bool:
        versions = self._served.get(group)
        if not versions:
            return False
        if version is not None:
            versions = {version: versions[version]} if version in versions else {}
        if resource is None:
            return bool(versions)
        return any(resource in names for names in versions.values())

    def discovery_gaps(self, group: str, resource: str | None = None) -> list[Listing]:
        """Listings whose absence leaves unknown whether `group` (or its `resource`) is served ([] when
        discovery answers).

        A live view always knows; a snapshot without a discovery document infers served groups from the
        CustomResourceDefinitions and APIServices it holds, and knows nothing when it holds neither.
        """
        return []

    def group_versions(self, group: str) -> list[str]:
        """Versions of `group` the server serves, preferred first."""
        return list(self._served.get(group, {}))

    def discovered_resources(self, group: str, version: str) -> list[str]:
        """Resource names a group version lists in discovery (for custom.metrics.k8s.io: the metric names)."""
        return list(self._served.get(group, {}).get(version, []))

    def choose_version(self, res: Resource) -> str | None:
        served = [v for v, names in self._served.get(res.group, {}).items() if res.resource in names]
        if res.versions:
            return next((v for v in res.versions if v in served), None)
        return served[0] if served else None

    # listings --------------------------------------------------------------------------------------------
    def load(self, resources: Iterable[Resource]) -> None:
        raise NotImplementedError

    def list(self, res: Resource) -> Listing:
        try:
            return self._listings[res.key]
        except KeyError:
            raise KeyError(f"{res.key} was not loaded: add it to the READS of the check that lists it") from None

    def listings(self) -> builtins.list[Listing]:  # `list` here is the method above
        return builtins.list(self._listings.values())

    def requests_made(self) -> int:
        """API requests issued so far (0 for a snapshot)."""
        return 0

    def stats(self) -> str:
        kept = sum(len(listing.items) for listing in self._listings.values() if listing.visible)
        return f"{len(self._listings)} listings, {kept} objects kept, {self.requests_made()} API requests"


_freeze_loaded = False


def freeze_loaded_objects() -> None:
    """From now on, what a view has loaded is left out of cyclic garbage collection (gc.freeze) once loaded.

    For a process that ends after its run, as the command line does: the loaded objects live until then, and
    the millions of them that were made while collection was paused would otherwise be walked by the next
    collections, young and then old, while the checks run: 0.8 s of a 2.7 s check of a 25,000-object
    snapshot. Not for long-lived processes (a test run): garbage cycles alive at the moment of freezing are
    never collected."""
    global _freeze_loaded
    _freeze_loaded = True


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a view decodes and trims its listings.

    Decoding creates millions of objects and no cycles; each time the live set grows by a quarter, Python's
    collector walks all of it, which made reading 25,000 objects take about twice as long as parsing them.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if _freeze_loaded:
            gc.freeze()
        if was_enabled:
            gc.enable()


# Projection ----------------------------------------------------------------------------------------------

IDENTITY = ("apiVersion", "kind", "metadata.name", "metadata.namespace", "metadata.labels")


def _path_tree(paths: Iterable[str]) -> dict:
    """{"a.b", "a.c[].d"} -> {"a": {"b": True, "c[]": {"d": True}}}; True means "keep the whole value"."""
    tree: dict = {}
    for path in paths:
        node = tree
        *parents, leaf = path.split(".")
        for part in parents:
            if node.get(part) is True:  # an ancestor is already kept whole
                break
            node = node.setdefault(part, {})
        else:
            node[leaf] = True
    return tree


def _compile(tree: dict, share: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A function that keeps the fields of `tree` of a dict (None for anything else).

    The tree is walked once here, not once per object: each node becomes a closure over a flat field
    table, which projects a 20,000-pod listing about three times faster than interpreting the tree.
    """
    whole, in_list, sub_dict = 0, 1, 2
    # (field, how, projection of the value or of each list item, predicate of the list items to keep)
    fields: list[tuple[str, int, Callable[[Any], Any] | None, str | None]] = []
    for part, sub in tree.items():
        sub_project = None if sub is True else _compile(sub, share)
        if part.endswith("]"):
            name, _, predicate = part[:-1].partition("[")
            fields.append((name, in_list, sub_project, predicate or None))
        else:
            fields.append((part, whole if sub is True else sub_dict, sub_project, None))

    def project(value: Any) -> Any:
        if not isinstance(value, dict):
            return None
        out = {}
        for name, how, sub_project, only in fields:
            if name not in value:
                continue
            picked = value[name]
            if how == whole:
                out[name] = share(picked)
            elif how == sub_dict:
                picked = sub_project(picked)  # type: ignore[misc]
                if picked is not None:
                    out[name] = picked
            elif isinstance(picked, list):
                if only:
                    picked = [item for item in picked if _selected(item, only)]
                out[name] = [sub_project(item) for item in picked] if sub_project else list(picked)
        return out

    return project


def _selected(item: Any, predicate: str) -> bool:
    """`type=Ready`: the item's `type` is `Ready`; `hostPath`: the item has a `hostPath`."""
    if not isinstance(item, dict):
        return False
    key, equals, wanted = predicate.partition("=")
    return item.get(key) == wanted if equals else key in item


def _shared(value: Any) -> Any:
    """`value` with its strings (a dict's keys and string values too) replaced by one shared copy each.

    Thousands of pods and nodes repeat the same few strings (namespaces, phases, images, label keys and
    values); json.loads gives each occurrence its own object, and kept they were a quarter of the memory.
    """
    if isinstance(value, str):
        return intern(value)
    if isinstance(value, dict):
        return {
            intern(k) if isinstance(k, str) else k: intern(v) if isinstance(v, str) else v for k, v in value.items()
        }
    return value


def projector(res: Resource, share_strings: bool = True) -> Callable[[dict], Any]:
    """A function that trims an object of `res` to the fields the checks read.

    `share_strings=False` where the source objects stay in memory anyway (a snapshot's parsed files):
    sharing the strings of the copies would then cost time and save nothing.
    """
    return _compile(_path_tree(IDENTITY + res.keep), _shared if share_strings else _same)


def _same(value: Any) -> Any:
    return value
