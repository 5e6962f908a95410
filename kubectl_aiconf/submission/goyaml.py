"""Decode a PRODUCT.yaml the way CNCF's Go validator sees it.

CNCF's validator unmarshals the file with gopkg.in/yaml.v3 into typed Go structs::

    ConformanceDoc{Metadata map[string]interface{}; Spec map[string][]Requirement}
    Requirement{ID, Description, Level, Status string; Evidence []string; Notes string}

Python's YAML loader would happily read things that Go rejects (``evidence: N/A`` where a list
of strings is expected, duplicate keys) and types scalars by YAML 1.1 rules that differ from
yaml.v3's (``yes`` is a bool for PyYAML, a string for yaml.v3). So this module composes the
YAML node tree with PyYAML and then walks it with yaml.v3's decoding rules:

* a scalar of any type decodes into a Go ``string`` field as its raw text (``status: 1.0``
  becomes ``"1.0"``), but metadata values are ``interface{}`` and keep their resolved type
  (``platformVersion: 1.0`` is a float there, so "not a string");
* a null scalar leaves a string field empty and is dropped from a ``[]string``;
* a sequence or mapping where a string is expected, or a non-null scalar where a list is
  expected, is a type error; type errors are collected and the whole file then fails;
* duplicate keys in any mapping that is decoded are errors;
* only the first YAML document is read.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from kubectl_aiconf.submission.vocabulary import REQUIREMENT_FIELDS

# Go type names as yaml.v3 prints them in "cannot unmarshal ... into <type>".
GO_TYPES = {
    "doc": "main.ConformanceDoc",
    "metamap": "map[string]interface {}",
    "spec": "map[string][]main.Requirement",
    "reqlist": "[]main.Requirement",
    "req": "main.Requirement",
    "str": "string",
    "strlist": "[]string",
    "iface": "interface {}",
}


_LONG_PREFIX = "tag:yaml.org,2002:"
_NULL = object()  # resolved null (distinct from Python None, which is never a resolved value)
_MAX_DECODE_STEPS = 1_000_000


class GoFail(Exception):
    """A decode failure that aborts yaml.v3 outright (its ``failf``), not a collected type error."""


@dataclass
class Timestamp:
    text: str


@dataclass
class MetaValue:
    """A metadata value as Go's ``interface{}`` holds it."""

    value: Any  # str for strings; None for null; otherwise the decoded non-string value
    go_type: str  # "string", "null", "int", "float64", "bool", "time.Time", "map", "list"
    line: int
    text: str  # the scalar's source text ("" for collections)

    @property
    def is_string(self) -> bool:
        return self.go_type == "string"


@dataclass
class Item:
    """One requirement entry of the product's spec, with Go's zero values for absent fields."""

    category: str
    index: int
    line: int
    id: str = ""
    description: str = ""
    level: str = ""
    status: str = ""
    evidence: list[str] | None = None  # None = nil slice (absent or null)
    notes: str = ""
    lines: dict[str, int] = field(default_factory=dict)  # field name -> line of its value


@dataclass
class DecodeIssue:
    line: int | None
    detail: str  # yaml.v3's own wording, e.g. "cannot unmarshal !!str `N/A` into []string"
    where: tuple  # ("metadata", key) | ("spec", category) | ("item", Item, fieldname) | ("doc",)
    kind: str  # "type" | "duplicate" | "fatal" | "syntax"
    node_value: str | None = None  # the offending scalar's text, when it was a scalar
    node_kind: str = ""  # "scalar" | "sequence" | "mapping"


@dataclass
class Decoded:
    metadata: dict[str, MetaValue] | None = None  # None = nil map (absent, null or undecodable)
    spec: dict[str, list[Item] | None] | None = None
    metadata_line: int | None = None
    spec_line: int | None = None
    category_lines: dict[str, int] = field(default_factory=dict)
    issues: list[DecodeIssue] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.issues)


# ----------------------------------------------------------------------------------------------
# Composition: PyYAML node tree, remembering which scalars carried an explicit tag.


class _Loader(yaml.SafeLoader):
    def compose_scalar_node(self, anchor):
        event = self.peek_event()
        node = super().compose_scalar_node(anchor)
        node.explicit_tag = event.tag if event.tag not in (None, "!") else None
        return node

    def compose_sequence_node(self, anchor):
        event = self.peek_event()
        node = super().compose_sequence_node(anchor)
        node.explicit_tag = event.tag if event.tag not in (None, "!") else None
        return node

    def compose_mapping_node(self, anchor):
        event = self.peek_event()
        node = super().compose_mapping_node(anchor)
        node.explicit_tag = event.tag if event.tag not in (None, "!") else None
        return node


