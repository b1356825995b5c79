/*
 * codec.c - the compression codecs of record batches (see codec.h, reference
 * §3.2), and the two batch functions that use them.
 *
 *   codec   attr  format on the wire                   library
 *   gzip    1     gzip stream (RFC 1952), members may   zlib inflate/deflate
 *                 be concatenated
 *   snappy  2     raw snappy block (librdkafka), or     snappy-c
 *                 xerial framing (kafka-python, Java):
 *                   0x82 'SNAPPY' 0x00  (8 bytes)
 *                   version  BE int32
 *                   compat   BE int32
 *                   { length BE int32, raw snappy block }*
 *   lz4     3     LZ4 frame format (not the pre-KIP-57   lz4frame
 *                 broken header checksum of magic 0/1)
 *   zstd    4     zstd frame(s)                         zstd streaming API
 *
 * Invariant of every decompressor: output goes through a `sink` that never
 * lets the buffer grow past base + max_out + 1 bytes, whatever sizes the
 * input claims (snappy's length preamble, an LZ4 or zstd content size). The
 * one extra byte is how "more output than max_out" is detected without
 * guessing. Library contexts are bounded too: zstd's window is capped (see
 * zstd_window_log_max), LZ4 blocks are at most 4 MiB by format, zlib's
 * window is 32 KiB.
 *
 * Allocation: zlib, zstd and the LZ4 decompressor allocate through
 * beck_malloc/beck_free so fault injection reaches them; snappy-c has no hook
 * (it only allocates small, input-independent scratch).
 *
 * On any failure the output buffer's len is restored; its capacity may have
 * grown. Error messages start with the codec's name.
 */
#include "record/codec.h"

#include <assert.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define LZ4F_STATIC_LINKING_ONLY
#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>
#include <zstd_errors.h>

#include "base/alloc.h"

static const uint8_t XERIAL_MAGIC[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0x00};
#define XERIAL_HEADER_SIZE 16
#define SNAPPY_MAX_RATIO 22

/* First allocation step of a decompressor when the input gives no hint. */
#define SINK_MIN_STEP ((size_t)16 * 1024)

/* ---- capped output ----------------------------------------------------- */

typedef struct sink {
  beck_buf_t *out;
  const char *codec; /* name, for messages */
  size_t base;       /* out->len on entry; restored on failure */
  size_t max_out;    /* bytes the caller accepts */
  size_t hard_cap;   /* out->cap never grows past this: base + max_out + 1 */
} sink_t;

static void sink_init(sink_t *s, beck_buf_t *out, beck_codec_t codec, size_t max_out) {
  s->out = out;
  s->codec = beck_codec_name(codec);
  s->base = out->len;
  s->max_out = max_out;
  size_t limit = max_out == SIZE_MAX ? SIZE_MAX : max_out + 1;
  s->hard_cap = limit > SIZE_MAX - s->base ? SIZE_MAX : s->base + limit;
}

static size_t sink_produced(const sink_t *s) { return s->out->len - s->base; }

static bool sink_over(const sink_t *s) { return sink_produced(s) > s->max_out; }

