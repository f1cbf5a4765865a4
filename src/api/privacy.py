"""Personal data at the HTTP edge (UU PDP 27/2022): NIKs leave the server masked.

A masked NIK keeps the region (first 6 digits) and the serial (last 4), which
is what a clerk needs to tell two candidates of one village apart.
"""

import re
from typing import Any

_NIK_IN_TEXT = re.compile(r"(?<!\d)(\d{6})\d{6}(\d{4})(?!\d)")


def mask_nik(nik: str) -> str:
    """``7174014503850001`` -> ``717401******0001``; anything not a NIK is hidden whole."""
    if len(nik) == 16 and nik.isdigit():
        return f"{nik[:6]}******{nik[-4:]}"
    return "*" * len(nik)


def mask_text(text: str) -> str:
    """Mask every 16-digit run in free text (problem details, paths, log lines): a NIK
    typed into a URL or echoed in a message must not leave unmasked either."""
    return _NIK_IN_TEXT.sub(r"\1******\2", text)


def with_masked_nik(row: dict[str, Any]) -> dict[str, Any]:
    if row.get("nik") is None:
        return row
    return {**row, "nik": mask_nik(row["nik"])}
