/*
 * row.c - what the Nexmark queries share: result rows (writing them in a
 * callback's batch arena, formatting them as JSON or canonical text),
 * 8-byte keys, decoding input events, the type filters, and the query table.
 *
 * Row layout (nexmark.h): the query's columns in order; I64 and DEC3 as
 * 8 bytes little-endian, STR as u16 little-endian length + bytes.
 */
#include "nexmark.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

const beck_nexmark_query_t *const beck_nexmark_queries[] = {
    &beck_nexmark_q0, &beck_nexmark_q1, &beck_nexmark_q2, &beck_nexmark_q3,  &beck_nexmark_q4,
    &beck_nexmark_q5, &beck_nexmark_q7, &beck_nexmark_q8, &beck_nexmark_q11, NULL,
};

const beck_nexmark_query_t *beck_nexmark_query_find(const char *name) {
  for (int i = 0; beck_nexmark_queries[i] != NULL; i++)
    if (strcmp(beck_nexmark_queries[i]->name, name) == 0)
      return beck_nexmark_queries[i];
  return NULL;
}

void beck_nexmark_params_init(beck_nexmark_params_t *p) {
  memset(p, 0, sizeof *p);
  beck_nexmark_config_init(&p->gen);
  p->grace_ms = -1;
  p->q5_slide_ms = 2000;
}

int64_t beck_nexmark_default_grace(const beck_nexmark_config_t *gen, uint64_t events) {
  int64_t span = beck_nexmark_event_time(gen, events) - gen->base_time_ms + 1000;
  return span > 4000 ? span : 4000;
}

/* ---- rows ------------------------------------------------------------------- */

bool beck_nexmark_row_begin(beck_nexmark_row_t *r, beck_sctx_t *ctx, size_t cap) {
  r->p = beck_sctx_alloc(ctx, cap);
  r->len = 0;
  r->cap = r->p != NULL ? cap : 0;
  return r->p != NULL;
}

void beck_nexmark_row_i64(beck_nexmark_row_t *r, int64_t v) {
  if (r->cap - r->len < 8) {
    r->len = r->cap + 1; /* marks overflow; callers size rows exactly */
    return;
  }
  uint64_t u = (uint64_t)v;
  memcpy(r->p + r->len, &u, 8);
  r->len += 8;
}

void beck_nexmark_row_str(beck_nexmark_row_t *r, const void *p, size_t len) {
  if (len > 0xffff || r->len > r->cap || r->cap - r->len < 2 + len) {
    r->len = r->cap + 1;
    return;
  }
  r->p[r->len] = (uint8_t)len;
  r->p[r->len + 1] = (uint8_t)(len >> 8);
  if (len)
    memcpy(r->p + r->len + 2, p, len);
  r->len += 2 + len;
}

static void put_json_str(beck_buf_t *out, const uint8_t *p, size_t n) {
  beck_buf_append(out, "\"", 1);
  for (size_t i = 0; i < n; i++) {
    if (p[i] == '"' || p[i] == '\\') {
      char e[2] = {'\\', (char)p[i]};
      beck_buf_append(out, e, 2);
    } else if (p[i] < 0x20) {
      beck_buf_printf(out, "\\u%04x", p[i]);
    } else {
      beck_buf_append(out, p + i, 1);
    }
  }
  beck_buf_append(out, "\"", 1);
}

beck_err_t beck_nexmark_row_format(const beck_nexmark_query_t *q, const uint8_t *p, size_t len, bool json,
                                   beck_buf_t *out) {
  size_t pos = 0;
  if (json)
    beck_buf_append(out, "{", 1);
  for (int i = 0; i < q->ncols; i++) {
    const beck_nexmark_col_t *c = &q->cols[i];
    if (json)
      beck_buf_printf(out, "%s\"%s\":", i ? "," : "", c->name);
    else if (i)
      beck_buf_append(out, "|", 1);
    if (c->type == BECK_NEXMARK_STR) {
      if (len - pos < 2)
        return BECK_ERR_CORRUPT;
      size_t n = (size_t)p[pos] | (size_t)p[pos + 1] << 8;
      pos += 2;
      if (len - pos < n)
        return BECK_ERR_CORRUPT;
      if (json)
        put_json_str(out, p + pos, n);
      else
        beck_buf_append(out, p + pos, n);
      pos += n;
      continue;
    }
    if (len - pos < 8)
      return BECK_ERR_CORRUPT;
    int64_t v = beck_nexmark_le64(p + pos);
    pos += 8;
    if (c->type == BECK_NEXMARK_DEC3) {
      uint64_t a = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
      beck_buf_printf(out, "%s%" PRIu64 ".%03u", v < 0 ? "-" : "", a / 1000, (unsigned)(a % 1000));
    } else {
      beck_buf_printf(out, "%" PRId64, v);
    }
  }
  if (json)
    beck_buf_append(out, "}", 1);
  if (pos != len)
    return BECK_ERR_CORRUPT;
  return beck_buf_reserve(out, 1) == BECK_ERR_OK ? (out->data[out->len] = '\0', BECK_ERR_OK) : BECK_ERR_NOMEM;
}

/* ---- keys, events, filters -------------------------------------------------- */

beck_nstr_t beck_nexmark_key_i64(beck_sctx_t *ctx, int64_t v) {
  uint8_t *k = beck_sctx_alloc(ctx, 8);
  if (k == NULL)
    return beck_nstr_null();
  beck_store_be64(k, (uint64_t)v);
  return beck_nstr(k, 8);
}

int64_t beck_nexmark_key_get(beck_nstr_t k) { return k.len == 8 ? (int64_t)beck_load_be64(k.ptr) : INT64_MIN; }

int beck_nexmark_event_of(beck_sctx_t *ctx, const beck_srec_t *r, beck_nexmark_event_t *ev) {
  if (r->value.len < 0 || beck_nexmark_decode(r->value.ptr, (size_t)r->value.len, ev) != 0)
    return beck_sctx_fail(ctx, BECK_ERR_CORRUPT, "not a Nexmark event (%d bytes)", (int)r->value.len);
  return 0;
}

int beck_nexmark_is_person(void *ud, beck_sctx_t *ctx, const beck_srec_t *r) {
  return beck_nexmark_type_of(r) == BECK_NEXMARK_PERSON;
}

int beck_nexmark_is_auction(void *ud, beck_sctx_t *ctx, const beck_srec_t *r) {
  return beck_nexmark_type_of(r) == BECK_NEXMARK_AUCTION;
}

int beck_nexmark_is_bid(void *ud, beck_sctx_t *ctx, const beck_srec_t *r) {
  return beck_nexmark_type_of(r) == BECK_NEXMARK_BID;
}
