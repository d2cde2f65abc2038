#!/usr/bin/python3
"""Builds a screening evaluation set from the published list files, by a procedure of its own
(docs/screening.md, "Quality: the variant sets").

Sources: the OFAC SDN list (sdn.csv + alt.csv), the OFAC non-SDN consolidated list
(cons_prim.csv + cons_alt.csv), the BIS Denied Persons List (dpl.txt) and the full trade.gov
Consolidated Screening List (consolidated.csv): the files in ../shared/data/screening. Entries are
drawn per source (quotas below), each written two ways by two different kinds of variant drawn at
random among those that apply to it:

  typo1            one edit (a letter inserted, deleted, replaced by a random letter, or two
                   neighbours swapped) in a word of three letters or more, legal forms included,
                   words chosen in proportion to their length
  typo2            two edits: both in a word of eight letters or more, or one each in two words
  short_word_typo  one edit in a word of three to five letters
  legal_typo       one edit in a legal-form word (Company, Limited, OJSC, GmbH, ...)
  romanisation     a word respelt by the rules of another romanisation: Korean surnames
                   (Kim/Gim, Park/Pak/Bak, Lee/Ri/Yi, Choe/Choi), Arabic names and articles
                   (Mohammed/Muhammad, Abd al/Abdul/Abdel, al-/el-, ou/u, ee/i), Chinese
                   pinyin to Wade-Giles syllable by syllable (x/hs, zh/ch, q/ch, z/ts, g/k,
                   b/p, d/t), Russian endings and letters (-iy/-y/-ii, ks/x, kh/h, ye/e, yu/iu)
  join_split       two neighbouring words run together or a word split, hyphens added or
                   removed ("Salah Al Din" / "Salahaldin", "Al-Sham" / "Alsham")
  reorder          words reordered: "LAST, First" as "First Last", the legal form moved,
                   two words swapped
  dropped_middle   a middle word of a person's name of three words or more left out
  alias_typo       one of the entry's aliases with one edit
  mixed            reordered, one edit, and the punctuation removed

Each variant is then written in upper, lower or title case at random. Decoys are realistic names
that are not listed: companies made from word lists (a name word, a trade, a legal form as
written in many countries) and persons from given names and surnames of the same cultures the
lists hold; a decoy whose words are exactly those of a listed name or alias is drawn again.

The romanisation rules here are written for this generator from the romanisation systems
themselves (McCune-Reischauer and Revised Romanisation; Wade-Giles and pinyin initials; BGN/PCGN,
passport and ISO 9 endings for Russian); they are not the matcher's table
(data/screening/romanisation.tsv).

Usage: /usr/bin/python3 tests/screen/make_variants.py SEED [LISTS_DIR] > SET.tsv
  tests/screen/variants-dev.tsv      seed 1 (for tuning)
  tests/screen/variants-holdout.tsv  seed 20261206 (held out: never used for tuning)
Columns: kind (hit|decoy), variant, query, country (empty), list code, source id, the listed
name the variant was made from. Ids are computed as acegate computes them (docs/screening.md,
"Ids for entries the file gives none"); a hit counts when an answer has that list code and id.
"""
import csv
import hashlib
import io
import os
import random
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DIR = os.path.join(HERE, "..", "..", "..", "shared", "data", "screening")

# entries drawn per source, two variants each
QUOTA = {"sdn": 520, "cons": 150, "dpl": 200, "csl": 400}
N_DECOYS = 1000

LEGAL = {
    "ltd", "limited", "co", "company", "corp", "corporation", "inc", "incorporated", "llc",
    "llp", "plc", "gmbh", "ag", "sa", "sas", "sarl", "srl", "spa", "bv", "nv", "oy", "ab", "jsc",
    "ojsc", "cjsc", "pjsc", "ooo", "oao", "zao", "pao", "ao", "pte", "pvt", "pty", "fze", "fzco",
    "fzc", "bhd", "sdn", "tov", "joint", "stock", "liability", "private", "public", "cv",
    "establishment", "est", "group", "holding", "holdings",
}

