"""Small helpers for writing the same SQL on PostgreSQL and SQLite."""

from collections.abc import Mapping, Sequence
from typing import Any

CHUNK = 500
"""Rows per IN-list: under SQLite's bound-parameter limit, big enough to matter."""


def in_list(values: Sequence[Any], prefix: str = "v") -> tuple[str, dict[str, Any]]:
    """``(:v0, :v1, ...)`` and its parameters, for ``WHERE col IN ...``."""
    params = {f"{prefix}{i}": value for i, value in enumerate(values)}
    return "(" + ", ".join(f":{name}" for name in params) + ")", params


def chunks(values: Sequence[Any], size: int = CHUNK) -> list[Sequence[Any]]:
    return [values[i : i + size] for i in range(0, len(values), size)]


def upsert(table: str, columns: Sequence[str], key: Sequence[str]) -> str:
    """INSERT ... ON CONFLICT (key) DO UPDATE, with an explicit column list."""
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) "
        f"VALUES ({', '.join(':' + c for c in columns)}) "
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}"
    )


def rows_of(columns: Sequence[str], records: Sequence[Mapping[str, Any]]) -> list[dict]:
    return [{c: record[c] for c in columns} for record in records]
