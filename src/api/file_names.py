"""File names that come from users (uploads, program ids) made safe for disk and headers."""

import re

_UNSAFE_NAME_CHARS = re.compile(r"[^\w.-]")


def safe_file_name(name: str) -> str:
    """Every character but letters, digits, ``_``, ``.`` and ``-`` becomes ``_``: the name
    can neither leave its folder nor break out of a header's quoted file name."""
    return _UNSAFE_NAME_CHARS.sub("_", name)
