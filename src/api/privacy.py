"""Personal data at the HTTP edge (UU PDP 27/2022): NIKs leave the server masked.

A masked NIK keeps the region (first 6 digits) and the serial (last 4), which
is what a clerk needs to tell two candidates of one village apart.
"""

import re
from typing import Any

import msgspec

from ledger.personal_data import Keyring

HIDDEN_FIELDS = ("mother_name",)
_SEALED_COLUMNS = ("nik_masked", "nik_sealed", "full_name_sealed", "birth_date_sealed")
_NIK_IN_TEXT = re.compile(r"(?<!\d)(\d{6})\d{6}(\d{4})(?!\d)")


def mask_text(text: str) -> str:
    """Mask every 16-digit run in free text (problem details, paths, log lines): a NIK
    typed into a URL or echoed in a message must not leave unmasked either."""
    return _NIK_IN_TEXT.sub(r"\1******\2", text)


def participant_view(row: dict[str, Any], keyring: Keyring) -> dict[str, Any]:
    """A ``participant_status`` row as responses show it: the NIK masked, the name and
    birth date opened, nothing sealed or hashed."""
    shown = {k: v for k, v in row.items() if k not in _SEALED_COLUMNS}
    shown.update(nik=row["nik_masked"], full_name=keyring.unseal(row["full_name_sealed"]),
                 birth_date=keyring.unseal(row["birth_date_sealed"]))
    return shown


def shown_payload(data: dict[str, Any]) -> dict[str, Any]:
    """An event's payload as responses show it: NIKs masked wherever they appear and the
    mother's maiden name hidden. It is compared at verification, never displayed: no role
    the ledger serves needs to read it back."""
    shown = msgspec.json.decode(mask_text(msgspec.json.encode(data).decode()))
    for field in HIDDEN_FIELDS:
        if shown.get(field) is not None:
            shown[field] = "(hidden)"
    return shown
