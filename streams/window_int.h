/*
 * window_int.h - private to the windowed aggregation files (window.c,
 * window_time.c, window_sliding.c, window_session.c).
 *
 * Window lifecycle (all kinds):
 *
 *   record t arrives
 *     |
 *     v
 *   observed = max(observed, t)          observed: this operator's stream time
 *     |                                  (also raised by task watermarks)
 *     v
 *   close every window with close_at <= observed:
 *       EMIT_FINAL     emit its result once, then delete it
 *       EMIT_ON_UPDATE delete it (its last update was already emitted)
 *     |
 *     v
 *   is t late (every window it could touch is closed)?
 *       yes -> count it, route it to late_topic if set, drop it
 *       no  -> fold it into its open windows; EMIT_ON_UPDATE emits each
 *              window that changed
 *
 *   state:   (absent) --first record--> OPEN --observed >= close_at--> CLOSED
 *            (deleted; a later record for it is late and never reopens it)
 *
 * When windows close (close_at is the smallest observed time at which the
 * window can no longer change; grace = spec.grace_ms):
 *
 *   kind       window                      contains t when     close_at
 *   tumbling   [s, s+size), s = k*size     s <= t < s+size     s+size+grace
 *   hopping    [s, s+size), s = k*advance  s <= t < s+size     s+size+grace
 *   sliding    [s, s+diff] (KIP-450)       s <= t <= s+diff    s+diff+grace+1
 *   session    [first, last] of records    t within gap of it  last+gap+grace+1
 *              no more than gap apart
 *
 * The session rule is stricter than "end + grace": a record at last+gap
 * could still extend the session until observed passes last+gap+grace, so a
 * session is only final once that cannot happen.
 *
 * Store layout (an ordered key-value store, changelogged like any other):
 *
 *   'W' be32(klen) key be64s(start) be64s(end)  -> aggregate state  (ts = max record ts)
 *   'R' be32(klen) key be64s(ts) be64(seq)      -> record value     (sliding only: the
 *                                                  records windows are built from)
 *   'P' be32(klen) key be64s(start) be64s(end)  -> pane state  (hopping windows with
 *                                                  final results: window_hop.c)
 *   'M' "meta"                                  -> be64s(observed) be64(seq)
 *
 * be64s(x) is x big-endian with the sign bit flipped, so byte order is
 * numeric order; the key length comes first so that all entries of one key
 * are contiguous and ordered by start.
 *
 * The time index (an in-memory skip list, rebuilt from the store when the
 * task opens) maps be64s(close_at) ++ store key -> nothing, for every 'W'
 * entry (and every 'R' entry, with the time after which no new window can
 * need it: ts + 2*diff + grace + 1). Closing walks it from the front.
 */
#ifndef BECK_STREAMS_WINDOW_INT_H
#define BECK_STREAMS_WINDOW_INT_H

#include "streams_int.h"

#define BECK__WTAG_WINDOW 'W'
#define BECK__WTAG_RECORD 'R'
#define BECK__WTAG_META 'M'

/* Pane-based hopping windows (window_hop.c), when they apply. */
typedef struct beck__whop beck__whop_t;

typedef struct beck__wop {
  beck__nrt_t *n;
  const beck_window_spec_t *spec;
  beck__sl_t *idx;
  int64_t observed;
  int64_t seq;
  bool meta_dirty;
  beck__obatch_t *out; /* results of the current batch */
  beck__obatch_t late; /* late records of the current batch */
  beck__nrt_t *late_sink;
  beck_sctx_t ctx;
  bool cb_error; /* the error being returned came from a callback (already has the node's context) */
  beck__whop_t *hop; /* non-NULL: hopping windows kept as panes (window_hop.c) */
  bool reset_ok;     /* in advance(): the task arena may be reset once results are forwarded */
} beck__wop_t;

/* A decoded store key. */
typedef struct beck__wkey {
  uint8_t tag;
  beck_nstr_t key;
  int64_t a, b; /* start/end, or ts/seq */
} beck__wkey_t;

