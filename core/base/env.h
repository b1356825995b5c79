/*
 * env.h - the clock, the filesystem and randomness behind one small table.
 *
 * Storage code calls the world only through a beck_env_t, so tests can inject
 * faults (a failed write, a failed fsync, a short write, a full disk) and,
 * later, simulate time. beck_env_default() is the real POSIX implementation.
 *
 * Conventions: file functions return >= 0 on success and -errno on failure;
 * they never set errno for the caller to read. All functions may be called
 * from any thread.
 */
#ifndef BECK_BASE_ENV_H
#define BECK_BASE_ENV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct beck_env beck_env_t;

/* Called once per directory entry name (not "." or ".."); return non-zero to stop. */
typedef int (*beck_env_dir_cb)(void *arg, const char *name);

struct beck_env {
  void *ctx; /* for wrappers: the wrapped env or fault state */

  int64_t (*now_ms)(beck_env_t *env);       /* wall clock, ms since the epoch */
  int64_t (*monotonic_ns)(beck_env_t *env); /* never goes back */
  uint64_t (*random)(beck_env_t *env);      /* uniform 64 bits */

  int (*open)(beck_env_t *env, const char *path, int flags, int mode); /* fd or -errno */
  ssize_t (*pread)(beck_env_t *env, int fd, void *buf, size_t n, int64_t off);
  /* Writes all n bytes or fails; a short write is reported as -EIO, -ENOSPC, ... */
  ssize_t (*pwrite)(beck_env_t *env, int fd, const void *buf, size_t n, int64_t off);
  int (*fdatasync)(beck_env_t *env, int fd);
  int (*ftruncate)(beck_env_t *env, int fd, int64_t len);
  int (*file_size)(beck_env_t *env, int fd, int64_t *size);
  int (*close)(beck_env_t *env, int fd);
  int (*rename)(beck_env_t *env, const char *from, const char *to);
  int (*unlink)(beck_env_t *env, const char *path);
  int (*mkdir)(beck_env_t *env, const char *path, int mode); /* -EEXIST if present */
  int (*rmdir)(beck_env_t *env, const char *path);
  int (*sync_dir)(beck_env_t *env, const char *path);        /* makes renames durable */
  int (*list_dir)(beck_env_t *env, const char *path, beck_env_dir_cb cb, void *arg);
};

/* The process-wide POSIX environment. Never NULL, never freed. */
beck_env_t *beck_env_default(void);

/* Creates path and its missing parents (like mkdir -p). Returns 0 or -errno. */
int beck_env_mkdirs(beck_env_t *env, const char *path);

/* Reads a whole small file into a new NUL-terminated buffer (caller frees with
 * beck_free). Returns 0 or -errno; -EFBIG beyond max_len. */
int beck_env_read_file(beck_env_t *env, const char *path, size_t max_len, char **out, size_t *out_len);

/* Writes a small file atomically and durably: write tmp, fdatasync, rename,
 * sync the directory. Returns 0 or -errno. */
int beck_env_write_file_atomic(beck_env_t *env, const char *path, const void *data, size_t len);

#endif
