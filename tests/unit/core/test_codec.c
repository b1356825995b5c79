/* test_codec.c - core/record/codec.c: the four Kafka codecs (exact round
 * trips, xerial snappy, the output cap, malformed input, OOM), compressed
 * batches through the builder and beck_batch_records, and the fuzz seeds.
 *
 * With BECK_WRITE_FUZZ_SEEDS=1 in the environment, the seed test first
 * (re)writes tests/fuzz/corpus/record_batch/; it always checks that every
 * seed there is a valid batch whose records iterate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <snappy-c.h>

#include "base/alloc.h"
#include "record/codec.h"

static const beck_codec_t ALL_CODECS[] = {BECK_CODEC_NONE, BECK_CODEC_GZIP, BECK_CODEC_SNAPPY, BECK_CODEC_LZ4,
                                          BECK_CODEC_ZSTD};
static const beck_codec_t COMPRESSING[] = {BECK_CODEC_GZIP, BECK_CODEC_SNAPPY, BECK_CODEC_LZ4, BECK_CODEC_ZSTD};
#define N_ALL (sizeof ALL_CODECS / sizeof ALL_CODECS[0])
#define N_COMPRESSING (sizeof COMPRESSING / sizeof COMPRESSING[0])
#define MIB ((size_t)1024 * 1024)

/* ---- helpers ------------------------------------------------------------ */

static uint64_t rng_next(uint64_t *s) {
  uint64_t x = *s;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return *s = x;
}

/* Deterministic data that exercises each codec's paths: 4 KiB segments of
 * random bytes, repeated text, zeros and a small-alphabet random walk. */
static uint8_t *mixed_data(size_t n) {
  uint8_t *p = malloc(n ? n : 1);
  assert_non_null(p);
  uint64_t s = 0x9e3779b97f4a7c15ULL;
  static const char text[] = "partition clicks-3 offset 81920: the quick brown fox; ";
  for (size_t i = 0; i < n; i++) {
    switch ((i / 4096) % 4) {
    case 0:
      p[i] = (uint8_t)rng_next(&s);
      break;
    case 1:
      p[i] = (uint8_t)text[i % (sizeof text - 1)];
      break;
    case 2:
      p[i] = 0;
      break;
    default:
      p[i] = (uint8_t)('a' + rng_next(&s) % 4);
      break;
    }
  }
  return p;
}

static void compress_ok(beck_codec_t c, const void *src, size_t len, beck_buf_t *out) {
  beck_error_t e;
  beck_err_t err = beck_codec_compress(c, src, len, out, &e);
  if (err)
    fail_msg("%s compress: %s", beck_codec_name(c), e.msg);
}

/* A xerial frame (0x82 SNAPPY 0x00, version 1, compat 1) whose blocks are
 * src cut into `chunk`-byte pieces, each raw-snappy compressed. */
static void xerial_frame(const uint8_t *src, size_t len, size_t chunk, beck_buf_t *out) {
  static const uint8_t magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0x00};
  uint8_t be[4];
  assert_int_equal(beck_buf_append(out, magic, sizeof magic), 0);
  beck_store_be32(be, 1);
  assert_int_equal(beck_buf_append(out, be, 4), 0);
  assert_int_equal(beck_buf_append(out, be, 4), 0);
  for (size_t pos = 0; pos < len; pos += chunk) {
    size_t n = len - pos < chunk ? len - pos : chunk;
    size_t zn = snappy_max_compressed_length(n);
    assert_int_equal(beck_buf_reserve(out, 4 + zn), 0);
    assert_int_equal(snappy_compress((const char *)src + pos, n, (char *)out->data + out->len + 4, &zn), SNAPPY_OK);
    beck_store_be32(out->data + out->len, (uint32_t)zn);
    out->len += 4 + zn;
  }
}

/* ---- the records every batch test uses ---------------------------------- */

typedef struct test_record {
  int64_t ts;
  const char *key; /* NULL = null key */
  const char *value;
  const char *hkey; /* one header when non-NULL */
  const char *hval; /* NULL = null header value */
} test_record_t;

static const test_record_t RECORDS[] = {
    {1700000000000, "user-1", "{\"page\":\"/home\"}", "trace", "abc"},
    {1700000000005, NULL, "", NULL, NULL},
    {1699999999999, "user-3", NULL, "h", NULL},
    {1700000000100, "user-1", "{\"page\":\"/home\"} {\"page\":\"/home\"} {\"page\":\"/home\"}", NULL, NULL},
};
#define N_RECORDS (sizeof RECORDS / sizeof RECORDS[0])

