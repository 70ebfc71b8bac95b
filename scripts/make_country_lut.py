#!/usr/bin/env python3
"""make_country_lut.py: build project/seeds/country_lut.csv.

country_in (a raw country as users.country holds it: lower case, trimmed,
no quotes) -> country_out (one canonical English name per country, in the
case ISO 3166 writes it). Sources: Debian's iso-codes (ISO 3166-1 names,
common and official names, alpha-2 and alpha-3 codes, ISO 3166-2
subdivision names of the countries where users name a state instead of a
country) and the variants seen in the Book-Crossing Users file
(shared/data/PROFILE.md). Run it again after changing VARIANTS; the CSV is
committed so that builds do not need python.
"""
import csv
import json
import sys

ISO = "/usr/share/iso-codes/json/"

# Canonical names where ISO's is long or unusual for readers.
CANONICAL = {
    "US": "United States", "GB": "United Kingdom", "RU": "Russia", "KR": "South Korea",
    "KP": "North Korea", "IR": "Iran", "SY": "Syria", "VE": "Venezuela", "BO": "Bolivia",
    "TZ": "Tanzania", "VN": "Vietnam", "LA": "Laos", "MD": "Moldova", "TW": "Taiwan",
    "CZ": "Czech Republic", "MK": "North Macedonia", "PS": "Palestine", "VA": "Vatican City",
    "BN": "Brunei", "FM": "Micronesia", "CD": "Democratic Republic of the Congo",
    "CG": "Republic of the Congo", "CI": "Côte d'Ivoire", "TR": "Turkey",
}

