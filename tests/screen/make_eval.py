#!/usr/bin/env python3
"""Builds the screening evaluation set tests/screen/eval.tsv from the bundled
Consolidated Screening List snapshot (data/lists/csl-2026-07-31.csv).

Positives: listed entries (stratified over the source lists), each written the
way exporters really type names: typos, reordered words, legal forms changed,
Cyrillic transliteration, aliases, extra words, a dropped middle word, spacing
and punctuation, given-name spellings, diacritics; then (with a random
generator of their own, so the rows above stay as they were) names without
their city or province prefix, without their parenthesised acronym, and with
the usual abbreviations (Intl, Tech, Corp, Co, Sys, Mfg). Negatives ("decoys"):
plausible company and person names that are not listed.

The output is deterministic (fixed seed) and checked in; rerun only to
regenerate it:  python3 tests/screen/make_eval.py > tests/screen/eval.tsv
A second set made with another seed is kept as a hold-out (never used to tune):
                python3 tests/screen/make_eval.py 7 > tests/screen/holdout.tsv

Columns: kind (hit|decoy), variant, query, country, list code, source_id,
listed name the variant was made from.
"""
import collections
import csv
import hashlib
import os
import random
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CSL = os.path.join(HERE, "..", "..", "data", "lists", "csl-2026-07-31.csv")
SEED = int(sys.argv[1]) if len(sys.argv) > 1 else 20260731
rng = random.Random(SEED)
rng2 = random.Random(SEED * 1000003 + 17)  # the kinds added later (EXTRA_MAKERS)

LEGAL = {
    "ltd", "limited", "co", "company", "corp", "corporation", "inc", "incorporated", "llc", "llp",
    "plc", "gmbh", "ag", "sa", "sas", "sarl", "srl", "spa", "bv", "nv", "oy", "ab", "as", "jsc",
    "ojsc", "cjsc", "pjsc", "ooo", "oao", "zao", "pao", "ao", "pte", "pvt", "pty", "fze", "fzco",
    "fzc", "bhd", "sdn", "tov", "joint", "stock", "liability", "private", "public", "de", "cv",
}

def content_id(r):
    """The id acegate gives an entry its file gives none (docs/screening.md): csl: and the
    first 12 hex digits of SHA-256 over list code, name, Federal Register citation and
    addresses, each followed by a NUL byte."""
    f = [code_of(r["source"].strip(" \t")), r["name"].strip(" \t"),
         r["federal_register_notice"].strip(" \t"), r["addresses"].strip(" \t")]
    return "csl:" + hashlib.sha256(b"".join(x.encode() + b"\0" for x in f)).hexdigest()[:12]

def code_of(source):
    m = re.search(r"\(([^)]*)\)", source)
    c = m.group(1) if m else source
    return c[:-5] if c.endswith(" List") else c

def words(name):
    return re.findall(r"[A-Za-z0-9']+", name)

def key_tokens(name):
    return [w.lower() for w in words(name) if w.lower() not in LEGAL]

# ---- variant makers: each returns a new string or None if not applicable ----

KEYB = "qwertyuiop asdfghjkl zxcvbnm".split()

def neighbour(c):
    lc = c.lower()
    for row in KEYB:
        i = row.find(lc)
        if i >= 0:
            opts = [row[j] for j in (i - 1, i + 1) if 0 <= j < len(row)]
            r = rng.choice(opts)
            return r.upper() if c.isupper() else r
    return c

def v_typo(name, e):
    ws = [(m.start(), m.end()) for m in re.finditer(r"[A-Za-z]{5,}", name)
          if m.group(0).lower() not in LEGAL]
    if not ws:
        return None
    s, t = rng.choice(ws)
    w = name[s:t]
    i = rng.randrange(1, len(w) - 1)
    op = rng.choice(["sub", "del", "ins", "swap"])
    if op == "sub":
        w = w[:i] + neighbour(w[i]) + w[i + 1:]
    elif op == "del":
        w = w[:i] + w[i + 1:]
    elif op == "ins":
        w = w[:i] + w[i] + w[i:]
    else:
        w = w[:i] + w[i + 1] + w[i] + w[i + 2:]
    return name[:s] + w + name[t:]