static beck_nstr_t nstr_of(const char *s) { return s ? beck_nstr(s, (int32_t)strlen(s)) : beck_nstr_null(); }

static void add_records(beck_batch_builder_t *b) {
  for (size_t i = 0; i < N_RECORDS; i++) {
    const test_record_t *r = &RECORDS[i];
    beck_record_header_t h = {beck_slice_cstr(r->hkey ? r->hkey : ""), nstr_of(r->hval)};
    assert_int_equal(
        beck_batch_builder_add(b, r->ts, nstr_of(r->key), nstr_of(r->value), r->hkey ? &h : NULL, r->hkey ? 1 : 0), 0);
  }
}

static void assert_nstr(beck_nstr_t got, const char *want) {
  if (want == NULL) {
    assert_int_equal(got.len, -1);
    assert_null(got.ptr);
    return;
  }
  assert_int_equal(got.len, (int32_t)strlen(want));
  if (got.len)
    assert_memory_equal(got.ptr, want, (size_t)got.len);
}

/* Validates a batch holding RECORDS, decodes its records section and checks
 * every record and header exactly. */
static void assert_batch_holds_records(const uint8_t *p, size_t len, beck_codec_t codec) {
  beck_batch_header_t h;
  beck_error_t e;
  if (beck_batch_validate(p, len, true, &h, &e))
    fail_msg("validate: %s", e.msg);
  assert_int_equal(beck_batch_codec(&h), codec);
  assert_int_equal(h.records_count, (int32_t)N_RECORDS);
  assert_int_equal(h.last_offset_delta, (int32_t)N_RECORDS - 1);
  assert_true(h.base_timestamp == RECORDS[0].ts);
  assert_true(h.max_timestamp == RECORDS[3].ts);

  beck_buf_t scratch = {0};
  beck_slice_t recs;
  if (beck_batch_records(p, len, &h, MIB, &scratch, &recs, &e))
    fail_msg("records: %s", e.msg);
  if (codec == BECK_CODEC_NONE)
    assert_ptr_equal(recs.ptr, p + BECK_BATCH_HEADER_SIZE); /* borrowed, no copy */
  beck_record_iter_t it;
  beck_record_iter_init(&it, &h, recs.ptr, recs.len);
  beck_record_t r;
  for (size_t i = 0; i < N_RECORDS; i++) {
    assert_int_equal(beck_record_iter_next(&it, &r), 1);
    assert_true(r.offset == h.base_offset + (int64_t)i);
    assert_true(r.timestamp == RECORDS[i].ts);
    assert_nstr(r.key, RECORDS[i].key);
    assert_nstr(r.value, RECORDS[i].value);
    assert_int_equal(r.headers_count, RECORDS[i].hkey ? 1 : 0);
    beck_slice_t cur = r.headers;
    beck_record_header_t rh;
    if (RECORDS[i].hkey) {
      assert_int_equal(beck_record_header_next(&cur, &rh), 1);
      assert_true(beck_slice_eq(rh.key, beck_slice_cstr(RECORDS[i].hkey)));
      assert_nstr(rh.value, RECORDS[i].hval);
    }
    assert_int_equal(beck_record_header_next(&cur, &rh), 0);
  }
  assert_int_equal(beck_record_iter_next(&it, &r), 0);
  beck_buf_free(&scratch);
}

/* The uncompressed records section of RECORDS (owned by the caller). */
static void plain_records(beck_buf_t *out) {
  beck_batch_builder_t b;
  beck_batch_builder_init(&b);
  add_records(&b);
  assert_int_equal(beck_batch_builder_finish(&b), 0);
  assert_int_equal(beck_buf_append(out, b.buf.data + BECK_BATCH_HEADER_SIZE, b.buf.len - BECK_BATCH_HEADER_SIZE), 0);
  beck_batch_builder_free(&b);
}

/* A batch of RECORDS whose records section is the xerial-framed snappy blob
 * kafka-python would send (assembled by hand: the builder writes raw). */
static void xerial_batch(beck_buf_t *out) {
  beck_buf_t recs = {0};
  plain_records(&recs);
  beck_batch_builder_t b;
  beck_batch_builder_init(&b);
  add_records(&b);
  assert_int_equal(beck_batch_builder_finish(&b), 0);
  assert_int_equal(beck_buf_append(out, b.buf.data, BECK_BATCH_HEADER_SIZE), 0);
  xerial_frame(recs.data, recs.len, 64, out);
  uint16_t attrs = beck_load_be16(out->data + BECK_BATCH_OFF_ATTRIBUTES);
  beck_store_be16(out->data + BECK_BATCH_OFF_ATTRIBUTES, (uint16_t)(attrs | BECK_CODEC_SNAPPY));
  beck_store_be32(out->data + BECK_BATCH_OFF_LENGTH, (uint32_t)(out->len - BECK_BATCH_LOG_OVERHEAD));
  beck_batch_update_crc(out->data, out->len);
  beck_batch_builder_free(&b);
  beck_buf_free(&recs);
}

