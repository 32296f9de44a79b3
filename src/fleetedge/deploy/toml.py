"""Writing a role's file back as TOML (the standard library only reads it).

Enough for the roles' files: tables of strings, numbers, booleans and lists of strings, and
tables of such tables (``[principals.normalizer]``), lists of inline tables.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def dumps(data: Mapping[str, Any]) -> str:
    lines = _pairs(data)
    for key, value in data.items():
        if isinstance(value, Mapping):
            lines += ["", *_table(key, value)]
    return "\n".join(lines) + "\n"


def _table(name: str, data: Mapping[str, Any]) -> list[str]:
    lines = [f"[{name}]", *_pairs(data)]
    for key, value in data.items():
        if isinstance(value, Mapping):
            lines += _table(f"{name}.{key}", value)
    return lines


def _pairs(data: Mapping[str, Any]) -> list[str]:
    return [
        f"{key} = {_value(value)}"
        for key, value in data.items()
        if not isinstance(value, Mapping) and value is not None
    ]


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, Mapping):  # in a list: an inline table
        return "{ " + ", ".join(f"{k} = {_value(v)}" for k, v in value.items()) + " }"
    # A JSON string is a valid TOML basic string (the same escapes).
    return json.dumps(str(value))