# ---- reading the list files ----

def read_text(path):
    b = open(path, "rb").read().replace(b"\x1a", b"")
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        return b.decode("latin-1")

def clean(s):
    s = (s or "").strip(" \t")
    return "" if s == "-0-" else s

def content_id(prefix, fields):
    h = hashlib.sha256(b"".join(f.strip(" \t").encode() + b"\0" for f in fields)).hexdigest()
    return prefix + ":" + h[:12]

def cons_code(programs):
    for key, code in (("UKRAINE-EO13662", "SSI"), ("NS-PLC", "PLC"), ("CMIC", "CMIC"),
                      ("561", "CAP"), ("FSE", "FSE")):
        if key in programs:
            return code
    return "NS-MBS"

def csl_code(source):
    m = re.search(r"\(([^)]*)\)", source)
    c = m.group(1) if m else source
    return c[:-5] if c.endswith(" List") else c

def load_ofac(d, prim, alt, kind, add):
    entries = {}
    for r in csv.reader(io.StringIO(read_text(os.path.join(d, prim)))):
        if len(r) < 12:
            continue
        programs = clean(r[3])
        code = "SDN" if kind == "sdn" else cons_code(programs)
        entries[r[0].strip()] = {"src": kind, "code": code, "id": r[0].strip(),
                                 "name": clean(r[1]), "person": clean(r[2]) == "individual",
                                 "type": clean(r[2]) or "entity", "aliases": [],
                                 "where": clean(r[11])}
    for r in csv.reader(io.StringIO(read_text(os.path.join(d, add)))):
        if len(r) >= 5 and r[0].strip() in entries:
            entries[r[0].strip()]["where"] += " " + clean(r[4])
    for r in csv.reader(io.StringIO(read_text(os.path.join(d, alt)))):
        if len(r) >= 4 and r[0].strip() in entries and clean(r[3]):
            entries[r[0].strip()]["aliases"].append(clean(r[3]))
    return list(entries.values())

def load_dpl(d):
    out = []
    rows = list(csv.reader(io.StringIO(read_text(os.path.join(d, "bis-dpl.txt"))), delimiter="\t"))
    head = rows[0]
    ix = {h: i for i, h in enumerate(head)}
    for r in rows[1:]:
        if len(r) != len(head):
            continue
        name = r[ix["Name"]].strip(" \t")
        addr = ", ".join(x for x in (r[ix[k]].strip(" \t") for k in
                         ("Street_Address", "City", "State", "Postal_Code", "Country")) if x)
        eff = r[ix["Effective_Date"]].strip(" \t")
        out.append({"src": "dpl", "code": "DPL", "id": content_id("dpl", [name, addr, eff]),
                    "name": name, "person": None, "type": "", "aliases": [],
                    "where": r[ix["Country"]]})
    return out

def load_csl(d, fname, src):
    out = []
    for r in csv.DictReader(io.StringIO(read_text(os.path.join(d, fname)))):
        code = csl_code(r["source"].strip(" \t"))
        if (r.get("_id") or "").strip():
            sid = r["_id"].strip()
        elif (r.get("entity_number") or "").strip():
            sid = r["entity_number"].strip()
        else:
            sid = content_id("csl", [code, r["name"], r["federal_register_notice"],
                                     r["addresses"]])
        aliases = [a.strip() for a in (r.get("alt_names") or "").split(";") if a.strip()]
        out.append({"src": src, "code": code, "id": sid, "name": r["name"].strip(" \t"),
                    "person": (r.get("type") or "").strip().lower() == "individual",
                    "type": (r.get("type") or "").strip(), "aliases": aliases,
                    "where": " ".join(r.get(k) or "" for k in ("addresses", "nationalities",
                                                              "citizenships"))})
    return out