/* ---- round trips --------------------------------------------------------- */

static void every_codec_round_trips_exact_bytes(void **state) {
  size_t sizes[] = {0, 1, MIB};
  for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
    size_t n = sizes[si];
    uint8_t *data = mixed_data(n);
    if (n == 1)
      data[0] = 0xa5;
    for (size_t ci = 0; ci < N_ALL; ci++) {
      beck_codec_t c = ALL_CODECS[ci];
      beck_buf_t z = {0}, out = {0};
      beck_error_t e;
      compress_ok(c, data, n, &z);
      if (n == MIB && c != BECK_CODEC_NONE)
        assert_true(z.len < n); /* the mixed data is 3/4 compressible */
      /* appends after what is already there */
      assert_int_equal(beck_buf_append(&out, "prefix", 6), 0);
      beck_err_t err = beck_codec_decompress(c, z.data, z.len, n, &out, &e); /* cap == exact size */
      if (err)
        fail_msg("%s decompress of %zu bytes: %s", beck_codec_name(c), n, e.msg);
      assert_int_equal(out.len, 6 + n);
      assert_memory_equal(out.data, "prefix", 6);
      if (n)
        assert_memory_equal(out.data + 6, data, n);
      if (n > 0) { /* one byte under the exact size is refused */
        out.len = 6;
        assert_int_equal(beck_codec_decompress(c, z.data, z.len, n - 1, &out, &e), BECK_ERR_TOOBIG);
        assert_int_equal(out.len, 6);
      }
      beck_buf_free(&z);
      beck_buf_free(&out);
    }
    free(data);
  }
}

static void concatenated_gzip_members_lz4_and_zstd_frames_decode_in_order(void **state) {
  beck_codec_t cs[] = {BECK_CODEC_GZIP, BECK_CODEC_LZ4, BECK_CODEC_ZSTD};
  for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) {
    beck_buf_t z = {0}, out = {0};
    beck_error_t e;
    compress_ok(cs[i], "hello, ", 7, &z);
    compress_ok(cs[i], "", 0, &z);
    compress_ok(cs[i], "world", 5, &z);
    if (beck_codec_decompress(cs[i], z.data, z.len, 1024, &out, &e))
      fail_msg("%s: %s", beck_codec_name(cs[i]), e.msg);
    assert_int_equal(out.len, 12);
    assert_memory_equal(out.data, "hello, world", 12);
    beck_buf_free(&z);
    beck_buf_free(&out);
  }
}

/* ---- xerial snappy ------------------------------------------------------- */

static void xerial_framed_snappy_decodes_to_the_concatenated_blocks(void **state) {
  size_t n = 100000;
  uint8_t *data = mixed_data(n);
  size_t chunks[] = {32 * 1024, 1000, 1, n};
  for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
    beck_buf_t z = {0}, out = {0};
    beck_error_t e;
    xerial_frame(data, n, chunks[i], &z);
    if (beck_codec_decompress(BECK_CODEC_SNAPPY, z.data, z.len, n, &out, &e))
      fail_msg("xerial chunk %zu: %s", chunks[i], e.msg);
    assert_int_equal(out.len, n);
    assert_memory_equal(out.data, data, n);
    /* the cap applies across blocks */
    out.len = 0;
    assert_int_equal(beck_codec_decompress(BECK_CODEC_SNAPPY, z.data, z.len, n - 1, &out, &e), BECK_ERR_TOOBIG);
    assert_int_equal(out.len, 0);
    /* a block cut short, and a length running past the end, are corrupt */
    assert_int_equal(beck_codec_decompress(BECK_CODEC_SNAPPY, z.data, z.len - 1, n, &out, &e), BECK_ERR_CORRUPT);
    assert_non_null(strstr(e.msg, "snappy"));
    assert_int_equal(out.len, 0);
    beck_buf_free(&z);
    beck_buf_free(&out);
  }
  /* header only: no blocks is empty output; a truncated header is corrupt */
  beck_buf_t z = {0}, out = {0};
  beck_error_t e;
  xerial_frame(data, 0, 1, &z);
  assert_int_equal(z.len, 16);
  assert_int_equal(beck_codec_decompress(BECK_CODEC_SNAPPY, z.data, z.len, 0, &out, &e), 0);
  assert_int_equal(out.len, 0);
  assert_int_equal(beck_codec_decompress(BECK_CODEC_SNAPPY, z.data, 12, 10, &out, &e), BECK_ERR_CORRUPT);
  assert_non_null(strstr(e.msg, "xerial"));
  beck_buf_free(&z);
  beck_buf_free(&out);
  free(data);
}

