/*
 * checkpoint.c - reading and writing the recovery-point, log-start-offset and
 * clean-shutdown files of a partition directory. Formats in checkpoint.h.
 */
#include "log/checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"

static void file_path(char *buf, size_t n, const char *dir, const char *name) { snprintf(buf, n, "%s/%s", dir, name); }

/* Parses up to `want` space-separated non-negative decimals ending in "\n". */
static bool parse_numbers(const char *s, size_t len, int64_t *out, int want) {
  size_t i = 0;
  for (int k = 0; k < want; k++) {
    if (k > 0) {
      if (i >= len || s[i] != ' ')
        return false;
      i++;
    }
    if (i >= len || s[i] < '0' || s[i] > '9')
      return false;
    int64_t v = 0;
    while (i < len && s[i] >= '0' && s[i] <= '9') {
      if (v > (INT64_MAX - (s[i] - '0')) / 10)
        return false;
      v = v * 10 + (s[i] - '0');
      i++;
    }
    out[k] = v;
  }
  return i + 1 == len && s[i] == '\n';
}

static beck_err_t read_numbers(beck_env_t *env, const char *dir, const char *name, int64_t *out, int want,
                               bool *present, beck_error_t *e) {
  char path[4200];
  file_path(path, sizeof path, dir, name);
  char *data = NULL;
  size_t len = 0;
  int rc = beck_env_read_file(env, path, 256, &data, &len);
  *present = false;
  if (rc == -ENOENT)
    return BECK_ERR_OK;
  if (rc < 0)
    return beck_error_set(e, beck_err_from_errno(-rc), "reading %s failed: %s", path, strerror(-rc));
  bool ok = parse_numbers(data, len, out, want);
  beck_free(data);
  if (!ok)
    return beck_error_set(e, BECK_ERR_CORRUPT, "%s does not parse", path);
  *present = true;
  return BECK_ERR_OK;
}

static beck_err_t write_text(beck_env_t *env, const char *dir, const char *name, const char *text, beck_error_t *e) {
  char path[4200];
  file_path(path, sizeof path, dir, name);
  int rc = beck_env_write_file_atomic(env, path, text, strlen(text));
  if (rc < 0)
    return beck_error_set(e, beck_err_from_errno(-rc), "writing %s failed: %s", path, strerror(-rc));
  return BECK_ERR_OK;
}

beck_err_t beck__ckpt_read(beck_env_t *env, const char *dir, beck_ckpt_t *out, bool *present, beck_error_t *e) {
  int64_t v[3];
  beck_err_t err = read_numbers(env, dir, BECK_CKPT_FILE, v, 3, present, e);
  if (err == BECK_ERR_OK && *present) {
    out->offset = v[0];
    out->segment = v[1];
    out->position = v[2];
  }
  return err;
}

beck_err_t beck__ckpt_write(beck_env_t *env, const char *dir, const beck_ckpt_t *c, beck_error_t *e) {
  char text[96];
  snprintf(text, sizeof text, "%" PRId64 " %" PRId64 " %" PRId64 "\n", c->offset, c->segment, c->position);
  return write_text(env, dir, BECK_CKPT_FILE, text, e);
}

beck_err_t beck__start_offset_read(beck_env_t *env, const char *dir, int64_t *out, bool *present, beck_error_t *e) {
  return read_numbers(env, dir, BECK_START_FILE, out, 1, present, e);
}

beck_err_t beck__start_offset_write(beck_env_t *env, const char *dir, int64_t offset, beck_error_t *e) {
  char text[32];
  snprintf(text, sizeof text, "%" PRId64 "\n", offset);
  return write_text(env, dir, BECK_START_FILE, text, e);
}

bool beck__clean_marker_exists(beck_env_t *env, const char *dir) {
  char path[4200];
  file_path(path, sizeof path, dir, BECK_CLEAN_FILE);
  int fd = env->open(env, path, O_RDONLY, 0);
  if (fd < 0)
    return false;
  env->close(env, fd);
  return true;
}

beck_err_t beck__clean_marker_write(beck_env_t *env, const char *dir, beck_error_t *e) {
  /* Empty, so there is nothing to write atomically: create it and make the
   * name durable (no temporary file and rename, which cost a new inode each). */
  char path[4200];
  file_path(path, sizeof path, dir, BECK_CLEAN_FILE);
  int fd = env->open(env, path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0)
    return beck_error_set(e, beck_err_from_errno(-fd), "creating %s failed: %s", path, strerror(-fd));
  env->close(env, fd);
  int rc = env->sync_dir(env, dir);
  if (rc < 0)
    return beck_error_set(e, beck_err_from_errno(-rc), "syncing directory %s failed: %s", dir, strerror(-rc));
  return BECK_ERR_OK;
}

beck_err_t beck__clean_marker_remove(beck_env_t *env, const char *dir, beck_error_t *e) {
  char path[4200];
  file_path(path, sizeof path, dir, BECK_CLEAN_FILE);
  int rc = env->unlink(env, path);
  if (rc < 0 && rc != -ENOENT)
    return beck_error_set(e, beck_err_from_errno(-rc), "removing %s failed: %s", path, strerror(-rc));
  rc = env->sync_dir(env, dir);
  if (rc < 0)
    return beck_error_set(e, beck_err_from_errno(-rc), "syncing directory %s failed: %s", dir, strerror(-rc));
  return BECK_ERR_OK;
}
