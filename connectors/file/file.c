/*
 * file.c - file-source (tails a file of lines or JSON lines) and file-sink
 * (appends records as lines, fsync on flush). Built against
 * <beck/connector.h> alone, plus jansson for JSON lines.
 *
 * file-source
 *   Source partition: the file path. Source offset: "INODE:BYTE", the byte
 *   just after the newline of the last line emitted, so a restart resumes
 *   exactly after the last delivered line. Only complete lines are emitted;
 *   a trailing partial line waits for its newline (or for rotation).
 *   Rotation (the path now names another inode, or is gone): the old file is
 *   read to its end first, its last partial line emitted as a line, then the
 *   new file is read from byte 0. Truncation in place (copytruncate: same
 *   inode, size below our position) restarts at byte 0. A stored offset for
 *   an inode that is no longer at the path (rotated while stopped) restarts
 *   the new file at 0 with a warning: lines left in the old file are not
 *   read. CRLF line ends lose the CR. In json mode blank lines are skipped
 *   and a line that is not valid JSON is reported with beck_emit_error (so it
 *   goes to the dead-letter topic under errors.tolerance=all).
 *
 * file-sink
 *   Appends each record as one line: the value (format=value), or a JSON
 *   envelope (format=json). Lines are buffered and written by put when the
 *   buffer passes 1 MiB and by flush, which also fdatasyncs (fsync=true).
 *   Delivery is at-least-once: a flush that fails after a partial write is
 *   re-delivered and those lines appear twice.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <beck/connector.h>
#include <jansson.h>

#define READ_CHUNK 65536

/* ---- file-source ------------------------------------------------------------ */

typedef struct {
  const beck_connector_host_t *host;
  beck_connector_ctx_t *ctx;
  const char *path;
  int json;
  const char *key_field;
  int64_t poll_ms;
  int from_end;
  size_t max_line;
  int fd;
  dev_t dev;
  ino_t ino;
  off_t base; /* file offset of buf[0] */
  char *buf;
  size_t len, cap;
  int skipping; /* dropping the rest of an overlong line */
  int warned_missing;
} fsrc_t;

static const beck_connector_option_t fsrc_options[] = {
    {.name = "file.path", .type = BECK_CONNECTOR_OPT_STRING, .required = 1, .description = "File to tail."},
    {.name = "format",
     .type = BECK_CONNECTOR_OPT_ENUM,
     .default_value = "lines",
     .choices = "lines|json",
     .description = "lines: each line is a record value; json: each line must be a JSON value."},
    {.name = "key.field",
     .type = BECK_CONNECTOR_OPT_STRING,
     .description = "json: top-level field whose value becomes the record key."},
    {.name = "poll.interval",
     .type = BECK_CONNECTOR_OPT_DURATION,
     .default_value = "200ms",
     .min = 1,
     .max = 60000,
     .description = "How long to wait at the end of the file before looking again."},
    {.name = "start.at",
     .type = BECK_CONNECTOR_OPT_ENUM,
     .default_value = "beginning",
     .choices = "beginning|end",
     .description = "Where to start a file with no stored offset."},
    {.name = "line.max.bytes",
     .type = BECK_CONNECTOR_OPT_INT,
     .default_value = "1048576",
     .min = 16,
     .max = 268435456,
     .description = "Longer lines are reported as errors (their first bytes) and skipped."},
};

static int fsrc_create(const beck_connector_host_t *host, beck_connector_ctx_t *ctx, void **self) {
  fsrc_t *s = calloc(1, sizeof *s);
  if (s == NULL) {
    host->set_error(ctx, "out of memory");
    return BECK_CONNECTOR_FATAL;
  }
  s->host = host;
  s->ctx = ctx;
  s->fd = -1;
  s->path = host->config_string(ctx, "file.path");
  s->json = strcmp(host->config_string(ctx, "format"), "json") == 0;
  s->key_field = host->config_string(ctx, "key.field");
  s->poll_ms = host->config_int(ctx, "poll.interval");
  s->from_end = strcmp(host->config_string(ctx, "start.at"), "end") == 0;
  s->max_line = (size_t)host->config_int(ctx, "line.max.bytes");
  *self = s;
  if (s->key_field != NULL && !s->json) {
    host->set_error(ctx, "key.field needs format=json");
    return BECK_CONNECTOR_FATAL;
  }
  return BECK_CONNECTOR_OK;
}

static void fsrc_close_file(fsrc_t *s) {
  if (s->fd >= 0)
    close(s->fd);
  s->fd = -1;
  s->len = 0;
  s->skipping = 0;
}