static void xerial_snappy_batch_iterates_exact_records(void **state) {
  beck_buf_t batch = {0};
  xerial_batch(&batch);
  assert_batch_holds_records(batch.data, batch.len, BECK_CODEC_SNAPPY);
  beck_buf_free(&batch);
}

/* ---- the cap ------------------------------------------------------------- */

static void small_input_expanding_past_the_cap_fails_toobig_and_restores_len(void **state) {
  size_t n = 4 * MIB, cap = 256 * 1024;
  uint8_t *zeros = calloc(1, n);
  assert_non_null(zeros);
  for (size_t i = 0; i < N_COMPRESSING + 1; i++) {
    beck_codec_t c = i < N_COMPRESSING ? COMPRESSING[i] : BECK_CODEC_SNAPPY;
    beck_buf_t z = {0}, out = {0};
    beck_error_t e;
    if (i < N_COMPRESSING)
      compress_ok(c, zeros, n, &z);
    else
      xerial_frame(zeros, n, 32 * 1024, &z); /* and snappy's xerial framing */
    assert_true(z.len < 256 * 1024);         /* small input ... */
    assert_int_equal(beck_buf_append(&out, "keep", 4), 0);
    assert_int_equal(beck_codec_decompress(c, z.data, z.len, cap, &out, &e), BECK_ERR_TOOBIG);
    assert_int_equal(out.len, 4);
    assert_memory_equal(out.data, "keep", 4);
    assert_true(out.cap <= 4 + cap + 1 + 64); /* ... never allocated past the cap */
    assert_non_null(strstr(e.msg, beck_codec_name(c)));
    beck_buf_free(&z);
    beck_buf_free(&out);
  }
  free(zeros);
}

static void hostile_size_claims_are_refused_before_allocating(void **state) {
  beck_buf_t out = {0};
  beck_error_t e;
  /* raw snappy: a preamble claiming 4 GiB followed by 1 KiB of literal ops */
  uint8_t snap[1029] = {0x80, 0x80, 0x80, 0x80, 0x10};
  memset(snap + 5, 0xfc, sizeof snap - 5);
  beck_err_t err = beck_codec_decompress(BECK_CODEC_SNAPPY, snap, sizeof snap, 4 * MIB, &out, &e);
  assert_true(err == BECK_ERR_CORRUPT || err == BECK_ERR_TOOBIG);
  assert_true(out.cap <= 64 * 1024);
  /* same preamble, claiming 1 GiB, with a cap above the claim */
  snap[4] = 0x04;
  assert_int_equal(beck_codec_decompress(BECK_CODEC_SNAPPY, snap, sizeof snap, SIZE_MAX, &out, &e), BECK_ERR_CORRUPT);
  assert_true(out.cap <= 64 * 1024);

  /* zstd: a frame header claiming 4 GiB of content, then RLE blocks of
   * 128 KiB each (4 bytes per block); 8 blocks = 1 MiB of output. */
  uint8_t zs[14 + 8 * 4] = {
      0x28, 0xb5, 0x2f, 0xfd, 0xc0 /* FCS 8 bytes */, 0x58 /* window 2 MiB */, 0x00, 0x00, 0x00, 0x00,
      0x01, 0x00, 0x00, 0x00 /* 4 GiB LE */};
  for (int i = 0; i < 8; i++) {
    uint32_t bh = (128u * 1024u) << 3 | 1u << 1; /* RLE, not last */
    zs[14 + 4 * i] = (uint8_t)bh;
    zs[15 + 4 * i] = (uint8_t)(bh >> 8);
    zs[16 + 4 * i] = (uint8_t)(bh >> 16);
    zs[17 + 4 * i] = 'z';
  }
  assert_int_equal(beck_codec_decompress(BECK_CODEC_ZSTD, zs, sizeof zs, 64 * 1024, &out, &e), BECK_ERR_TOOBIG);
  assert_int_equal(out.len, 0);
  assert_true(out.cap <= 64 * 1024 + 1);
  /* with room for all of it, the frame is found short of what it promised */
  assert_int_equal(beck_codec_decompress(BECK_CODEC_ZSTD, zs, sizeof zs, 4 * MIB, &out, &e), BECK_ERR_CORRUPT);
  assert_int_equal(out.len, 0);
  assert_true(out.cap <= 2 * MIB + 64 * 1024);
  beck_buf_free(&out);
}