static beck_err_t sink_fail(sink_t *s, beck_error_t *e, beck_err_t code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Restores out->len and sets e to "<codec>: <message>". Returns code. */
static beck_err_t sink_fail(sink_t *s, beck_error_t *e, beck_err_t code, const char *fmt, ...) {
  char msg[BECK_ERROR_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  s->out->len = s->base;
  return beck_error_set(e, code, "%s: %s", s->codec, msg);
}

static beck_err_t sink_too_big(sink_t *s, beck_error_t *e) {
  return sink_fail(s, e, BECK_ERR_TOOBIG, "decompressed size exceeds the limit of %zu bytes", s->max_out);
}

/* Grows out->cap to at least out->len + need (need >= 1), geometrically but
 * never past hard_cap. The caller guarantees out->len + need <= hard_cap. */
static beck_err_t sink_grow(sink_t *s, size_t need, beck_error_t *e) {
  beck_buf_t *b = s->out;
  if (b->cap - b->len >= need)
    return BECK_ERR_OK;
  size_t want = b->len + need;
  assert(need <= SIZE_MAX - b->len && want <= s->hard_cap);
  size_t cap = b->cap > SIZE_MAX / 2 ? SIZE_MAX : b->cap * 2;
  if (cap < want)
    cap = want;
  if (cap - b->len < SINK_MIN_STEP)
    cap = b->len > SIZE_MAX - SINK_MIN_STEP ? SIZE_MAX : b->len + SINK_MIN_STEP;
  if (cap > s->hard_cap)
    cap = s->hard_cap;
  uint8_t *d = beck_realloc(b->data, cap);
  if (d == NULL)
    return sink_fail(s, e, BECK_ERR_NOMEM, "out of memory growing the output to %zu bytes", cap);
  b->data = d;
  b->cap = cap;
  return BECK_ERR_OK;
}

/* Makes room for the next chunk of output and returns it: *room >= 1. The
 * caller has checked !sink_over(s), so at least one byte is allowed. */
static beck_err_t sink_room(sink_t *s, beck_error_t *e, uint8_t **dst, size_t *room) {
  beck_err_t err = sink_grow(s, 1, e);
  if (err)
    return err;
  size_t end = s->out->cap < s->hard_cap ? s->out->cap : s->hard_cap;
  *dst = s->out->data + s->out->len;
  *room = end - s->out->len;
  return BECK_ERR_OK;
}

/* ---- allocation hooks for the libraries --------------------------------- */

static voidpf zlib_alloc(voidpf opaque, uInt items, uInt size) {
  if (size != 0 && items > SIZE_MAX / size)
    return Z_NULL;
  return beck_malloc((size_t)items * size);
}
static void zlib_free(voidpf opaque, voidpf p) { beck_free(p); }

static void *lib_alloc(void *opaque, size_t n) { return beck_malloc(n); }
static void *lib_calloc(void *opaque, size_t n) { return beck_calloc(1, n); }
static void lib_free(void *opaque, void *p) { beck_free(p); }

static const ZSTD_customMem ZSTD_BECK_MEM = {lib_alloc, lib_free, NULL};
static const LZ4F_CustomMem LZ4F_BECK_MEM = {lib_alloc, lib_calloc, lib_free, NULL};

static inline unsigned clamp_uint(size_t n) { return n > UINT_MAX ? UINT_MAX : (unsigned)n; }

/* ---- gzip --------------------------------------------------------------- */

static beck_err_t gzip_decompress(const uint8_t *src, size_t len, sink_t *s, beck_error_t *e) {
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  zs.zalloc = zlib_alloc;
  zs.zfree = zlib_free;
  int rc = inflateInit2(&zs, 16 + MAX_WBITS); /* gzip wrapper only */
  if (rc != Z_OK)
    return sink_fail(s, e, rc == Z_MEM_ERROR ? BECK_ERR_NOMEM : BECK_ERR_INVAL, "inflateInit2 failed (%d)", rc);
  beck_err_t err = BECK_ERR_OK;
  size_t pos = 0;
  for (;;) {
    uint8_t *dst;
    size_t room;
    if ((err = sink_room(s, e, &dst, &room)))
      break;
    zs.next_in = (Bytef *)(uintptr_t)(src + pos);
    zs.avail_in = clamp_uint(len - pos);
    zs.next_out = dst;
    zs.avail_out = clamp_uint(room);
    rc = inflate(&zs, Z_NO_FLUSH);
    size_t used = (size_t)(zs.next_in - (src + pos));
    size_t made = (size_t)(zs.next_out - dst);
    pos += used;
    s->out->len += made;
    if (sink_over(s)) {
      err = sink_too_big(s, e);
      break;
    }
    if (rc == Z_STREAM_END) {
      if (pos == len)
        break;
      /* another gzip member follows (RFC 1952 §2.2) */
      inflateReset(&zs);
      continue;
    }
    if (rc == Z_MEM_ERROR) {
      err = sink_fail(s, e, BECK_ERR_NOMEM, "out of memory in inflate");
      break;
    }
    if (rc == Z_DATA_ERROR || rc == Z_NEED_DICT || rc == Z_STREAM_ERROR) {
      err = sink_fail(s, e, BECK_ERR_CORRUPT, "corrupt stream near input byte %zu: %s", pos,
                      zs.msg ? zs.msg : "invalid data");
      break;
    }
    if (used == 0 && made == 0) { /* Z_BUF_ERROR: needs input we do not have */
      err = sink_fail(s, e, BECK_ERR_CORRUPT, "truncated stream (%zu input bytes)", len);
      break;
    }
  }
  inflateEnd(&zs);
  return err;
}

static beck_err_t gzip_compress(const uint8_t *src, size_t len, sink_t *s, beck_error_t *e) {
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  zs.zalloc = zlib_alloc;
  zs.zfree = zlib_free;
  int rc = deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  if (rc != Z_OK)
    return sink_fail(s, e, rc == Z_MEM_ERROR ? BECK_ERR_NOMEM : BECK_ERR_INVAL, "deflateInit2 failed (%d)", rc);
  beck_err_t err = sink_grow(s, deflateBound(&zs, (uLong)len), e);
  size_t pos = 0;
  while (!err) {
    uint8_t *dst;
    size_t room;
    if ((err = sink_room(s, e, &dst, &room)))
      break;
    zs.next_in = (Bytef *)(uintptr_t)(src + pos);
    zs.avail_in = clamp_uint(len - pos);
    zs.next_out = dst;
    zs.avail_out = clamp_uint(room);
    int flush = len - pos <= UINT_MAX ? Z_FINISH : Z_NO_FLUSH;
    rc = deflate(&zs, flush);
    pos += (size_t)(zs.next_in - (src + pos));
    s->out->len += (size_t)(zs.next_out - dst);
    if (rc == Z_STREAM_END)
      break;
    if (rc != Z_OK && rc != Z_BUF_ERROR)
      err = sink_fail(s, e, rc == Z_MEM_ERROR ? BECK_ERR_NOMEM : BECK_ERR_INVAL, "deflate failed (%d)", rc);
  }
  deflateEnd(&zs);
  return err;
}

/* ---- snappy ------------------------------------------------------------- */

/* Decompresses one raw snappy block. The length preamble is checked against
 * the cap before any allocation. */
static beck_err_t snappy_block(const uint8_t *src, size_t len, sink_t *s, beck_error_t *e, const char *where) {
  size_t ulen;
  if (snappy_uncompressed_length((const char *)src, len, &ulen) != SNAPPY_OK)
    return sink_fail(s, e, BECK_ERR_CORRUPT, "%sbad length preamble", where);
  /* A snappy op emits at most 64 bytes for 3 input bytes, so a preamble
   * claiming more than ~21x the input is a lie: refuse it before allocating. */
  if (len <= SIZE_MAX / SNAPPY_MAX_RATIO && ulen > len * SNAPPY_MAX_RATIO)
    return sink_fail(s, e, BECK_ERR_CORRUPT, "%sblock of %zu bytes claims %zu uncompressed bytes", where, len, ulen);
  if (ulen > s->max_out - sink_produced(s))
    return sink_too_big(s, e);
  beck_err_t err = sink_grow(s, ulen ? ulen : 1, e);
  if (err)
    return err;
  size_t got = ulen;
  if (snappy_uncompress((const char *)src, len, (char *)s->out->data + s->out->len, &got) != SNAPPY_OK || got != ulen)
    return sink_fail(s, e, BECK_ERR_CORRUPT, "%scorrupt block", where);
  s->out->len += ulen;
  return BECK_ERR_OK;
}

static beck_err_t xerial_decompress(const uint8_t *src, size_t len, sink_t *s, beck_error_t *e) {
  if (len < XERIAL_HEADER_SIZE)
    return sink_fail(s, e, BECK_ERR_CORRUPT, "xerial header truncated (%zu of %d bytes)", len, XERIAL_HEADER_SIZE);
  /* version and compat (bytes 8-15) are not checked: writers use 1/1 and the
   * block layout has never changed. */
  size_t pos = XERIAL_HEADER_SIZE;
  for (unsigned block = 0; pos < len; block++) {
    if (len - pos < 4)
      return sink_fail(s, e, BECK_ERR_CORRUPT, "xerial block %u: length truncated", block);
    uint32_t n = beck_load_be32(src + pos);
    pos += 4;
    if (n > INT32_MAX || n > len - pos)
      return sink_fail(s, e, BECK_ERR_CORRUPT, "xerial block %u: length %u exceeds the %zu bytes left", block, n,
                       len - pos);
    char where[48];
    snprintf(where, sizeof where, "xerial block %u: ", block);
    beck_err_t err = snappy_block(src + pos, n, s, e, where);
    if (err)
      return err;
    pos += n;
  }
  return BECK_ERR_OK;
}

static beck_err_t snappy_decompress(const uint8_t *src, size_t len, sink_t *s, beck_error_t *e) {
  if (len >= sizeof XERIAL_MAGIC && memcmp(src, XERIAL_MAGIC, sizeof XERIAL_MAGIC) == 0)
    return xerial_decompress(src, len, s, e);
  return snappy_block(src, len, s, e, "");
}

static beck_err_t snappy_compress_raw(const uint8_t *src, size_t len, sink_t *s, beck_error_t *e) {
  size_t n = snappy_max_compressed_length(len);
  beck_err_t err = sink_grow(s, n ? n : 1, e);
  if (err)
    return err;
  if (snappy_compress((const char *)src, len, (char *)s->out->data + s->out->len, &n) != SNAPPY_OK)
    return sink_fail(s, e, BECK_ERR_INVAL, "compression failed");
  s->out->len += n;
  return BECK_ERR_OK;
}

/* ---- lz4 ---------------------------------------------------------------- */

static beck_err_t lz4_decompress(const uint8_t *src, size_t len, sink_t *s, beck_error_t *e) {
  LZ4F_dctx *dctx = LZ4F_createDecompressionContext_advanced(LZ4F_BECK_MEM, LZ4F_VERSION);
  if (dctx == NULL)
    return sink_fail(s, e, BECK_ERR_NOMEM, "out of memory creating a decompression context");
  beck_err_t err = BECK_ERR_OK;
  size_t pos = 0;
  size_t hint = 1; /* 0 once a frame has been decoded and flushed completely */
  while (!(pos == len && hint == 0)) {
    uint8_t *dst;
    size_t room;
    if ((err = sink_room(s, e, &dst, &room)))
      break;
    size_t made = room, used = len - pos;
    hint = LZ4F_decompress(dctx, dst, &made, src + pos, &used, NULL);
    if (LZ4F_isError(hint)) {
      if (LZ4F_getErrorCode(hint) == LZ4F_ERROR_allocation_failed)
        err = sink_fail(s, e, BECK_ERR_NOMEM, "out of memory decompressing");
      else
        err = sink_fail(s, e, BECK_ERR_CORRUPT, "corrupt frame near input byte %zu: %s", pos, LZ4F_getErrorName(hint));
      break;
    }
    pos += used;
    s->out->len += made;
    if (sink_over(s)) {
      err = sink_too_big(s, e);
      break;
    }
    if (used == 0 && made == 0) {
      err = sink_fail(s, e, BECK_ERR_CORRUPT, "truncated frame (%zu input bytes)", len);
      break;
    }
  }
  LZ4F_freeDecompressionContext(dctx);
  return err;
}

static beck_err_t lz4_compress(const uint8_t *src, size_t len, sink_t *s, beck_error_t *e) {
  /* What Kafka's Java reader accepts: independent blocks, 64 KiB blocks. */
  LZ4F_preferences_t prefs;
  memset(&prefs, 0, sizeof prefs);
  prefs.frameInfo.blockSizeID = LZ4F_max64KB;
  prefs.frameInfo.blockMode = LZ4F_blockIndependent;
  size_t bound = LZ4F_compressFrameBound(len, &prefs);
  beck_err_t err = sink_grow(s, bound, e);
  if (err)
    return err;
  size_t n = LZ4F_compressFrame(s->out->data + s->out->len, bound, src, len, &prefs);
  if (LZ4F_isError(n))
    return sink_fail(s, e, BECK_ERR_INVAL, "compression failed: %s", LZ4F_getErrorName(n));
  s->out->len += n;
  return BECK_ERR_OK;
}

/* ---- zstd --------------------------------------------------------------- */

/* The largest window a frame may ask for: enough for max_out (a window
 * larger than the whole output is never needed), but never below 8 MiB so
 * frames from ordinary compression levels with unknown content size decode
 * under any cap, and never above zstd's own default limit of 128 MiB (which
 * is also what Kafka's Java consumer accepts). */
static int zstd_window_log_max(size_t max_out) {
  int log = 23;
  while (log < ZSTD_WINDOWLOG_LIMIT_DEFAULT && ((size_t)1 << log) < max_out)
    log++;
  return log;
}

static beck_err_t zstd_decompress(const uint8_t *src, size_t len, sink_t *s, beck_error_t *e) {
  ZSTD_DCtx *dctx = ZSTD_createDCtx_advanced(ZSTD_BECK_MEM);
  if (dctx == NULL)
    return sink_fail(s, e, BECK_ERR_NOMEM, "out of memory creating a decompression context");
  int wlog = zstd_window_log_max(s->max_out);
  size_t rc = ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, wlog);
  beck_err_t err = BECK_ERR_OK;
  if (ZSTD_isError(rc))
    err = sink_fail(s, e, BECK_ERR_INVAL, "setting the window limit failed: %s", ZSTD_getErrorName(rc));
  ZSTD_inBuffer in = {src, len, 0};
  size_t hint = 1; /* 0 once a frame has been decoded and flushed completely */
  while (!err && !(in.pos == in.size && hint == 0)) {
    uint8_t *dst;
    size_t room;
    if ((err = sink_room(s, e, &dst, &room)))
      break;
    ZSTD_outBuffer ob = {dst, room, 0};
    size_t before = in.pos;
    hint = ZSTD_decompressStream(dctx, &ob, &in);
    if (ZSTD_isError(hint)) {
      ZSTD_ErrorCode code = ZSTD_getErrorCode(hint);
      if (code == ZSTD_error_frameParameter_windowTooLarge)
        err = sink_fail(s, e, BECK_ERR_TOOBIG, "frame window exceeds the limit of %zu bytes", (size_t)1 << wlog);
      else if (code == ZSTD_error_memory_allocation)
        err = sink_fail(s, e, BECK_ERR_NOMEM, "out of memory decompressing");
      else
        err =
            sink_fail(s, e, BECK_ERR_CORRUPT, "corrupt frame near input byte %zu: %s", in.pos, ZSTD_getErrorName(hint));
      break;
    }
    s->out->len += ob.pos;
    if (sink_over(s)) {
      err = sink_too_big(s, e);
      break;
    }
    if (in.pos == before && ob.pos == 0) {
      err = sink_fail(s, e, BECK_ERR_CORRUPT, "truncated frame (%zu input bytes)", len);
      break;
    }
  }
  ZSTD_freeDCtx(dctx);
  return err;
}

static beck_err_t zstd_compress(const uint8_t *src, size_t len, sink_t *s, beck_error_t *e) {
  size_t bound = ZSTD_compressBound(len);
  if (ZSTD_isError(bound))
    return sink_fail(s, e, BECK_ERR_TOOBIG, "input of %zu bytes is too large", len);
  beck_err_t err = sink_grow(s, bound, e);
  if (err)
    return err;
  ZSTD_CCtx *cctx = ZSTD_createCCtx_advanced(ZSTD_BECK_MEM);
  if (cctx == NULL)
    return sink_fail(s, e, BECK_ERR_NOMEM, "out of memory creating a compression context");
  size_t n = ZSTD_compressCCtx(cctx, s->out->data + s->out->len, bound, src, len, ZSTD_CLEVEL_DEFAULT);
  ZSTD_freeCCtx(cctx);
  if (ZSTD_isError(n))
    return sink_fail(s, e, ZSTD_getErrorCode(n) == ZSTD_error_memory_allocation ? BECK_ERR_NOMEM : BECK_ERR_INVAL,
                     "compression failed: %s", ZSTD_getErrorName(n));
  s->out->len += n;
  return BECK_ERR_OK;
}

/* ---- public ------------------------------------------------------------- */

static beck_err_t copy_capped(const uint8_t *src, size_t len, sink_t *s, beck_error_t *e) {
  if (len > s->max_out)
    return sink_too_big(s, e);
  beck_err_t err = sink_grow(s, len ? len : 1, e);
  if (err)
    return err;
  if (len)
    memcpy(s->out->data + s->out->len, src, len);
  s->out->len += len;
  return BECK_ERR_OK;
}

/* Borrows src; appends to out (owned by the caller). */
beck_err_t beck_codec_decompress(beck_codec_t codec, const uint8_t *src, size_t len, size_t max_out, beck_buf_t *out,
                                 beck_error_t *e) {
  static const uint8_t empty[1];
  if (src == NULL)
    src = empty; /* len is 0 or the caller broke the contract */
  sink_t s;
  sink_init(&s, out, codec, max_out);
  switch (codec) {
  case BECK_CODEC_NONE:
    return copy_capped(src, len, &s, e);
  case BECK_CODEC_GZIP:
    return gzip_decompress(src, len, &s, e);
  case BECK_CODEC_SNAPPY:
    return snappy_decompress(src, len, &s, e);
  case BECK_CODEC_LZ4:
    return lz4_decompress(src, len, &s, e);
  case BECK_CODEC_ZSTD:
    return zstd_decompress(src, len, &s, e);
  }
  return beck_error_set(e, BECK_ERR_UNSUPPORTED, "unknown compression codec %d", (int)codec);
}

/* Borrows src; appends to out (owned by the caller). */
beck_err_t beck_codec_compress(beck_codec_t codec, const uint8_t *src, size_t len, beck_buf_t *out, beck_error_t *e) {
  static const uint8_t empty[1];
  if (src == NULL)
    src = empty;
  sink_t s;
  sink_init(&s, out, codec, SIZE_MAX);
  switch (codec) {
  case BECK_CODEC_NONE:
    return copy_capped(src, len, &s, e);
  case BECK_CODEC_GZIP:
    return gzip_compress(src, len, &s, e);
  case BECK_CODEC_SNAPPY:
    return snappy_compress_raw(src, len, &s, e);
  case BECK_CODEC_LZ4:
    return lz4_compress(src, len, &s, e);
  case BECK_CODEC_ZSTD:
    return zstd_compress(src, len, &s, e);
  }
  return beck_error_set(e, BECK_ERR_UNSUPPORTED, "unknown compression codec %d", (int)codec);
}

static const char *const CODEC_NAMES[] = {"none", "gzip", "snappy", "lz4", "zstd"};

/* Returns a static string; "unknown" for values outside the enum. */
const char *beck_codec_name(beck_codec_t codec) {
  if ((unsigned)codec < sizeof CODEC_NAMES / sizeof CODEC_NAMES[0])
    return CODEC_NAMES[codec];
  return "unknown";
}

/* Accepts the names beck_codec_name returns, ignoring ASCII case. Returns
 * BECK_ERR_INVAL (and leaves *out alone) for anything else, including Kafka's
 * topic-level "producer" and "uncompressed", which are not codecs. */
beck_err_t beck_codec_parse(const char *name, beck_codec_t *out) {
  if (name == NULL)
    return BECK_ERR_INVAL;
  for (unsigned i = 0; i < sizeof CODEC_NAMES / sizeof CODEC_NAMES[0]; i++) {
    if (strcasecmp(name, CODEC_NAMES[i]) == 0) {
      *out = (beck_codec_t)i;
      return BECK_ERR_OK;
    }
  }
  return BECK_ERR_INVAL;
}

/* Borrows batch and h; records borrows either batch or scratch (owned by the
 * caller, reset here), so it is valid while both are unchanged. */
beck_err_t beck_batch_records(const uint8_t *batch, size_t len, const beck_batch_header_t *h, size_t max_out,
                              beck_buf_t *scratch, beck_slice_t *records, beck_error_t *e) {
  if (len < BECK_BATCH_HEADER_SIZE)
    return beck_error_set(e, BECK_ERR_CORRUPT, "batch of %zu bytes is shorter than its %d-byte header", len,
                          BECK_BATCH_HEADER_SIZE);
  const uint8_t *body = batch + BECK_BATCH_HEADER_SIZE;
  size_t n = len - BECK_BATCH_HEADER_SIZE;
  beck_codec_t codec = beck_batch_codec(h);
  if (codec == BECK_CODEC_NONE) {
    *records = beck_slice(body, n);
    return BECK_ERR_OK;
  }
  beck_buf_reset(scratch);
  beck_err_t err = beck_codec_decompress(codec, body, n, max_out, scratch, e);
  if (err) {
    if (e)
      beck_error_wrap(e, "batch at offset %lld (%d records, %zu compressed bytes)", (long long)h->base_offset,
                      h->records_count, n);
    return err;
  }
  /* never hand out NULL: an empty result (a xerial header with no blocks)
   * leaves a fresh scratch unallocated, and NULL + 0 is undefined */
  static const uint8_t empty[1];
  *records = beck_slice(scratch->data ? scratch->data : empty, scratch->len);
  return BECK_ERR_OK;
}

/* On success b->buf holds the compressed batch (the uncompressed records are
 * freed). On failure the builder is unchanged, so the caller may still call
 * beck_batch_builder_finish for an uncompressed batch. */
beck_err_t beck_batch_builder_finish_compressed(beck_batch_builder_t *b, beck_codec_t codec, beck_error_t *e) {
  if (b->err)
    return beck_error_set(e, b->err, "batch builder: %s", beck_strerror(b->err));
  if ((unsigned)codec > BECK_CODEC_ZSTD)
    return beck_error_set(e, BECK_ERR_UNSUPPORTED, "batch builder: unknown compression codec %d", (int)codec);
  if (codec != BECK_CODEC_NONE) {
    assert(b->buf.len >= BECK_BATCH_HEADER_SIZE);
    beck_buf_t z = {0};
    beck_err_t err = beck_buf_append(&z, b->buf.data, BECK_BATCH_HEADER_SIZE);
    if (err)
      return beck_error_set(e, err, "batch builder: out of memory");
    err = beck_codec_compress(codec, b->buf.data + BECK_BATCH_HEADER_SIZE, b->buf.len - BECK_BATCH_HEADER_SIZE, &z, e);
    if (!err && z.len - BECK_BATCH_LOG_OVERHEAD > INT32_MAX)
      err = beck_error_set(e, BECK_ERR_TOOBIG, "%s: compressed batch of %zu bytes exceeds the format's limit",
                           beck_codec_name(codec), z.len);
    if (err) {
      beck_buf_free(&z);
      if (e)
        beck_error_wrap(e, "batch builder (%d records)", b->count);
      return err;
    }
    beck_buf_free(&b->buf);
    b->buf = z;
  }
  b->attributes = (int16_t)((b->attributes & ~BECK_BATCH_ATTR_CODEC_MASK) | (int16_t)codec);
  return beck_batch_builder_finish(b);
}
