/*
 * berth_native: the only code in berth that enters another network namespace.
 *
 * Contract (DESIGN.md, STYLE.md §3):
 *  - Every function is synchronous and runs on the calling (JS) thread.
 *  - A function that needs another netns switches into it, does its work (open a socket, read
 *    or write a /proc/sys file) and switches back before it returns. setns() is per thread, so
 *    nothing else in the process ever sees the switch. If switching back fails we abort(): a JS
 *    thread left in a foreign netns would silently create every later socket, thread and file
 *    there, which is worse than crashing.
 *  - Every fd is opened with O_CLOEXEC / SOCK_CLOEXEC and every temporary fd is closed on every
 *    path: a leaked netns fd keeps a namespace alive.
 *  - Errors are thrown as JS Errors with `.errno` (positive), `.code` ("EEXIST"), `.syscall`
 *    and `.path`.
 *
 * Exported functions (typed in src/kernel/native.ts):
 *   netnsCreate(path)                  create a netns, bind-mounted on `path` (file created here)
 *   netnsDelete(path) -> boolean       unmount (all stacked nsfs mounts) and unlink; false if absent
 *   netnsOpen(path) -> fd              O_RDONLY|O_CLOEXEC fd of a netns (for IFLA_NET_NS_FD)
 *   netnsDirSetup(dir) -> boolean      make `dir` a shared mount (true if it bind-mounted it)
 *   unmount(path) -> boolean           one umount2(MNT_DETACH); false if not a mount point
 *   netlinkOpen(path|null, protocol)   netlink socket created inside that netns (null = current)
 *   sysctlWrite(path|null, key, value) write /proc/sys/<key> as seen from that netns
 *   sysctlRead(path|null, key)         read /proc/sys/<key> as seen from that netns
 *   socketInNetns(path|null, type, address, port) -> fd
 *                                      UDP or listening TCP socket bound inside that netns
 */
#define _GNU_SOURCE
#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/netlink.h>
#include <linux/nsfs.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/time.h>
#include <unistd.h>

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif
#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif
#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif

/* Netlink socket buffers. Dumps are produced by the kernel one chunk (<= 32 KiB) per recvmsg,
 * so the receive buffer only needs room for a chunk plus the acks of a batch of requests;
 * 1 MiB leaves a wide margin. The send buffer bounds how many requests fit in one write. */
#define NETLINK_BUFFER_BYTES (1 << 20)
/* A blocking read on our netlink socket should never wait: rtnetlink queues its answer inside
 * sendmsg. The timeout turns a bug (reading when nothing was asked) into EAGAIN, not a hang. */
#define NETLINK_RECV_TIMEOUT_SEC 5
/* More stacked nsfs mounts than this on one path means something else keeps re-mounting it. */
#define MAX_STACKED_MOUNTS 64
#define SYSCTL_MAX_BYTES 65536
/* Backlog of the TCP listeners socketInNetns makes. Node calls listen() again with its own
 * backlog when it adopts the fd; this one only matters for connections that arrive between the
 * two calls. */
#define SOCKET_LISTEN_BACKLOG 128

/* ------------------------------------------------------------------------------------------ */
/* Errors                                                                                      */

/* Throws an Error with errno/code/syscall/path. Always returns NULL for `return throw_sys(...)`. */
static napi_value throw_sys(napi_env env, int err, const char *syscall, const char *path) {
  char message[PATH_MAX + 256];
  const char *name = strerrorname_np(err);
  const char *desc = strerrordesc_np(err);
  if (name == NULL) name = "EUNKNOWN";
  if (desc == NULL) desc = "Unknown error";
  if (path != NULL) {
    snprintf(message, sizeof message, "%s %s: %s (%s)", syscall, path, desc, name);
  } else {
    snprintf(message, sizeof message, "%s: %s (%s)", syscall, desc, name);
  }

  napi_value code, msg, error, value;
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, code, msg, &error);
  napi_create_int32(env, err, &value);
  napi_set_named_property(env, error, "errno", value);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &value);
  napi_set_named_property(env, error, "syscall", value);
  if (path != NULL) {
    napi_create_string_utf8(env, path, NAPI_AUTO_LENGTH, &value);
    napi_set_named_property(env, error, "path", value);
  }
  napi_throw(env, error);
  return NULL;
}

