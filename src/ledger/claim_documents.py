"""The documents a claim needs before it can be approved, by benefit and circumstance.

Typical JKM documents (DOMAIN.md): KPJ card, e-KTP of the deceased and of the heir, death
certificate, family card, heir certificate, marriage book for a spouse, savings book. JKK:
the accident reports (stages I-II), a chronology with two witnesses, a police report for a
traffic accident, medical receipts. docs/claims.md lists them; a test keeps it in step.
"""

from ledger.events import ClaimReported

DOCUMENTS = {
    "kpj_card": "the participant's BPJS TK card (KPJ)",
    "ktp_deceased": "e-KTP of the deceased",
    "ktp_heir": "e-KTP of the heir",
    "death_certificate": "death certificate (akta kematian)",
    "family_card": "family card (kartu keluarga)",
    "heir_certificate": "heir certificate (surat keterangan ahli waris)",
    "marriage_book": "marriage book, when the heir is the spouse",
    "savings_book": "the payee's savings book",
    "ktp": "e-KTP of the injured participant",
    "accident_report_stage_1": "accident report, stage I (within 2 x 24 hours)",
    "accident_report_stage_2": "accident report, stage II (after treatment)",
    "chronology_with_witnesses": "chronology of the accident signed by two witnesses",
    "police_report": "police report, for a traffic accident",
    "medical_receipts": "medical and transport receipts",
}


def required_documents(reported: ClaimReported, heir_relations: list[str]) -> list[str]:
    if reported.benefit == "JKM":
        docs = ["kpj_card", "ktp_deceased", "ktp_heir", "death_certificate", "family_card",
                "heir_certificate", "savings_book"]
    else:
        docs = ["kpj_card", "accident_report_stage_1", "accident_report_stage_2",
                "chronology_with_witnesses", "medical_receipts", "savings_book"]
        docs += (["ktp_deceased", "ktp_heir", "death_certificate", "family_card",
                  "heir_certificate"] if reported.fatal else ["ktp"])
        if reported.traffic_accident:
            docs.append("police_report")
    if "spouse" in heir_relations:
        docs.append("marriage_book")
    return docs
