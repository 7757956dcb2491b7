// LD_PRELOAD shim for the full-disk and lock-less file system tests: makes I/O on the files
// whose path contains $AIM_SHIM_PATTERN fail the way a full disk or NFS without lockd does.
//   AIM_SHIM_PATTERN  substring of the file's path (/proc/self/fd/N); nothing else is touched
//   AIM_SHIM_FAIL     comma list: write (write, pwrite, writev after the budget), fsync
//                     (fsync, fdatasync), close, flock (fails with ENOLCK, or with
//                     $AIM_SHIM_FLOCK_ERRNO: EOPNOTSUPP, ENOSYS)
//   AIM_SHIM_BUDGET   bytes that may be written to matching files before writes fail (0)
// Writes fail with ENOSPC, like a full disk; a failing close still closes the descriptor.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static long long written = 0;

static int fails(const char* op) {
  const char* list = getenv("AIM_SHIM_FAIL");
  if (!list) return 0;
  size_t n = strlen(op);
  for (const char* p = strstr(list, op); p; p = strstr(p + 1, op))
    if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == '\0')) return 1;
  return 0;
}

static int matches(int fd) {
  const char* pattern = getenv("AIM_SHIM_PATTERN");
  if (!pattern || !*pattern) return 0;
  char link[64], target[4096];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, target, sizeof target - 1);
  if (n <= 0) return 0;
  target[n] = '\0';
  return strstr(target, pattern) != NULL;
}

// 1 when this write of `count` bytes to `fd` must fail.
static int write_fails(int fd, size_t count) {
  if (!fails("write") || !matches(fd)) return 0;
  const char* b = getenv("AIM_SHIM_BUDGET");
  long long budget = b ? atoll(b) : 0;
  if (written + (long long)count > budget) return 1;
  written += (long long)count;
  return 0;
}

#define REAL(name, ret, ...)                                          \
  static ret (*real_##name)(__VA_ARGS__) = NULL;                     \
  if (!real_##name) real_##name = (ret(*)(__VA_ARGS__))dlsym(RTLD_NEXT, #name)

ssize_t write(int fd, const void* buf, size_t count) {
  REAL(write, ssize_t, int, const void*, size_t);
  if (write_fails(fd, count)) return errno = ENOSPC, -1;
  return real_write(fd, buf, count);
}

ssize_t pwrite(int fd, const void* buf, size_t count, off_t off) {
  REAL(pwrite, ssize_t, int, const void*, size_t, off_t);
  if (write_fails(fd, count)) return errno = ENOSPC, -1;
  return real_pwrite(fd, buf, count, off);
}

ssize_t pwrite64(int fd, const void* buf, size_t count, off_t off) {
  REAL(pwrite64, ssize_t, int, const void*, size_t, off_t);
  if (write_fails(fd, count)) return errno = ENOSPC, -1;
  return real_pwrite64(fd, buf, count, off);
}

ssize_t writev(int fd, const struct iovec* iov, int n) {
  REAL(writev, ssize_t, int, const struct iovec*, int);
  size_t count = 0;
  for (int i = 0; i < n; ++i) count += iov[i].iov_len;
  if (write_fails(fd, count)) return errno = ENOSPC, -1;
  return real_writev(fd, iov, n);
}

int fsync(int fd) {
  REAL(fsync, int, int);
  if (fails("fsync") && matches(fd)) return errno = ENOSPC, -1;
  return real_fsync(fd);
}

int fdatasync(int fd) {
  REAL(fdatasync, int, int);
  if (fails("fsync") && matches(fd)) return errno = ENOSPC, -1;
  return real_fdatasync(fd);
}

int close(int fd) {
  REAL(close, int, int);
  int fail = fails("close") && matches(fd);
  int r = real_close(fd);
  if (fail) return errno = ENOSPC, -1;
  return r;
}

int flock(int fd, int op) {
  REAL(flock, int, int, int);
  if (fails("flock") && matches(fd)) {
    const char* e = getenv("AIM_SHIM_FLOCK_ERRNO");  // ENOLCK (default), EOPNOTSUPP or ENOSYS
    return errno = e && !strcmp(e, "EOPNOTSUPP") ? EOPNOTSUPP : e && !strcmp(e, "ENOSYS") ? ENOSYS : ENOLCK, -1;
  }
  return real_flock(fd, op);
}