def load_all(d):
    """Every entry of every file in d, as acegate --lists d indexes them (names and aliases)."""
    sets = {
        "sdn": load_ofac(d, "ofac-sdn.csv", "ofac-alt.csv", "sdn", "ofac-add.csv"),
        "cons": load_ofac(d, "ofac-cons-prim.csv", "ofac-cons-alt.csv", "cons",
                          "ofac-cons-add.csv"),
        "dpl": load_dpl(d),
        "csl": load_csl(d, "csl-2026-07-31.csv", "csl"),
    }
    extra = load_csl(d, "csl-sample.csv", "csl-sample") + \
        load_csl(d, "csl-consolidated-sample.csv", "csl-sample")
    return sets, extra

def words(s):
    return re.findall(r"[A-Za-z0-9]+", s)

def key(s):
    return " ".join(sorted(w.lower() for w in words(s)))

# ---- edits ----

ALPHA = "abcdefghijklmnopqrstuvwxyz"

def edit(rng, w, kinds=("ins", "del", "sub", "swap")):
    """One random edit of w (letters only), never the identity."""
    for _ in range(20):
        k = rng.choice(kinds)
        i = rng.randrange(len(w))
        if k == "ins":
            out = w[:i] + rng.choice(ALPHA) + w[i:]
        elif k == "del" and len(w) > 2:
            out = w[:i] + w[i + 1:]
        elif k == "sub":
            out = w[:i] + rng.choice(ALPHA.replace(w[i].lower(), "")) + w[i + 1:]
        elif k == "swap" and i + 1 < len(w) and w[i] != w[i + 1]:
            out = w[:i] + w[i + 1] + w[i] + w[i + 2:]
        else:
            continue
        if out.lower() != w.lower():
            return match_case(out, w)
    return None

def match_case(out, w):
    if w.isupper():
        return out.upper()
    if w.islower():
        return out.lower()
    return out[:1].upper() + out[1:].lower() if w[:1].isupper() else out

def spans(name, pred):
    return [(m.start(), m.end()) for m in re.finditer(r"[A-Za-z]+", name) if pred(m.group(0))]

def replace_span(name, sp, new):
    return name[:sp[0]] + new + name[sp[1]:]

def v_typo1(rng, e, name):
    sp = spans(name, lambda w: len(w) >= 3)
    if not sp:
        return None
    weights = [b - a for a, b in sp]
    s = rng.choices(sp, weights)[0]
    new = edit(rng, name[s[0]:s[1]])
    return replace_span(name, s, new) if new else None

def v_typo2(rng, e, name):
    long_ = spans(name, lambda w: len(w) >= 8)
    if long_ and rng.random() < 0.5:
        s = rng.choice(long_)
        w = edit(rng, name[s[0]:s[1]])
        w2 = w and edit(rng, w)
        return replace_span(name, s, w2) if w2 else None
    sp = spans(name, lambda w: len(w) >= 4)
    if len(sp) < 2:
        if long_:
            s = rng.choice(long_)
            w = edit(rng, name[s[0]:s[1]])
            w2 = w and edit(rng, w)
            return replace_span(name, s, w2) if w2 else None
        return None
    a, b = sorted(rng.sample(sp, 2))
    wb = edit(rng, name[b[0]:b[1]])
    wa = edit(rng, name[a[0]:a[1]])
    if not wa or not wb:
        return None
    return name[:a[0]] + wa + name[a[1]:b[0]] + wb + name[b[1]:]

def v_short(rng, e, name):
    sp = spans(name, lambda w: 3 <= len(w) <= 5)
    if not sp:
        return None
    s = rng.choice(sp)
    new = edit(rng, name[s[0]:s[1]])
    return replace_span(name, s, new) if new else None

LEGAL_TYPO_WORDS = {"company", "limited", "corporation", "incorporated", "ojsc", "cjsc", "pjsc",
                    "jsc", "llc", "ltd", "gmbh", "inc", "corp", "ooo", "oao", "zao", "pvt",
                    "private", "joint", "stock", "liability", "establishment", "holding",
                    "holdings", "group", "sarl", "public", "pte", "fze", "fzco", "bhd"}