def v_reorder(name, e):
    if "," in name and e["type"] == "Individual":
        last, first = name.split(",", 1)
        return first.strip() + " " + last.strip()
    ws = name.replace(",", " ").split()
    core = [i for i, w in enumerate(ws) if w.lower().strip(".") not in LEGAL]
    if len(core) < 2:
        return None
    i = rng.randrange(len(core) - 1)
    a, b = core[i], core[i + 1]
    ws[a], ws[b] = ws[b], ws[a]
    return " ".join(ws)

LEGAL_SUFFIX = re.compile(
    r"[ ,]+(Co\.?,? ?Ltd\.?|Company Limited|Limited|Ltd\.?|LLC|L\.L\.C\.|Inc\.?|Incorporated|"
    r"Corp\.?|Corporation|GmbH|JSC|OJSC|PJSC|OOO|S\.A\.|SA|PTE\.? LTD\.?|Pvt\.? Ltd\.?|FZE|FZCO|"
    r"Sdn\.? Bhd\.?|B\.V\.|AG|Co\.)\s*$", re.I)
ADD_LEGAL = ["Ltd", "LLC", "Co., Ltd.", "Limited", "GmbH", "Inc.", "S.A.", "JSC", "Company Limited"]

COMPANY = re.compile(r"(compan|corporat|group|technolog|trading|industr|enterprise|institut|bank|"
                     r"electronic|engineering|international|import|export|shipping|logistic|"
                     r"factory|plant|holding|service|system|\bco\b|ltd|llc|inc\b|gmbh|jsc)", re.I)

def companylike(name, e):
    return e["type"] in ("Entity", "Vessel", "Aircraft") or bool(COMPANY.search(name))

def v_legal(name, e):
    if not companylike(name, e):
        return None
    m = LEGAL_SUFFIX.search(name)
    if m:
        base = name[:m.start()]
        if rng.random() < 0.5:
            return base
        return base + " " + rng.choice([x for x in ADD_LEGAL if x.lower() != m.group(1).lower()])
    return name + " " + rng.choice(ADD_LEGAL)

BGN = [("shch", "щ"), ("kh", "х"), ("zh", "ж"), ("ts", "ц"), ("ch", "ч"), ("sh", "ш"),
       ("yu", "ю"), ("ya", "я"), ("yo", "ё"), ("ye", "е"), ("iy", "ий"), ("yy", "ый"),
       ("a", "а"), ("b", "б"), ("v", "в"), ("g", "г"), ("d", "д"), ("e", "е"), ("z", "з"),
       ("i", "и"), ("y", "ы"), ("k", "к"), ("l", "л"), ("m", "м"), ("n", "н"), ("o", "о"),
       ("p", "п"), ("r", "р"), ("s", "с"), ("t", "т"), ("u", "у"), ("f", "ф"), ("c", "к"),
       ("h", "х"), ("w", "в"), ("x", "кс"), ("j", "дж"), ("q", "к"), ("'", "ь")]
VOWELS = set("aeiouy")
RUSSIAN = re.compile(r"(kh|zh|shch|ov\b|ev\b|yev|iy\b|skiy|aya\b|oye\b|obshchestvo|ovich|evna|ovna|"
                     r"aktsionernoe|zavod|nauchno|proizvod|kompaniya|gosudarstv)", re.I)

def to_cyrillic(word):
    w = word.lower()
    out = []
    i = 0
    while i < len(w):
        for lat, cyr in BGN:
            if w.startswith(lat, i):
                if lat == "y" and i + 1 < len(w) and w[i + 1] in VOWELS:
                    cyr = "й"
                elif lat == "y" and (i == 0 or w[i - 1] in VOWELS):
                    cyr = "й"
                if lat == "e" and (i == 0 or w[i - 1] in VOWELS):
                    cyr = "э"
                out.append(cyr)
                i += len(lat)
                break
        else:
            out.append(w[i])
            i += 1
    s = "".join(out)
    return s[:1].upper() + s[1:] if word[:1].isupper() else s

