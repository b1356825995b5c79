/*
 * generator.c - the Nexmark event generator (see generator.h for the model,
 * the determinism contract and the wire layout).
 *
 * How event n is made (the nexmark/nexmark model, restated):
 *
 *   id       = first_event_id + n; id % (1+3+46) picks the type: the first
 *              person_proportion residues are people, the next
 *              auction_proportion auctions, the rest bids
 *   dateTime = base_time + n * 1000 / events_per_second   (in order: no
 *              out-of-order groups, like the benchmark's default)
 *   person   id = FIRST_PERSON_ID + (people made so far); name, email,
 *              credit card, one of 10 cities and 6 states
 *   auction  id = FIRST_AUCTION_ID + (auctions made so far); seller is a
 *              hot seller (the first of the last 100 people) with
 *              p = 1 - 1/hot_sellers_ratio, else any of the last
 *              num_active_people people (plus 10 not yet made); category
 *              10..14; initialBid a price; reserve = initialBid + a price;
 *              expires = dateTime + 1 + U[0, 2*horizon) where horizon is the
 *              time until num_in_flight_auctions more auctions exist
 *   bid      auction is hot (the first of the last 100 auctions) with
 *              p = 1 - 1/hot_auction_ratio, else any of the last
 *              num_in_flight_auctions (plus 10 not yet made); bidder is hot
 *              (the second of the last 100 people) with
 *              p = 1 - 1/hot_bidders_ratio, else an active person; price;
 *              channel one of 4 hot channels with p = 1/2, else one of
 *              10,000 ("channel-K"), each with a fixed URL
 *   price    round(10^(6u) * 100) cents, u uniform in [0, 1): log-uniform
 *              from $1 to $1M
 *   extra    lowercase letters padding the event to its average size
 *              (+-20%)
 *
 * Randomness: splitmix64 streams. Event n draws from a stream seeded with
 * mix(seed, n); channel URLs from mix(seed, channel). Nothing here depends
 * on the order events are made in.
 */
#include "generator.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define PERSON_ID_LEAD 10
#define AUCTION_ID_LEAD 10
#define HOT_SELLER_RATIO 100
#define HOT_AUCTION_RATIO 100
#define HOT_BIDDER_RATIO 100
#define HOT_CHANNELS_RATIO 2
#define CHANNELS_NUMBER 10000
#define MIN_STRING_LENGTH 3

static const char *const us_states[] = {"AZ", "CA", "ID", "OR", "WA", "WY"};
static const char *const us_cities[] = {"Phoenix", "Los Angeles", "San Francisco", "Boise", "Portland",
                                        "Bend",    "Redmond",     "Seattle",       "Kent",  "Cheyenne"};
static const char *const first_names[] = {"Peter", "Paul",  "Luke",  "John",   "Saul",  "Vicky",
                                          "Kate",  "Julie", "Sarah", "Deiter", "Walter"};
static const char *const last_names[] = {"Shultz", "Abrams", "Spencer", "White", "Bartels",
                                         "Walton", "Smith",  "Jones",   "Noris"};