def v_legal_typo(rng, e, name):
    sp = spans(name, lambda w: w.lower() in LEGAL_TYPO_WORDS)
    if not sp:
        return None
    s = rng.choice(sp)
    new = edit(rng, name[s[0]:s[1]])
    return replace_span(name, s, new) if new else None

# romanisation: whole words (either direction), then rules by script
KOREAN = {"kim": ["gim"], "park": ["pak", "bak"], "pak": ["park", "bak"], "lee": ["ri", "yi"],
          "ri": ["lee", "yi", "rhee"], "yi": ["lee", "ri"], "choe": ["choi"], "choi": ["choe"],
          "jong": ["chong", "jeong"], "chong": ["jong", "jeong"], "kang": ["gang"],
          "ko": ["go"], "pyon": ["pyeon", "byon"], "han": ["hahn"], "o": ["oh"], "yun": ["yoon"],
          "hyon": ["hyeon", "hyun"], "chol": ["cheol", "chul"], "song": ["seong", "sung"],
          "kwang": ["gwang"], "il": ["eel"], "ryu": ["yu", "yoo"], "sok": ["seok", "suk"]}
ARABIC = {"muhammad": ["mohammed", "mohamad", "muhammed"], "mohammed": ["muhammad", "mohamad"],
          "mohammad": ["muhammad", "mohammed"], "muhammed": ["mohammed"],
          "yusuf": ["yousef", "yossef", "youssef"], "yousef": ["yusuf", "yossef"],
          "ahmad": ["ahmed"], "ahmed": ["ahmad"], "husayn": ["hussein", "hussain"],
          "hussein": ["husayn", "husain"], "abdallah": ["abdullah"], "abdullah": ["abdallah"],
          "umar": ["omar"], "omar": ["umar"], "uthman": ["othman", "osman"],
          "khalid": ["khaled"], "khaled": ["khalid"], "said": ["saeed", "sayed"],
          "mahmud": ["mahmoud"], "mahmoud": ["mahmud"], "mustafa": ["mostafa"],
          "ali": ["aly"], "hasan": ["hassan"], "hassan": ["hasan"], "qasim": ["kassem", "qassem"],
          "ibrahim": ["ebrahim"], "jafar": ["jaafar"], "abu": ["abou"], "bin": ["ibn"]}
RUSSIAN_WORDS = {"aleksandr": ["alexander", "alexandr"], "alexander": ["aleksandr"],
                 "aleksey": ["alexei", "aleksei"], "aleksei": ["alexey"],
                 "yevgeniy": ["evgeny", "evgenii"], "evgeniy": ["yevgeny", "evgenii"],
                 "sergey": ["sergei", "sergii"], "sergei": ["sergey"], "yuriy": ["yury", "iurii"],
                 "dmitriy": ["dmitry", "dmitrii"], "dmitry": ["dmitriy", "dmitrii"],
                 "maksim": ["maxim"], "mikhail": ["michail"], "vyacheslav": ["viacheslav"],
                 "nataliya": ["natalia"], "yelena": ["elena"], "tatyana": ["tatiana"],
                 "petr": ["pyotr"], "fedor": ["fyodor"], "semen": ["semyon"]}
WHOLE = {**KOREAN, **ARABIC, **RUSSIAN_WORDS}

def wg_syllable(s):
    """A pinyin syllable (lower case) in Wade-Giles, roughly (no apostrophes)."""
    for p, q in (("zh", "ch"), ("ch", "ch"), ("sh", "sh"), ("x", "hs"), ("q", "ch"),
                 ("j", "ch"), ("z", "ts"), ("c", "ts"), ("g", "k"), ("b", "p"), ("d", "t"),
                 ("r", "j")):
        if s.startswith(p):
            s = q + s[len(p):]
            break
    for p, q in (("ong", "ung"), ("ian", "ien"), ("ui", "uei"), ("e", "o")):
        if s.endswith(p) and (p != "e" or s in ("ke", "he", "ge", "te", "ce")):
            s = s[:-len(p)] + q
            break
    return s

