"""Small helpers for writing the same SQL on PostgreSQL and SQLite."""

from collections.abc import Sequence
from typing import Any

CHUNK = 500
"""Rows per IN-list: under SQLite's bound-parameter limit, big enough to matter."""


def chunks(values: Sequence[Any], size: int = CHUNK) -> list[Sequence[Any]]:
    return [values[i : i + size] for i in range(0, len(values), size)]