def compose_first_document(data: bytes):
    """The root node of the first document (None for an empty stream). Raises yaml.YAMLError."""
    loader = _Loader(data)
    try:
        if loader.check_node():
            return loader.get_node()
        return None
    finally:
        loader.dispose()


# ----------------------------------------------------------------------------------------------
# Scalar resolution with yaml.v3's rules (YAML 1.2-ish core schema plus a few 1.1 leftovers).


def short_tag(tag: str) -> str:
    if tag.startswith(_LONG_PREFIX):
        return "!!" + tag[len(_LONG_PREFIX) :]
    return tag


def _line(node) -> int:
    return node.start_mark.line + 1


def node_tag(node) -> str:
    """The tag yaml.v3's parser stores on a node (explicit, or resolved for plain scalars)."""
    explicit = getattr(node, "explicit_tag", None)
    if explicit:
        return short_tag(explicit)
    if isinstance(node, SequenceNode):
        return "!!seq"
    if isinstance(node, MappingNode):
        return "!!map"
    if node.style:  # quoted, literal or folded
        return "!!str"
    if node.value == "<<":
        return "!!merge"
    return resolve("", node.value)[0]


def indicated_string(node) -> bool:
    if not isinstance(node, ScalarNode):
        return False
    explicit = getattr(node, "explicit_tag", None)
    if explicit:
        return short_tag(explicit) == "!!str"
    return bool(node.style)


def is_null(node) -> bool:
    """Node.ShortTag() == "!!null"."""
    if not isinstance(node, ScalarNode) or indicated_string(node):
        return False
    return node_tag(node) == "!!null"


_RESOLVE_MAP = {}
for _v, _t, _words in (
    (True, "!!bool", ("true", "True", "TRUE")),
    (False, "!!bool", ("false", "False", "FALSE")),
    (_NULL, "!!null", ("", "~", "null", "Null", "NULL")),
    (math.nan, "!!float", (".nan", ".NaN", ".NAN")),
    (math.inf, "!!float", (".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF")),
    (-math.inf, "!!float", ("-.inf", "-.Inf", "-.INF")),
    ("<<", "!!merge", ("<<",)),
):
    for _w in _words:
        _RESOLVE_MAP[_w] = (_t, _v)

_YAML_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?", re.ASCII)
_DOT_FLOAT = re.compile(r"\.[0-9]+([eE][-+]?[0-9]+)?", re.ASCII)
_TS_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})", re.ASCII)
_TS_T = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})[Tt](\d{1,2}):(\d{1,2}):(\d{1,2})(\.\d+)?"
    r"(Z|[+-]\d{2}:\d{2})",
    re.ASCII,
)
_TS_SPACE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2}) (\d{1,2}):(\d{1,2}):(\d{1,2})(\.\d+)?", re.ASCII)
_INT64 = (-(2**63), 2**63 - 1)


def _valid_date(y: str, m: str, d: str) -> bool:
    import calendar

    year, month, day = int(y), int(m), int(d)
    return 1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1]


def _parse_timestamp(s: str) -> bool:
    m = _TS_DATE.fullmatch(s)
    if m:
        return _valid_date(*m.groups())
    for rx in (_TS_T, _TS_SPACE):
        m = rx.fullmatch(s)
        if m:
            y, mo, d, hh, mm, ss = m.groups()[:6]
            return _valid_date(y, mo, d) and int(hh) < 24 and int(mm) < 60 and int(ss) < 60
    return False


def _go_parse_int(s: str, unsigned: bool) -> int | None:
    """strconv.ParseInt(s, 0, 64) / ParseUint(s, 0, 64)."""
    sign = 1
    body = s
    if body[:1] in "+-" and body:
        if unsigned:
            return None
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    if not body:
        return None
    base = 10
    low = body.lower()
    if low.startswith("0x"):
        base, body = 16, body[2:]
    elif low.startswith("0o"):
        base, body = 8, body[2:]
    elif low.startswith("0b"):
        base, body = 2, body[2:]
    elif len(body) > 1 and body[0] == "0":
        base, body = 8, body[1:]
    digits = "0123456789abcdef"[:base]
    if not body or any(c not in digits for c in body.lower()):
        return None
    value = sign * int(body, base)
    if unsigned:
        return value if 0 <= value < 2**64 else None
    return value if _INT64[0] <= value <= _INT64[1] else None


def _go_float(s: str) -> float | None:
    try:
        v = float(s)
    except ValueError:
        return None
    return None if math.isinf(v) else v  # strconv.ParseFloat reports overflow as an error