static const char *const hot_channels[] = {"Google", "Facebook", "Baidu", "Apple"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- randomness ------------------------------------------------------------ */

typedef struct rng {
  uint64_t s;
} rng_t;

static uint64_t mix64(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

static rng_t rng_for(uint64_t seed, uint64_t domain, uint64_t n) {
  rng_t r = {mix64(mix64(seed ^ domain) + n * 0x9e3779b97f4a7c15ull)};
  return r;
}

static uint64_t next64(rng_t *r) {
  r->s += 0x9e3779b97f4a7c15ull;
  return mix64(r->s);
}

/* Uniform in [0, n) for n >= 1 (multiply-shift; deterministic). */
static uint64_t next_below(rng_t *r, uint64_t n) { return (uint64_t)(((unsigned __int128)next64(r) * n) >> 64); }

static double next_double(rng_t *r) { return (double)(next64(r) >> 11) * 0x1p-53; }

/* ---- model arithmetic -------------------------------------------------------- */

static int32_t total(const beck_nexmark_config_t *c) {
  return c->person_proportion + c->auction_proportion + c->bid_proportion;
}

static int64_t event_id(const beck_nexmark_config_t *c, uint64_t n) { return c->first_event_id + (int64_t)n; }

/* The last person id (base 0) made at or before event id `id`. */
static int64_t last_person(const beck_nexmark_config_t *c, int64_t id) {
  int64_t epoch = id / total(c), off = id % total(c);
  if (off >= c->person_proportion)
    off = c->person_proportion - 1;
  return epoch * c->person_proportion + off;
}

/* The last auction id (base 0) made at or before event id `id`. */
static int64_t last_auction(const beck_nexmark_config_t *c, int64_t id) {
  int64_t epoch = id / total(c), off = id % total(c);
  if (off < c->person_proportion) {
    epoch--;
    off = c->auction_proportion - 1;
  } else if (off >= c->person_proportion + c->auction_proportion) {
    off = c->auction_proportion - 1;
  } else {
    off -= c->person_proportion;
  }
  return epoch * c->auction_proportion + off;
}

/* An active person (base 0), possibly one not made yet. */
static int64_t some_person(const beck_nexmark_config_t *c, int64_t id, rng_t *r) {
  int64_t people = last_person(c, id) + 1;
  int64_t active = people < c->num_active_people ? people : c->num_active_people;
  return people - active + (int64_t)next_below(r, (uint64_t)(active + PERSON_ID_LEAD));
}

/* An auction in flight (base 0), possibly one not made yet. */
static int64_t some_auction(const beck_nexmark_config_t *c, int64_t id, rng_t *r) {
  int64_t hi = last_auction(c, id);
  int64_t lo = hi - c->num_in_flight_auctions > 0 ? hi - c->num_in_flight_auctions : 0;
  return lo + (int64_t)next_below(r, (uint64_t)(hi - lo + 1 + AUCTION_ID_LEAD));
}

static int64_t next_price(rng_t *r) { return llround(pow(10.0, next_double(r) * 6.0) * 100.0); }

/* Events between an auction and the one num_in_flight_auctions later. */
static int64_t events_per_flight(const beck_nexmark_config_t *c) {
  return (int64_t)c->num_in_flight_auctions * total(c) / c->auction_proportion;
}

/* ---- strings ------------------------------------------------------------------- */

typedef struct sbuf {
  char *p;
  size_t cap, len;
  int overflow;
} sbuf_t;

static beck_nexmark_str_t sb_begin(sbuf_t *b) {
  beck_nexmark_str_t s = {b->p + b->len, 0};
  return s;
}

static void sb_end(sbuf_t *b, beck_nexmark_str_t *s) { s->len = (uint32_t)(b->p + b->len - s->ptr); }

static void sb_putc(sbuf_t *b, char ch) {
  if (b->len < b->cap)
    b->p[b->len++] = ch;
  else
    b->overflow = 1;
}

static void sb_puts(sbuf_t *b, const char *s) {
  while (*s)
    sb_putc(b, *s++);
}

static void sb_putu(sbuf_t *b, uint64_t v, int width) {
  char tmp[24];
  int n = 0;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v > 0);
  while (n < width)
    tmp[n++] = '0';
  while (n > 0)
    sb_putc(b, tmp[--n]);
}

/* A random string of 3..max-1 characters, lowercase letters with about one
 * in 13 being `space`, trimmed of spaces at both ends. */
static beck_nexmark_str_t next_string(sbuf_t *b, rng_t *r, int max, char space) {
  beck_nexmark_str_t s = sb_begin(b);
  int len = MIN_STRING_LENGTH + (int)next_below(r, (uint64_t)(max - MIN_STRING_LENGTH));
  for (int i = 0; i < len; i++) {
    uint64_t x = next64(r); /* high half: space with p = 1/13; low half: the letter */
    bool is_space = ((x >> 32) * 13) >> 32 == 0;
    sb_putc(b, is_space ? space : (char)('a' + (((x & 0xffffffffu) * 26) >> 32)));
  }
  sb_end(b, &s);
  if (space == ' ') {
    while (s.len > 0 && s.ptr[0] == ' ') {
      s.ptr++;
      s.len--;
    }
    while (s.len > 0 && s.ptr[s.len - 1] == ' ')
      s.len--;
  }
  return s;
}

/* Lowercase letters so that current + length is avg on average (+-20%). */
static beck_nexmark_str_t next_extra(sbuf_t *b, rng_t *r, int current, int avg) {
  beck_nexmark_str_t s = sb_begin(b);
  if (current > avg)
    return s;
  int want = avg - current;
  int delta = (int)lround(want * 0.2);
  int len = want - delta + (delta == 0 ? 0 : (int)next_below(r, (uint64_t)(2 * delta)));
  while (len > 0) {
    uint64_t x = next64(r);
    for (int k = 0; k < 12 && len > 0; k++, len--) { /* 26^12 < 2^64: 12 letters per draw */
      sb_putc(b, (char)('a' + x % 26));
      x /= 26;
    }
  }
  sb_end(b, &s);
  return s;
}

static beck_nexmark_str_t put_const(sbuf_t *b, const char *text) {
  beck_nexmark_str_t s = sb_begin(b);
  sb_puts(b, text);
  sb_end(b, &s);
  return s;
}

/* The fixed URL of channel k (k < 0: hot channel -k-1). */
static beck_nexmark_str_t channel_url(const beck_nexmark_config_t *c, sbuf_t *b, int64_t k) {
  rng_t r = rng_for(c->seed, 0x75726cull /* "url" */, (uint64_t)(k + 16));
  beck_nexmark_str_t s = sb_begin(b);
  sb_puts(b, "https://www.nexmark.com/");
  for (int i = 0; i < 3; i++) {
    next_string(b, &r, 5, '_');
    sb_putc(b, '/');
  }
  sb_puts(b, "item.htm?query=1");
  if (k >= 0 && next_below(&r, 10) > 0) {
    uint32_t v = (uint32_t)k, rev = 0;
    for (int i = 0; i < 32; i++, v >>= 1)
      rev = (rev << 1) | (v & 1);
    int64_t id = (int32_t)rev;
    sb_puts(b, "&channel_id=");
    sb_putu(b, (uint64_t)(id < 0 ? -id : id), 0);
  }
  sb_end(b, &s);
  return s;
}

/* ---- events ----------------------------------------------------------------------- */

void beck_nexmark_config_init(beck_nexmark_config_t *c) {
  memset(c, 0, sizeof *c);
  c->seed = 0;
  c->base_time_ms = BECK_NEXMARK_BASE_TIME_MS;
  c->events_per_second = 10000;
  c->first_event_id = 1;
  c->person_proportion = 1;
  c->auction_proportion = 3;
  c->bid_proportion = 46;
  c->num_active_people = 1000;
  c->num_in_flight_auctions = 100;
  c->hot_auction_ratio = 2;
  c->hot_sellers_ratio = 4;
  c->hot_bidders_ratio = 4;
  c->avg_person_bytes = 200;
  c->avg_auction_bytes = 500;
  c->avg_bid_bytes = 100;
}

int beck_nexmark_config_check(const beck_nexmark_config_t *c, const char **why) {
  const char *w = NULL;
  if (c->events_per_second < 1 || c->events_per_second > 1000000000)
    w = "events per second must be in [1, 1e9]";
  else if (c->first_event_id < 0)
    w = "first event id must be >= 0";
  else if (c->person_proportion < 1 || c->auction_proportion < 1 || c->bid_proportion < 1 ||
           (int64_t)c->person_proportion + c->auction_proportion + c->bid_proportion > 1000000)
    w = "proportions must be >= 1 (and sum to at most 1e6)";
  else if (c->num_active_people < 1 || c->num_in_flight_auctions < 1)
    w = "active people and in-flight auctions must be >= 1";
  else if (c->hot_auction_ratio < 1 || c->hot_sellers_ratio < 1 || c->hot_bidders_ratio < 1)
    w = "hot ratios must be >= 1";
  else if (c->avg_person_bytes < 0 || c->avg_auction_bytes < 0 || c->avg_bid_bytes < 0 || c->avg_person_bytes > 1000 ||
           c->avg_auction_bytes > 1000 || c->avg_bid_bytes > 1000)
    w = "average sizes must be in [0, 1000]";
  if (why != NULL)
    *why = w;
  return w == NULL ? 0 : -1;
}

int beck_nexmark_event_type(const beck_nexmark_config_t *c, uint64_t n) {
  int64_t rem = event_id(c, n) % total(c);
  if (rem < c->person_proportion)
    return BECK_NEXMARK_PERSON;
  if (rem < c->person_proportion + c->auction_proportion)
    return BECK_NEXMARK_AUCTION;
  return BECK_NEXMARK_BID;
}

int64_t beck_nexmark_event_time(const beck_nexmark_config_t *c, uint64_t n) {
  return c->base_time_ms + (int64_t)((unsigned __int128)n * 1000 / (uint64_t)c->events_per_second);
}

int64_t beck_nexmark_max_auction_ms(const beck_nexmark_config_t *c) {
  int64_t horizon = events_per_flight(c) * 1000 / c->events_per_second + 1;
  return 2 * horizon > 1 ? 2 * horizon : 1;
}

static void make_person(const beck_nexmark_config_t *c, int64_t id, int64_t ts, rng_t *r, sbuf_t *b,
                        beck_nexmark_person_t *p) {
  p->id = last_person(c, id) + BECK_NEXMARK_FIRST_PERSON_ID;
  p->date_time = ts;
  p->name = sb_begin(b);
  sb_puts(b, first_names[next_below(r, COUNT(first_names))]);
  sb_putc(b, ' ');
  sb_puts(b, last_names[next_below(r, COUNT(last_names))]);
  sb_end(b, &p->name);
  p->email_address = sb_begin(b);
  next_string(b, r, 7, ' ');
  sb_putc(b, '@');
  next_string(b, r, 5, ' ');
  sb_puts(b, ".com");
  sb_end(b, &p->email_address);
  p->credit_card = sb_begin(b);
  for (int i = 0; i < 4; i++) {
    if (i > 0)
      sb_putc(b, ' ');
    sb_putu(b, next_below(r, 10000), 4);
  }
  sb_end(b, &p->credit_card);
  p->city = put_const(b, us_cities[next_below(r, COUNT(us_cities))]);
  p->state = put_const(b, us_states[next_below(r, COUNT(us_states))]);
  int current = 8 + (int)(p->name.len + p->email_address.len + p->credit_card.len + p->city.len + p->state.len);
  p->extra = next_extra(b, r, current, c->avg_person_bytes);
}

static void make_auction(const beck_nexmark_config_t *c, uint64_t n, int64_t id, int64_t ts, rng_t *r, sbuf_t *b,
                         beck_nexmark_auction_t *a) {
  a->id = last_auction(c, id) + BECK_NEXMARK_FIRST_AUCTION_ID;
  int64_t seller;
  if ((int64_t)next_below(r, (uint64_t)c->hot_sellers_ratio) > 0)
    seller = last_person(c, id) / HOT_SELLER_RATIO * HOT_SELLER_RATIO;
  else
    seller = some_person(c, id, r);
  a->seller = seller + BECK_NEXMARK_FIRST_PERSON_ID;
  a->category = BECK_NEXMARK_FIRST_CATEGORY_ID + (int64_t)next_below(r, BECK_NEXMARK_NUM_CATEGORIES);
  a->initial_bid = next_price(r);
  int64_t horizon = beck_nexmark_event_time(c, n + (uint64_t)events_per_flight(c)) - ts;
  int64_t span = 2 * horizon > 1 ? 2 * horizon : 1;
  a->date_time = ts;
  a->expires = ts + 1 + (int64_t)next_below(r, (uint64_t)span);
  a->item_name = next_string(b, r, 20, ' ');
  a->description = next_string(b, r, 100, ' ');
  a->reserve = a->initial_bid + next_price(r);
  int current = 8 + (int)(a->item_name.len + a->description.len) + 8 + 8 + 8 + 8 + 8;
  a->extra = next_extra(b, r, current, c->avg_auction_bytes);
}

static void make_bid(const beck_nexmark_config_t *c, int64_t id, int64_t ts, rng_t *r, sbuf_t *b,
                     beck_nexmark_bid_t *bid) {
  int64_t auction;
  if ((int64_t)next_below(r, (uint64_t)c->hot_auction_ratio) > 0)
    auction = last_auction(c, id) / HOT_AUCTION_RATIO * HOT_AUCTION_RATIO;
  else
    auction = some_auction(c, id, r);
  bid->auction = auction + BECK_NEXMARK_FIRST_AUCTION_ID;
  int64_t bidder;
  if ((int64_t)next_below(r, (uint64_t)c->hot_bidders_ratio) > 0)
    bidder = last_person(c, id) / HOT_BIDDER_RATIO * HOT_BIDDER_RATIO + 1;
  else
    bidder = some_person(c, id, r);
  bid->bidder = bidder + BECK_NEXMARK_FIRST_PERSON_ID;
  bid->price = next_price(r);
  bid->date_time = ts;
  if (next_below(r, HOT_CHANNELS_RATIO) > 0) {
    int64_t h = (int64_t)next_below(r, COUNT(hot_channels));
    bid->channel = put_const(b, hot_channels[h]);
    bid->url = channel_url(c, b, -h - 1);
  } else {
    int64_t k = (int64_t)next_below(r, CHANNELS_NUMBER);
    bid->channel = sb_begin(b);
    sb_puts(b, "channel-");
    sb_putu(b, (uint64_t)k, 0);
    sb_end(b, &bid->channel);
    bid->url = channel_url(c, b, k);
  }
  bid->extra = next_extra(b, r, 8 + 8 + 8 + 8, c->avg_bid_bytes);
}

int beck_nexmark_generate(const beck_nexmark_config_t *c, uint64_t n, beck_nexmark_event_t *ev, char *buf, size_t cap) {
  int64_t id = event_id(c, n), ts = beck_nexmark_event_time(c, n);
  rng_t r = rng_for(c->seed, 0x6576656e74ull /* "event" */, n);
  sbuf_t b = {buf, cap, 0, 0};
  memset(ev, 0, sizeof *ev);
  ev->type = beck_nexmark_event_type(c, n);
  switch (ev->type) {
  case BECK_NEXMARK_PERSON:
    make_person(c, id, ts, &r, &b, &ev->u.person);
    break;
  case BECK_NEXMARK_AUCTION:
    make_auction(c, n, id, ts, &r, &b, &ev->u.auction);
    break;
  default:
    make_bid(c, id, ts, &r, &b, &ev->u.bid);
    break;
  }
  return b.overflow ? -1 : 0;
}

/* ---- wire format ---------------------------------------------------------------------- */

typedef struct wbuf {
  uint8_t *p;
  size_t cap, len;
  int overflow;
} wbuf_t;

static void w_i64(wbuf_t *w, int64_t v) {
  if (w->cap - w->len < 8) {
    w->overflow = 1;
    return;
  }
  uint64_t u = (uint64_t)v;
  for (int i = 0; i < 8; i++)
    w->p[w->len++] = (uint8_t)(u >> (8 * i));
}

static void w_str(wbuf_t *w, beck_nexmark_str_t s) {
  if (s.len > 0xffff || w->cap - w->len < 2 + (size_t)s.len) {
    w->overflow = 1;
    return;
  }
  w->p[w->len++] = (uint8_t)s.len;
  w->p[w->len++] = (uint8_t)(s.len >> 8);
  if (s.len)
    memcpy(w->p + w->len, s.ptr, s.len);
  w->len += s.len;
}

size_t beck_nexmark_encode(const beck_nexmark_event_t *ev, uint8_t *out, size_t cap) {
  if (cap < 1)
    return 0;
  wbuf_t w = {out, cap, 0, 0};
  w.p[w.len++] = (uint8_t)ev->type;
  switch (ev->type) {
  case BECK_NEXMARK_PERSON: {
    const beck_nexmark_person_t *p = &ev->u.person;
    w_i64(&w, p->id);
    w_i64(&w, p->date_time);
    w_str(&w, p->name);
    w_str(&w, p->email_address);
    w_str(&w, p->credit_card);
    w_str(&w, p->city);
    w_str(&w, p->state);
    w_str(&w, p->extra);
    break;
  }
  case BECK_NEXMARK_AUCTION: {
    const beck_nexmark_auction_t *a = &ev->u.auction;
    w_i64(&w, a->id);
    w_i64(&w, a->initial_bid);
    w_i64(&w, a->reserve);
    w_i64(&w, a->date_time);
    w_i64(&w, a->expires);
    w_i64(&w, a->seller);
    w_i64(&w, a->category);
    w_str(&w, a->item_name);
    w_str(&w, a->description);
    w_str(&w, a->extra);
    break;
  }
  case BECK_NEXMARK_BID: {
    const beck_nexmark_bid_t *b = &ev->u.bid;
    w_i64(&w, b->auction);
    w_i64(&w, b->bidder);
    w_i64(&w, b->price);
    w_i64(&w, b->date_time);
    w_str(&w, b->channel);
    w_str(&w, b->url);
    w_str(&w, b->extra);
    break;
  }
  default:
    return 0;
  }
  return w.overflow ? 0 : w.len;
}

typedef struct rbuf {
  const uint8_t *p;
  size_t len, pos;
  int bad;
} rbuf_t;

static int64_t r_i64(rbuf_t *r) {
  if (r->len - r->pos < 8) {
    r->bad = 1;
    return 0;
  }
  uint64_t u = 0;
  for (int i = 0; i < 8; i++)
    u |= (uint64_t)r->p[r->pos + (size_t)i] << (8 * i);
  r->pos += 8;
  return (int64_t)u;
}

static beck_nexmark_str_t r_str(rbuf_t *r) {
  beck_nexmark_str_t s = {"", 0};
  if (r->len - r->pos < 2) {
    r->bad = 1;
    return s;
  }
  uint32_t n = (uint32_t)r->p[r->pos] | (uint32_t)r->p[r->pos + 1] << 8;
  r->pos += 2;
  if (r->len - r->pos < n) {
    r->bad = 1;
    return s;
  }
  s.ptr = (const char *)r->p + r->pos;
  s.len = n;
  r->pos += n;
  return s;
}

int beck_nexmark_decode(const void *p, size_t len, beck_nexmark_event_t *ev) {
  rbuf_t r = {p, len, 1, 0};
  if (len < 1)
    return -1;
  ev->type = ((const uint8_t *)p)[0];
  switch (ev->type) {
  case BECK_NEXMARK_PERSON: {
    beck_nexmark_person_t *x = &ev->u.person;
    x->id = r_i64(&r);
    x->date_time = r_i64(&r);
    x->name = r_str(&r);
    x->email_address = r_str(&r);
    x->credit_card = r_str(&r);
    x->city = r_str(&r);
    x->state = r_str(&r);
    x->extra = r_str(&r);
    break;
  }
  case BECK_NEXMARK_AUCTION: {
    beck_nexmark_auction_t *x = &ev->u.auction;
    x->id = r_i64(&r);
    x->initial_bid = r_i64(&r);
    x->reserve = r_i64(&r);
    x->date_time = r_i64(&r);
    x->expires = r_i64(&r);
    x->seller = r_i64(&r);
    x->category = r_i64(&r);
    x->item_name = r_str(&r);
    x->description = r_str(&r);
    x->extra = r_str(&r);
    break;
  }
  case BECK_NEXMARK_BID: {
    beck_nexmark_bid_t *x = &ev->u.bid;
    x->auction = r_i64(&r);
    x->bidder = r_i64(&r);
    x->price = r_i64(&r);
    x->date_time = r_i64(&r);
    x->channel = r_str(&r);
    x->url = r_str(&r);
    x->extra = r_str(&r);
    break;
  }
  default:
    return -1;
  }
  return r.bad || r.pos != len ? -1 : 0;
}

/* ---- JSON ------------------------------------------------------------------------------ */

typedef struct jbuf {
  char *p;
  size_t cap, len;
} jbuf_t;

static void j_raw(jbuf_t *j, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++, j->len++)
    if (j->len + 1 < j->cap)
      j->p[j->len] = s[i];
}

