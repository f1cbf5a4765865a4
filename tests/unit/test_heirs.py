import pytest

from ledger import heirs

ORDER = [  # PP 44/2015 art. 37(5), highest first
    ["spouse", "child"],
    ["parent", "grandparent", "grandchild"],
    ["sibling"],
    ["parent_in_law"],
    ["will_beneficiary"],
]
HIGHER_LOWER = [(higher, lower)
                for i, upper in enumerate(ORDER) for below in ORDER[i + 1:]
                for higher in upper for lower in below]
SAME_CLASS = [(a, b) for group in ORDER for a in group for b in group]


def test_the_heirs_classes_follow_the_legal_order():
    assert [sorted({heirs.RANK[r] for r in group}) for group in ORDER] == \
        [[1], [2], [3], [4], [5]]
    assert set(heirs.RANK) == {r for group in ORDER for r in group}


@pytest.mark.parametrize(("higher", "lower"), HIGHER_LOWER)
def test_a_recorded_heir_of_a_higher_class_comes_before_a_payee_of_a_lower_one(higher, lower):
    assert heirs.outranked_by(lower, [higher]) == higher
    assert heirs.outranked_by(higher, [lower]) is None


@pytest.mark.parametrize(("payee", "recorded"), SAME_CLASS)
def test_an_heir_of_the_same_class_does_not_come_before_the_payee(payee, recorded):
    assert heirs.outranked_by(payee, [recorded]) is None


def test_a_widow_and_the_children_share_the_first_class():
    assert heirs.outranked_by("child", ["spouse", "child", "parent"]) is None
    assert heirs.outranked_by("spouse", ["child"]) is None


def test_the_payee_is_told_which_recorded_heir_comes_first_the_highest_one():
    recorded = ["sibling", "parent_in_law", "grandparent", "parent"]

    assert heirs.outranked_by("will_beneficiary", recorded) == "grandparent"
    assert heirs.outranked_by("sibling", recorded) == "grandparent"
    assert heirs.outranked_by("grandchild", recorded) is None


def test_with_no_heir_recorded_nobody_is_outranked():
    assert heirs.outranked_by("will_beneficiary", []) is None
    assert heirs.outranked_by("sibling", []) is None


@pytest.mark.parametrize("heir", [r for group in ORDER for r in group])
def test_whoever_arranged_the_funeral_comes_after_any_heir(heir):
    assert heirs.outranked_by("funeral_arranger", [heir]) == heir


def test_whoever_arranged_the_funeral_is_not_outranked_when_there_is_no_heir():
    assert heirs.outranked_by("funeral_arranger", []) is None
    assert heirs.outranked_by("funeral_arranger", ["funeral_arranger"]) is None


@pytest.mark.parametrize("recorded", [[], ["spouse"], ["will_beneficiary"],
                                      ["child", "parent", "sibling", "funeral_arranger"]])
def test_the_participant_themself_is_never_outranked(recorded):
    assert heirs.outranked_by("self", recorded) is None


def test_the_highest_rank_ignores_relations_that_are_not_heirs():
    assert heirs.highest_rank(["sibling", "parent"]) == 2
    assert heirs.highest_rank(["funeral_arranger", "self"]) is None
    assert heirs.highest_rank([]) is None
