// An LD_PRELOAD shim for the fault tests: makes chosen system calls fail the way a hostile
// file system does, so a test can prove what aimrun does then.
//   AIM_SHIM_ENOSPC=<substring>  write()/pwrite()/fsync() on files whose path contains it
//                                fail with ENOSPC (a full disk for those files only)
//   AIM_SHIM_FLOCK=<errno name>  flock() fails with ENOLCK, EOPNOTSUPP or ENOSYS (a file
//                                system without flock: NFS without lockd, Lustre without -o flock)
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/types.h>
#include <unistd.h>

#define MAX_FD 4096
static char doomed[MAX_FD];

static void remember(int fd, const char* path) {
  const char* pat = getenv("AIM_SHIM_ENOSPC");
  if (fd >= 0 && fd < MAX_FD) doomed[fd] = pat && *pat && path && strstr(path, pat) ? 1 : 0;
}

static int is_doomed(int fd) { return fd >= 0 && fd < MAX_FD && doomed[fd]; }

int open(const char* path, int flags, ...) {
  static int (*real)(const char*, int, ...) = 0;
  if (!real) real = (int (*)(const char*, int, ...))dlsym(RTLD_NEXT, "open");
  mode_t mode = 0;
  if (flags & (O_CREAT | O_TMPFILE)) {
    va_list ap;
    va_start(ap, flags);
    mode = (mode_t)va_arg(ap, int);
    va_end(ap);
  }
  int fd = real(path, flags, mode);
  remember(fd, path);
  return fd;
}

int open64(const char* path, int flags, ...) {
  static int (*real)(const char*, int, ...) = 0;
  if (!real) real = (int (*)(const char*, int, ...))dlsym(RTLD_NEXT, "open64");
  mode_t mode = 0;
  if (flags & (O_CREAT | O_TMPFILE)) {
    va_list ap;
    va_start(ap, flags);
    mode = (mode_t)va_arg(ap, int);
    va_end(ap);
  }
  int fd = real(path, flags, mode);
  remember(fd, path);
  return fd;
}

int openat(int dir, const char* path, int flags, ...) {
  static int (*real)(int, const char*, int, ...) = 0;
  if (!real) real = (int (*)(int, const char*, int, ...))dlsym(RTLD_NEXT, "openat");
  mode_t mode = 0;
  if (flags & (O_CREAT | O_TMPFILE)) {
    va_list ap;
    va_start(ap, flags);
    mode = (mode_t)va_arg(ap, int);
    va_end(ap);
  }
  int fd = real(dir, path, flags, mode);
  remember(fd, path);
  return fd;
}

ssize_t write(int fd, const void* buf, size_t n) {
  static ssize_t (*real)(int, const void*, size_t) = 0;
  if (!real) real = (ssize_t(*)(int, const void*, size_t))dlsym(RTLD_NEXT, "write");
  if (is_doomed(fd)) {
    errno = ENOSPC;
    return -1;
  }
  return real(fd, buf, n);
}

ssize_t pwrite(int fd, const void* buf, size_t n, off_t off) {
  static ssize_t (*real)(int, const void*, size_t, off_t) = 0;
  if (!real) real = (ssize_t(*)(int, const void*, size_t, off_t))dlsym(RTLD_NEXT, "pwrite");
  if (is_doomed(fd)) {
    errno = ENOSPC;
    return -1;
  }
  return real(fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void* buf, size_t n, off_t off) {
  static ssize_t (*real)(int, const void*, size_t, off_t) = 0;
  if (!real) real = (ssize_t(*)(int, const void*, size_t, off_t))dlsym(RTLD_NEXT, "pwrite64");
  if (is_doomed(fd)) {
    errno = ENOSPC;
    return -1;
  }
  return real(fd, buf, n, off);
}

int fsync(int fd) {
  static int (*real)(int) = 0;
  if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
  if (is_doomed(fd)) {
    errno = ENOSPC;
    return -1;
  }
  return real(fd);
}

int flock(int fd, int op) {
  static int (*real)(int, int) = 0;
  if (!real) real = (int (*)(int, int))dlsym(RTLD_NEXT, "flock");
  const char* e = getenv("AIM_SHIM_FLOCK");
  if (e && *e) {
    errno = strcmp(e, "EOPNOTSUPP") == 0 ? EOPNOTSUPP : strcmp(e, "ENOSYS") == 0 ? ENOSYS : ENOLCK;
    return -1;
  }
  return real(fd, op);
}