static void j_cstr(jbuf_t *j, const char *s) { j_raw(j, s, strlen(s)); }

static void j_key(jbuf_t *j, const char *k) {
  j_raw(j, ",\"", 2);
  j_cstr(j, k);
  j_raw(j, "\":", 2);
}

static void j_i64(jbuf_t *j, const char *k, int64_t v) {
  char tmp[32];
  int n = snprintf(tmp, sizeof tmp, "%lld", (long long)v);
  j_key(j, k);
  j_raw(j, tmp, (size_t)n);
}

static void j_str(jbuf_t *j, const char *k, beck_nexmark_str_t s) {
  static const char hex[] = "0123456789abcdef";
  j_key(j, k);
  j_raw(j, "\"", 1);
  for (uint32_t i = 0; i < s.len; i++) {
    unsigned char ch = (unsigned char)s.ptr[i];
    if (ch == '"' || ch == '\\') {
      char e[2] = {'\\', (char)ch};
      j_raw(j, e, 2);
    } else if (ch < 0x20) {
      char e[6] = {'\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15]};
      j_raw(j, e, 6);
    } else {
      j_raw(j, (const char *)&ch, 1);
    }
  }
  j_raw(j, "\"", 1);
}

size_t beck_nexmark_json(const beck_nexmark_event_t *ev, char *out, size_t cap) {
  jbuf_t j = {out, cap, 0};
  j_cstr(&j, "{\"type\":\"");
  j_cstr(&j, beck_nexmark_type_name(ev->type));
  j_cstr(&j, "\"");
  switch (ev->type) {
  case BECK_NEXMARK_PERSON: {
    const beck_nexmark_person_t *x = &ev->u.person;
    j_i64(&j, "id", x->id);
    j_str(&j, "name", x->name);
    j_str(&j, "emailAddress", x->email_address);
    j_str(&j, "creditCard", x->credit_card);
    j_str(&j, "city", x->city);
    j_str(&j, "state", x->state);
    j_i64(&j, "dateTime", x->date_time);
    j_str(&j, "extra", x->extra);
    break;
  }
  case BECK_NEXMARK_AUCTION: {
    const beck_nexmark_auction_t *x = &ev->u.auction;
    j_i64(&j, "id", x->id);
    j_str(&j, "itemName", x->item_name);
    j_str(&j, "description", x->description);
    j_i64(&j, "initialBid", x->initial_bid);
    j_i64(&j, "reserve", x->reserve);
    j_i64(&j, "dateTime", x->date_time);
    j_i64(&j, "expires", x->expires);
    j_i64(&j, "seller", x->seller);
    j_i64(&j, "category", x->category);
    j_str(&j, "extra", x->extra);
    break;
  }
  case BECK_NEXMARK_BID: {
    const beck_nexmark_bid_t *x = &ev->u.bid;
    j_i64(&j, "auction", x->auction);
    j_i64(&j, "bidder", x->bidder);
    j_i64(&j, "price", x->price);
    j_str(&j, "channel", x->channel);
    j_str(&j, "url", x->url);
    j_i64(&j, "dateTime", x->date_time);
    j_str(&j, "extra", x->extra);
    break;
  }
  default:
    break;
  }
  j_raw(&j, "}", 1);
  if (cap > 0)
    out[j.len < cap ? j.len : cap - 1] = '\0';
  return j.len;
}

const char *beck_nexmark_type_name(int type) {
  switch (type) {
  case BECK_NEXMARK_PERSON:
    return "person";
  case BECK_NEXMARK_AUCTION:
    return "auction";
  case BECK_NEXMARK_BID:
    return "bid";
  }
  return "unknown";
}