# Russian legal forms as a Russian company writes them in Cyrillic
RU_LEGAL = [("Open Joint Stock Company", "Открытое акционерное общество"),
            ("Closed Joint Stock Company", "Закрытое акционерное общество"),
            ("Public Joint Stock Company", "Публичное акционерное общество"),
            ("Joint Stock Company", "Акционерное общество"),
            ("Limited Liability Company", "Общество с ограниченной ответственностью"),
            ("OJSC", "ОАО"), ("CJSC", "ЗАО"), ("PJSC", "ПАО"), ("JSC", "АО"), ("LLC", "ООО"),
            ("OOO", "ООО"), ("AO", "АО"), ("OAO", "ОАО"), ("ZAO", "ЗАО"), ("PAO", "ПАО")]
ENGLISH = re.compile(r"\b(scientific|research|institute|company|air|plant|production|joint|"
                     r"stock|limited|liability|public|open|closed|corporation|group|"
                     r"international|trading|technolog\w*|systems?|bank|cent(er|re)|state|"
                     r"federal|university|academy|design|bureau|engineering|aviation|"
                     r"shipbuilding|yard|and|of|the|for|services?|industr\w*|electronics?|"
                     r"holding|ltd|limited|enterprise|factory|works|concern|military|"
                     r"national|russian|ministry|agency|department|unit|center)\b", re.I)

def v_translit(name, e):
    if not any(c in e["countries"] for c in ("RU", "BY", "UA", "KZ")) and \
            e["type"] != "Individual":
        return None
    if not RUSSIAN.search(name):
        return None
    if "," in name and e["type"] == "Individual":
        last, first = name.split(",", 1)
        name = first.strip() + " " + last.strip().title()
    for en, ru in RU_LEGAL:
        name = re.sub(r"\b" + en + r"\b", ru, name, flags=re.I)
    if ENGLISH.search(name):
        return None
    return re.sub(r"[A-Za-z']+", lambda m: to_cyrillic(m.group(0)), name)

def v_alias(name, e):
    alts = [a.strip() for a in e["alt_names"].split(";") if a.strip()]
    alts = [a for a in alts if a.lower() != name.lower() and len(key_tokens(a)) >= 1
            and len(a) >= 4]
    if not alts:
        return None
    a = rng.choice(alts)
    return a if rng.random() < 0.5 else a.title()

EXTRA = ["International", "Trading", "Group", "Holdings", "Technologies", "Branch Office",
         "Export Department", "(HK)", "Worldwide", "Head Office"]
CITIES = {"CN": ["Shenzhen", "Beijing", "Shanghai"], "RU": ["Moscow", "St. Petersburg"],
          "IR": ["Tehran"], "AE": ["Dubai"], "TR": ["Istanbul"], "HK": ["Hong Kong"]}

def v_extra(name, e):
    if not companylike(name, e):
        return None
    for c in e["countries"]:
        if c in CITIES and rng.random() < 0.4:
            return rng.choice(CITIES[c]) + " " + name
    return name + " " + rng.choice(EXTRA)

def v_drop(name, e):
    ws = name.replace(",", " ").split()
    core = [i for i, w in enumerate(ws) if w.lower().strip(".") not in LEGAL]
    if len(core) < 3:
        return None
    i = rng.choice(core[1:-1])
    return " ".join(w for j, w in enumerate(ws) if j != i)

def v_spacing(name, e):
    ws = name.split()
    longs = [i for i, w in enumerate(ws) if len(w) >= 8 and w.isalpha()]
    r = rng.random()
    if longs and r < 0.4:
        i = rng.choice(longs)
        w = ws[i]
        k = rng.randrange(3, len(w) - 3)
        ws[i] = w[:k] + " " + w[k:]
        return " ".join(ws)
    if len(ws) >= 3 and r < 0.7:
        i = rng.randrange(len(ws) - 1)
        if ws[i].isalpha() and ws[i + 1].isalpha():
            ws[i:i + 2] = [ws[i] + ws[i + 1]]
            return " ".join(ws)
    s = re.sub(r"[.,'\"()-]", " ", name)
    s = re.sub(r"\s+", " ", s).strip()
    s = s.upper() if name != name.upper() else s.title()
    return s if s != name else None