static napi_value throw_type(napi_env env, const char *message) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
  return NULL;
}

/* Closes an fd without clobbering the errno the caller is about to report. */
static void close_keep_errno(int fd) {
  int saved = errno;
  close(fd);
  errno = saved;
}

/* ------------------------------------------------------------------------------------------ */
/* Arguments                                                                                   */

/* Reads a string argument into buf. With allow_null, null/undefined yield *is_null = true.
 * Rejects strings that do not fit or that contain NUL (the kernel would see a shorter path). */
static bool get_string(napi_env env, napi_value value, char *buf, size_t size, bool allow_null,
                       bool *is_null, const char *what) {
  napi_valuetype type;
  if (is_null != NULL) *is_null = false;
  napi_typeof(env, value, &type);
  if (allow_null && (type == napi_null || type == napi_undefined)) {
    *is_null = true;
    buf[0] = '\0';
    return true;
  }
  if (type != napi_string) {
    char message[128];
    snprintf(message, sizeof message, "%s must be a string%s", what, allow_null ? " or null" : "");
    throw_type(env, message);
    return false;
  }
  size_t length = 0;
  napi_get_value_string_utf8(env, value, NULL, 0, &length);
  if (length == 0 || length >= size) {
    char message[128];
    snprintf(message, sizeof message, "%s must be a non-empty string shorter than %zu bytes", what, size);
    throw_type(env, message);
    return false;
  }
  napi_get_value_string_utf8(env, value, buf, size, &length);
  if (strlen(buf) != length) {
    char message[128];
    snprintf(message, sizeof message, "%s must not contain NUL", what);
    throw_type(env, message);
    return false;
  }
  return true;
}

/* Fetches exactly `count` arguments (missing ones read as undefined). */
static void get_args(napi_env env, napi_callback_info info, size_t count, napi_value *argv) {
  size_t argc = count;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  for (size_t i = argc; i < count; i++) napi_get_undefined(env, &argv[i]);
}

/* ------------------------------------------------------------------------------------------ */
/* Entering and leaving a netns on the calling thread                                          */

/* Switches the calling thread into the netns at `path`. On success *orig holds an fd of the
 * thread's original netns, to be passed to netns_leave. On failure nothing changed, errno is
 * set and *syscall names the failing call. */
static bool netns_enter(const char *path, int *orig, const char **syscall) {
  /* /proc/thread-self, not /proc/self: /proc/self/ns/net names the thread-group leader's netns,
   * which differs from ours when we are not the leader (found with a two-thread probe: after
   * unshare(CLONE_NEWNET) in a thread, /proc/self/ns/net still showed the old inode). */
  int original = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (original < 0) {
    *syscall = "open";
    return false;
  }
  int target = open(path, O_RDONLY | O_CLOEXEC);
  if (target < 0) {
    *syscall = "open";
    close_keep_errno(original);
    return false;
  }
  if (setns(target, CLONE_NEWNET) != 0) {
    *syscall = "setns";
    close_keep_errno(target);
    close_keep_errno(original);
    return false;
  }
  close(target);
  *orig = original;
  return true;
}

/* Switches back to the netns saved by netns_enter and closes it. Aborts if that fails. */
static void netns_leave(int orig) {
  int saved = errno;
  if (setns(orig, CLONE_NEWNET) != 0) {
    fprintf(stderr, "berth_native: FATAL: cannot return to the original netns: %s\n", strerror(errno));
    abort();
  }
  close(orig);
  errno = saved;
}

/* ------------------------------------------------------------------------------------------ */
/* netnsCreate                                                                                 */

struct create_job {
  const char *path;
  int err;
  const char *syscall;
};

/* Runs on a short-lived helper thread: the new netns is created by that thread's unshare and
 * pinned by the bind mount, so the JS thread never leaves its own netns and there is nothing
 * to switch back from. unshare(CLONE_NEWNET) is allowed in a multi-threaded process
 * (KERNEL-NOTES), unlike CLONE_NEWNS/CLONE_NEWUSER. */
static void *create_thread_main(void *arg) {
  struct create_job *job = arg;
  if (unshare(CLONE_NEWNET) != 0) {
    job->err = errno;
    job->syscall = "unshare";
    return NULL;
  }
  /* /proc/thread-self: see netns_enter. /proc/self/ns/net here would bind the daemon's own
   * netns, silently. */
  if (mount("/proc/thread-self/ns/net", job->path, "none", MS_BIND, NULL) != 0) {
    job->err = errno;
    job->syscall = "mount";
  }
  return NULL;
}