PINYIN = re.compile(r"(zh|ch|sh|[bpmfdtnlgkhjqxrzcsyw])?(iang|iong|uang|ang|eng|ing|ong|ian|iao|"
                    r"uai|uan|ai|ao|an|ei|en|er|ia|ie|in|iu|ou|ua|uo|ui|un|a|e|i|o|u|v)")

def pinyin_split(w):
    """w as pinyin syllables, or None if it is not pinyin."""
    out, i = [], 0
    while i < len(w):
        m = PINYIN.match(w, i)
        if not m:
            return None
        # prefer a syllable that leaves a valid rest (greedy is good enough for names)
        out.append(m.group(0))
        i = m.end()
    return out if len(out) >= 1 else None

def russian_respell(w):
    lw = w.lower()
    for a, b in (("iy", "y"), ("yy", "y"), ("ii", "iy"), ("iy", "ii"), ("ks", "x"),
                 ("kh", "h"), ("ye", "e"), ("yu", "iu"), ("ya", "ia"), ("shch", "sch")):
        if a in lw[1:]:
            if a in ("iy", "yy", "ii") and not lw.endswith(a):
                continue
            pos = lw.rfind(a) if a in ("iy", "yy", "ii") else lw.find(a, 1)
            return match_case(lw[:pos] + b + lw[pos + len(a):], w)
    return None

CHINESE = re.compile(r"\b(China|CN|Taiwan|TW|Hong Kong|HK|Macau|MO)\b")
SLAVIC = re.compile(r"\b(Russia|RU|Ukraine|UA|Belarus|BY|Kazakhstan|KZ|Kyrgyzstan|KG|Moldova|MD)\b")

def v_romanisation(rng, e, name):
    chinese = bool(CHINESE.search(e.get("where", "")))
    slavic = bool(SLAVIC.search(e.get("where", ""))) or \
        bool(re.search(r"(ov|ev|vich|vna|ova|eva|skiy|sky|kiy)\b", name, re.I))
    ws = list(re.finditer(r"[A-Za-z]+", name))
    order = list(range(len(ws)))
    rng.shuffle(order)
    # Arabic article forms first: "Abd al-X" / "Abdul X" / "Abdel X", "al-" / "el-"
    m = re.search(r"\b(Abd|ABD|abd)[ -](al|Al|AL|el|El|EL)[- ]", name)
    if m and rng.random() < 0.7:
        rep = rng.choice(["Abdul ", "Abdel ", "Abdul-"])
        return name[:m.start()] + match_case(rep, m.group(0)) + name[m.end():]
    m = re.search(r"\b(al|Al|AL|el|El|EL)-", name)
    if m and rng.random() < 0.5:
        rep = {"al": "el", "el": "al"}[m.group(1).lower()]
        return name[:m.start()] + match_case(rep, m.group(1)) + "-" + name[m.end():]
    for i in order:
        w = ws[i].group(0)
        lw = w.lower()
        if lw in WHOLE:
            return replace_span(name, ws[i].span(), match_case(rng.choice(WHOLE[lw]), w))
    for i in order:
        w = ws[i].group(0)
        if len(w) < 3 or w.lower() in LEGAL or w.lower() in ("china", "chinese"):
            continue
        syl = pinyin_split(w.lower())
        if syl and chinese and len(syl) <= 3:
            wg = "-".join(wg_syllable(s) for s in syl) if len(syl) > 1 and rng.random() < 0.5 \
                else "".join(wg_syllable(s) for s in syl)
            if wg != w.lower():
                return replace_span(name, ws[i].span(), match_case(wg, w))
        r = russian_respell(w) if slavic else None
        if r and len(w) >= 5:
            return replace_span(name, ws[i].span(), r)
    return None