GIVEN = [["Mohammed", "Muhammad", "Mohamed", "Mohammad", "Muhammed"], ["Ahmed", "Ahmad", "Ahmet"],
         ["Hussein", "Husayn", "Hussain", "Hossein"], ["Sergei", "Sergey", "Serhiy"],
         ["Yuri", "Yury", "Yuriy"], ["Dmitri", "Dmitry", "Dmitriy"], ["Alexander", "Aleksandr"],
         ["Alexei", "Aleksei", "Alexey"], ["Nikolai", "Nikolay"], ["Andrei", "Andrey"],
         ["Yousef", "Youssef", "Yusuf"], ["Omar", "Umar"], ["Mahmoud", "Mahmud"],
         ["Mustafa", "Mostafa"], ["Khalid", "Khaled"], ["Yasser", "Yasir"], ["Evgeny", "Yevgeniy"],
         ["Abdallah", "Abdullah"], ["Hassan", "Hasan"], ["Ibrahim", "Ebrahim"]]

def v_given(name, e):
    for group in GIVEN:
        for g in group:
            m = re.search(r"\b" + g + r"\b", name, re.I)
            if m:
                alt = rng.choice([x for x in group if x.lower() != g.lower()])
                if m.group(0).isupper():
                    alt = alt.upper()
                return name[:m.start()] + alt + name[m.end():]
    return None

ACC = {"a": "á", "e": "é", "i": "í", "o": "ó", "u": "ü", "n": "ñ", "c": "ç", "s": "ş"}

def v_diacritics(name, e):
    idx = [i for i, c in enumerate(name) if c.lower() in ACC]
    if len(idx) < 2:
        return None
    s = list(name)
    for i in rng.sample(idx, min(2, len(idx))):
        a = ACC[s[i].lower()]
        s[i] = a.upper() if s[i].isupper() else a
    return "".join(s)

# ---- kinds added later, made with a random generator of their own so the
# variants above stay as they were ----

# Chinese provinces and major cities as the lists write them (pinyin)
CN_PLACES = {
    "anhui", "beijing", "chongqing", "fujian", "gansu", "guangdong", "guangxi", "guizhou",
    "hainan", "hebei", "heilongjiang", "henan", "hubei", "hunan", "jiangsu", "jiangxi", "jilin",
    "liaoning", "ningxia", "qinghai", "shaanxi", "shandong", "shanghai", "shanxi", "sichuan",
    "tianjin", "xinjiang", "yunnan", "zhejiang", "guangzhou", "shenzhen", "wuhan", "chengdu",
    "xi'an", "xian", "nanjing", "hangzhou", "suzhou", "wuxi", "ningbo", "hefei", "changsha",
    "zhengzhou", "jinan", "qingdao", "dalian", "shenyang", "harbin", "changchun", "xiamen",
    "fuzhou", "nanchang", "kunming", "guiyang", "nanning", "lanzhou", "taiyuan", "shijiazhuang",
    "dongguan", "foshan", "zhuhai", "zhongshan", "mianyang", "luoyang", "changzhou", "nantong",
}

def v_dropped_place(name, e, rare):
    """'Hangzhou Hikvision Digital Technology Co., Ltd.' -> 'Hikvision Digital Technology'
    (city or province prefix dropped, legal form too half the time), where what is left
    still has a distinctive word (one of at most a few listed names)."""
    m = re.match(r"\s*([A-Za-z']+)[\s,]+(.*)$", name)
    if not m or m.group(1).lower() not in CN_PLACES:
        return None
    rest = m.group(2).strip()
    if not any(t in rare for t in key_tokens(rest)):
        return None
    if rng2.random() < 0.5:
        s = LEGAL_SUFFIX.search(rest)
        if s:
            rest = rest[:s.start()].strip(" ,")
    return rest if key_tokens(rest) else None

PAREN = re.compile(r"^(.*\S)\s*\(([A-Z][A-Za-z0-9\-]{1,9}(?: [0-9]+)?)\)\s*$")