# Variants seen in the data, and other spellings, by alpha-2 code.
VARIANTS = {
    "US": ["usa", "u.s.a.", "u.s.a", "us", "u.s.", "united states", "united states of america",
           "america", "united state", "united stated", "unites states", "the united states",
           "usa now", "u s a", "us of a", "united staes", "unite states", "usa.", "u.s. of a.",
           "los estados unidos", "estados unidos", "good old usa !", "good old u.s.a.",
           "united sates", "usa & canada", "usa (currently living in england)", "stati uniti",
           "vereinigte staaten von amerika", "etats unis", "america u.s.a", "amerika"],
    "GB": ["alderney", "uk", "u.k.", "gb", "great britain", "england", "scotland", "wales",
           "northern ireland", "united kingdom", "united kindgdom", "united kingdom.",
           "england uk", "england, uk", "uk.", "britain", "the united kingdom", "u.k",
           "united kindom", "untied kingdom", "english", "cymru", "guernsey", "jersey",
           "isle of man", "channel islands"],
    "DE": ["deutschland", "germany", "de", "german", "bundesrepublik deutschland", "allemagne",
           "alemania", "germania", "frg"],
    "ES": ["espaã?±a", "españa", "espana", "spain", "catalunya spain", "catalunya", "catalonia",
           "euskal herria", "galiza", "galicia", "espaã±a", "spanien", "espagne", "spagna",
           "canary islands", "basque country", "país vasco", "andalucia"],
    "IT": ["itlay", "italia", "l`italia", "l'italia", "italy", "italien", "italie", "sicilia", "sardegna",
           "ital"],
    "NL": ["netherlands", "the netherlands", "holland", "nederland", "netherland",
           "the netherlands.", "pays-bas", "paesi bassi"],
    "FR": ["france", "la france", "frankreich", "francia", "fr", "la france métropolitaine"],
    "CH": ["switzerland", "suisse", "la suisse", "schweiz", "svizzera", "la svizzera",
           "swiss", "helvetia", "suiza"],
    "AT": ["austria", "österreich", "osterreich", "oesterreich", "autriche"],
    "BE": ["belgium", "belgique", "belgië", "belgie", "la belgique", "belgien"],
    "PT": ["portugal", "portuguesa"],
    "CA": ["le canada", "canada", "kanada", "quebec", "ontario", "british columbia", "alberta",
           "nova scotia", "cananda", "canada."],
    "AU": ["australia", "austalia", "australien", "oz", "new south wales", "queensland",
           "victoria", "western australia", "tasmania"],
    "NZ": ["new zealand", "nz", "aotearoa", "new zealand."],
    "IE": ["ireland", "eire", "éire", "republic of ireland", "irlanda"],
    "MY": ["malaysia", "malaysian"],
    "SG": ["singapore", "singapore."],
    "PH": ["philippines", "phillipines", "philippine", "the philippines", "pilipinas"],
    "CN": ["china", "p.r.china", "p.r. china", "prc", "people's republic of china", "china."],
    "TW": ["taiwan", "republic of china", "r.o.c.", "taiwan r.o.c."],
    "KR": ["south korea", "korea", "republic of korea", "korea, republic of"],
    "RU": ["russia", "russian federation", "россия"],
    "IN": ["india", "bharat"],
    "BR": ["brazil", "brasil"],
    "MX": ["mã?©xico", "mexico", "méxico", "méjico"],
    "AR": ["la argentina", "argentina", "república argentina"],
    "SE": ["sweden", "sverige"],
    "NO": ["norway", "norge"],
    "DK": ["denmark", "danmark"],
    "FI": ["finland", "suomi"],
    "GR": ["greece", "hellas", "ellada"],
    "PL": ["poland", "polska"],
    "CZ": ["czech republic", "czechia", "ceska republika", "česká republika"],
    "TR": ["turkey", "türkiye", "turkiye"],
    "IL": ["israel"],
    "ZA": ["south africa", "suid-afrika", "rsa"],
    "JP": ["japan", "nippon"],
    "HK": ["hong kong", "hongkong", "hong kong sar"],
    "AE": ["united arab emirates", "uae", "u.a.e.", "u.a.e"],
    "RO": ["romania", "românia"],
    "HR": ["croatia", "hrvatska"],
    "SI": ["slovenia", "slovenija"],
    "SK": ["slovakia", "slovensko", "slovak republic"],
    "HU": ["hungary", "magyarország"],
    "IS": ["iceland", "ísland"],
    "LU": ["luxembourg", "luxemburg"],
    "VN": ["vietnam", "viet nam"],
    "ID": ["indonesia"],
    "TH": ["thailand"],
    "EG": ["egypt"],
    "NG": ["nigeria"],
    "PK": ["pakistan"],
    "IR": ["iran"],
    "CO": ["colombia"],
    "CL": ["chile"],
    "PE": ["peru", "perú"],
    "VE": ["venezuela"],
    "UY": ["uruguay"],
    "CU": ["cuba"],
    "PR": ["puerto rico"],
    "KE": ["kenya"],
    "QA": ["qatar"],
    "KW": ["kuwait"],
    "SA": ["saudi arabia"],
    "BG": ["bulgaria", "българия"],
    "EE": ["estonia", "eesti"],
    "LV": ["latvia", "latvija"],
    "LT": ["lithuania", "lietuva"],
    "UA": ["ukraine", "україна"],
    "CY": ["cyprus"],
    "MT": ["malta"],
    "MK": ["macedonia", "republic of macedonia", "fyrom"],
    "UY": ["uruguay", "urugua"],
    "BN": ["brunei", "brunei darussalam"],
    "MM": ["burma", "myanmar"],
    "CI": ["cote d`ivoire", "cote d'ivoire", "ivory coast"],
    "CV": ["cape verde"],
    "TT": ["trinidad", "trinidad and tobago", "tobago"],
    "VA": ["holy see", "vatican"],
    "MO": ["macau", "macao"],
    "LK": ["srilanka", "sri lanka", "ceylon"],
    "SZ": ["swaziland"],
    "FM": ["micronesia"],
    "VI": ["u.s. virgin islands", "us virgin islands"],
    "VC": ["st. vincent and the grenadines", "saint vincent"],
}

# Subdivisions named in place of the country (a state given as the country).
SUBDIVISION_COUNTRIES = ["US", "CA", "AU"]


def main():
    out_path = sys.argv[1] if len(sys.argv) > 1 else "project/seeds/country_lut.csv"
    countries = json.load(open(ISO + "iso_3166-1.json"))["3166-1"]
    subs = json.load(open(ISO + "iso_3166-2.json"))["3166-2"]
    canon = {}
    lut = {}

    def add(raw, code):
        key = raw.strip().lower().replace('"', "")
        if key and key not in lut:
            lut[key] = canon[code]

    for c in countries:
        canon[c["alpha_2"]] = CANONICAL.get(c["alpha_2"], c.get("common_name", c["name"]))
    for code, names in VARIANTS.items():
        for n in names:
            if code in canon:
                add(n, code)
    for c in countries:
        code = c["alpha_2"]
        for key in ("name", "common_name", "official_name"):
            if key in c:
                add(c[key], code)
        add(c["alpha_3"], code)
        add(code, code)
    for s in subs:
        code = s["code"][:2]
        if code in SUBDIVISION_COUNTRIES and s["type"] in ("State", "Province", "Territory",
                                                           "District", "Outlying area"):
            add(s["name"], code)
    with open(out_path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["country_in", "country_out"])
        for k in sorted(lut):
            w.writerow([k, lut[k]])
    print(f"{out_path}: {len(lut)} spellings of {len(set(lut.values()))} countries")


if __name__ == "__main__":
    main()
