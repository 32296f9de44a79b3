"""The key-value state the alert rules keep, behind a small interface.

The stream processor passes its own state (Quix Streams' ``State`` has the same ``get`` and
``set``, scoped to the vessel's key and backed by RocksDB and a changelog topic); tests pass a
:class:`DictStore`. Values must be JSON-able.
"""

from __future__ import annotations

from typing import Any, Protocol


class Store(Protocol):
    def get(self, key: str, default: Any = None) -> Any: ...

    def set(self, key: str, value: Any) -> None: ...

    def delete(self, key: str) -> None: ...

    def keys(self, prefix: str) -> list[str]: ...


class DictStore:
    """An in-memory Store."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def set(self, key: str, value: Any) -> None:
        self.data[key] = value

    def delete(self, key: str) -> None:
        self.data.pop(key, None)

    def keys(self, prefix: str) -> list[str]:
        return [k for k in self.data if k.startswith(prefix)]
