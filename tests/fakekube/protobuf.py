"""Decoding the Kubernetes protobuf wire format for the kinds clients send that way.

Helm's secrets driver writes release records with ``Content-Type:
application/vnd.kubernetes.protobuf``: the magic ``k8s\\0`` then a ``runtime.Unknown``
(typeMeta = 1, raw = 2, contentEncoding = 3, contentType = 4) whose ``raw`` is the object in
its generated.proto encoding. Only what those bodies carry is decoded: Secret and ConfigMap with
their ObjectMeta, and DeleteOptions (accepted, its options unread); the field numbers are
those of k8s.io/api and k8s.io/apimachinery.
Anything else is answered 415, as a server that cannot decode it would.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

MAGIC = b"k8s\x00"
ZERO_TIME = "1970-01-01T00:00:00Z"


class ProtobufError(ValueError):
    """A body this decoder does not understand."""


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ProtobufError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def fields(data: bytes) -> Iterator[tuple[int, int | bytes]]:
    """(field number, value) pairs: varints as int, length-delimited as bytes."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
            yield number, value
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise ProtobufError("truncated field")
            yield number, data[pos : pos + length]
            pos += length
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        else:
            raise ProtobufError(f"unsupported wire type {wire}")


def _text(value: int | bytes) -> str:
    if not isinstance(value, bytes):
        raise ProtobufError("expected a string")
    return value.decode()


def _entry(value: int | bytes) -> tuple[str, bytes]:
    if not isinstance(value, bytes):
        raise ProtobufError("expected a map entry")
    parts = dict(fields(value))
    key, item = parts.get(1, b""), parts.get(2, b"")
    if not isinstance(key, bytes) or not isinstance(item, bytes):
        raise ProtobufError("bad map entry")
    return key.decode(), item


def _time(value: int | bytes) -> str:
    if not isinstance(value, bytes):
        raise ProtobufError("expected a Time")
    seconds = dict(fields(value)).get(1, 0)
    if not isinstance(seconds, int):
        raise ProtobufError("bad Time")
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _object_meta(data: bytes) -> dict[str, Any]:
    """ObjectMeta; gogo-proto writes unset strings, zero numbers and zero times too: dropped."""
    meta: dict[str, Any] = {}
    names = {1: "name", 2: "generateName", 3: "namespace", 5: "uid", 6: "resourceVersion"}
    for number, value in fields(data):
        if number in names and value:
            meta[names[number]] = _text(value)
        elif number == 7 and isinstance(value, int) and value:
            meta["generation"] = value
        elif number == 8 and (stamp := _time(value)) != ZERO_TIME:
            meta["creationTimestamp"] = stamp
        elif number in (11, 12):
            key, item = _entry(value)
            meta.setdefault("labels" if number == 11 else "annotations", {})[key] = item.decode()
        elif number == 14:
            meta.setdefault("finalizers", []).append(_text(value))
    return meta


def _secret(data: bytes) -> dict[str, Any]:
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": "Secret"}
    for number, value in fields(data):
        if number == 1 and isinstance(value, bytes):
            obj["metadata"] = _object_meta(value)
        elif number == 2:
            key, item = _entry(value)
            obj.setdefault("data", {})[key] = base64.b64encode(item).decode()
        elif number == 3 and value:
            obj["type"] = _text(value)
        elif number == 4:
            key, item = _entry(value)
            obj.setdefault("stringData", {})[key] = item.decode()
        elif number == 5 and isinstance(value, int):
            obj["immutable"] = bool(value)
    return obj


def _config_map(data: bytes) -> dict[str, Any]:
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": "ConfigMap"}
    for number, value in fields(data):
        if number == 1 and isinstance(value, bytes):
            obj["metadata"] = _object_meta(value)
        elif number == 2:
            key, item = _entry(value)
            obj.setdefault("data", {})[key] = item.decode()
        elif number == 3:
            key, item = _entry(value)
            obj.setdefault("binaryData", {})[key] = base64.b64encode(item).decode()
        elif number == 4 and isinstance(value, int):
            obj["immutable"] = bool(value)
    return obj


def _delete_options(data: bytes) -> dict[str, Any]:
    """DeleteOptions as a DELETE body: the fake deletes at once whatever the options say."""
    del data
    return {"apiVersion": "v1", "kind": "DeleteOptions"}


_DECODERS = {
    ("v1", "Secret"): _secret,
    ("v1", "ConfigMap"): _config_map,
    ("v1", "DeleteOptions"): _delete_options,
    ("meta.k8s.io/v1", "DeleteOptions"): _delete_options,
}


def decode_object(raw: bytes) -> dict[str, Any]:
    """The JSON form of a protobuf-encoded Secret or ConfigMap; ProtobufError otherwise."""
    if not raw.startswith(MAGIC):
        raise ProtobufError("no k8s protobuf magic")
    envelope = dict(fields(raw[len(MAGIC) :]))
    type_meta, body = envelope.get(1, b""), envelope.get(2, b"")
    if not isinstance(type_meta, bytes) or not isinstance(body, bytes):
        raise ProtobufError("bad runtime.Unknown envelope")
    names = dict(fields(type_meta))
    api_version, kind = _text(names.get(1, b"")), _text(names.get(2, b""))
    decoder = _DECODERS.get((api_version, kind))
    if decoder is None:
        raise ProtobufError(f"fakekube cannot decode protobuf {api_version}/{kind}")
    return decoder(body)