/* Opens the path; positions at `at` (or at the end when at < 0). Returns 0,
 * 1 when the file does not exist (yet), -1 on error (message set). */
static int fsrc_open(fsrc_t *s, off_t at) {
  int fd = open(s->path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT)
      return 1;
    s->host->set_error(s->ctx, "cannot open %s: %s", s->path, strerror(errno));
    return -1;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    s->host->set_error(s->ctx, "cannot stat %s: %s", s->path, strerror(errno));
    close(fd);
    return -1;
  }
  if (at < 0 || at > st.st_size)
    at = at < 0 ? st.st_size : 0;
  if (lseek(fd, at, SEEK_SET) < 0) {
    s->host->set_error(s->ctx, "cannot seek %s: %s", s->path, strerror(errno));
    close(fd);
    return -1;
  }
  s->fd = fd;
  s->dev = st.st_dev;
  s->ino = st.st_ino;
  s->base = at;
  s->len = 0;
  s->skipping = 0;
  s->warned_missing = 0;
  return 0;
}

static int fsrc_start(void *self) {
  fsrc_t *s = self;
  const char *stored = s->host->offset_get(s->ctx, s->path);
  off_t at = s->from_end ? -1 : 0;
  unsigned long long ino = 0;
  long long pos = 0;
  if (stored != NULL && sscanf(stored, "%llu:%lld", &ino, &pos) == 2) {
    struct stat st;
    if (stat(s->path, &st) == 0 && (unsigned long long)st.st_ino == ino) {
      if (pos <= st.st_size) {
        at = (off_t)pos;
      } else {
        s->host->log(s->ctx, BECK_CONNECTOR_LOG_WARN,
                     "%s is shorter (%lld) than the stored offset %lld: truncated, "
                     "reading from the start",
                     s->path, (long long)st.st_size, pos);
        at = 0;
      }
    } else {
      s->host->log(s->ctx, BECK_CONNECTOR_LOG_WARN,
                   "%s is not the file the stored offset %s belongs to (rotated while stopped): reading it from the "
                   "start",
                   s->path, stored);
      at = 0;
    }
  }
  if (fsrc_open(s, at) < 0)
    return BECK_CONNECTOR_RETRY;
  s->host->log(s->ctx, BECK_CONNECTOR_LOG_INFO, "tailing %s from byte %lld", s->path,
               s->fd >= 0 ? (long long)s->base : 0LL);
  return BECK_CONNECTOR_OK;
}

/* Emits one line [p, p+n) whose next byte is at file offset `next`. Returns
 * the emit result. */
/* Writes v in decimal at out; returns the end. (snprintf per line costs a
 * tenth of the source's CPU.) */
static char *fmt_u64(char *out, unsigned long long v) {
  char tmp[24];
  int n = 0;
  do
    tmp[n++] = (char)('0' + v % 10);
  while ((v /= 10) != 0);
  while (n > 0)
    *out++ = tmp[--n];
  return out;
}

static int fsrc_emit_line(fsrc_t *s, beck_source_batch_t *batch, const char *p, size_t n, off_t next, int error) {
  if (n > 0 && p[n - 1] == '\r')
    n--;
  char off[48], *o = fmt_u64(off, (unsigned long long)s->ino); /* "INODE:BYTE" */
  *o++ = ':';
  *fmt_u64(o, (unsigned long long)next) = '\0';
  beck_source_record_t r = BECK_SOURCE_RECORD_INIT;
  r.value = p;
  r.value_len = (int32_t)n;
  r.source_partition = s->path;
  r.source_offset = off;
  if (error)
    return beck_emit_error(s->host, batch, &r, "line longer than line.max.bytes (truncated)");
  if (!s->json)
    return beck_emit(s->host, batch, &r);
  size_t k = 0;
  while (k < n && (p[k] == ' ' || p[k] == '\t'))
    k++;
  if (k == n) {
    /* a blank line: nothing to emit, but its offset still moves; carry it
     * on an empty error-free no-op by emitting nothing. The next line's
     * offset covers it. */
    return 0;
  }
  json_error_t je;
  json_t *root = json_loadb(p, n, JSON_DECODE_ANY, &je);
  if (root == NULL) {
    char msg[256];
    snprintf(msg, sizeof msg, "not JSON: %s (column %d)", je.text, je.column);
    return beck_emit_error(s->host, batch, &r, msg);
  }
  char *owned = NULL;
  if (s->key_field != NULL) {
    json_t *k2 = json_is_object(root) ? json_object_get(root, s->key_field) : NULL;
    if (json_is_string(k2)) {
      r.key = json_string_value(k2);
      r.key_len = (int32_t)json_string_length(k2);
    } else if (k2 != NULL && !json_is_null(k2)) {
      owned = json_dumps(k2, JSON_COMPACT | JSON_ENCODE_ANY);
      if (owned != NULL) {
        r.key = owned;
        r.key_len = (int32_t)strlen(owned);
      }
    }
  }
  int rc = beck_emit(s->host, batch, &r);
  free(owned);
  json_decref(root);
  return rc;
}