/* Why the parent directory's propagation is not touched here: netnsCreate runs once per
 * container and must stay cheap, and the directory belongs to the caller. iproute2 makes
 * /run/netns a shared mount so that mount namespaces created later (runc, `ip netns exec`)
 * receive our unmounts and do not pin deleted namespaces; berth does the same once, at daemon
 * start, with netnsDirSetup. */
static napi_value NetnsCreate(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  char path[PATH_MAX];
  get_args(env, info, 1, argv);
  if (!get_string(env, argv[0], path, sizeof path, false, NULL, "path")) return NULL;

  /* O_EXCL: an existing file means the name is taken (iproute2 does the same). */
  int fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
  if (fd < 0) return throw_sys(env, errno, "open", path);
  close(fd);

  struct create_job job = {.path = path, .err = 0, .syscall = NULL};
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  /* The helper starts with every signal blocked so no process signal is delivered to it. */
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  pthread_t thread;
  int rc = pthread_create(&thread, &attr, create_thread_main, &job);
  pthread_sigmask(SIG_SETMASK, &previous, NULL);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    unlink(path);
    return throw_sys(env, rc, "pthread_create", path);
  }
  pthread_join(thread, NULL);
  if (job.err != 0) {
    unlink(path);
    return throw_sys(env, job.err, job.syscall, path);
  }
  return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* netnsDelete / unmount                                                                       */

static bool is_nsfs(const char *path) {
  struct statfs st;
  return statfs(path, &st) == 0 && st.f_type == NSFS_MAGIC;
}

static napi_value NetnsDelete(napi_env env, napi_callback_info info) {
  napi_value argv[1], result;
  char path[PATH_MAX];
  get_args(env, info, 1, argv);
  if (!get_string(env, argv[0], path, sizeof path, false, NULL, "path")) return NULL;

  /* Unmount while the path still shows an nsfs mount: the same path can carry several stacked
   * bind mounts, and unlink fails with EBUSY while any is left (KERNEL-NOTES). Checking nsfs
   * first means a wrong path never unmounts somebody else's filesystem. */
  int unmounted = 0;
  while (is_nsfs(path)) {
    if (unmounted++ >= MAX_STACKED_MOUNTS) return throw_sys(env, EBUSY, "umount2", path);
    if (umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) != 0) {
      if (errno == EINVAL) break; /* not a mount point after all */
      if (errno == ENOENT) break;
      return throw_sys(env, errno, "umount2", path);
    }
  }
  bool existed = true;
  if (unlink(path) != 0) {
    if (errno != ENOENT) return throw_sys(env, errno, "unlink", path);
    existed = unmounted > 0;
  }
  napi_get_boolean(env, existed, &result);
  return result;
}

static napi_value Unmount(napi_env env, napi_callback_info info) {
  napi_value argv[1], result;
  char path[PATH_MAX];
  get_args(env, info, 1, argv);
  if (!get_string(env, argv[0], path, sizeof path, false, NULL, "path")) return NULL;
  bool done = true;
  if (umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) != 0) {
    if (errno != EINVAL && errno != ENOENT) return throw_sys(env, errno, "umount2", path);
    done = false;
  }
  napi_get_boolean(env, done, &result);
  return result;
}

/* ------------------------------------------------------------------------------------------ */
/* netnsDirSetup                                                                               */

/* Makes `dir` a shared mount the way iproute2 prepares /run/netns: try to mark it shared; if
 * it is not a mount point (EINVAL), bind it onto itself and try again. Idempotent: a second
 * call finds the mount point and only re-marks it. Returns true when it created the bind
 * mount (the caller may undo it with unmount). */
static napi_value NetnsDirSetup(napi_env env, napi_callback_info info) {
  napi_value argv[1], result;
  char dir[PATH_MAX];
  get_args(env, info, 1, argv);
  if (!get_string(env, argv[0], dir, sizeof dir, false, NULL, "dir")) return NULL;

  bool bound = false;
  if (mount("", dir, "none", MS_SHARED | MS_REC, NULL) != 0) {
    if (errno != EINVAL) return throw_sys(env, errno, "mount", dir);
    if (mount(dir, dir, "none", MS_BIND | MS_REC, NULL) != 0) return throw_sys(env, errno, "mount", dir);
    bound = true;
    if (mount("", dir, "none", MS_SHARED | MS_REC, NULL) != 0) {
      int err = errno;
      umount2(dir, MNT_DETACH);
      return throw_sys(env, err, "mount", dir);
    }
  }
  napi_get_boolean(env, bound, &result);
  return result;
}