/* ---- malformed input ----------------------------------------------------- */

static void garbage_and_truncated_input_fail_corrupt_naming_the_codec(void **state) {
  static const char garbage[] = "this is not compressed data, just some text...";
  uint8_t *data = mixed_data(10000);
  for (size_t i = 0; i < N_COMPRESSING; i++) {
    beck_codec_t c = COMPRESSING[i];
    const char *name = beck_codec_name(c);
    beck_buf_t out = {0}, z = {0};
    beck_error_t e;
    assert_int_equal(beck_buf_append(&out, "keep", 4), 0);

    assert_int_equal(beck_codec_decompress(c, (const uint8_t *)garbage, sizeof garbage - 1, MIB, &out, &e),
                     BECK_ERR_CORRUPT);
    assert_int_equal(e.code, BECK_ERR_CORRUPT);
    if (strncmp(e.msg, name, strlen(name)) != 0)
      fail_msg("message does not start with %s: %s", name, e.msg);
    assert_int_equal(out.len, 4);

    assert_int_equal(beck_codec_decompress(c, NULL, 0, MIB, &out, &e), BECK_ERR_CORRUPT); /* empty */
    assert_non_null(strstr(e.msg, name));
    assert_int_equal(out.len, 4);

    compress_ok(c, data, 10000, &z);
    for (size_t cut = 1; cut < z.len; cut += (cut < 32 ? 1 : 997)) { /* every short prefix, then a sample */
      assert_int_equal(beck_codec_decompress(c, z.data, z.len - cut, MIB, &out, &e), BECK_ERR_CORRUPT);
      assert_non_null(strstr(e.msg, name));
      assert_int_equal(out.len, 4);
    }
    /* a flipped byte in the middle never crashes; it fails or (gzip and lz4
     * have checksums, zstd may not) yields different bytes */
    z.data[z.len / 2] ^= 0x55;
    beck_err_t err = beck_codec_decompress(c, z.data, z.len, MIB, &out, &e);
    assert_true(err == BECK_ERR_OK || err == BECK_ERR_CORRUPT || err == BECK_ERR_TOOBIG);
    if (err)
      assert_int_equal(out.len, 4);
    beck_buf_free(&z);
    beck_buf_free(&out);
  }
  free(data);
}

static void unknown_codec_is_unsupported(void **state) {
  beck_buf_t out = {0};
  beck_error_t e;
  assert_int_equal(beck_codec_decompress((beck_codec_t)5, (const uint8_t *)"x", 1, 10, &out, &e), BECK_ERR_UNSUPPORTED);
  assert_int_equal(beck_codec_compress((beck_codec_t)7, (const uint8_t *)"x", 1, &out, &e), BECK_ERR_UNSUPPORTED);
  assert_int_equal(out.len, 0);
  beck_buf_free(&out);
}

static void decompression_out_of_memory_fails_cleanly(void **state) {
  uint8_t *data = mixed_data(300000);
  for (size_t i = 0; i < N_ALL; i++) {
    beck_codec_t c = ALL_CODECS[i];
    beck_buf_t z = {0}, out = {0};
    beck_error_t e;
    compress_ok(c, data, 300000, &z);
    beck_err_t err = BECK_ERR_NOMEM;
    for (long k = 0; err == BECK_ERR_NOMEM; k++) {
      assert_true(k < 200);
      beck_buf_free(&out);
      assert_int_equal(beck_buf_append(&out, "keep", 4), 0);
      beck_alloc_fail_after(k);
      err = beck_codec_decompress(c, z.data, z.len, MIB, &out, &e);
      beck_alloc_fail_after(-1);
      if (err) {
        if (err != BECK_ERR_NOMEM)
          fail_msg("%s with allocation %ld failing: %s", beck_codec_name(c), k, e.msg);
        assert_int_equal(out.len, 4);
      }
    }
    assert_int_equal(out.len, 4 + 300000);
    assert_memory_equal(out.data + 4, data, 300000);
    beck_buf_free(&z);
    beck_buf_free(&out);
  }
  free(data);
}