/* Emits complete lines from the buffer. Returns 1 when the batch is full,
 * 0 when the buffer holds no complete line, <0 on error. */
static int fsrc_drain(fsrc_t *s, beck_source_batch_t *batch) {
  size_t start = 0;
  int rc = 0;
  while (rc == 0 && start < s->len) {
    char *nl = memchr(s->buf + start, '\n', s->len - start);
    if (nl == NULL)
      break;
    size_t end = (size_t)(nl - s->buf);
    off_t next = s->base + (off_t)end + 1;
    if (s->skipping) {
      s->skipping = 0;
    } else {
      size_t n = end - start;
      int too_long = n > s->max_line;
      rc = fsrc_emit_line(s, batch, s->buf + start, too_long ? s->max_line : n, next, too_long);
      if (rc < 0)
        return rc;
    }
    start = end + 1;
  }
  if (rc == 0 && s->len - start >= s->max_line) {
    /* an overlong line: report its first bytes, skip to its newline */
    off_t next = s->base + (off_t)s->len;
    if (!s->skipping)
      rc = fsrc_emit_line(s, batch, s->buf + start, s->max_line, next, 1);
    s->skipping = 1;
    start = s->len;
    if (rc < 0)
      return rc;
  }
  if (start > 0)
    memmove(s->buf, s->buf + start, s->len - start);
  s->len -= start;
  s->base += (off_t)start;
  return rc;
}

/* Reads what is there; returns bytes read, 0 at EOF, -1 on error. */
static ssize_t fsrc_read(fsrc_t *s) {
  if (s->cap - s->len < READ_CHUNK) {
    size_t cap = s->cap ? s->cap : READ_CHUNK * 2;
    while (cap - s->len < READ_CHUNK)
      cap *= 2;
    char *nb = realloc(s->buf, cap);
    if (nb == NULL) {
      s->host->set_error(s->ctx, "out of memory");
      return -1;
    }
    s->buf = nb;
    s->cap = cap;
  }
  ssize_t n;
  do
    n = read(s->fd, s->buf + s->len, s->cap - s->len);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    s->host->set_error(s->ctx, "read %s: %s", s->path, strerror(errno));
    return -1;
  }
  s->len += (size_t)n;
  return n;
}

static int fsrc_poll(void *self, beck_source_batch_t *batch) {
  fsrc_t *s = self;
  if (s->fd < 0) {
    int rc = fsrc_open(s, 0);
    if (rc < 0)
      return BECK_CONNECTOR_RETRY;
    if (rc == 1) {
      if (!s->warned_missing)
        s->host->log(s->ctx, BECK_CONNECTOR_LOG_INFO, "waiting for %s to appear", s->path);
      s->warned_missing = 1;
      s->host->sleep_ms(s->ctx, s->poll_ms);
      return BECK_CONNECTOR_OK;
    }
  }
  int emitted_any = 0;
  for (;;) {
    int rc = fsrc_drain(s, batch);
    if (rc < 0)
      return BECK_CONNECTOR_FATAL;
    if (rc == 1)
      return BECK_CONNECTOR_OK;
    ssize_t n = fsrc_read(s);
    if (n < 0)
      return BECK_CONNECTOR_RETRY;
    if (n > 0) {
      emitted_any = 1;
      continue;
    }
    /* at the end: rotated or truncated? */
    struct stat st;
    int gone = stat(s->path, &st) != 0;
    if (gone || st.st_ino != s->ino || st.st_dev != s->dev) {
      /* the old file is complete: its last partial line is a line */
      if (s->len > 0 && !s->skipping) {
        off_t next = s->base + (off_t)s->len;
        rc = fsrc_emit_line(s, batch, s->buf, s->len, next, 0);
        if (rc < 0)
          return BECK_CONNECTOR_FATAL;
      }
      s->host->log(s->ctx, BECK_CONNECTOR_LOG_INFO, "%s was rotated; %s", s->path,
                   gone ? "waiting for the new file" : "reading the new file");
      fsrc_close_file(s);
      if (!gone && fsrc_open(s, 0) < 0)
        return BECK_CONNECTOR_RETRY;
      if (gone || rc == 1)
        return BECK_CONNECTOR_OK;
      continue;
    }
    if (st.st_size < s->base + (off_t)s->len) {
      s->host->log(s->ctx, BECK_CONNECTOR_LOG_WARN, "%s was truncated; reading it from the start", s->path);
      fsrc_close_file(s);
      if (fsrc_open(s, 0) < 0)
        return BECK_CONNECTOR_RETRY;
      continue;
    }
    if (!emitted_any)
      s->host->sleep_ms(s->ctx, s->poll_ms);
    return BECK_CONNECTOR_OK;
  }
}

