"""Who receives a death benefit: the legal order of heirs (PP 44/2015 art. 37(5)).

    1. the widow or widower, or the children
    2. else direct-line relatives to the 2nd degree (parents, grandparents, grandchildren)
    3. else siblings
    4. else parents-in-law
    5. else the person named in a will
With no heir at all, the funeral benefit goes to whoever arranged the funeral.

A payout to someone lower in the order while a higher heir is on record is refused
unless the officer records why (the higher heir waived, could not be found...).
"""

from typing import Literal

Relation = Literal["spouse", "child", "parent", "grandparent", "grandchild", "sibling",
                   "parent_in_law", "will_beneficiary", "funeral_arranger", "self"]

RANK: dict[str, int] = {
    "spouse": 1, "child": 1,
    "parent": 2, "grandparent": 2, "grandchild": 2,
    "sibling": 3,
    "parent_in_law": 4,
    "will_beneficiary": 5,
}
"""Heir classes in legal order; a lower number comes first."""


def highest_rank(relations: list[str]) -> int | None:
    ranks = [RANK[r] for r in relations if r in RANK]
    return min(ranks) if ranks else None


def outranked_by(relation: str, recorded: list[str]) -> str | None:
    """The relation of a recorded heir who comes before a payee of ``relation``, or None
    when nobody recorded does. A funeral arranger comes after every heir."""
    first = highest_rank(recorded)
    if first is None:
        return None
    rank = RANK.get(relation)
    if relation != "funeral_arranger" and (rank is None or rank <= first):
        return None
    return next(r for r in recorded if RANK.get(r) == first)