def v_paren_acronym(name, e, rare):
    """'SEMICONDUCTOR SYSTEMS INTL., INC. (SSI)' -> 'SEMICONDUCTOR SYSTEMS INTL.' (the
    parenthesised acronym left out, the legal form too half the time). An acronym: one
    word, two capitals or more, its first letter a word's first letter in the name."""
    m = PAREN.match(name)
    if not m or sum(c.isupper() for c in m.group(2)) < 2:
        return None
    rest = m.group(1).strip(" ,")
    if "(" in rest or len(key_tokens(rest)) < 2:
        return None
    if m.group(2)[0].lower() not in {w[0].lower() for w in words(rest)}:
        return None
    if rng2.random() < 0.5:
        s = LEGAL_SUFFIX.search(rest)
        if s:
            rest = rest[:s.start()].strip(" ,")
    return rest if len(key_tokens(rest)) >= 2 else None

ABBREV = [(r"\bInternational\b", "Intl"), (r"\bTechnolog(y|ies)\b", "Tech"),
          (r"\bCorporation\b", "Corp"), (r"\bCompany\b", "Co"), (r"\bSystems\b", "Sys"),
          (r"\bManufacturing\b", "Mfg"), (r"\bLimited\b", "Ltd")]

def v_abbreviation(name, e, rare):
    """'Innovative Technology Systems' -> 'Innovative Tech Sys' (the usual abbreviations),
    for names with one of International, Technology, Systems, Manufacturing."""
    if not re.search(r"\b(International|Technolog(y|ies)|Systems|Manufacturing)\b", name, re.I):
        return None
    out = name
    for pat, ab in ABBREV:
        out = re.sub(pat, ab, out, flags=re.I)
    return out if out != name else None

EXTRA_MAKERS = [("dropped_place", v_dropped_place, 30), ("paren_acronym", v_paren_acronym, 30),
                ("abbreviation", v_abbreviation, 30)]

MAKERS = [("typo", v_typo), ("reorder", v_reorder), ("legal_form", v_legal),
          ("transliteration", v_translit), ("alias", v_alias), ("extra_words", v_extra),
          ("dropped_word", v_drop), ("spacing_punct", v_spacing), ("given_name", v_given),
          ("diacritics", v_diacritics)]

# ---- decoys ----

PLACES = ["Nordic", "Alpine", "Pacific Rim", "Atlantic", "Sunrise", "Silverline", "Bluewater",
          "Greenfield", "Redwood", "Maple Leaf", "Lakeside", "Riverside", "Summit Peak", "Harborview",
          "Coastal", "Prairie", "Granite Hill", "Cedar Grove", "Evergreen", "Northstar",
          "Brightwater", "Oakridge", "Westbrook", "Eastgate", "Highland", "Silver Creek",
          "Blue Horizon", "Clearview", "Stonebridge", "Willow Bay", "Meadowlark", "Kingfisher",
          "Arcadia", "Bellwether", "Copperleaf", "Driftwood", "Fairhaven", "Glenmore", "Ironbridge",
          "Juniper"]
TRADES = ["Logistics", "Precision Components", "Software Solutions", "Medical Devices",
          "Textiles", "Foods", "Packaging", "Analytics", "Robotics", "Engineering", "Consulting",
          "Freight Services", "Optics", "Plastics", "Furniture", "Data Systems", "Security Consulting",
          "Dental Supplies", "Garden Products", "Marine Supplies", "Printing", "Bakery",
          "Veterinary Clinic", "Architects", "Accounting Services", "Cloud Hosting", "Bicycles",
          "Ceramics", "Audio Labs", "Water Treatment"]
FORMS = ["Ltd", "GmbH", "LLC", "Inc.", "S.A.", "B.V.", "Co., Ltd.", "Pty Ltd", "AB", "Oy", "S.r.l.",
         "K.K.", "Limited", "Corp.", ""]