def v_join_split(rng, e, name):
    opts = []
    if "-" in name:
        opts.append(("dehyphen", None))
    ws = list(re.finditer(r"[A-Za-z]+", name))
    if len(ws) >= 2:
        opts.append(("join", None))
        opts.append(("hyphen", None))
    if any(len(w.group(0)) >= 8 for w in ws):
        opts.append(("split", None))
    if not opts:
        return None
    k = rng.choice(opts)[0]
    if k == "dehyphen":
        return name.replace("-", rng.choice(["", " "]))
    if k in ("join", "hyphen"):
        i = rng.randrange(len(ws) - 1)
        a, b = ws[i], ws[i + 1]
        sep = "" if k == "join" else "-"
        return name[:a.end()] + sep + name[b.start():]
    longs = [w for w in ws if len(w.group(0)) >= 8]
    w = rng.choice(longs)
    cut = rng.randrange(3, len(w.group(0)) - 2)
    return name[:w.start() + cut] + " " + name[w.start() + cut:]

def v_reorder(rng, e, name):
    if "," in name and e.get("person") is not False:
        last, first = name.split(",", 1)
        first = first.strip()
        if first:
            fw = first.split()
            if len(fw) >= 2 and rng.random() < 0.3:
                fw = fw[1:] + fw[:1]
            return " ".join(fw) + " " + last.strip()
    ws = name.split()
    if len(ws) < 2:
        return None
    legal = [i for i, w in enumerate(ws) if re.sub(r"\W", "", w).lower() in LEGAL]
    if legal and rng.random() < 0.5:
        i = legal[0]
        w = ws.pop(i)
        if i == 0:
            ws.append(w)
        else:
            ws.insert(0, w)
        return " ".join(ws)
    i = rng.randrange(len(ws) - 1)
    ws[i], ws[i + 1] = ws[i + 1], ws[i]
    return " ".join(ws)

def v_dropped_middle(rng, e, name):
    if not e.get("person"):
        return None
    n = name.replace(",", " ").split()
    if len(n) < 3:
        return None
    i = rng.randrange(1, len(n) - 1)
    return " ".join(n[:i] + n[i + 1:])

def v_alias_typo(rng, e, name):
    al = [a for a in e["aliases"] if len(re.sub(r"[^A-Za-z]", "", a)) >= 6]
    if not al:
        return None
    a = rng.choice(al)
    return v_typo1(rng, e, a)

def v_mixed(rng, e, name):
    r = v_reorder(rng, e, name)
    r = r and v_typo1(rng, e, r)
    return r and re.sub(r"[.,'()]", "", r)

MAKERS = [("typo1", v_typo1), ("typo2", v_typo2), ("short_word_typo", v_short),
          ("legal_typo", v_legal_typo), ("romanisation", v_romanisation),
          ("join_split", v_join_split), ("reorder", v_reorder),
          ("dropped_middle", v_dropped_middle), ("alias_typo", v_alias_typo),
          ("mixed", v_mixed)]

def recase(rng, s):
    r = rng.random()
    if r < 0.3:
        return s.upper()
    if r < 0.5:
        return s.lower()
    if r < 0.7:
        return " ".join(w[:1].upper() + w[1:].lower() for w in s.split(" "))
    return s

# ---- decoys ----