/* Encodes tag/key/a/b into the task arena; NULL on OOM. *len = bytes. With
 * `past`, appends one 0x00 so the result sorts after every key with the
 * same prefix, a and b (an exclusive upper bound for scans). */
uint8_t *beck__wkey_make(beck__wop_t *w, uint8_t tag, beck_nstr_t key, int64_t a, int64_t b, bool past, size_t *len);
/* Decodes a 'W' or 'R' key; false when malformed. key borrows from p. */
bool beck__wkey_parse(const uint8_t *p, size_t len, beck__wkey_t *out);

/* The close_at of a window entry (see the table above). */
int64_t beck__wclose_at(const beck_window_spec_t *spec, int64_t start, int64_t end);
/* When a sliding window's record entry may be dropped. */
int64_t beck__wrecord_expiry(const beck_window_spec_t *spec, int64_t ts);

/* Index maintenance. */
beck_err_t beck__widx_add(beck__wop_t *w, int64_t close_at, const uint8_t *k, size_t kl);
void beck__widx_del(beck__wop_t *w, int64_t close_at, const uint8_t *k, size_t kl);

/* Store helpers: put a window (and index it when new), delete one. */
beck_err_t beck__wput(beck__wop_t *w, beck_nstr_t key, int64_t start, int64_t end, beck_nstr_t state, int64_t ts,
                      bool is_new, beck_error_t *e);
beck_err_t beck__wdel(beck__wop_t *w, beck_nstr_t key, int64_t start, int64_t end, int64_t ts, beck_error_t *e);

/* Emits (key, [start, end], result(state)) at ts; a null state emits a
 * tombstone for the window. Copies nothing: key and state must live until
 * the batch is done. Returns a callback error code or 0. */
int beck__wemit(beck__wop_t *w, beck_nstr_t key, int64_t start, int64_t end, beck_nstr_t state, int64_t ts);

/* Forwards the results emitted so far once they fill a chunk, so a burst
 * of closing windows (the end of the input) flows in bounded batches;
 * inside advance() it also resets the task arena after forwarding. */
beck_err_t beck__wout_flush(beck__wop_t *w, beck_error_t *e);

/* Raises observed to t and closes what that closes. */
beck_err_t beck__wadvance(beck__wop_t *w, int64_t t, beck_error_t *e);
/* Counts r as late and routes it to the late topic when there is one. */
beck_err_t beck__wlate(beck__wop_t *w, const beck_srec_t *r, beck_error_t *e);

/* The per-kind record handlers. Errors other than callback errors are
 * returned without the node's name (the caller adds it). */
beck_err_t beck__window_time_record(beck__wop_t *w, const beck_srec_t *r, beck_error_t *e);
beck_err_t beck__window_sliding_record(beck__wop_t *w, const beck_srec_t *r, beck_error_t *e);
beck_err_t beck__window_session_record(beck__wop_t *w, const beck_srec_t *r, beck_error_t *e);

/* Pane-based hopping windows (window_hop.c): whether node d uses them
 * (hopping, EMIT_FINAL, an aggregation that can merge states); open them
 * (after the store is restored and observed is known); fold a record in;
 * emit and drop what observed has closed; free. */
bool beck__whop_applies(const beck_stream_t *d);
beck_err_t beck__whop_open(beck__wop_t *w, beck_error_t *e);
beck_err_t beck__whop_record(beck__wop_t *w, const beck_srec_t *r, beck_error_t *e);
beck_err_t beck__whop_close_due(beck__wop_t *w, beck_error_t *e);
void beck__whop_free(beck__whop_t *h);

/* Turns a callback return code into go-on (0) or a task error. */
static inline beck_err_t beck__wcb(beck__wop_t *w, int rc, beck_error_t *e) {
  beck_err_t r = beck__callback_error(w->n, &w->ctx, rc, e);
  w->cb_error = r != BECK_ERR_OK;
  return r;
}

#endif