REAL = ["Siemens AG", "Robert Bosch GmbH", "Nestle S.A.", "Toyota Motor Corporation",
        "Sony Group Corporation", "Samsung Electronics Co., Ltd.", "Infosys Limited",
        "Tata Steel Limited", "Unilever PLC", "Novartis AG", "Roche Holding AG", "ABB Ltd",
        "Telefonaktiebolaget LM Ericsson", "Nokia Oyj", "SAP SE", "BASF SE", "Airbus SE",
        "Dassault Systemes SE", "Koninklijke Philips N.V.", "ASML Holding N.V.", "Shell plc",
        "Microsoft Corporation", "Apple Inc.", "Alphabet Inc.", "Amazon.com, Inc.",
        "Cisco Systems, Inc.", "Intel Corporation", "Oracle Corporation",
        "International Business Machines Corporation", "Dell Technologies Inc.", "HP Inc.",
        "Adobe Inc.", "Salesforce, Inc.", "Palo Alto Networks, Inc.", "CrowdStrike Holdings, Inc.",
        "Fortinet, Inc.", "Check Point Software Technologies Ltd.", "Trend Micro Incorporated",
        "Sophos Limited", "Rapid7, Inc.", "Tenable Holdings, Inc.", "Qualys, Inc.", "Okta, Inc.",
        "Zscaler, Inc.", "Cloudflare, Inc.", "Akamai Technologies, Inc.",
        "Mitsubishi Electric Corporation", "Hitachi, Ltd.", "Fujitsu Limited", "NEC Corporation",
        "Panasonic Holdings Corporation", "Canon Inc.", "LG Electronics Inc.", "SK hynix Inc.",
        "Hyundai Motor Company", "Tata Consultancy Services Limited", "Wipro Limited",
        "HCL Technologies Limited", "Reliance Industries Limited", "Embraer S.A.", "Grupo Bimbo",
        "Banco Santander, S.A.", "Iberdrola, S.A.", "Deutsche Telekom AG", "Volkswagen AG",
        "Bayerische Motoren Werke AG", "Allianz SE", "Zurich Insurance Group AG", "UBS Group AG",
        "HSBC Holdings plc", "Barclays PLC", "Vodafone Group Plc", "Orange S.A.", "Capgemini SE",
        "Accenture plc", "Shopify Inc.", "CGI Inc.", "Telstra Group Limited", "BHP Group Limited",
        "Atlassian Corporation", "Spotify Technology S.A.", "Adyen N.V.", "Schneider Electric SE",
        "Legrand SA", "Michelin", "Heineken N.V.", "Carlsberg A/S", "Novo Nordisk A/S",
        "Maersk Line", "Volvo Cars", "Husqvarna AB", "Electrolux AB", "Kone Oyj", "Wartsila Oyj"]
FIRST = ["Emily", "Lukas", "Sofia", "Hiroshi", "Priya", "Olumide", "Lars", "Camille", "Mateo",
         "Aiko", "Noah", "Chloe", "Henrik", "Ingrid", "Rafael", "Beatriz", "Tomasz", "Katarzyna",
         "Pieter", "Annelies", "Siobhan", "Declan", "Matilda", "Oskar", "Yuki", "Haruto",
         "Valentina", "Giulia", "Thabo", "Ama"]
LAST = ["Johnson", "Mueller", "Rossi", "Yamamoto", "Sharma", "Adeyemi", "Eriksson", "Dubois",
        "Garcia", "Tanaka", "Thompson", "Lefebvre", "Lindqvist", "Haugen", "Oliveira", "Santos",
        "Kowalski", "Nowak", "de Vries", "Janssen", "O'Sullivan", "Murphy", "Fischer", "Berg",
        "Sato", "Suzuki", "Bianchi", "Ferrari", "Nkosi", "Mensah"]


