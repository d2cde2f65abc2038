/*
 * country.c - country names to ISO 3166-1 alpha-2 codes.
 *
 * The CSL, the Denied Persons List and queries use alpha-2 codes; OFAC's
 * legacy address files spell countries out ("Korea, North", "Burma",
 * "Region: Crimea"). Country is supporting evidence for a match, so a name
 * that cannot be mapped is kept in the address text and simply gives no
 * code.
 */
#include "screen_int.h"

#include <stdlib.h>
#include <string.h>

/* English country names (ICU/CLDR display names, ASCII-folded, plus the
 * spellings OFAC uses) reduced to lower-case letters, sorted. */
typedef struct {
  const char *key, *code;
} country_name;

static const country_name country_names[] = {
    {"afghanistan", "AF"}, {"alandislands", "AX"}, {"albania", "AL"}, {"algeria", "DZ"},
    {"americansamoa", "AS"}, {"andorra", "AD"}, {"angola", "AO"}, {"anguilla", "AI"},
    {"antarctica", "AQ"}, {"antiguaandbarbuda", "AG"}, {"argentina", "AR"}, {"armenia", "AM"},
    {"aruba", "AW"}, {"australia", "AU"}, {"austria", "AT"}, {"azerbaijan", "AZ"},
    {"bahamas", "BS"}, {"bahamasthe", "BS"}, {"bahrain", "BH"}, {"bangladesh", "BD"},
    {"barbados", "BB"}, {"belarus", "BY"}, {"belgium", "BE"}, {"belize", "BZ"}, {"benin", "BJ"},
    {"bermuda", "BM"}, {"bhutan", "BT"}, {"bolivia", "BO"},
    {"boliviaplurinationalstateof", "BO"}, {"bosniaandherzegovina", "BA"}, {"botswana", "BW"},
    {"bouvetisland", "BV"}, {"brazil", "BR"}, {"britishindianoceanterritory", "IO"},
    {"britishvirginislands", "VG"}, {"brunei", "BN"}, {"bruneidarussalam", "BN"},
    {"bulgaria", "BG"}, {"burkinafaso", "BF"}, {"burma", "MM"}, {"burundi", "BI"},
    {"caboverde", "CV"}, {"cambodia", "KH"}, {"cameroon", "CM"}, {"canada", "CA"},
    {"canaryislands", "IC"}, {"capeverde", "CV"}, {"caribbeannetherlands", "BQ"},
    {"caymanislands", "KY"}, {"centralafricanrepublic", "CF"}, {"ceutaandmelilla", "EA"},
    {"chad", "TD"}, {"chile", "CL"}, {"china", "CN"}, {"chinapeoplesrepublicof", "CN"},
    {"christmasisland", "CX"}, {"cocoskeelingislands", "CC"}, {"colombia", "CO"},
    {"comoros", "KM"}, {"congobrazzaville", "CG"}, {"congodemocraticrepublicofthe", "CD"},
    {"congokinshasa", "CD"}, {"congorepublicofthe", "CG"}, {"cookislands", "CK"},
    {"costarica", "CR"}, {"cotedivoire", "CI"}, {"crimea", "UA"}, {"croatia", "HR"},
    {"cuba", "CU"}, {"curacao", "CW"}, {"cyprus", "CY"}, {"czechia", "CZ"},
    {"czechrepublic", "CZ"}, {"democraticrepublicofthecongo", "CD"}, {"denmark", "DK"},
    {"diegogarcia", "DG"}, {"djibouti", "DJ"}, {"dominica", "DM"}, {"dominicanrepublic", "DO"},
    {"easttimor", "TL"}, {"ecuador", "EC"}, {"egypt", "EG"}, {"elsalvador", "SV"},
    {"equatorialguinea", "GQ"}, {"eritrea", "ER"}, {"estonia", "EE"}, {"eswatini", "SZ"},
    {"ethiopia", "ET"}, {"falklandislands", "FK"}, {"faroeislands", "FO"}, {"fiji", "FJ"},
    {"finland", "FI"}, {"france", "FR"}, {"frenchguiana", "GF"}, {"frenchpolynesia", "PF"},
    {"frenchsouthernterritories", "TF"}, {"gabon", "GA"}, {"gambia", "GM"}, {"gambiathe", "GM"},
    {"gaza", "PS"}, {"gazastrip", "PS"}, {"georgia", "GE"}, {"germany", "DE"}, {"ghana", "GH"},
    {"gibraltar", "GI"}, {"greatbritain", "GB"}, {"greece", "GR"}, {"greenland", "GL"},
    {"grenada", "GD"}, {"guadeloupe", "GP"}, {"guam", "GU"}, {"guatemala", "GT"},
    {"guernsey", "GG"}, {"guinea", "GN"}, {"guineabissau", "GW"}, {"guyana", "GY"},
    {"haiti", "HT"}, {"heardandmcdonaldislands", "HM"}, {"holysee", "VA"}, {"honduras", "HN"},
    {"hongkong", "HK"}, {"hongkongsarchina", "HK"}, {"hungary", "HU"}, {"iceland", "IS"},
    {"india", "IN"}, {"indonesia", "ID"}, {"iran", "IR"}, {"iranislamicrepublicof", "IR"},
    {"iraq", "IQ"}, {"ireland", "IE"}, {"isleofman", "IM"}, {"israel", "IL"}, {"italy", "IT"},
    {"ivorycoast", "CI"}, {"jamaica", "JM"}, {"japan", "JP"}, {"jersey", "JE"},
    {"jordan", "JO"}, {"kazakhstan", "KZ"}, {"kenya", "KE"}, {"kiribati", "KI"},
    {"koreademocraticpeoplesrepublicof", "KP"}, {"koreanorth", "KP"}, {"korearepublicof", "KR"},
    {"koreasouth", "KR"}, {"kosovo", "XK"}, {"kuwait", "KW"}, {"kyrgyzrepublic", "KG"},
    {"kyrgyzstan", "KG"}, {"laopdr", "LA"}, {"laos", "LA"}, {"latvia", "LV"}, {"lebanon", "LB"},
    {"lesotho", "LS"}, {"liberia", "LR"}, {"libya", "LY"}, {"liechtenstein", "LI"},
    {"lithuania", "LT"}, {"luxembourg", "LU"}, {"macao", "MO"}, {"macaosarchina", "MO"},
    {"macau", "MO"}, {"macedonia", "MK"}, {"madagascar", "MG"}, {"malawi", "MW"},
    {"malaysia", "MY"}, {"maldives", "MV"}, {"mali", "ML"}, {"malta", "MT"},
    {"manisleof", "IM"}, {"marshallislands", "MH"}, {"martinique", "MQ"}, {"mauritania", "MR"},
    {"mauritius", "MU"}, {"mayotte", "YT"}, {"mexico", "MX"}, {"micronesia", "FM"},
    {"micronesiafederatedstatesof", "FM"}, {"moldova", "MD"}, {"moldovarepublicof", "MD"},
    {"monaco", "MC"}, {"mongolia", "MN"}, {"montenegro", "ME"}, {"montserrat", "MS"},
    {"morocco", "MA"}, {"mozambique", "MZ"}, {"myanmar", "MM"}, {"myanmarburma", "MM"},
    {"namibia", "NA"}, {"nauru", "NR"}, {"nepal", "NP"}, {"netherlands", "NL"},
    {"netherlandsantilles", "AN"}, {"newcaledonia", "NC"}, {"newzealand", "NZ"},
    {"nicaragua", "NI"}, {"niger", "NE"}, {"nigeria", "NG"}, {"niue", "NU"},
    {"norfolkisland", "NF"}, {"northerngaza", "PS"}, {"northernmarianaislands", "MP"},
    {"northgaza", "PS"}, {"northkorea", "KP"}, {"northmacedonia", "MK"}, {"norway", "NO"},
    {"oman", "OM"}, {"pakistan", "PK"}, {"palau", "PW"}, {"palestine", "PS"},
    {"palestinian", "PS"}, {"palestinianterritories", "PS"}, {"panama", "PA"},
    {"papuanewguinea", "PG"}, {"paraguay", "PY"}, {"peoplesrepublicofchina", "CN"},
    {"peru", "PE"}, {"philippines", "PH"}, {"pitcairnislands", "PN"}, {"poland", "PL"},
    {"portugal", "PT"}, {"prc", "CN"}, {"puertorico", "PR"}, {"qatar", "QA"},
    {"regioncrimea", "UA"}, {"regiongaza", "PS"}, {"regionkafiakingi", "SS"},
    {"regionnorthernmali", "ML"}, {"republicofthecongo", "CG"}, {"reunion", "RE"},
    {"romania", "RO"}, {"russia", "RU"}, {"russianfederation", "RU"}, {"rwanda", "RW"},
    {"saintbarthelemy", "BL"}, {"sainthelena", "SH"}, {"saintkittsandnevis", "KN"},
    {"saintlucia", "LC"}, {"saintmartin", "MF"}, {"saintpierreandmiquelon", "PM"},
    {"saintvincentandthegrenadines", "VC"}, {"samoa", "WS"}, {"sanmarino", "SM"},
    {"saotomeandprincipe", "ST"}, {"saudiarabia", "SA"}, {"senegal", "SN"}, {"serbia", "RS"},
    {"serbiaandmontenegro", "RS"}, {"seychelles", "SC"}, {"sierraleone", "SL"},
    {"singapore", "SG"}, {"sintmaarten", "SX"}, {"slovakia", "SK"}, {"slovakrepublic", "SK"},
    {"slovenia", "SI"}, {"solomonislands", "SB"}, {"somalia", "SO"}, {"southafrica", "ZA"},
    {"southgeorgiaandsouthsandwichislands", "GS"}, {"southkorea", "KR"}, {"southsudan", "SS"},
    {"spain", "ES"}, {"srilanka", "LK"}, {"stbarthelemy", "BL"}, {"sthelena", "SH"},
    {"stkittsandnevis", "KN"}, {"stlucia", "LC"}, {"stmartin", "MF"},
    {"stpierreandmiquelon", "PM"}, {"stvincentandgrenadines", "VC"}, {"sudan", "SD"},
    {"suriname", "SR"}, {"svalbardandjanmayen", "SJ"}, {"swaziland", "SZ"}, {"sweden", "SE"},
    {"switzerland", "CH"}, {"syria", "SY"}, {"syrianarabrepublic", "SY"}, {"taiwan", "TW"},
    {"tajikistan", "TJ"}, {"tanzania", "TZ"}, {"tanzaniaunitedrepublicof", "TZ"},
    {"thailand", "TH"}, {"thegambia", "GM"}, {"timorleste", "TL"}, {"togo", "TG"},
    {"tokelau", "TK"}, {"tonga", "TO"}, {"trinidadandtobago", "TT"}, {"tunisia", "TN"},
    {"turkey", "TR"}, {"turkiye", "TR"}, {"turkmenistan", "TM"},
    {"turksandcaicosislands", "TC"}, {"tuvalu", "TV"}, {"uganda", "UG"}, {"uk", "GB"},
    {"ukraine", "UA"}, {"unitedarabemirates", "AE"}, {"unitedkingdom", "GB"},
    {"unitedstates", "US"}, {"unitedstatesofamerica", "US"}, {"uruguay", "UY"}, {"usa", "US"},
    {"usoutlyingislands", "UM"}, {"usvirginislands", "VI"}, {"uzbekistan", "UZ"},
    {"vanuatu", "VU"}, {"vaticancity", "VA"}, {"venezuela", "VE"},
    {"venezuelabolivarianrepublicof", "VE"}, {"vietnam", "VN"}, {"virginislandsbritish", "VG"},
    {"virginislandsus", "VI"}, {"wallisandfutuna", "WF"}, {"westbank", "PS"},
    {"westernsahara", "EH"}, {"yemen", "YE"}, {"yugoslavia", "RS"}, {"zambia", "ZM"},
    {"zimbabwe", "ZW"},
};

