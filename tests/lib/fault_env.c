/* fault_env.c - fault-injecting env wrapper for storage tests (see fault_env.h). */
#include "fault_env.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_FDS 65536

typedef struct fault {
  long countdown; /* calls left before the failing one; 0 = off */
  int err;
  bool sticky;
  bool short_write;
  bool firing; /* sticky fault already triggered */
} fault_t;

struct beck_fault_env {
  beck_env_t env;
  beck_env_t *base;
  pthread_mutex_t mu;
  char suffix[64];
  bool has_suffix;
  bool match_fd[MAX_FDS];
  fault_t faults[BECK_FAULT_OP_COUNT];
  long counts[BECK_FAULT_OP_COUNT];
  int64_t bytes[BECK_FAULT_OP_COUNT];
  bool fake_clock;
  int64_t now_ms;
  long sync_delay_us;
};

static beck_fault_env_t *F(beck_env_t *env) { return (beck_fault_env_t *)env->ctx; }

static bool path_matches(beck_fault_env_t *f, const char *path) {
  if (!f->has_suffix)
    return true;
  size_t n = strlen(path), m = strlen(f->suffix);
  return n >= m && strcmp(path + n - m, f->suffix) == 0;
}

static bool fd_matches(beck_fault_env_t *f, int fd) { return fd >= 0 && fd < MAX_FDS && f->match_fd[fd]; }

/* Counts a matching call and says whether it must fail (and how). */
static int check(beck_fault_env_t *f, beck_fault_op_t op, bool matches, size_t bytes, bool *short_write) {
  if (short_write)
    *short_write = false;
  if (!matches)
    return 0;
  pthread_mutex_lock(&f->mu);
  f->counts[op]++;
  f->bytes[op] += (int64_t)bytes;
  fault_t *ft = &f->faults[op];
  int err = 0;
  if (ft->firing) {
    err = ft->err;
  } else if (ft->countdown > 0 && --ft->countdown == 0) {
    err = ft->err;
    if (short_write)
      *short_write = ft->short_write;
    if (ft->sticky)
      ft->firing = true;
    ft->short_write = false;
  }
  pthread_mutex_unlock(&f->mu);
  return err;
}

static int64_t f_now_ms(beck_env_t *env) {
  beck_fault_env_t *f = F(env);
  pthread_mutex_lock(&f->mu);
  bool fake = f->fake_clock;
  int64_t now = f->now_ms;
  pthread_mutex_unlock(&f->mu);
  return fake ? now : f->base->now_ms(f->base);
}

static int64_t f_monotonic_ns(beck_env_t *env) { return F(env)->base->monotonic_ns(F(env)->base); }
static uint64_t f_random(beck_env_t *env) { return F(env)->base->random(F(env)->base); }

static int f_open(beck_env_t *env, const char *path, int flags, int mode) {
  beck_fault_env_t *f = F(env);
  bool m = path_matches(f, path);
  int err = check(f, BECK_FAULT_OPEN, m, 0, NULL);
  if (err)
    return -err;
  int fd = f->base->open(f->base, path, flags, mode);
  if (fd >= 0 && fd < MAX_FDS) {
    pthread_mutex_lock(&f->mu);
    f->match_fd[fd] = m;
    pthread_mutex_unlock(&f->mu);
  }
  return fd;
}

static ssize_t f_pread(beck_env_t *env, int fd, void *buf, size_t n, int64_t off) {
  beck_fault_env_t *f = F(env);
  int err = check(f, BECK_FAULT_PREAD, fd_matches(f, fd), n, NULL);
  if (err)
    return -err;
  return f->base->pread(f->base, fd, buf, n, off);
}

static ssize_t f_pwrite(beck_env_t *env, int fd, const void *buf, size_t n, int64_t off) {
  beck_fault_env_t *f = F(env);
  bool short_write;
  int err = check(f, BECK_FAULT_PWRITE, fd_matches(f, fd), n, &short_write);
  if (err) {
    if (short_write && n / 2 > 0)
      f->base->pwrite(f->base, fd, buf, n / 2, off);
    return -err;
  }
  return f->base->pwrite(f->base, fd, buf, n, off);
}

static int f_fdatasync(beck_env_t *env, int fd) {
  beck_fault_env_t *f = F(env);
  bool m = fd_matches(f, fd);
  pthread_mutex_lock(&f->mu);
  long delay = m ? f->sync_delay_us : 0;
  pthread_mutex_unlock(&f->mu);
  if (delay > 0) {
    struct timespec ts = {delay / 1000000, (delay % 1000000) * 1000};
    nanosleep(&ts, NULL);
  }
  int err = check(f, BECK_FAULT_FDATASYNC, m, 0, NULL);
  if (err)
    return -err;
  return f->base->fdatasync(f->base, fd);
}

static int f_ftruncate(beck_env_t *env, int fd, int64_t len) {
  beck_fault_env_t *f = F(env);
  int err = check(f, BECK_FAULT_FTRUNCATE, fd_matches(f, fd), 0, NULL);
  if (err)
    return -err;
  return f->base->ftruncate(f->base, fd, len);
}

static int f_file_size(beck_env_t *env, int fd, int64_t *size) { return F(env)->base->file_size(F(env)->base, fd, size); }