static void codec_names_parse_back(void **state) {
  for (size_t i = 0; i < N_ALL; i++) {
    beck_codec_t c = (beck_codec_t)7;
    assert_int_equal(beck_codec_parse(beck_codec_name(ALL_CODECS[i]), &c), 0);
    assert_int_equal(c, ALL_CODECS[i]);
  }
  assert_string_equal(beck_codec_name(BECK_CODEC_GZIP), "gzip");
  assert_string_equal(beck_codec_name(BECK_CODEC_NONE), "none");
  assert_string_equal(beck_codec_name((beck_codec_t)6), "unknown");
  beck_codec_t c = BECK_CODEC_NONE;
  assert_int_equal(beck_codec_parse("ZSTD", &c), 0);
  assert_int_equal(c, BECK_CODEC_ZSTD);
  c = BECK_CODEC_LZ4;
  assert_int_equal(beck_codec_parse("producer", &c), BECK_ERR_INVAL);
  assert_int_equal(beck_codec_parse("", &c), BECK_ERR_INVAL);
  assert_int_equal(beck_codec_parse("gzip ", &c), BECK_ERR_INVAL);
  assert_int_equal(beck_codec_parse(NULL, &c), BECK_ERR_INVAL);
  assert_int_equal(c, BECK_CODEC_LZ4);
}

/* ---- compressed batches -------------------------------------------------- */

static void batch_built_compressed_validates_and_iterates_for_every_codec(void **state) {
  beck_buf_t plain = {0};
  plain_records(&plain);
  for (size_t i = 0; i < N_ALL; i++) {
    beck_codec_t c = ALL_CODECS[i];
    beck_batch_builder_t b;
    beck_error_t e;
    beck_batch_builder_init(&b);
    beck_batch_builder_set_producer(&b, 42, 3, 7);
    add_records(&b);
    if (beck_batch_builder_finish_compressed(&b, c, &e))
      fail_msg("%s: %s", beck_codec_name(c), e.msg);
    beck_batch_set_base_offset(b.buf.data, 1000); /* outside the CRC */
    assert_batch_holds_records(b.buf.data, b.buf.len, c);

    beck_batch_header_t h;
    assert_int_equal(beck_batch_validate(b.buf.data, b.buf.len, true, &h, &e), 0);
    assert_int_equal(h.attributes, (int16_t)c);
    assert_true(h.producer_id == 42);
    assert_int_equal(h.producer_epoch, 3);
    assert_int_equal(h.base_sequence, 7);
    assert_int_equal(beck_batch_total_size(&h), (int64_t)b.buf.len);
    /* the records section is exactly compress(plain records) */
    beck_buf_t body = {0};
    assert_int_equal(beck_codec_decompress(c, b.buf.data + BECK_BATCH_HEADER_SIZE, b.buf.len - BECK_BATCH_HEADER_SIZE,
                                           MIB, &body, &e),
                     0);
    assert_int_equal(body.len, plain.len);
    assert_memory_equal(body.data, plain.data, plain.len);
    if (c == BECK_CODEC_NONE)
      assert_int_equal(b.buf.len, BECK_BATCH_HEADER_SIZE + plain.len);

    /* a cap below the records' size is refused with the batch in the message */
    beck_buf_t scratch = {0};
    beck_slice_t recs;
    if (c != BECK_CODEC_NONE) {
      assert_int_equal(beck_batch_records(b.buf.data, b.buf.len, &h, plain.len - 1, &scratch, &recs, &e),
                       BECK_ERR_TOOBIG);
      assert_non_null(strstr(e.msg, "offset 1000"));
      assert_non_null(strstr(e.msg, beck_codec_name(c)));
    }
    beck_buf_free(&scratch);
    beck_buf_free(&body);
    beck_batch_builder_free(&b);
  }
  beck_buf_free(&plain);
}

static void empty_batch_built_compressed_is_valid(void **state) {
  for (size_t i = 0; i < N_ALL; i++) {
    beck_batch_builder_t b;
    beck_error_t e;
    beck_batch_builder_init(&b);
    assert_int_equal(beck_batch_builder_finish_compressed(&b, ALL_CODECS[i], &e), 0);
    beck_batch_header_t h;
    assert_int_equal(beck_batch_validate(b.buf.data, b.buf.len, false, &h, &e), 0);
    assert_int_equal(h.records_count, 0);
    beck_buf_t scratch = {0};
    beck_slice_t recs;
    assert_int_equal(beck_batch_records(b.buf.data, b.buf.len, &h, 0, &scratch, &recs, &e), 0);
    assert_int_equal(recs.len, 0);
    beck_buf_free(&scratch);
    beck_batch_builder_free(&b);
  }
}

/* Found by fuzz_record_batch: a xerial stream with no blocks decodes to
 * nothing, leaving a fresh scratch buffer unallocated. */