/* ISO 3166-1 alpha-2 codes in use (plus XK, Kosovo, and AN, the former
 * Netherlands Antilles that older OFAC files still name), sorted. */
static const char iso_codes[][3] = {
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AN", "AO", "AQ", "AR", "AS", "AT", "AU", "AW",
    "AX", "AZ", "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO",
    "BQ", "BR", "BS", "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI",
    "CK", "CL", "CM", "CN", "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DG", "DJ",
    "DK", "DM", "DO", "DZ", "EA", "EC", "EE", "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK",
    "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF", "GG", "GH", "GI", "GL", "GM", "GN", "GP",
    "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM", "HN", "HR", "HT", "HU", "IC", "ID",
    "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM", "JO", "JP", "KE", "KG",
    "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC", "LI", "LK", "LR",
    "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK", "ML", "MM",
    "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA", "NC",
    "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU",
    "RW", "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO",
    "SR", "SS", "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL",
    "TM", "TN", "TO", "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA",
    "VC", "VE", "VG", "VI", "VN", "VU", "WF", "WS", "XK", "YE", "YT", "ZA", "ZM", "ZW",
};

static int cmp_name(const void *k, const void *e) {
  return strcmp((const char *)k, ((const country_name *)e)->key);
}

static int cmp_code(const void *k, const void *e) { return strncmp((const char *)k, e, 2); }