NAME_WORDS = """Northwind Bluewater Silverline Apex Granite Meridian Harborview Evergreen Summit
Crestline Redwood Ironbridge Lakeside Oakmont Brightstar Falcon Horizon Pinnacle Riverside Sterling
Quantum Vertex Atlas Orion Zenara Kestrel Nimbus Solano Vireo Calder Marlow Thornbury Ashford
Westbrook Eastgate Highland Coastal Sunrise Polaris Cobalt Emerald Sapphire Amber Cedar Willow
Aurora Lumen Nova Terra Vantage Keystone Beacon Harbor Pioneer Frontier Heritage Liberty Unity
Delta Sigma Omega Alpine Nordic Baltic Adriatic Andes Sahara Oasis Caspian Tigris Indus Mekong
Yangtze Danube Rhine Volga Ural Altai Tatra Carpathia Balkan Anatolia Levant Maghreb Sahel Nubia
Bengal Malabar Coromandel Deccan Sunda Borneo Java Luzon Mindoro Kyushu Hokkaido Jeju Busan Incheon
Daejeon Gwangju Ulsan Suwon Kazan Samara Tula Tver Perm Omsk Tomsk Irkutsk Chita Yakutsk Penza
Ryazan Kursk Oryol Bryansk Smolensk Pskov Vologda Kostroma Ivanovo Vladimir Saratov Astrakhan
Tabriz Shiraz Yazd Kerman Mashhad Qom Rasht Karaj Aleppo Homs Latakia Tartus Mosul Basra Erbil
Najaf Karbala Sanaa Aden Muscat Doha Manama Kuwait Riyadh Jeddah Medina Amman Irbid Zarqa Beirut
Sidon Tyre Damietta Aswan Luxor Tanta Giza Sfax Sousse Oran Setif Fes Meknes Agadir Tangier""".split()

TRADES = """Logistics|Trading|Electronics|Industrial Supply|Engineering|Software|Precision
Machining|Textiles|Marine Services|Shipping|Agro Products|Foods|Pharmaceuticals|Medical
Devices|Chemicals|Plastics|Packaging|Construction|Consulting|Freight|Metals|Steel Works|Auto
Parts|Energy Solutions|Solar|Power Systems|Data Services|Telecom|Networks|Instruments|Optics|
Semiconductors|Components|Machinery|Tools|Hydraulics|Aviation Services|Travel|Import Export|
General Trading|Garments|Furniture|Paper|Printing|Media|Security Systems|Laboratories|Biotech|
Minerals|Mining|Oil Services|Gas Equipment|Rubber|Glass|Ceramics|Cables|Batteries|Robotics""".replace("\n", " ").split("|")
TRADES = [t.strip() for t in TRADES]

DECOY_LEGAL = ["Ltd", "Ltd.", "LLC", "Inc.", "GmbH", "S.A.", "Co., Ltd.", "Pte Ltd", "FZE",
               "JSC", "OOO", "S.R.L.", "B.V.", "Sdn Bhd", "Pvt Ltd", "Corp.", "AG", "PLC", "",
               "Limited", "Company", "Group", "Holding", "LLP", "A.S.", "Oy", "AB"]

GIVEN = """Ahmad Mohammed Ali Hassan Hussein Omar Yusuf Ibrahim Khalid Tariq Said Mahmoud Mustafa
Karim Nasser Walid Samir Faisal Jamal Rashid Hamid Majid Reza Mehdi Amir Hamed Javad Saeed Alireza
Farhad Dariush Behrouz Kourosh Sergei Aleksandr Dmitri Andrei Vladimir Igor Oleg Nikolai Pavel Yuri
Mikhail Viktor Maxim Artem Roman Denis Anton Ivan Elena Olga Natalya Tatyana Irina Svetlana Anna
Maria Wei Jun Li Ming Hua Jian Lei Yong Hong Ping Gang Qiang Bo Tao Xin Yan Hui Jing Min Chol
Song Yong Kwang Myong Hyon Jin Sung Young Ho Min Jae Dong Hyun Carlos Jose Luis Miguel Juan Pedro
Jorge Diego Mehmet Ahmet Mustafa Emre Murat Burak John David Michael James Robert Peter Thomas
George Daniel Paul Mark Andrew Steven""".split()