static int fsrc_stop(void *self) {
  fsrc_close_file(self);
  return BECK_CONNECTOR_OK;
}

static void fsrc_destroy(void *self) {
  fsrc_t *s = self;
  if (s == NULL)
    return;
  fsrc_close_file(s);
  free(s->buf);
  free(s);
}

static const beck_connector_descriptor_t file_source = {
    .abi_version = BECK_CONNECTOR_ABI_VERSION,
    .struct_size = sizeof(beck_connector_descriptor_t),
    .name = "file-source",
    .kind = BECK_CONNECTOR_SOURCE,
    .description = "Tails a file of lines or JSON lines; resumes at its byte offset; follows rotation.",
    .version = "1.0",
    .options = fsrc_options,
    .option_count = sizeof fsrc_options / sizeof fsrc_options[0],
    .option_size = sizeof(beck_connector_option_t),
    .create = fsrc_create,
    .start = fsrc_start,
    .poll = fsrc_poll,
    .stop = fsrc_stop,
    .destroy = fsrc_destroy,
};

/* ---- file-sink ------------------------------------------------------------------ */

typedef struct {
  const beck_connector_host_t *host;
  beck_connector_ctx_t *ctx;
  const char *path;
  int json, fsync;
  int fd;
  char *buf;
  size_t len, cap;
} fsink_t;

static const beck_connector_option_t fsink_options[] = {
    {.name = "file.path", .type = BECK_CONNECTOR_OPT_STRING, .required = 1, .description = "File to append to."},
    {.name = "format",
     .type = BECK_CONNECTOR_OPT_ENUM,
     .default_value = "value",
     .choices = "value|json",
     .description = "value: the record value per line; json: {topic,partition,offset,timestamp,key,value}."},
    {.name = "fsync",
     .type = BECK_CONNECTOR_OPT_BOOL,
     .default_value = "true",
     .description = "fdatasync on every flush (before offsets are committed)."},
};

static int fsink_create(const beck_connector_host_t *host, beck_connector_ctx_t *ctx, void **self) {
  fsink_t *s = calloc(1, sizeof *s);
  if (s == NULL) {
    host->set_error(ctx, "out of memory");
    return BECK_CONNECTOR_FATAL;
  }
  s->host = host;
  s->ctx = ctx;
  s->fd = -1;
  s->path = host->config_string(ctx, "file.path");
  s->json = strcmp(host->config_string(ctx, "format"), "json") == 0;
  s->fsync = host->config_bool(ctx, "fsync");
  *self = s;
  return BECK_CONNECTOR_OK;
}

static int fsink_open(fsink_t *s) {
  if (s->fd >= 0)
    return 0;
  s->fd = open(s->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (s->fd < 0) {
    s->host->set_error(s->ctx, "cannot open %s: %s", s->path, strerror(errno));
    return -1;
  }
  return 0;
}

static int fsink_start(void *self) { return fsink_open(self) == 0 ? BECK_CONNECTOR_OK : BECK_CONNECTOR_RETRY; }

static int fsink_reserve(fsink_t *s, size_t n) {
  if (s->len + n <= s->cap)
    return 0;
  size_t cap = s->cap ? s->cap : 65536;
  while (cap < s->len + n)
    cap *= 2;
  char *nb = realloc(s->buf, cap);
  if (nb == NULL)
    return -1;
  s->buf = nb;
  s->cap = cap;
  return 0;
}

static int fsink_add(fsink_t *s, const void *p, size_t n) {
  if (fsink_reserve(s, n) != 0)
    return -1;
  memcpy(s->buf + s->len, p, n);
  s->len += n;
  return 0;
}

/* Appends a JSON string (or null) for n bytes; bytes >= 0x80 pass through. */
static int fsink_json_str(fsink_t *s, const char *p, int32_t n) {
  if (p == NULL || n < 0)
    return fsink_add(s, "null", 4);
  if (fsink_reserve(s, (size_t)n * 6 + 2) != 0)
    return -1;
  char *o = s->buf + s->len;
  *o++ = '"';
  for (int32_t k = 0; k < n; k++) {
    unsigned char c = (unsigned char)p[k];
    if (c == '"' || c == '\\') {
      *o++ = '\\';
      *o++ = (char)c;
    } else if (c == '\n') {
      *o++ = '\\';
      *o++ = 'n';
    } else if (c == '\t') {
      *o++ = '\\';
      *o++ = 't';
    } else if (c == '\r') {
      *o++ = '\\';
      *o++ = 'r';
    } else if (c < 0x20) {
      o += sprintf(o, "\\u%04x", c);
    } else {
      *o++ = (char)c;
    }
  }
  *o++ = '"';
  s->len = (size_t)(o - s->buf);
  return 0;
}

static int fsink_write_out(fsink_t *s) {
  size_t done = 0;
  while (done < s->len) {
    ssize_t w = write(s->fd, s->buf + done, s->len - done);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0) {
      s->host->set_error(s->ctx, "write %s: %s", s->path, strerror(errno));
      s->len = 0;
      return -1;
    }
    done += (size_t)w;
  }
  s->len = 0;
  return 0;
}