static void xerial_batch_with_no_blocks_yields_empty_non_null_records(void **state) {
  beck_batch_builder_t b;
  beck_error_t e;
  beck_batch_builder_init(&b);
  assert_int_equal(beck_batch_builder_finish(&b), 0);
  b.buf.len = BECK_BATCH_HEADER_SIZE;
  xerial_frame(NULL, 0, 1, &b.buf);
  beck_store_be16(b.buf.data + BECK_BATCH_OFF_ATTRIBUTES, BECK_CODEC_SNAPPY);
  beck_store_be32(b.buf.data + BECK_BATCH_OFF_LENGTH, (uint32_t)(b.buf.len - BECK_BATCH_LOG_OVERHEAD));
  beck_batch_update_crc(b.buf.data, b.buf.len);
  beck_batch_header_t h;
  assert_int_equal(beck_batch_validate(b.buf.data, b.buf.len, false, &h, &e), 0);
  beck_buf_t scratch = {0};
  beck_slice_t recs;
  assert_int_equal(beck_batch_records(b.buf.data, b.buf.len, &h, MIB, &scratch, &recs, &e), 0);
  assert_non_null(recs.ptr);
  assert_int_equal(recs.len, 0);
  beck_record_iter_t it;
  beck_record_t r;
  beck_record_iter_init(&it, &h, recs.ptr, recs.len);
  assert_int_equal(beck_record_iter_next(&it, &r), 0);
  beck_record_iter_init(&it, &h, NULL, 0); /* an empty records section may be NULL */
  assert_int_equal(beck_record_iter_next(&it, &r), 0);
  h.records_count = 1; /* ... even when the count says otherwise */
  beck_record_iter_init(&it, &h, NULL, 0);
  assert_true(beck_record_iter_next(&it, &r) < 0);
  beck_buf_free(&scratch);
  beck_batch_builder_free(&b);
}

/* Found by fuzz_record_batch: BaseTimestamp + TimestampDelta (and BaseOffset
 * + OffsetDelta) overflowed int64 inside the iterator. Such a record is
 * malformed; the records before it still iterate. */
static void iterator_refuses_records_whose_offset_or_timestamp_overflows(void **state) {
  for (int which = 0; which < 2; which++) {
    beck_batch_builder_t b;
    beck_batch_builder_init(&b);
    assert_int_equal(beck_batch_builder_add(&b, 1000, beck_nstr("a", 1), beck_nstr("1", 1), NULL, 0), 0);
    assert_int_equal(beck_batch_builder_add(&b, 2000, beck_nstr("b", 1), beck_nstr("2", 1), NULL, 0), 0);
    assert_int_equal(beck_batch_builder_finish(&b), 0);
    if (which == 0)
      beck_store_be64(b.buf.data + BECK_BATCH_OFF_BASE_TIMESTAMP, (uint64_t)(INT64_MAX - 10));
    else
      beck_batch_set_base_offset(b.buf.data, INT64_MAX);
    beck_batch_update_crc(b.buf.data, b.buf.len);
    beck_batch_header_t h;
    beck_error_t e;
    assert_int_equal(beck_batch_validate(b.buf.data, b.buf.len, true, &h, &e), 0);
    beck_record_iter_t it;
    beck_record_t r;
    beck_record_iter_init(&it, &h, b.buf.data + BECK_BATCH_HEADER_SIZE, b.buf.len - BECK_BATCH_HEADER_SIZE);
    assert_int_equal(beck_record_iter_next(&it, &r), 1);
    assert_true(beck_record_iter_next(&it, &r) < 0);
    beck_batch_builder_free(&b);
  }
}

static void finish_compressed_refuses_unknown_codec_and_leaves_builder_usable(void **state) {
  beck_batch_builder_t b;
  beck_error_t e;
  beck_batch_builder_init(&b);
  add_records(&b);
  assert_int_equal(beck_batch_builder_finish_compressed(&b, (beck_codec_t)5, &e), BECK_ERR_UNSUPPORTED);
  assert_int_equal(beck_batch_builder_finish(&b), 0);
  assert_batch_holds_records(b.buf.data, b.buf.len, BECK_CODEC_NONE);
  beck_batch_builder_free(&b);
}

static void corrupt_compressed_records_fail_with_batch_context(void **state) {
  beck_batch_builder_t b;
  beck_error_t e;
  beck_batch_builder_init(&b);
  add_records(&b);
  assert_int_equal(beck_batch_builder_finish_compressed(&b, BECK_CODEC_LZ4, &e), 0);
  b.buf.data[BECK_BATCH_HEADER_SIZE] ^= 0xff; /* LZ4 magic */
  beck_batch_update_crc(b.buf.data, b.buf.len);
  beck_batch_header_t h;
  assert_int_equal(beck_batch_validate(b.buf.data, b.buf.len, true, &h, &e), 0);
  beck_buf_t scratch = {0};
  beck_slice_t recs;
  assert_int_equal(beck_batch_records(b.buf.data, b.buf.len, &h, MIB, &scratch, &recs, &e), BECK_ERR_CORRUPT);
  assert_non_null(strstr(e.msg, "batch at offset 0"));
  assert_non_null(strstr(e.msg, "lz4"));
  beck_buf_free(&scratch);
  beck_batch_builder_free(&b);
}