static int f_close(beck_env_t *env, int fd) {
  beck_fault_env_t *f = F(env);
  if (fd >= 0 && fd < MAX_FDS) {
    pthread_mutex_lock(&f->mu);
    f->match_fd[fd] = false;
    pthread_mutex_unlock(&f->mu);
  }
  return f->base->close(f->base, fd);
}

static int f_rename(beck_env_t *env, const char *from, const char *to) {
  beck_fault_env_t *f = F(env);
  int err = check(f, BECK_FAULT_RENAME, path_matches(f, to), 0, NULL);
  if (err)
    return -err;
  return f->base->rename(f->base, from, to);
}

static int f_unlink(beck_env_t *env, const char *path) {
  beck_fault_env_t *f = F(env);
  int err = check(f, BECK_FAULT_UNLINK, path_matches(f, path), 0, NULL);
  if (err)
    return -err;
  return f->base->unlink(f->base, path);
}

static int f_mkdir(beck_env_t *env, const char *path, int mode) { return F(env)->base->mkdir(F(env)->base, path, mode); }
static int f_rmdir(beck_env_t *env, const char *path) { return F(env)->base->rmdir(F(env)->base, path); }

static int f_sync_dir(beck_env_t *env, const char *path) {
  beck_fault_env_t *f = F(env);
  int err = check(f, BECK_FAULT_SYNC_DIR, true, 0, NULL);
  if (err)
    return -err;
  return f->base->sync_dir(f->base, path);
}

static int f_list_dir(beck_env_t *env, const char *path, beck_env_dir_cb cb, void *arg) {
  return F(env)->base->list_dir(F(env)->base, path, cb, arg);
}

beck_fault_env_t *beck_fault_env_new(void) {
  beck_fault_env_t *f = calloc(1, sizeof *f);
  if (f == NULL)
    abort();
  f->base = beck_env_default();
  pthread_mutex_init(&f->mu, NULL);
  f->env = (beck_env_t){
      .ctx = f,
      .now_ms = f_now_ms,
      .monotonic_ns = f_monotonic_ns,
      .random = f_random,
      .open = f_open,
      .pread = f_pread,
      .pwrite = f_pwrite,
      .fdatasync = f_fdatasync,
      .ftruncate = f_ftruncate,
      .file_size = f_file_size,
      .close = f_close,
      .rename = f_rename,
      .unlink = f_unlink,
      .mkdir = f_mkdir,
      .rmdir = f_rmdir,
      .sync_dir = f_sync_dir,
      .list_dir = f_list_dir,
  };
  return f;
}

void beck_fault_env_free(beck_fault_env_t *f) {
  if (f == NULL)
    return;
  pthread_mutex_destroy(&f->mu);
  free(f);
}

beck_env_t *beck_fault_env(beck_fault_env_t *f) { return &f->env; }

void beck_fault_env_set_suffix(beck_fault_env_t *f, const char *suffix) {
  pthread_mutex_lock(&f->mu);
  f->has_suffix = suffix != NULL;
  if (suffix) {
    strncpy(f->suffix, suffix, sizeof f->suffix - 1);
    f->suffix[sizeof f->suffix - 1] = '\0';
  }
  pthread_mutex_unlock(&f->mu);
}

void beck_fault_env_fail(beck_fault_env_t *f, beck_fault_op_t op, long nth, int err, bool sticky) {
  pthread_mutex_lock(&f->mu);
  f->faults[op] = (fault_t){.countdown = nth, .err = err, .sticky = sticky};
  pthread_mutex_unlock(&f->mu);
}

void beck_fault_env_short_write(beck_fault_env_t *f, long nth, int err) {
  pthread_mutex_lock(&f->mu);
  f->faults[BECK_FAULT_PWRITE] = (fault_t){.countdown = nth, .err = err, .short_write = true};
  pthread_mutex_unlock(&f->mu);
}

void beck_fault_env_clear(beck_fault_env_t *f) {
  pthread_mutex_lock(&f->mu);
  memset(f->faults, 0, sizeof f->faults);
  pthread_mutex_unlock(&f->mu);
}

long beck_fault_env_count(beck_fault_env_t *f, beck_fault_op_t op) {
  pthread_mutex_lock(&f->mu);
  long v = f->counts[op];
  pthread_mutex_unlock(&f->mu);
  return v;
}

int64_t beck_fault_env_bytes(beck_fault_env_t *f, beck_fault_op_t op) {
  pthread_mutex_lock(&f->mu);
  int64_t v = f->bytes[op];
  pthread_mutex_unlock(&f->mu);
  return v;
}

void beck_fault_env_reset_counts(beck_fault_env_t *f) {
  pthread_mutex_lock(&f->mu);
  memset(f->counts, 0, sizeof f->counts);
  memset(f->bytes, 0, sizeof f->bytes);
  pthread_mutex_unlock(&f->mu);
}

void beck_fault_env_set_time(beck_fault_env_t *f, int64_t now_ms) {
  pthread_mutex_lock(&f->mu);
  f->fake_clock = true;
  f->now_ms = now_ms;
  pthread_mutex_unlock(&f->mu);
}

void beck_fault_env_advance(beck_fault_env_t *f, int64_t ms) {
  pthread_mutex_lock(&f->mu);
  f->now_ms += ms;
  pthread_mutex_unlock(&f->mu);
}

void beck_fault_env_set_sync_delay_us(beck_fault_env_t *f, long us) {
  pthread_mutex_lock(&f->mu);
  f->sync_delay_us = us;
  pthread_mutex_unlock(&f->mu);
}
