"""The written contracts: JSON Schemas of every event and the AsyncAPI document of the topics.

Both are generated from the code (``fleet events docs --write``) and committed under
``docs/``; a test fails when the committed files and the code disagree.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fleetedge.events.base import Event
from fleetedge.events.codec import EVENT_TYPES
from fleetedge.events.topics import SHORE_INPUTS, VESSEL_TOPICS, TopicSpec

SCHEMA_DIR = "schemas"


def schema_file(cls: type[Event]) -> str:
    return f"{cls.KIND}.v{cls.VERSION}.json"


_KEYWORDS = {"ge": "minimum", "le": "maximum", "gt": "exclusiveMinimum", "lt": "exclusiveMaximum"}


def _standard_bounds(node: Any) -> Any:
    """Pydantic writes bounds that follow a validator (our resolution rounding) under its own
    names (``ge``/``le``); JSON Schema calls them minimum/maximum."""
    if isinstance(node, dict):
        return {_KEYWORDS.get(k, k): _standard_bounds(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_standard_bounds(v) for v in node]
    return node


def json_schema(cls: type[Event]) -> dict[str, Any]:
    """The schema of the event's JSON form (what travels), strict about unknown fields."""
    schema: dict[str, Any] = _standard_bounds(cls.model_json_schema(mode="serialization"))
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://fleetedge.dev/schemas/{schema_file(cls)}"
    schema["additionalProperties"] = False
    # Everything the serializer always writes is required, defaults included; fields newer
    # than version 1 are left out of a document of an older version.
    schema["required"] = [name for name in cls.model_fields if name not in cls.SINCE]
    return schema


def _channel(spec: TopicSpec) -> dict[str, Any]:
    return {
        "address": spec.name,
        "description": spec.description,
        "messages": {
            cls.__name__: {"$ref": f"#/components/messages/{cls.__name__}"} for cls in spec.events
        },
        "bindings": {
            "kafka": {
                "topic": spec.name,
                "partitions": spec.partitions,
                "replicas": 3,
                "topicConfiguration": {
                    k: int(v) if v.isdigit() else v
                    for k, v in spec.config.items()
                    if k in ("retention.ms", "retention.bytes")
                },
                "bindingVersion": "0.5.0",
            }
        },
    }


def asyncapi() -> dict[str, Any]:
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "FleetEdge topics",
            "version": "1",
            "description": (
                "Topics of a vessel's Kafka cluster and the shore's fleet.* topics. Ashore, "
                "MirrorMaker 2 mirrors the vessel's outbound "
                "ones as <vessel>.<topic>. Records are JSON (content type application/json) or "
                "the compact binary encoding (application/x-fleetedge-msgpack); see "
                "fleetedge.events.codec. A vessel's reefer.aggregates carries its windows in the "
                "link's compact layout (application/x-fleetedge-window, fleetedge.events.compact), "
                "which the shore's normalizer turns into JSON on fleet.windows."
            ),
        },
        "defaultContentType": "application/json",
        "channels": {
            spec.name.replace(".", "-"): _channel(spec) for spec in VESSEL_TOPICS + SHORE_INPUTS
        },
        "components": {
            "messages": {
                cls.__name__: {
                    "name": cls.KIND,
                    "title": cls.__name__,
                    "summary": (cls.__doc__ or "").strip().splitlines()[0],
                    "payload": {"$ref": f"{SCHEMA_DIR}/{schema_file(cls)}"},
                }
                for cls in EVENT_TYPES
            }
        },
    }


def render() -> dict[str, str]:
    """Relative path under docs/ → file content, for every generated document."""
    files = {
        f"{SCHEMA_DIR}/{schema_file(cls)}": json.dumps(json_schema(cls), indent=2) + "\n"
        for cls in EVENT_TYPES
    }
    files["asyncapi.json"] = json.dumps(asyncapi(), indent=2) + "\n"
    return files


def write(docs_dir: Path) -> list[Path]:
    written = []
    for rel, text in render().items():
        path = docs_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    return written


def stale(docs_dir: Path) -> list[str]:
    """Generated files that are missing or differ from the code."""
    return [
        rel
        for rel, text in render().items()
        if not (docs_dir / rel).exists() or (docs_dir / rel).read_text() != text
    ]