/* ---- fuzz seed corpus ---------------------------------------------------- */

#ifdef BECK_FUZZ_SEED_DIR
static void write_file(const char *name, const beck_buf_t *b) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", BECK_FUZZ_SEED_DIR, name);
  FILE *f = fopen(path, "wb");
  if (f == NULL)
    fail_msg("cannot write %s", path);
  assert_int_equal(fwrite(b->data, 1, b->len, f), b->len);
  assert_int_equal(fclose(f), 0);
}

static void write_seeds(void) {
  beck_buf_t all = {0};
  for (size_t i = 0; i < N_ALL; i++) {
    beck_batch_builder_t b;
    beck_error_t e;
    beck_batch_builder_init(&b);
    add_records(&b);
    assert_int_equal(beck_batch_builder_finish_compressed(&b, ALL_CODECS[i], &e), 0);
    char name[32];
    snprintf(name, sizeof name, "%s.bin", beck_codec_name(ALL_CODECS[i]));
    write_file(name, &b.buf);
    if (ALL_CODECS[i] == BECK_CODEC_NONE || ALL_CODECS[i] == BECK_CODEC_ZSTD)
      assert_int_equal(beck_buf_append(&all, b.buf.data, b.buf.len), 0);
    beck_batch_builder_free(&b);
  }
  beck_buf_t x = {0};
  xerial_batch(&x);
  write_file("snappy-xerial.bin", &x);
  write_file("two-batches.bin", &all);
  beck_buf_free(&x);
  beck_buf_free(&all);
}

static void fuzz_seed_corpus_holds_valid_batches(void **state) {
  if (getenv("BECK_WRITE_FUZZ_SEEDS"))
    write_seeds();
  DIR *d = opendir(BECK_FUZZ_SEED_DIR);
  if (d == NULL)
    fail_msg("no seed corpus at %s", BECK_FUZZ_SEED_DIR);
  int files = 0;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    if (de->d_name[0] == '.')
      continue;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", BECK_FUZZ_SEED_DIR, de->d_name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t buf[4096];
    size_t n = fread(buf, 1, sizeof buf, f);
    assert_int_equal(fclose(f), 0);
    assert_true(n < sizeof buf); /* seeds stay tiny */
    size_t pos = 0;
    while (pos < n) { /* a seed is one or more batches of RECORDS */
      beck_batch_header_t h;
      assert_int_equal(beck_batch_header_decode(buf + pos, n - pos, &h), 0);
      size_t total = (size_t)beck_batch_total_size(&h);
      assert_true(total <= n - pos);
      assert_batch_holds_records(buf + pos, total, beck_batch_codec(&h));
      pos += total;
    }
    files++;
  }
  closedir(d);
  assert_true(files >= 6);
}
#endif

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_codec_round_trips_exact_bytes),
      cmocka_unit_test(concatenated_gzip_members_lz4_and_zstd_frames_decode_in_order),
      cmocka_unit_test(xerial_framed_snappy_decodes_to_the_concatenated_blocks),
      cmocka_unit_test(xerial_snappy_batch_iterates_exact_records),
      cmocka_unit_test(small_input_expanding_past_the_cap_fails_toobig_and_restores_len),
      cmocka_unit_test(hostile_size_claims_are_refused_before_allocating),
      cmocka_unit_test(garbage_and_truncated_input_fail_corrupt_naming_the_codec),
      cmocka_unit_test(unknown_codec_is_unsupported),
      cmocka_unit_test(decompression_out_of_memory_fails_cleanly),
      cmocka_unit_test(codec_names_parse_back),
      cmocka_unit_test(batch_built_compressed_validates_and_iterates_for_every_codec),
      cmocka_unit_test(empty_batch_built_compressed_is_valid),
      cmocka_unit_test(xerial_batch_with_no_blocks_yields_empty_non_null_records),
      cmocka_unit_test(iterator_refuses_records_whose_offset_or_timestamp_overflows),
      cmocka_unit_test(finish_compressed_refuses_unknown_codec_and_leaves_builder_usable),
      cmocka_unit_test(corrupt_compressed_records_fail_with_batch_context),
#ifdef BECK_FUZZ_SEED_DIR
      cmocka_unit_test(fuzz_seed_corpus_holds_valid_batches),
#endif
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