def resolve(tag: str, value: str) -> tuple[str, Any]:
    """yaml.v3's resolve(): (resolved short tag, value). Raises GoFail on a tag/value mismatch."""
    tag = short_tag(tag)
    if tag not in ("", "!!str", "!!bool", "!!int", "!!float", "!!null", "!!timestamp"):
        return tag, value
    rtag, out = _resolve_plain(tag, value)
    if tag in ("", rtag, "!!str", "!!binary"):
        return rtag, out
    if tag == "!!float" and rtag == "!!int":
        return "!!float", float(out)
    raise GoFail(f"cannot decode {rtag} `{value}` as a {tag}")


def _resolve_plain(tag: str, value: str) -> tuple[str, Any]:
    if tag in ("!!str", "!!binary"):
        return "!!str", value
    hint = value[:1]
    if value == "":
        hint_kind = "N"
    elif hint in "+-":
        hint_kind = "S"
    elif hint.isascii() and hint.isdigit():
        hint_kind = "D"
    elif hint in "yYnNtTfFoO~":
        hint_kind = "M"
    elif hint == ".":
        hint_kind = "."
    else:
        return "!!str", value
    if value in _RESOLVE_MAP:
        return _RESOLVE_MAP[value]
    if hint_kind == ".":
        if _DOT_FLOAT.fullmatch(value):
            f = _go_float(value)
            if f is not None:
                return "!!float", f
    elif hint_kind in "DS":
        if tag in ("", "!!timestamp") and _parse_timestamp(value):
            return "!!timestamp", Timestamp(value)
        plain = value.replace("_", "")
        iv = _go_parse_int(plain, unsigned=False)
        if iv is not None:
            return "!!int", iv
        uv = _go_parse_int(plain, unsigned=True)
        if uv is not None:
            return "!!int", uv
        if _YAML_FLOAT.fullmatch(plain):
            f = _go_float(plain)
            if f is not None:
                return "!!float", f
        for prefix, base in (("0b", 2), ("-0b", 2), ("0o", 8), ("-0o", 8)):
            if plain.startswith(prefix):
                digits = plain[len(prefix) :]
                try:
                    iv = int(digits, base) * (-1 if prefix.startswith("-") else 1)
                except ValueError:
                    continue
                return "!!int", iv
    return "!!str", value


_GO_TYPE_OF_TAG = {"!!int": "int", "!!float": "float64", "!!bool": "bool", "!!timestamp": "time.Time", "!!null": "null"}


def _scalar(node) -> tuple[str, Any]:
    """(tag, resolved) as yaml.v3's decoder.scalar() computes them; resolved is _NULL for null."""
    if indicated_string(node):
        return "!!str", node.value
    tag, resolved = resolve(node_tag(node), node.value)
    if tag == "!!binary":
        try:
            raw = base64.b64decode(node.value.replace("\n", "").replace("\r", ""), validate=True)
        except (binascii.Error, ValueError):
            raise GoFail("!!binary value contains invalid base64 data") from None
        resolved = raw.decode("utf-8", "replace")
    return tag, resolved


def is_merge_key(node) -> bool:
    if not isinstance(node, ScalarNode) or node.value != "<<":
        return False
    explicit = getattr(node, "explicit_tag", None)
    if explicit:
        return short_tag(explicit) == "!!merge"
    return not node.style


def _kind_name(node) -> str:
    if isinstance(node, ScalarNode):
        return "scalar"
    if isinstance(node, SequenceNode):
        return "sequence"
    return "mapping"


# ----------------------------------------------------------------------------------------------
# The decoder proper.


