/*
 * generator.h - the Nexmark event generator: Person, Auction and Bid events
 * of an online auction, following the model of the nexmark/nexmark project
 * (its GeneratorConfig defaults: proportions 1:3:46, 1000 active people,
 * 100 auctions in flight, hot auctions 1/2, hot sellers 3/4, hot bidders 3/4,
 * log-uniform prices from $1 to $1M, 5 categories from 10, six US states).
 *
 * Self-contained C (libc only, no Beck headers) so the datagen connector can
 * compile this same file. Event n (0, 1, 2, ...) is a pure function of
 * (config, n): its random draws come from a generator seeded with
 * hash(seed, n), so any event can be made on its own, in any order, on any
 * thread, and the same seed gives the same events every time.
 *
 * Three representations of an event:
 *   struct    beck_nexmark_event_t; strings point into a caller buffer
 *             (generate) or into the encoded bytes (decode)
 *   wire      a compact binary row, what the benchmark writes to the log
 *             (layout below); decode is pointer arithmetic, no copies
 *   JSON      one object per event, field names as in the Nexmark model,
 *             for `beck bench nexmark --generate-only --emit FILE`
 *
 * Wire layout (integers little-endian; str = u16 length + bytes):
 *
 *   byte 0      type: 0 person, 1 auction, 2 bid (Nexmark's event_type)
 *   person      i64 id, i64 dateTime, str name, str emailAddress,
 *               str creditCard, str city, str state, str extra
 *   auction     i64 id, i64 initialBid, i64 reserve, i64 dateTime,
 *               i64 expires, i64 seller, i64 category, str itemName,
 *               str description, str extra
 *   bid         i64 auction, i64 bidder, i64 price, i64 dateTime,
 *               str channel, str url, str extra
 *
 * Times are milliseconds since the epoch; prices are cents.
 */
#ifndef BECK_NEXMARK_GENERATOR_H
#define BECK_NEXMARK_GENERATOR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BECK_NEXMARK_PERSON 0
#define BECK_NEXMARK_AUCTION 1
#define BECK_NEXMARK_BID 2

/* Ids start here (the model's FIRST_PERSON_ID, FIRST_AUCTION_ID,
 * FIRST_CATEGORY_ID), so small runs still find matches. */
#define BECK_NEXMARK_FIRST_PERSON_ID 1000
#define BECK_NEXMARK_FIRST_AUCTION_ID 1000
#define BECK_NEXMARK_FIRST_CATEGORY_ID 10
#define BECK_NEXMARK_NUM_CATEGORIES 5

/* Room for every string of one event (generate's buffer) and for one
 * encoded event; the largest (an auction) stays well below. */
#define BECK_NEXMARK_EVENT_MAX 2048

/* 2024-01-01T00:00:00Z: the dateTime of event 0 by default. */
#define BECK_NEXMARK_BASE_TIME_MS INT64_C(1704067200000)

typedef struct beck_nexmark_config {
  uint64_t seed;
  int64_t base_time_ms;      /* dateTime of event 0 */
  int64_t events_per_second; /* event-time rate: event n is at base + n*1000/rate ms */
  int64_t first_event_id;    /* event n has id first_event_id + n (the mix and ids derive from it) */
  int32_t person_proportion, auction_proportion, bid_proportion;
  int32_t num_active_people;                                  /* people considered for new auctions and bids */
  int32_t num_in_flight_auctions;                             /* auctions considered for new bids */
  int32_t hot_auction_ratio;                                  /* a bid is for a hot auction with p = 1 - 1/ratio */
  int32_t hot_sellers_ratio;                                  /* an auction is by a hot seller with p = 1 - 1/ratio */
  int32_t hot_bidders_ratio;                                  /* a bid is by a hot bidder with p = 1 - 1/ratio */
  int32_t avg_person_bytes, avg_auction_bytes, avg_bid_bytes; /* sizes the `extra` field pads to */
} beck_nexmark_config_t;

/* A string borrowed from a buffer (not NUL-terminated). */
typedef struct beck_nexmark_str {
  const char *ptr;
  uint32_t len;
} beck_nexmark_str_t;

typedef struct beck_nexmark_person {
  int64_t id;
  beck_nexmark_str_t name, email_address, credit_card, city, state;
  int64_t date_time;
  beck_nexmark_str_t extra;
} beck_nexmark_person_t;

typedef struct beck_nexmark_auction {
  int64_t id;
  beck_nexmark_str_t item_name, description;
  int64_t initial_bid, reserve, date_time, expires, seller, category;
  beck_nexmark_str_t extra;
} beck_nexmark_auction_t;

typedef struct beck_nexmark_bid {
  int64_t auction, bidder, price;
  beck_nexmark_str_t channel, url;
  int64_t date_time;
  beck_nexmark_str_t extra;
} beck_nexmark_bid_t;

typedef struct beck_nexmark_event {
  int type; /* BECK_NEXMARK_PERSON, _AUCTION or _BID */
  union {
    beck_nexmark_person_t person;
    beck_nexmark_auction_t auction;
    beck_nexmark_bid_t bid;
  } u;
} beck_nexmark_event_t;

/* The model's defaults (seed 0, the base time above, 10,000 events/s of
 * event time as Nexmark's firstEventRate, first event id 1). */
void beck_nexmark_config_init(beck_nexmark_config_t *c);
/* Returns 0, or -1 when a field is out of range (then *why names it). */
int beck_nexmark_config_check(const beck_nexmark_config_t *c, const char **why);

/* The type of event n (from the proportions alone). */
int beck_nexmark_event_type(const beck_nexmark_config_t *c, uint64_t n);
/* The dateTime of event n. */
int64_t beck_nexmark_event_time(const beck_nexmark_config_t *c, uint64_t n);
/* The largest auction length (expires - dateTime) the generator can make;
 * a bid after its auction's dateTime by more than this never falls inside
 * the auction. */
int64_t beck_nexmark_max_auction_ms(const beck_nexmark_config_t *c);

/* Makes event n into *ev; its strings are written to buf (cap bytes;
 * BECK_NEXMARK_EVENT_MAX always suffices). Returns 0, or -1 when buf is too
 * small. */
int beck_nexmark_generate(const beck_nexmark_config_t *c, uint64_t n, beck_nexmark_event_t *ev, char *buf, size_t cap);

/* Encodes ev (wire layout above) into out. Returns the length, or 0 when
 * cap is too small (BECK_NEXMARK_EVENT_MAX always suffices). */
size_t beck_nexmark_encode(const beck_nexmark_event_t *ev, uint8_t *out, size_t cap);
/* Decodes len bytes; ev's strings borrow p. Returns 0, or -1 when the bytes
 * are not a well-formed event. */
int beck_nexmark_decode(const void *p, size_t len, beck_nexmark_event_t *ev);

/* Writes ev as one JSON object (no newline) into out, NUL-terminated when
 * cap > 0, and returns the length it needs (like snprintf): the output is
 * complete when the result is < cap. Example:
 *   {"type":"bid","auction":1000,"bidder":1001,"price":4217,"channel":"Google",
 *    "url":"https://...","dateTime":1704067200000,"extra":"..."}  */
size_t beck_nexmark_json(const beck_nexmark_event_t *ev, char *out, size_t cap);

/* "person", "auction", "bid", or "unknown". */
const char *beck_nexmark_type_name(int type);

#ifdef __cplusplus
}
#endif

#endif