const char *sx_country_code(const char *name, size_t len) {
  char key[96];
  size_t k = 0;
  for (size_t i = 0; i < len && k + 4 < sizeof key; i++) {
    char c = name[i];
    if (c >= 'A' && c <= 'Z')
      c = (char)(c - 'A' + 'a');
    if (c >= 'a' && c <= 'z')
      key[k++] = c;
    else if (c == '&') {
      memcpy(key + k, "and", 3);
      k += 3;
    }
  }
  key[k] = '\0';
  if (!k)
    return NULL;
  const country_name *hit =
      bsearch(key, country_names, sizeof country_names / sizeof *country_names,
              sizeof *country_names, cmp_name);
  if (!hit && k > 6 && !memcmp(key, "region", 6)) /* "Region: Crimea" */
    hit = bsearch(key + 6, country_names, sizeof country_names / sizeof *country_names,
                  sizeof *country_names, cmp_name);
  if (!hit && k > 8 && !memcmp(key + k - 8, "occupied", 8)) { /* "Crimea (Occupied)" */
    key[k - 8] = '\0';
    hit = bsearch(key, country_names, sizeof country_names / sizeof *country_names,
                  sizeof *country_names, cmp_name);
  }
  return hit ? hit->code : NULL;
}

bool sx_country_valid(const char *s, size_t len) {
  if (len != 2 || s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z')
    return false;
  char k[3] = {s[0], s[1], 0};
  return bsearch(k, iso_codes, sizeof iso_codes / sizeof *iso_codes, sizeof *iso_codes,
                 cmp_code) != NULL;
}