class _Decoder:
    def __init__(self) -> None:
        self.out = Decoded()
        self.steps = 0
        self.active: set[int] = set()

    # -- error helpers -------------------------------------------------------------------------
    def terror(self, node, tag: str, kind: str, where: tuple) -> None:
        tag = node_tag(node) or tag
        value = ""
        if tag not in ("!!seq", "!!map"):
            v = node.value if isinstance(node, ScalarNode) else ""
            value = f" `{v[:7]}...`" if len(v.encode()) > 10 else f" `{v}`"
        self.out.issues.append(
            DecodeIssue(
                _line(node),
                f"line {_line(node)}: cannot unmarshal {tag}{value} into {GO_TYPES[kind]}",
                where,
                "type",
                node.value if isinstance(node, ScalarNode) else None,
                _kind_name(node),
            )
        )

    def duplicates(self, node, where: tuple) -> bool:
        seen: dict[tuple, Any] = {}
        found = False
        for k, _ in node.value:
            key = (type(k).__name__, k.value if isinstance(k, ScalarNode) else "")
            if key in seen:
                first = seen[key]
                self.out.issues.append(
                    DecodeIssue(
                        _line(k),
                        f'line {_line(k)}: mapping key "{key[1]}" already defined at line {_line(first)}',
                        where,
                        "duplicate",
                        key[1],
                        _kind_name(k),
                    )
                )
                found = True
            else:
                seen[key] = k
        return found

    # -- generic entry -------------------------------------------------------------------------
    def unmarshal(self, node, kind: str, where: tuple) -> tuple[bool, Any]:
        self.steps += 1
        if self.steps > _MAX_DECODE_STEPS:
            raise GoFail("document contains excessive aliasing")
        if id(node) in self.active:
            raise GoFail("anchor value contains itself")
        self.active.add(id(node))
        try:
            if isinstance(node, ScalarNode):
                return self.scalar(node, kind, where)
            if isinstance(node, SequenceNode):
                return self.sequence(node, kind, where)
            return self.mapping(node, kind, where)
        finally:
            self.active.discard(id(node))

    def scalar(self, node, kind: str, where: tuple) -> tuple[bool, Any]:
        tag, resolved = _scalar(node)
        if resolved is _NULL:
            # decoder.null(): nil for interfaces, maps and slices; strings and structs stay as is.
            return (True, None) if kind in ("iface", "metamap", "spec", "reqlist", "strlist") else (False, None)
        if kind == "str":
            return True, resolved if tag == "!!binary" else node.value
        if kind == "iface":
            return True, (tag, resolved)
        self.terror(node, tag, kind, where)
        return False, None

    def sequence(self, node, kind: str, where: tuple) -> tuple[bool, Any]:
        if kind not in ("strlist", "reqlist", "iface"):
            self.terror(node, "!!seq", kind, where)
            return False, None
        out = []
        for i, child in enumerate(node.value):
            if kind == "reqlist":
                ok, v = self.requirement(child, where[1], i)
            else:  # []string wants strings; interface{} keeps whatever each element decodes to
                ok, v = self.unmarshal(child, "str" if kind == "strlist" else "iface", where)
            if ok:  # like yaml.v3, an element that failed to decode is left out and the rest kept
                out.append(v)
        return True, (("!!seq", out) if kind == "iface" else out)

    def mapping(self, node, kind: str, where: tuple) -> tuple[bool, Any]:
        if self.duplicates(node, where):
            return False, None
        if kind == "doc":
            return self.doc(node)
        if kind in ("metamap", "spec", "iface"):
            return self.map_value(node, kind, where)
        if kind == "req":
            raise AssertionError("requirements are decoded by requirement()")
        self.terror(node, "!!map", kind, where)
        return False, None

    # -- pairs with merge-key support ------------------------------------------------------------
    def pairs(self, node, where: tuple):
        """Key/value node pairs in decode order: explicit pairs first, then merged ones."""
        explicit = []
        merge_value = None
        for k, v in node.value:
            if is_merge_key(k):
                merge_value = v
            else:
                explicit.append((k, v))
        merged = []
        if merge_value is not None:
            sources = [merge_value] if isinstance(merge_value, MappingNode) else None
            if isinstance(merge_value, SequenceNode) and all(isinstance(s, MappingNode) for s in merge_value.value):
                sources = merge_value.value
            if sources is None:
                raise GoFail("map merge requires map or sequence of maps as the value")
            for src in sources:
                if self.duplicates(src, where):
                    continue
                src_explicit, src_merged = self.pairs(src, where)
                merged.extend(src_explicit + src_merged)
        return explicit, merged

    def _key(self, k, where: tuple) -> tuple[bool, str]:
        if isinstance(k, ScalarNode):
            return self.scalar(k, "str", where)
        self.terror(k, "", "str", where)
        return False, ""

    def map_value(self, node, kind: str, where: tuple) -> tuple[bool, Any]:
        out: dict = {}
        lines: dict = {}
        explicit, merged = self.pairs(node, where)
        seen: set = set()
        for k, v in explicit:
            ok, key = self._key(k, where) if kind != "iface" else (True, self._iface_key(k))
            if not ok:
                continue
            seen.add(key)
            self._set(out, lines, key, v, kind, where)
        for k, v in merged:
            ok, key = self._key(k, where) if kind != "iface" else (True, self._iface_key(k))
            if not ok or key in seen:
                continue
            seen.add(key)
            self._set(out, lines, key, v, kind, where)
        if kind == "iface":
            return True, ("!!map", out)
        return True, (out, lines)

    def _iface_key(self, k):
        if isinstance(k, ScalarNode):
            tag, resolved = _scalar(k)
            return (tag, k.value)
        raise GoFail("invalid map key")

    def _set(self, out: dict, lines: dict, key, v, kind: str, where: tuple) -> None:
        if kind == "metamap":
            ok, val = self.unmarshal(v, "iface", ("metadata", key))
            if ok:
                out[key] = self._meta(v, val)
                lines[key] = _line(v)
        elif kind == "spec":
            ok, val = self.unmarshal(v, "reqlist", ("spec", key))
            if ok or (is_null(v) and key not in out):
                out[key] = val
                lines[key] = _line(v)
        else:
            ok, val = self.unmarshal(v, "iface", where)
            if ok:
                out[key] = val

    @staticmethod
    def _meta(node, val) -> MetaValue:
        text = node.value if isinstance(node, ScalarNode) else ""
        if val is None:
            return MetaValue(None, "null", _line(node), text)
        tag, resolved = val
        if tag == "!!seq":
            return MetaValue(resolved, "list", _line(node), text)
        if tag == "!!map":
            return MetaValue(resolved, "map", _line(node), text)
        if isinstance(resolved, str):
            return MetaValue(resolved, "string", _line(node), text)
        return MetaValue(resolved, _GO_TYPE_OF_TAG.get(tag, tag), _line(node), text)

    # -- structs -------------------------------------------------------------------------------
    def doc(self, node) -> tuple[bool, Any]:
        explicit, merged = self.pairs(node, ("doc",))
        done: set = set()
        for k, v in explicit + merged:
            ok, name = self._key(k, ("doc",))
            if not ok or name in done:
                continue
            done.add(name)
            if name == "metadata":
                self.out.metadata_line = _line(v)
                ok, val = self.unmarshal(v, "metamap", ("metadata", None))
                if ok:
                    self.out.metadata = None if val is None else val[0]
            elif name == "spec":
                self.out.spec_line = _line(v)
                ok, val = self.unmarshal(v, "spec", ("spec", None))
                if ok:
                    if val is None:
                        self.out.spec = None
                    else:
                        self.out.spec, self.out.category_lines = val
        return True, None

    def requirement(self, node, category: str, index: int) -> tuple[bool, Any]:
        item = Item(category=category, index=index, line=_line(node))
        where = ("item", item, None)
        if isinstance(node, ScalarNode):
            if is_null(node):
                return False, None  # a null entry is silently dropped
            tag, _ = _scalar(node)
            self.terror(node, tag, "req", where)
            return False, None
        if isinstance(node, SequenceNode):
            self.terror(node, "!!seq", "req", where)
            return False, None
        self.steps += 1
        for k, v in node.value:  # name the entry in messages even if it cannot be decoded
            if isinstance(k, ScalarNode) and k.value == "id" and isinstance(v, ScalarNode):
                item.id = v.value
        if self.duplicates(node, where):
            return False, None
        item.id = ""
        explicit, merged = self.pairs(node, where)
        done: set = set()
        for k, v in explicit + merged:
            ok, name = self._key(k, where)
            if not ok or name in done or name not in REQUIREMENT_FIELDS:
                continue
            done.add(name)
            fwhere = ("item", item, name)
            item.lines[name] = _line(v)
            if name == "evidence":
                ok, val = self.unmarshal(v, "strlist", fwhere)
                if ok:
                    item.evidence = val
            else:
                ok, val = self.unmarshal(v, "str", fwhere)
                if ok:
                    setattr(item, name, val)
        return True, item


def decode(data: bytes) -> Decoded:
    """Decode PRODUCT.yaml bytes into what CNCF's validator would see, plus any decode issues."""
    try:
        root = compose_first_document(data)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(e, "problem", None) or str(e)
        context = getattr(e, "context", None)
        text = f"{context}: {problem}" if context else str(problem)
        d = Decoded()
        d.issues.append(DecodeIssue(line, text, ("doc",), "syntax"))
        return d
    except (UnicodeDecodeError, ValueError) as e:
        d = Decoded()
        d.issues.append(DecodeIssue(None, f"cannot read the file as text: {e}", ("doc",), "syntax"))
        return d
    dec = _Decoder()
    if root is None:
        return dec.out
    try:
        if isinstance(root, MappingNode):
            dec.mapping(root, "doc", ("doc",))
        elif isinstance(root, ScalarNode):
            if not is_null(root):
                dec.terror(root, "", "doc", ("doc",))
        else:
            dec.terror(root, "!!seq", "doc", ("doc",))
    except GoFail as e:
        dec.out.issues.append(DecodeIssue(None, str(e), ("doc",), "fatal"))
    except RecursionError:
        dec.out.issues.append(DecodeIssue(None, "document nests too deeply", ("doc",), "fatal"))
    return dec.out
