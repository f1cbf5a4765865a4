import pytest

from ledger import tariffs
from ledger.errors import InvalidInput
from ledger.tariffs import Tariff

OJEK = "Pengemudi Ojek"
PP_50_2025 = "PP 50/2025 transport 50%"


def test_the_package_a_government_pays_is_16800_of_jkk_and_jkm_at_the_lowest_bracket():
    tariff = tariffs.tariff_for("2024-05", "APBD")

    assert tariff == Tariff(period="2024-05", amount_idr=16_800, jkk_idr=10_000, jkm_idr=6_800,
                            rule_version="tariff/2015-07", discount=None)


def test_a_year_of_the_package_costs_201600():
    year = [tariffs.tariff_for(f"2024-{m:02d}", "APBD").amount_idr for m in range(1, 13)]

    assert sum(year) == 201_600


def test_the_lowest_bracket_is_an_income_of_one_million_rupiah():
    assert tariffs.tariff_for("2024-05", "APBD", declared_income_idr=1_000_000).jkk_idr == 10_000


def test_the_rule_in_force_is_chosen_by_effective_month():
    assert tariffs.rule_in_force("2015-07").version == "tariff/2015-07"
    assert tariffs.rule_in_force("2025-12").version == "tariff/2015-07"
    assert tariffs.rule_in_force("2026-01").version == "tariff/2026-01"
    assert tariffs.rule_in_force("2030-06").version == "tariff/2026-01"


@pytest.mark.parametrize("source", ["CSR", "DANA_DESA"])
def test_a_transport_worker_paid_by_a_donor_gets_half_off_under_pp_50_2025(source):
    tariff = tariffs.tariff_for("2026-01", source, occupation=OJEK)

    assert tariff == Tariff(period="2026-01", amount_idr=8_400, jkk_idr=5_000, jkm_idr=3_400,
                            rule_version="tariff/2026-01", discount=PP_50_2025)


@pytest.mark.parametrize("source", ["APBD", "APBN"])
def test_a_transport_worker_paid_by_the_government_keeps_the_full_16800(source):
    tariff = tariffs.tariff_for("2026-06", source, occupation=OJEK)

    assert tariff.amount_idr == 16_800
    assert tariff.discount is None
    assert tariff.rule_version == "tariff/2026-01"


@pytest.mark.parametrize(("period", "amount", "version"), [
    ("2025-12", 16_800, "tariff/2015-07"),  # the month before the discount starts
    ("2026-01", 8_400, "tariff/2026-01"),   # its first month
    ("2027-03", 8_400, "tariff/2026-01"),   # its last month
    ("2027-04", 16_800, "tariff/2026-01"),  # the month after it ends
])
def test_the_discount_runs_from_january_2026_to_march_2027_only(period, amount, version):
    tariff = tariffs.tariff_for(period, "CSR", occupation=OJEK)

    assert tariff.amount_idr == amount
    assert tariff.rule_version == version
    assert (tariff.discount == PP_50_2025) == (amount == 8_400)


@pytest.mark.parametrize("occupation", ["Pengemudi Ojek", "ojek online", "Sopir angkot",
                                        "Pengayuh BECAK", "Kurir paket", "Driver bentor"])
def test_transport_occupations_are_recognised_whatever_their_case(occupation):
    assert tariffs.tariff_for("2026-02", "CSR", occupation=occupation).amount_idr == 8_400


@pytest.mark.parametrize("occupation", ["Pedagang kaki lima", "Petani", "Nelayan",
                                        "Buruh bangunan", ""])
def test_other_occupations_pay_the_full_tariff_even_from_a_donor(occupation):
    tariff = tariffs.tariff_for("2026-02", "CSR", occupation=occupation)

    assert tariff.amount_idr == 16_800
    assert tariff.discount is None


def test_every_tariff_names_the_rule_version_it_used():
    for period, source, occupation in [("2016-01", "APBD", ""), ("2024-12", "CSR", OJEK),
                                       ("2026-03", "APBD", OJEK), ("2026-03", "CSR", OJEK),
                                       ("2028-01", "DANA_DESA", "Petani")]:
        tariff = tariffs.tariff_for(period, source, occupation=occupation)
        assert tariff.rule_version == tariffs.rule_in_force(period).version
        assert tariff.amount_idr == tariff.jkk_idr + tariff.jkm_idr
        assert tariff.period == period


def test_an_income_with_no_bracket_in_the_table_is_refused_not_guessed():
    with pytest.raises(InvalidInput) as refused:
        tariffs.tariff_for("2024-05", "APBD", declared_income_idr=1_500_000)

    assert refused.value.field == "declared_income_idr"
    assert "1,500,000" in refused.value.detail


def test_a_month_before_the_first_rule_is_refused():
    with pytest.raises(InvalidInput) as refused:
        tariffs.tariff_for("2015-06", "APBD")

    assert refused.value.field == "period"
    assert "2015-07" in refused.value.detail


def test_a_malformed_month_is_refused_naming_the_period():
    with pytest.raises(InvalidInput) as refused:
        tariffs.tariff_for("2026-1", "CSR", occupation=OJEK)

    assert refused.value.field == "period"


def test_a_month_written_with_spaces_gets_the_same_tariff_as_the_month_itself():
    # tariff_for accepts it (periods.parse strips it), so it must be the same month throughout
    assert tariffs.tariff_for(" 2026-01 ", "CSR", occupation=OJEK) == \
        tariffs.tariff_for("2026-01", "CSR", occupation=OJEK)


def test_the_table_is_ordered_and_every_version_names_its_legal_basis():
    starts = [rule.effective_from for rule in tariffs.TARIFF_RULES]

    assert starts == sorted(starts)
    assert len({rule.version for rule in tariffs.TARIFF_RULES}) == len(tariffs.TARIFF_RULES)
    assert all(rule.legal_basis.strip() for rule in tariffs.TARIFF_RULES)


def test_a_discount_rounds_each_part_down_to_the_whole_rupiah(monkeypatch):
    odd = tariffs.TariffRule(
        version="tariff/test-odd", effective_from="2015-07", legal_basis="test",
        jkk_brackets=(tariffs.JkkBracket(1_000_000, 10_001),), jkm_idr=6_801,
        discounts=(tariffs.Discount(name="a third off", percent=33, first_period="2015-07",
                                    last_period="2099-12", excluded_funding_sources=frozenset(),
                                    occupation_keywords=()),))
    monkeypatch.setattr(tariffs, "TARIFF_RULES", (odd,))

    tariff = tariffs.tariff_for("2024-01", "APBD")

    assert (tariff.jkk_idr, tariff.jkm_idr) == (6_700, 4_556)  # 6700.67 and 4556.67, down
    assert tariff.amount_idr == 11_256
