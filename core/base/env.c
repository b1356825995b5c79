/* env.c - the default POSIX beck_env_t and small helpers built on any env. */
#include "base/env.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"

static int64_t posix_now_ms(beck_env_t *env) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t posix_monotonic_ns(beck_env_t *env) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint64_t posix_random(beck_env_t *env) {
  uint64_t v = 0;
  if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v) {
    /* getrandom on a booted system does not fail for 8 bytes; fall back to time. */
    v = (uint64_t)posix_monotonic_ns(env) * 0x9E3779B97F4A7C15ull;
  }
  return v;
}

static int posix_open(beck_env_t *env, const char *path, int flags, int mode) {
  int fd;
  do
    fd = open(path, flags | O_CLOEXEC, mode);
  while (fd < 0 && errno == EINTR);
  return fd < 0 ? -errno : fd;
}

static ssize_t posix_pread(beck_env_t *env, int fd, void *buf, size_t n, int64_t off) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = pread(fd, (char *)buf + done, n - done, (off_t)(off + (int64_t)done));
    if (r < 0) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    if (r == 0)
      break;
    done += (size_t)r;
  }
  return (ssize_t)done;
}

static ssize_t posix_pwrite(beck_env_t *env, int fd, const void *buf, size_t n, int64_t off) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = pwrite(fd, (const char *)buf + done, n - done, (off_t)(off + (int64_t)done));
    if (r < 0) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    if (r == 0)
      return -EIO;
    done += (size_t)r;
  }
  return (ssize_t)done;
}

static int posix_fdatasync(beck_env_t *env, int fd) { return fdatasync(fd) < 0 ? -errno : 0; }

static int posix_ftruncate(beck_env_t *env, int fd, int64_t len) {
  return ftruncate(fd, (off_t)len) < 0 ? -errno : 0;
}

static int posix_file_size(beck_env_t *env, int fd, int64_t *size) {
  struct stat st;
  if (fstat(fd, &st) < 0)
    return -errno;
  *size = (int64_t)st.st_size;
  return 0;
}

static int posix_close(beck_env_t *env, int fd) { return close(fd) < 0 ? -errno : 0; }

static int posix_rename(beck_env_t *env, const char *from, const char *to) {
  return rename(from, to) < 0 ? -errno : 0;
}

static int posix_unlink(beck_env_t *env, const char *path) { return unlink(path) < 0 ? -errno : 0; }

static int posix_mkdir(beck_env_t *env, const char *path, int mode) {
  return mkdir(path, (mode_t)mode) < 0 ? -errno : 0;
}

static int posix_rmdir(beck_env_t *env, const char *path) { return rmdir(path) < 0 ? -errno : 0; }

static int posix_sync_dir(beck_env_t *env, const char *path) {
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  int rc = fsync(fd) < 0 ? -errno : 0;
  close(fd);
  return rc;
}

static int posix_list_dir(beck_env_t *env, const char *path, beck_env_dir_cb cb, void *arg) {
  DIR *d = opendir(path);
  if (d == NULL)
    return -errno;
  struct dirent *de;
  int rc = 0;
  while ((de = readdir(d)) != NULL) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
      continue;
    if (cb(arg, de->d_name) != 0)
      break;
  }
  closedir(d);
  return rc;
}

static beck_env_t posix_env = {
    .ctx = NULL,
    .now_ms = posix_now_ms,
    .monotonic_ns = posix_monotonic_ns,
    .random = posix_random,
    .open = posix_open,
    .pread = posix_pread,
    .pwrite = posix_pwrite,
    .fdatasync = posix_fdatasync,
    .ftruncate = posix_ftruncate,
    .file_size = posix_file_size,
    .close = posix_close,
    .rename = posix_rename,
    .unlink = posix_unlink,
    .mkdir = posix_mkdir,
    .rmdir = posix_rmdir,
    .sync_dir = posix_sync_dir,
    .list_dir = posix_list_dir,
};

beck_env_t *beck_env_default(void) { return &posix_env; }

int beck_env_mkdirs(beck_env_t *env, const char *path) {
  char tmp[4096];
  size_t n = strlen(path);
  if (n == 0 || n >= sizeof tmp)
    return -ENAMETOOLONG;
  memcpy(tmp, path, n + 1);
  int first = env->mkdir(env, path, 0755); /* usually the parent exists: one call */
  if (first == 0 || first == -EEXIST)
    return 0;
  if (first != -ENOENT)
    return first;
  for (size_t i = 1; i <= n; i++) {
    if (tmp[i] == '/' || tmp[i] == '\0') {
      char c = tmp[i];
      tmp[i] = '\0';
      int rc = env->mkdir(env, tmp, 0755);
      if (rc < 0 && rc != -EEXIST)
        return rc;
      tmp[i] = c;
    }
  }
  return 0;
}

int beck_env_read_file(beck_env_t *env, const char *path, size_t max_len, char **out, size_t *out_len) {
  int fd = env->open(env, path, O_RDONLY, 0);
  if (fd < 0)
    return fd;
  int64_t size;
  int rc = env->file_size(env, fd, &size);
  if (rc < 0)
    goto done;
  if ((uint64_t)size > max_len) {
    rc = -EFBIG;
    goto done;
  }
  char *data = beck_malloc((size_t)size + 1);
  if (data == NULL) {
    rc = -ENOMEM;
    goto done;
  }
  ssize_t r = env->pread(env, fd, data, (size_t)size, 0);
  if (r < 0) {
    beck_free(data);
    rc = (int)r;
    goto done;
  }
  data[r] = '\0';
  *out = data;
  if (out_len)
    *out_len = (size_t)r;
  rc = 0;
done:
  env->close(env, fd);
  return rc;
}

int beck_env_write_file_atomic(beck_env_t *env, const char *path, const void *data, size_t len) {
  char tmp[4096];
  if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
    return -ENAMETOOLONG;
  int fd = env->open(env, tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0)
    return fd;
  ssize_t w = env->pwrite(env, fd, data, len, 0);
  int rc = w < 0 ? (int)w : env->fdatasync(env, fd);
  int crc = env->close(env, fd);
  if (rc == 0)
    rc = crc;
  if (rc == 0)
    rc = env->rename(env, tmp, path);
  if (rc < 0) {
    env->unlink(env, tmp);
    return rc;
  }
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash == NULL)
    return env->sync_dir(env, ".");
  if (slash == dir)
    slash[1] = '\0';
  else
    *slash = '\0';
  return env->sync_dir(env, dir);
}
