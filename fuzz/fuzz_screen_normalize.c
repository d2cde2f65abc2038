/*
 * fuzz_screen_normalize.c - libFuzzer target: the name normaliser, for
 * queries (strict: invalid UTF-8 and control characters rejected) and for
 * list data (lenient), and one query of the bytes against a small index.
 * Any bytes must normalise or be rejected with a reason; the normalised
 * form must be lower-case ASCII words.
 */
#include "../src/screen/screen_int.h"
#include "acegate/screen.h"

#include <stdlib.h>
#include <string.h>

static const char LIST[] =
    "source,entity_number,type,programs,name,title,addresses,federal_register_notice,start_date,"
    "end_date,standard_order,license_requirement,license_policy,call_sign,vessel_type,"
    "gross_tonnage,gross_registered_tonnage,vessel_flag,vessel_owner,remarks,source_list_url,"
    "alt_names,citizenships,dates_of_birth,nationalities,places_of_birth,source_information_url,"
    "ids\n"
    "Entity List (EL) - Bureau of Industry and Security,,,,Candiru,,IL,86 FR 60760,,,,"
    "All items,Presumption of denial,,,,,,,,,Saito Tech Ltd.; DF Associates Ltd.,,,,,,\n"
    "Specially Designated Nationals (SDN) - Treasury Department,306,Entity,CUBA,"
    "BANCO NACIONAL DE CUBA,,CU,,,,,,,,,,,,,,,NATIONAL BANK OF CUBA,,,,,,\n"
    "Entity List (EL) - Bureau of Industry and Security,,,,\"Zhejiang Dahua Technology Co., "
    "Ltd. (ZDT)\",,CN,,,,,,,,,,,,,,,,,,,,,\n"
    "Denied Persons List (DPL) - Bureau of Industry and Security,,,,\"SEMICONDUCTOR SYSTEMS "
    "INTL., INC. (SSI)\",,US,,,,,,,,,,,,,,,,,,,,,\n";

static ag_screen *lists(void) {
  static ag_screen *s; /* built once; read-only afterwards */
  if (!s) {
    sx_set set;
    sx_set_init(&set);
    ag_error err;
    ag_buf img;
    ag_buf_init(&img);
    if (sx_load_buffer(&set, "list.csv", LIST, sizeof LIST - 1, &err) ||
        sx_build_image(&set, &img, &err) || ag_screen_open_index_mem(img.data, img.len, &s, &err))
      abort();
    ag_buf_free(&img);
    sx_set_free(&set);
  }
  return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *s = (const char *)data;
  ag_buf out;
  ag_buf_init(&out);
  ag_error err;
  ag_error_clear(&err);
  if (ag_screen_normalize(s, size, &out, &err) == AG_OK) {
    for (size_t i = 0; i < out.len; i++) {
      char c = out.data[i];
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == ' '))
        abort();
    }
  } else if (!err.reason[0]) {
    abort();
  }
  ag_buf_free(&out);
  /* list data: never rejected for its bytes */
  sx_norm n;
  sx_norm_init(&n);
  if (size <= 4096) {
    if (sx_normalize(&n, s, size, false, "name", &err) != AG_OK) {
      if (err.status != AG_ERR_NOMEM && err.status != AG_ERR_LIMIT)
        abort();
    } else
      for (size_t i = 0; i < n.ntok; i++) {
        /* each word and the word as written: in the buffer, NUL-terminated */
        const sx_ntok *t = &n.tok[i];
        if ((size_t)t->off + t->len >= n.text_len ||
            (size_t)t->raw_off + t->raw_len >= n.text_len || n.text[t->off + t->len] ||
            n.text[t->raw_off + t->raw_len] || !t->raw_len)
          abort();
      }
  }
  sx_norm_free(&n);
  ag_screen_result r;
  ag_screen_result_init(&r);
  if (ag_screen_query(lists(), s, size, NULL, &r, &err) == AG_OK)
    for (size_t i = 1; i < r.count; i++)
      if (r.matches[i].score > r.matches[i - 1].score)
        abort(); /* best first */
  ag_screen_result_free(&r);
  return 0;
}