static int fsink_put(void *self, const beck_sink_batch_t *batch) {
  fsink_t *s = self;
  if (fsink_open(s) != 0)
    return BECK_CONNECTOR_REWIND;
  for (uint32_t k = 0; k < batch->count; k++) {
    const beck_sink_record_t *r = batch->records[k];
    int rc;
    if (!s->json) {
      rc = fsink_add(s, r->value ? r->value : "", r->value_len > 0 ? (size_t)r->value_len : 0);
    } else {
      char head[160];
      int hn =
          snprintf(head, sizeof head, "{\"partition\":%d,\"offset\":%lld,\"timestamp\":%lld,\"topic\":", r->partition,
                   (long long)r->offset, (long long)r->timestamp);
      rc = fsink_add(s, head, (size_t)hn);
      rc = rc ? rc : fsink_json_str(s, r->topic, (int32_t)strlen(r->topic));
      rc = rc ? rc : fsink_add(s, ",\"key\":", 7);
      rc = rc ? rc : fsink_json_str(s, r->key, r->key_len);
      rc = rc ? rc : fsink_add(s, ",\"value\":", 9);
      rc = rc ? rc : fsink_json_str(s, r->value, r->value_len);
      rc = rc ? rc : fsink_add(s, "}", 1);
    }
    if (rc == 0)
      rc = fsink_add(s, "\n", 1);
    if (rc != 0) {
      s->host->set_error(s->ctx, "out of memory");
      return BECK_CONNECTOR_FATAL;
    }
  }
  if (s->len >= (1u << 20) && fsink_write_out(s) != 0)
    return BECK_CONNECTOR_REWIND;
  return BECK_CONNECTOR_OK;
}

static int fsink_flush(void *self) {
  fsink_t *s = self;
  if (fsink_open(s) != 0)
    return BECK_CONNECTOR_REWIND;
  if (fsink_write_out(s) != 0)
    return BECK_CONNECTOR_REWIND;
  if (s->fsync && fdatasync(s->fd) != 0) {
    s->host->set_error(s->ctx, "fdatasync %s: %s", s->path, strerror(errno));
    return BECK_CONNECTOR_REWIND;
  }
  return BECK_CONNECTOR_OK;
}

static int fsink_stop(void *self) {
  fsink_t *s = self;
  if (s->fd >= 0)
    close(s->fd);
  s->fd = -1;
  return BECK_CONNECTOR_OK;
}

static void fsink_destroy(void *self) {
  fsink_t *s = self;
  if (s == NULL)
    return;
  fsink_stop(s);
  free(s->buf);
  free(s);
}

static const beck_connector_descriptor_t file_sink = {
    .abi_version = BECK_CONNECTOR_ABI_VERSION,
    .struct_size = sizeof(beck_connector_descriptor_t),
    .name = "file-sink",
    .kind = BECK_CONNECTOR_SINK,
    .description = "Appends records to a file, one per line; fsyncs on flush.",
    .version = "1.0",
    .options = fsink_options,
    .option_count = sizeof fsink_options / sizeof fsink_options[0],
    .option_size = sizeof(beck_connector_option_t),
    .create = fsink_create,
    .start = fsink_start,
    .put = fsink_put,
    .flush = fsink_flush,
    .stop = fsink_stop,
    .destroy = fsink_destroy,
};

BECK_CONNECTOR_EXPORT const beck_connector_descriptor_t *beck_connector_entry(uint32_t host_abi, uint32_t index) {
  (void)host_abi;
  static const beck_connector_descriptor_t *const all[] = {&file_source, &file_sink};
  return index < sizeof all / sizeof all[0] ? all[index] : NULL;
}