def main():
    rows = list(csv.DictReader(open(CSL, newline="", encoding="utf-8")))
    entries = []
    for n, r in enumerate(rows, 1):
        sid = r["_id"].strip(" \t") or r["entity_number"].strip(" \t") or content_id(r)
        cs = [c.strip() for c in r["addresses"].split(";") if re.fullmatch(r"[A-Z]{2}", c.strip())]
        entries.append({"code": code_of(r["source"]), "id": sid, "name": r["name"].strip(),
                        "alt_names": r["alt_names"], "type": r["type"], "countries": cs})
    made_ids = collections.Counter(e["id"] for e in entries if e["id"].startswith("csl:"))
    dup = [i for i, k in made_ids.items() if k > 1]
    if dup:  # acegate then adds -2, -3 by content (docs/screening.md); not done here
        sys.exit("make_eval.py: entries share the content id %s" % ", ".join(dup[:5]))
    listed_sets = set()
    for e in entries:
        for nm in [e["name"]] + [a for a in e["alt_names"].split(";") if a.strip()]:
            listed_sets.add(frozenset(key_tokens(nm)))

    def usable(e):
        kt = key_tokens(e["name"])
        return len(kt) >= 1 and sum(len(t) for t in kt) >= 6 and len(e["name"]) <= 120

    quota = [("EL", 130), ("SDN", 130), ("DPL", 40), ("DTC", 15), ("SSI", 15), ("UVL", 10),
             ("ISN", 10), ("MEU", 8), ("CMIC", 8), ("NS-MBS", 4)]
    out = []
    for code, k in quota:
        pool = [e for e in entries if e["code"] == code and usable(e)]
        if code == "SDN":
            ents = [e for e in pool if e["type"] != "Individual"]
            inds = [e for e in pool if e["type"] == "Individual"]
            pick = rng.sample(ents, k // 2) + rng.sample(inds, k - k // 2)
        else:
            pick = rng.sample(pool, min(k, len(pool)))
        for e in pick:
            made = []
            order = MAKERS[:]
            rng.shuffle(order)
            # rarer variant kinds first when they apply
            order.sort(key=lambda m: m[0] not in ("transliteration", "given_name", "alias"))
            for kind, f in order:
                q = f(e["name"], e)
                if q and q.strip() and q.strip() != e["name"]:
                    made.append((kind, q.strip()))
                if len(made) == 2:
                    break
            for kind, q in made:
                cc = e["countries"][0] if e["countries"] and rng.random() < 0.5 else ""
                out.append(("hit", kind, q, cc, e["code"], e["id"], e["name"]))
    # the cases that must come out right
    must = [("NSO Group", "IL"), ("Candiru", "IL"), ("Saito Tech Ltd.", ""),
            ("Positive Technologies", "RU"), ("Computer Security Initiative Consultancy PTE. LTD.", "SG"),
            ("COSEINC", "")]
    by_name = {}
    for e in entries:
        if e["code"] == "EL":
            by_name.setdefault(e["name"], e)
            for a in e["alt_names"].split(";"):
                by_name.setdefault(a.strip(), e)
    for q, cc in must:
        e = by_name[q]
        out.append(("hit", "exact", q, cc, "EL", e["id"], e["name"]))

    # the kinds added later: every entry a maker applies to, then a sample
    df = collections.Counter()
    for e in entries:
        for t in set(key_tokens(e["name"])):
            df[t] += 1
    rare = {t for t, k in df.items() if k <= 3 and len(t) >= 4}
    for kind, f, k in EXTRA_MAKERS:
        pool = []
        for e in entries:
            if e["type"] == "Individual" or not usable(e):
                continue
            q = f(e["name"], e, rare)
            if q and q.strip() and q.strip() != e["name"]:
                pool.append((e, q.strip()))
        for e, q in rng2.sample(pool, min(k, len(pool))):
            cc = e["countries"][0] if e["countries"] and rng2.random() < 0.5 else ""
            out.append(("hit", kind, q, cc, e["code"], e["id"], e["name"]))

    decoys = set()
    while len(decoys) < 260:
        f = rng.choice(FORMS)
        decoys.add((rng.choice(PLACES) + " " + rng.choice(TRADES) + (" " + f if f else "")).strip())
    for r in REAL:
        decoys.add(r)
    people = set()
    while len(people) < 80:
        people.add(rng.choice(FIRST) + " " + rng.choice(LAST))
    decoys |= people
    kept = 0
    for d in sorted(decoys):
        kt = frozenset(key_tokens(d))
        if not kt or kt in listed_sets:
            continue
        out.append(("decoy", "decoy", d, "", "", "", ""))
        kept += 1
    w = csv.writer(sys.stdout, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_NONE,
                   escapechar="\\")
    sys.stdout.write("# screening evaluation set: made by tests/screen/make_eval.py from "
                     "data/lists/csl-2026-07-31.csv (seed %d)\n" % SEED)
    sys.stdout.write("# kind\tvariant\tquery\tcountry\tlist\tsource_id\tlisted_name\n")
    for row in out:
        w.writerow([x.replace("\t", " ") for x in row])
    print("%d hits, %d decoys" % (sum(1 for r in out if r[0] == "hit"), kept), file=sys.stderr)


if __name__ == "__main__":
    main()