SURN = """Haddad Nasr Khoury Saleh Mansour Qasim Rahman Hashemi Karimi Rostami Ahmadi Mohammadi
Hosseini Rezaei Moradi Jafari Ivanov Petrov Smirnov Kuznetsov Popov Sokolov Lebedev Kozlov Novikov
Morozov Volkov Solovyov Vasiliev Zaitsev Pavlov Semenov Golubev Vinogradov Bogdanov Vorobyov Wang
Li Zhang Liu Chen Yang Huang Zhao Wu Zhou Xu Sun Ma Zhu Hu Guo He Lin Luo Gao Kim Lee Park Choi
Jung Kang Cho Yoon Jang Lim Han Oh Seo Shin Kwon Hwang Ahn Song Garcia Rodriguez Martinez
Hernandez Lopez Gonzalez Perez Sanchez Ramirez Torres Yilmaz Kaya Demir Sahin Celik Yildiz Smith
Johnson Williams Brown Jones Miller Davis Wilson Anderson Taylor Thomas Moore Martin Jackson""".split()

def make_decoys(rng, listed_keys, n):
    out, seen = [], set()
    while len(out) < n:
        if rng.random() < 0.6:
            parts = [rng.choice(NAME_WORDS)]
            if rng.random() < 0.3:
                parts.append(rng.choice(NAME_WORDS))
            parts.append(rng.choice(TRADES))
            lf = rng.choice(DECOY_LEGAL)
            if lf:
                parts.append(lf)
            q = " ".join(parts)
        else:
            g = rng.choice(GIVEN)
            s = rng.choice(SURN)
            if rng.random() < 0.3:
                q = g + " " + rng.choice(GIVEN) + " " + s
            elif rng.random() < 0.3:
                q = s.upper() + ", " + g
            else:
                q = g + " " + s
        k = key(q)
        if not k or k in listed_keys or k in seen:
            continue
        seen.add(k)
        out.append(q)
    return out

def tsv(s):
    return s.replace("\\", "\\\\").replace("\t", " ")

def main():
    if len(sys.argv) < 2:
        sys.exit("usage: make_variants.py SEED [LISTS_DIR]")
    seed = int(sys.argv[1])
    d = sys.argv[2] if len(sys.argv) > 2 else DEFAULT_DIR
    rng = random.Random(seed)
    sets, extra = load_all(d)
    listed_keys = set()
    ids = {}
    for es in list(sets.values()) + [extra]:
        for e in es:
            for nm in [e["name"]] + e["aliases"]:
                listed_keys.add(key(nm))
            ids.setdefault((e["code"], e["id"]), 0)
            ids[(e["code"], e["id"])] += 1
    print(f"# screening variant set: tests/screen/make_variants.py seed {seed} over the SDN, "
          "non-SDN consolidated, DPL and CSL files (docs/screening.md)")
    print("# kind\tvariant\tquery\tcountry\tlist\tsource_id\tlisted_name")
    for src in ("sdn", "cons", "dpl", "csl"):
        pool = [e for e in sets[src] if not (src == "csl" and e["code"] == "SDN")
                and len(re.sub(r"[^A-Za-z]", "", e["name"])) >= 6 and len(words(e["name"])) >= 1
                and e["id"]]
        if src == "dpl":  # the DPL repeats a party once per address: one row per name
            byname = {}
            for e in pool:
                byname.setdefault(e["name"], e)
            pool = list(byname.values())
        pool.sort(key=lambda e: (e["code"], e["id"]))
        chosen = rng.sample(pool, min(QUOTA[src], len(pool)))
        for e in chosen:
            kinds = MAKERS[:]
            rng.shuffle(kinds)
            made = 0
            for kname, fn in kinds:
                if made == 2:
                    break
                q = fn(rng, e, e["name"])
                if not q or key(q) == key(e["name"]) or not words(q):
                    continue
                q = re.sub(r"\s+", " ", recase(rng, q)).strip()
                print("\t".join(["hit", kname, tsv(q), "", e["code"], e["id"],
                                 tsv(e["name"])]))
                made += 1
    for q in make_decoys(rng, listed_keys, N_DECOYS):
        print("\t".join(["decoy", "decoy", tsv(q), "", "", "", ""]))

if __name__ == "__main__":
    main()
