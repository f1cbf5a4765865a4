"""Reference data the demo generator draws from: Kota Kotamobagu's villages, the
names, streets and occupations of Bolaang Mongondow's pekerja rentan.

Villages (BPS 7174) are grouped by district from published village lists, with
district codes in the order Barat, Timur, Selatan, Utara: best public
knowledge, not an official code list. Any other region gets synthetic districts.
"""

from itertools import accumulate
from typing import NamedTuple


class Village(NamedTuple):
    name: str
    office: str  # who submits the list, e.g. "Kelurahan Gogagoman"
    district_code: str  # PPKKCC, the first six digits of a NIK issued there


def _villages(district_code: str, kelurahan: str, desa: str) -> tuple[Village, ...]:
    return tuple(
        Village(name, f"{kind} {name}", district_code)
        for kind, names in (("Kelurahan", kelurahan), ("Desa", desa))
        for name in names.split(",") if name
    )


KOTAMOBAGU_DISTRICTS = {
    "717401": "Kotamobagu Barat",
    "717402": "Kotamobagu Timur",
    "717403": "Kotamobagu Selatan",
    "717404": "Kotamobagu Utara",
}
KOTAMOBAGU_VILLAGES: tuple[Village, ...] = (
    *_villages("717401", "Gogagoman,Kotamobagu,Mogolaing,Molinow,Mongkonai,Mongkonai Barat", ""),
    *_villages(
        "717402",
        "Kotobangon,Matali,Motoboi Besar,Sinindian,Tumobui",
        "Kobo Besar,Kobo Kecil,Moyag,Moyag Tampoan,Moyag Todulan",
    ),
    *_villages(
        "717403",
        "Motoboi Kecil,Mongondow,Pobundayan",
        "Bungko,Kopandakan I,Poyowa Besar I,Poyowa Besar II,Poyowa Kecil,Tabang",
    ),
    *_villages(
        "717404", "Biga,Genggulang,Upai", "Bilalang I,Bilalang II,Pontodon,Pontodon Timur,Sia"
    ),
)
FALLBACK_DISTRICTS, FALLBACK_VILLAGES = 8, 6  # villages per district

# Where KTPs "from another region" come from: neighbouring regencies and Manado, Gorontalo.
FOREIGN_DISTRICT_CODES = ("710101", "710105", "711101", "717101", "717105", "750101", "757101")

MALE_GIVEN = tuple(
    (
        "Abdul Rahmat Hasan Ahmad Arifin Budi Faisal Hamzah Irwan Ismail Jefri Rizal Rusdi "
        "Sofyan Syahrul Yusuf Zainal Fikri Taufik Agus Ridwan Iskandar Marwan Nasrun Rahman "
        "Salim Sukri Hendra Aldi"
    ).split()
)
# Muhammad is by far the most common first name, and "Moh." its usual mismatch.
MALE_FIRST = ("Muhammad",) * 5 + MALE_GIVEN
FEMALE_GIVEN = tuple(
    (
        "Siti Nur Fitri Sri Yuliana Rahmawati Ayu Dewi Nurhayati Fatmawati Hasna Irma Lina "
        "Masita Sartika Wulan Nurul Rosdiana Halima Sumarni Hadija Nining Ratna Suryani Fatima "
        "Aisyah Rukmini Salma Marlina Yanti"
    ).split()
)
FAMILY = tuple(
    (
        "Mokoagow Mokodompit Paputungan Manoppo Damopolii Lasabuda Mamonto Mokoginta Gobel "
        "Pontoh Korompot Tungkagi Mokodongan Makalalag Simbala Potabuga Ginoga Bonde Dilapanga "
        "Mokolensang Kobandaha Gonibala Mokoolang Mokobombang Lantong Mointang"
    ).split()
)
STREETS = (
    "Ahmad Yani", "Adampe Dolot", "Kartini", "Paloko", "Veteran", "Bogani", "Diponegoro",
    "Sudirman", "Siliwangi", "Pierre Tendean", "Bolian", "Datoe Binangkang", "Amal", "Kinalang",
)
# Pekerja rentan occupations as villages write them, weighted (men, women).
OCCUPATIONS = (
    ("Petani", 25, 20),
    ("Buruh Tani", 10, 10),
    ("Pedagang Kaki Lima", 10, 25),
    ("Pengemudi Ojek", 15, 1),
    ("Pengemudi Bentor", 12, 0),
    ("Buruh Bangunan", 12, 1),
    ("Kuli Angkut Pasar", 6, 1),
    ("Nelayan Danau", 2, 0),
    ("Buruh Cuci", 0, 12),
    ("Pelaku Usaha Mikro Miskin Ekstrem", 8, 20),
)
OCCUPATION_NAMES = tuple(name for name, _, _ in OCCUPATIONS)
OCCUPATION_CUM = {
    "L": tuple(accumulate(men for _, men, _ in OCCUPATIONS)),
    "P": tuple(accumulate(women for _, _, women in OCCUPATIONS)),
}