/* ------------------------------------------------------------------------------------------ */
/* netnsOpen                                                                                   */

static napi_value NetnsOpen(napi_env env, napi_callback_info info) {
  napi_value argv[1], result;
  char path[PATH_MAX];
  get_args(env, info, 1, argv);
  if (!get_string(env, argv[0], path, sizeof path, false, NULL, "path")) return NULL;

  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return throw_sys(env, errno, "open", path);
  /* A plain file (e.g. a netns path whose mount is gone) would otherwise surface later as a
   * puzzling EINVAL from the kernel on IFLA_NET_NS_FD. */
  int type = ioctl(fd, NS_GET_NSTYPE);
  if (type != CLONE_NEWNET) {
    int err = type < 0 && errno != ENOTTY ? errno : EINVAL;
    close(fd);
    return throw_sys(env, err, "ioctl(NS_GET_NSTYPE)", path);
  }
  napi_create_int32(env, fd, &result);
  return result;
}

/* ------------------------------------------------------------------------------------------ */
/* netlinkOpen                                                                                 */

static int set_int_opt(int fd, int level, int name, int value) {
  return setsockopt(fd, level, name, &value, sizeof value);
}

static napi_value NetlinkOpen(napi_env env, napi_callback_info info) {
  napi_value argv[2], result;
  char path[PATH_MAX];
  bool current = false;
  int32_t protocol = 0;
  get_args(env, info, 2, argv);
  if (!get_string(env, argv[0], path, sizeof path, true, &current, "path")) return NULL;
  if (napi_get_value_int32(env, argv[1], &protocol) != napi_ok) return throw_type(env, "protocol must be a number");

  int orig = -1;
  const char *syscall = NULL;
  if (!current && !netns_enter(path, &orig, &syscall)) return throw_sys(env, errno, syscall, path);
  /* A socket belongs to the netns its creator was in at socket() time, for its whole life. */
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
  int err = errno;
  if (!current) netns_leave(orig);
  if (fd < 0) return throw_sys(env, err, "socket", current ? NULL : path);

  /* FORCE variants lift the rmem_max/wmem_max caps (we are root); fall back if not allowed. */
  if (set_int_opt(fd, SOL_SOCKET, SO_RCVBUFFORCE, NETLINK_BUFFER_BYTES) != 0) {
    set_int_opt(fd, SOL_SOCKET, SO_RCVBUF, NETLINK_BUFFER_BYTES);
  }
  if (set_int_opt(fd, SOL_SOCKET, SO_SNDBUFFORCE, NETLINK_BUFFER_BYTES) != 0) {
    set_int_opt(fd, SOL_SOCKET, SO_SNDBUF, NETLINK_BUFFER_BYTES);
  }
  struct timeval timeout = {.tv_sec = NETLINK_RECV_TIMEOUT_SEC, .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  /* Extended acks carry the kernel's own explanation ("Unknown device type"); capped acks do
   * not echo our whole request back in every error. Both are optional: ignore failures. */
  set_int_opt(fd, SOL_NETLINK, NETLINK_EXT_ACK, 1);
  set_int_opt(fd, SOL_NETLINK, NETLINK_CAP_ACK, 1);

  struct sockaddr_nl local = {.nl_family = AF_NETLINK, .nl_pid = 0, .nl_groups = 0};
  if (bind(fd, (struct sockaddr *)&local, sizeof local) != 0) {
    err = errno;
    close(fd);
    return throw_sys(env, err, "bind", current ? NULL : path);
  }
  napi_create_int32(env, fd, &result);
  return result;
}

/* ------------------------------------------------------------------------------------------ */
/* sysctl                                                                                      */

/* `key` is a path below /proc/sys such as net/ipv4/ip_forward; no absolute paths, no "..". */
static bool sysctl_path(napi_env env, napi_value value, char *out, size_t size) {
  char key[PATH_MAX - 16];
  if (!get_string(env, value, key, sizeof key, false, NULL, "key")) return false;
  bool bad = key[0] == '/';
  for (const char *p = key; *p != '\0' && !bad; p++) {
    if (p[0] == '.' && p[1] == '.' && (p == key || p[-1] == '/') && (p[2] == '/' || p[2] == '\0')) bad = true;
  }
  if (bad) {
    throw_type(env, "key must be a relative path below /proc/sys without '..'");
    return false;
  }
  snprintf(out, size, "/proc/sys/%s", key);
  return true;
}

/* Why the open, the write and the close all happen inside the netns: /proc/sys/net resolves
 * to the tables of the opener's netns (the integration test reads ip_forward = 1 inside and 0
 * outside), and keeping the write inside too means no handler that consults the current
 * task's netns can ever see the daemon's. It costs nothing: it is the same native call. */
static napi_value SysctlWrite(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  char path[PATH_MAX], file[PATH_MAX];
  char value[4096];
  bool current = false;
  get_args(env, info, 3, argv);
  if (!get_string(env, argv[0], path, sizeof path, true, &current, "path")) return NULL;
  if (!sysctl_path(env, argv[1], file, sizeof file)) return NULL;
  if (!get_string(env, argv[2], value, sizeof value, false, NULL, "value")) return NULL;

  int orig = -1;
  const char *syscall = NULL;
  if (!current && !netns_enter(path, &orig, &syscall)) return throw_sys(env, errno, syscall, path);
  int err = 0;
  syscall = NULL;
  int fd = open(file, O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    err = errno;
    syscall = "open";
  } else {
    size_t length = strlen(value);
    ssize_t n = write(fd, value, length);
    if (n < 0 || (size_t)n != length) {
      err = n < 0 ? errno : EIO;
      syscall = "write";
    }
    if (close(fd) != 0 && err == 0) {
      err = errno;
      syscall = "close";
    }
  }
  if (!current) netns_leave(orig);
  if (err != 0) return throw_sys(env, err, syscall, file);
  return NULL;
}

static napi_value SysctlRead(napi_env env, napi_callback_info info) {
  napi_value argv[2], result;
  char path[PATH_MAX], file[PATH_MAX];
  bool current = false;
  get_args(env, info, 2, argv);
  if (!get_string(env, argv[0], path, sizeof path, true, &current, "path")) return NULL;
  if (!sysctl_path(env, argv[1], file, sizeof file)) return NULL;

  char *buffer = malloc(SYSCTL_MAX_BYTES);
  if (buffer == NULL) return throw_sys(env, ENOMEM, "malloc", NULL);
  int orig = -1;
  const char *syscall = NULL;
  if (!current && !netns_enter(path, &orig, &syscall)) {
    int err = errno;
    free(buffer);
    return throw_sys(env, err, syscall, path);
  }
  int err = 0;
  size_t total = 0;
  int fd = open(file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    err = errno;
    syscall = "open";
  } else {
    for (;;) {
      ssize_t n = read(fd, buffer + total, SYSCTL_MAX_BYTES - total);
      if (n < 0) {
        if (errno == EINTR) continue;
        err = errno;
        syscall = "read";
        break;
      }
      if (n == 0) break;
      total += (size_t)n;
      if (total == SYSCTL_MAX_BYTES) {
        err = EFBIG;
        syscall = "read";
        break;
      }
    }
    close(fd);
  }
  if (!current) netns_leave(orig);
  if (err != 0) {
    free(buffer);
    return throw_sys(env, err, syscall, file);
  }
  napi_create_string_utf8(env, buffer, total, &result);
  free(buffer);
  return result;
}

/* ------------------------------------------------------------------------------------------ */
/* socketInNetns                                                                               */

/* socketInNetns(path|null, "udp"|"tcp", address, port) -> fd
 *
 * A UDP socket, or a listening TCP socket, bound to address:port inside the netns at `path`
 * (null = the calling thread's own netns). Node adopts the fd (dgram `bind({fd})`,
 * net `listen({fd})`) and then owns it: closing the Node handle closes the fd.
 *
 * Why in the netns: the embedded DNS answers on 127.0.0.11:53 inside every container, and a
 * socket belongs for its whole life to the netns its creator was in at socket() time — so one
 * native call switches in, creates and binds, and switches back, and the daemon then serves
 * each container from its own event loop without any NAT rule. Such a socket keeps its netns
 * alive while it is open: close it when the sandbox goes.
 *
 * Why SO_REUSEADDR on TCP: a restarted daemon must bind 127.0.0.11:53 again while connections
 * of the previous one may still sit in TIME_WAIT in the container's netns (EADDRINUSE
 * otherwise). It does not let two listeners share the port. (Not set here on UDP; Node's libuv
 * sets it on UDP sockets it adopts, which nothing here depends on.) */
static napi_value SocketInNetns(napi_env env, napi_callback_info info) {
  napi_value argv[4], result;
  char path[PATH_MAX];
  char type[8];
  char address[INET6_ADDRSTRLEN];
  bool current = false;
  int32_t port = -1;
  get_args(env, info, 4, argv);
  if (!get_string(env, argv[0], path, sizeof path, true, &current, "path")) return NULL;
  if (!get_string(env, argv[1], type, sizeof type, false, NULL, "type")) return NULL;
  if (!get_string(env, argv[2], address, sizeof address, false, NULL, "address")) return NULL;
  if (napi_get_value_int32(env, argv[3], &port) != napi_ok || port < 0 || port > 65535) {
    return throw_type(env, "port must be an integer from 0 to 65535");
  }
  int socktype;
  if (strcmp(type, "udp") == 0) {
    socktype = SOCK_DGRAM;
  } else if (strcmp(type, "tcp") == 0) {
    socktype = SOCK_STREAM;
  } else {
    return throw_type(env, "type must be \"udp\" or \"tcp\"");
  }

  /* Parse the address before switching: nothing that can fail for a bad argument runs inside. */
  struct sockaddr_storage sa;
  socklen_t salen;
  memset(&sa, 0, sizeof sa);
  struct sockaddr_in *sin = (struct sockaddr_in *)&sa;
  struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&sa;
  if (inet_pton(AF_INET, address, &sin->sin_addr) == 1) {
    sin->sin_family = AF_INET;
    sin->sin_port = htons((uint16_t)port);
    salen = sizeof *sin;
  } else if (inet_pton(AF_INET6, address, &sin6->sin6_addr) == 1) {
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons((uint16_t)port);
    salen = sizeof *sin6;
  } else {
    return throw_type(env, "address must be an IPv4 or IPv6 address");
  }

  int orig = -1;
  const char *syscall = NULL;
  if (!current && !netns_enter(path, &orig, &syscall)) return throw_sys(env, errno, syscall, path);
  int err = 0;
  int fd = socket(sa.ss_family, socktype | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    err = errno;
    syscall = "socket";
  } else {
    if (socktype == SOCK_STREAM) set_int_opt(fd, SOL_SOCKET, SO_REUSEADDR, 1);
    /* A v6 socket must not also take the v4 port (the v4 resolver binds it separately). */
    if (sa.ss_family == AF_INET6) set_int_opt(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1);
    if (bind(fd, (struct sockaddr *)&sa, salen) != 0) {
      err = errno;
      syscall = "bind";
    } else if (socktype == SOCK_STREAM && listen(fd, SOCKET_LISTEN_BACKLOG) != 0) {
      err = errno;
      syscall = "listen";
    }
    if (err != 0) close(fd);
  }
  if (!current) netns_leave(orig);
  if (err != 0) return throw_sys(env, err, syscall, current ? address : path);
  napi_create_int32(env, fd, &result);
  return result;
}

/* ------------------------------------------------------------------------------------------ */

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"netnsCreate", NULL, NetnsCreate, NULL, NULL, NULL, napi_enumerable, NULL},
      {"netnsDelete", NULL, NetnsDelete, NULL, NULL, NULL, napi_enumerable, NULL},
      {"netnsOpen", NULL, NetnsOpen, NULL, NULL, NULL, napi_enumerable, NULL},
      {"netnsDirSetup", NULL, NetnsDirSetup, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unmount", NULL, Unmount, NULL, NULL, NULL, napi_enumerable, NULL},
      {"netlinkOpen", NULL, NetlinkOpen, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sysctlWrite", NULL, SysctlWrite, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sysctlRead", NULL, SysctlRead, NULL, NULL, NULL, napi_enumerable, NULL},
      {"socketInNetns", NULL, SocketInNetns, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
