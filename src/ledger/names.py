"""Comparing Indonesian names the way a verification officer would.

Village lists and the civil registry spell the same person differently:
case, punctuation, titles and abbreviations (Moh., Muh. for Muhammad), and
typing slips. Names are normalised first, then compared with a fuzzy score
0-100 that ignores word order; the threshold that counts as "the same" is a
rule (``VerificationRules``), not a literal here.
"""

import re
import unicodedata

from rapidfuzz import fuzz

_ABBREVIATIONS = {
    "MOH": "MUHAMMAD",
    "MOCH": "MUHAMMAD",
    "MUH": "MUHAMMAD",
    "MUHAMAD": "MUHAMMAD",
    "MOHAMMAD": "MUHAMMAD",
    "MOHAMAD": "MUHAMMAD",
    "M": "MUHAMMAD",
    "ABD": "ABDUL",
    "HJ": "HAJJAH",
    "H": "HAJI",
}
_NOT_LETTERS = re.compile(r"[^A-Z ]+")


def normalise(name: str) -> str:
    if not name.isascii():  # accents and other marks become their base letters
        name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    words = _NOT_LETTERS.sub(" ", name.upper()).split()
    return " ".join([_ABBREVIATIONS.get(word, word) for word in words])


def similarity(a: str, b: str) -> int:
    """Score 0-100 of two names after normalisation, word order ignored."""
    if a == b or a.upper() == b.upper():  # most rows of a clean list: nothing to compare
        return 100
    return round(fuzz.token_sort_ratio(normalise(a), normalise(b)))
