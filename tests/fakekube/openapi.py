"""OpenAPI v3 documents for the kinds the fake serves, built from the official client's models.

Helm (through kubectl's validator) reads ``/openapi/v3`` and, per group/version, the PATCH
operations: a cluster whose PATCH takes the ``fieldValidation`` query parameter (every cluster
since 1.25) gets the manifests with ``fieldValidation=Strict`` and validates them itself. The
fake does the same with the same schemas (``unknown_fields``), so a chart with a misspelt field
fails as on a real cluster.

Rather than hand-writing schemas, this walks the ``openapi_types``/``attribute_map`` tables the
Python client was generated from (themselves generated from the real OpenAPI), so the field
names and nesting are Kubernetes' own.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Iterable
from typing import Any

import kubernetes.client as k8s

_LIST = re.compile(r"^List\[(.+)\]$")
_DICT = re.compile(r"^Dict\[str, (.+)\]$")
_PRIMITIVES: dict[str, dict[str, Any]] = {
    "str": {"type": "string"},
    "int": {"type": "integer", "format": "int64"},
    "float": {"type": "number", "format": "double"},
    "bool": {"type": "boolean"},
    "datetime": {"type": "string", "format": "date-time"},
    "date": {"type": "string", "format": "date"},
    "bytes": {"type": "string", "format": "byte"},
    "object": {},
}
REF = "#/components/schemas/"


def _schema_for(type_name: str, schemas: dict[str, Any]) -> dict[str, Any]:
    if type_name in _PRIMITIVES:
        return dict(_PRIMITIVES[type_name])
    if m := _LIST.match(type_name):
        return {"type": "array", "items": _schema_for(m[1], schemas)}
    if m := _DICT.match(type_name):
        return {"type": "object", "additionalProperties": _schema_for(m[1], schemas)}
    _define(type_name, schemas)
    return {"$ref": REF + type_name}


def _define(model: str, schemas: dict[str, Any]) -> None:
    if model in schemas:
        return
    cls = getattr(k8s, model)
    schemas[model] = {}  # reserve first: models refer to themselves (JSONSchemaProps)
    properties = {
        cls.attribute_map[attr]: _schema_for(type_name, schemas)
        for attr, type_name in cls.openapi_types.items()
    }
    schemas[model] = {"type": "object", "properties": properties}


def model_name(version: str, kind: str) -> str:
    """The client's model class: ``V1Deployment``; core Events are ``CoreV1Event``."""
    plain = f"{version.capitalize()}{kind}"
    return plain if hasattr(k8s, plain) else f"Core{plain}"


@functools.cache
def schemas_for(kinds: tuple[tuple[str, str, str], ...]) -> dict[str, Any]:
    """``components.schemas`` for ``(group, version, kind)`` triples and all they refer to."""
    schemas: dict[str, Any] = {}
    for group, version, kind in kinds:
        model = model_name(version, kind)
        _define(model, schemas)
        schemas[model]["x-kubernetes-group-version-kind"] = [
            {"group": group, "version": version, "kind": kind}
        ]
    return schemas


def group_version_doc(
    prefix: str, resources: Iterable[tuple[str, str, str, str, bool]]
) -> dict[str, Any]:
    """The OpenAPI v3 document of one group/version: ``(group, version, kind, plural, namespaced)``.

    Each object path has a PATCH operation tagged with its GVK that accepts ``fieldValidation``.
    """
    resources = list(resources)
    paths: dict[str, Any] = {}
    for group, version, kind, plural, namespaced in resources:
        scope = "/namespaces/{namespace}" if namespaced else ""
        gvk = {"group": group, "version": version, "kind": kind}
        paths[f"/{prefix}{scope}/{plural}/{{name}}"] = {
            "patch": {
                "operationId": f"patch{kind}",
                "x-kubernetes-group-version-kind": gvk,
                "x-kubernetes-action": "patch",
                "parameters": [
                    {"name": name, "in": "query", "schema": {"type": "string"}}
                    for name in ("dryRun", "fieldManager", "fieldValidation", "force")
                ],
                "responses": {
                    "200": {
                        "content": {
                            "application/json": {
                                "schema": {"$ref": REF + model_name(version, kind)}
                            }
                        }
                    }
                },
            }
        }
    schemas = schemas_for(tuple(sorted((g, v, k) for g, v, k, _, _ in resources)))
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes (fakekube)", "version": "unversioned"},
        "paths": paths,
        "components": {"schemas": schemas},
    }


def doc_hash(doc: dict[str, Any]) -> str:
    return hashlib.sha512(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:64].upper()


def unknown_fields(obj: Any, version: str, kind: str, group: str) -> list[str]:
    """Dotted paths of fields ``obj`` has that its schema does not (what Strict rejects)."""
    schemas = schemas_for(((group, version, kind),))
    found: list[str] = []

    def walk(value: Any, schema: dict[str, Any], path: str) -> None:
        while "$ref" in schema:
            schema = schemas[schema["$ref"].removeprefix(REF)]
        if isinstance(value, dict) and "properties" in schema:
            for key, item in value.items():
                if key not in schema["properties"]:
                    found.append(f"{path}.{key}" if path else key)
                else:
                    walk(item, schema["properties"][key], f"{path}.{key}" if path else key)
        elif isinstance(value, dict) and "additionalProperties" in schema:
            for key, item in value.items():
                walk(item, schema["additionalProperties"], f"{path}.{key}")
        elif isinstance(value, list) and "items" in schema:
            for index, item in enumerate(value):
                walk(item, schema["items"], f"{path}[{index}]")

    walk(obj, schemas[model_name(version, kind)], "")
    return found
