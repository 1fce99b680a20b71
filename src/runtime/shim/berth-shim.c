/*
 * berth-shim: the per-container monitor. One runs beside each container, detached from berthd
 * (its own session), so a container keeps running, keeps logging and gets its exit code
 * recorded while berthd is down or restarting. The role of containerd-shim / conmon, in one
 * small C file because Node can neither be a child subreaper nor reap processes it did not
 * spawn, and a Node monitor costs ~40 MB RSS per container.
 *
 *   berth-shim --runc PATH --runc-root DIR --bundle DIR --id ID --pid-file FILE
 *              --runc-log FILE --log FILE --exit-file FILE
 *
 * 1. becomes a child subreaper (PR_SET_CHILD_SUBREAPER), makes a pipe for the container's
 *    stdout and one for its stderr, and runs `runc --root DIR --log FILE --log-format json
 *    run -d --pid-file FILE -b BUNDLE ID` with those pipes as runc's fds 1 and 2 (a detached
 *    runc hands its own stdio to the container process, see runc's utils_linux.go setupIO);
 * 2. when runc exits, reports on its fd 1 (a pipe to berthd) either `ok <pid>\n` or
 *    `error <runc status>\n<what runc printed>`, then points fd 1 at /dev/null: from here on
 *    berthd may die without the shim noticing;
 * 3. the container process, orphaned when runc exits, is re-parented to the shim (the
 *    subreaper), which reaps it and so learns its wait status;
 * 4. copies both pipes into FILE in Docker's json-file format, one object per line,
 *    `{"log":"…\n","stream":"stdout","time":"RFC3339Nano"}`, byte-for-byte the escaping of
 *    moby's jsonlog (\u003c for '<', \ufffd for invalid UTF-8, lines split at 16 KiB);
 * 5. after the container exits and both pipes reach EOF, writes the exit status to
 *    `EXIT-FILE` atomically (tmp + rename) as `{"exitCode":N,"signal":S|null,"exitedAt":"…"}`
 *    and exits. If the process disappears without becoming our child (something else reaped
 *    it), the file says `"exitCode":255,…,"unknown":true` rather than the shim hanging.
 * Output that arrives before runc exits is held back: if runc fails, it is runc's own error
 * text and goes into the error report instead of the container's log.
 *
 * Diagnostics go to fd 2, which berthd opens on a file in the bundle directory.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES 16384           /* moby's logger.BufSize: longer lines are split */
#define PRE_MAX (1024 * 1024)          /* output held back while runc runs */
#define RAW_MAX (64 * 1024)            /* runc error text kept for the report */
#define DRAIN_MS 2000                  /* after the exit, wait this long for pipe EOF */
#define MAX_EARLY 64                   /* statuses reaped before the container pid is known */

struct opts {
  const char *runc, *runc_root, *bundle, *id, *pid_file, *runc_log, *log, *exit_file;
};

struct stream {
  const char *name;
  int fd;
  int eof;
  size_t len;
  char buf[LINE_MAX_BYTES];
};

struct growbuf {
  char *data;
  size_t len, cap;
};

static int log_fd = -1;
static int starting = 1;               /* runc has not exited yet */
static struct growbuf pre;             /* formatted log lines held back while starting */
static struct growbuf raw;             /* raw bytes seen while starting (runc's errors) */

static void diag(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "berth-shim[%d]: ", (int)getpid());
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

static int gb_append(struct growbuf *b, const char *p, size_t n, size_t limit) {
  if (b->len + n > limit) return -1;
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n) cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) return -1;
    b->data = d;
    b->cap = cap;
  }
  memcpy(b->data + b->len, p, n);
  b->len += n;
  return 0;
}

static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* RFC3339Nano in UTC with trailing zeros trimmed, as Go's time.Time.MarshalJSON writes it. */
static size_t format_time(char *out, size_t cap) {
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  size_t n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
  if (ts.tv_nsec != 0) {
    char frac[16];
    snprintf(frac, sizeof frac, ".%09ld", ts.tv_nsec);
    size_t fl = strlen(frac);
    while (fl > 1 && frac[fl - 1] == '0') fl--;
    memcpy(out + n, frac, fl);
    n += fl;
  }
  out[n++] = 'Z';
  out[n] = '\0';
  return n;
}

/* Length of the valid UTF-8 sequence at p, or 0 if the byte at p does not start one. */
static size_t utf8_seq(const unsigned char *p, size_t n) {
  unsigned char c = p[0];
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return (n >= 2 && (p[1] & 0xC0) == 0x80) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (n < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) return 0;
    if (c == 0xE0 && p[1] < 0xA0) return 0;  /* overlong */
    if (c == 0xED && p[1] >= 0xA0) return 0; /* surrogate */
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (n < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80) return 0;
    if (c == 0xF0 && p[1] < 0x90) return 0;  /* overlong */
    if (c == 0xF4 && p[1] >= 0x90) return 0; /* above U+10FFFF */
    return 4;
  }
  return 0;
}

/* JSON string body with moby jsonlog's escaping (ffjsonWriteJSONBytesAsString). */
static size_t json_escape(char *out, const unsigned char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  size_t o = 0;
  size_t i = 0;
  while (i < n) {
    unsigned char b = s[i];
    if (b < 0x80) {
      if (b >= 0x20 && b != '\\' && b != '"' && b != '<' && b != '>' && b != '&') {
        out[o++] = (char)b;
      } else if (b == '\\' || b == '"') {
        out[o++] = '\\';
        out[o++] = (char)b;
      } else if (b == '\n') {
        out[o++] = '\\';
        out[o++] = 'n';
      } else if (b == '\r') {
        out[o++] = '\\';
        out[o++] = 'r';
      } else {
        memcpy(out + o, "\\u00", 4);
        o += 4;
        out[o++] = hex[b >> 4];
        out[o++] = hex[b & 0xF];
      }
      i++;
      continue;
    }
    size_t k = utf8_seq(s + i, n - i);
    if (k == 0) {
      memcpy(out + o, "\\ufffd", 6);
      o += 6;
      i++;
      continue;
    }
    if (k == 3 && s[i] == 0xE2 && s[i + 1] == 0x80 && (s[i + 2] == 0xA8 || s[i + 2] == 0xA9)) {
      memcpy(out + o, s[i + 2] == 0xA8 ? "\\u2028" : "\\u2029", 6);
      o += 6;
    } else {
      memcpy(out + o, s + i, k);
      o += k;
    }
    i += k;
  }
  return o;
}

static void emit(struct stream *s) {
  static char line[LINE_MAX_BYTES * 6 + 128];
  if (s->len == 0) return;
  size_t o = 0;
  memcpy(line, "{\"log\":\"", 8);
  o = 8;
  o += json_escape(line + o, (const unsigned char *)s->buf, s->len);
  o += (size_t)sprintf(line + o, "\",\"stream\":\"%s\",\"time\":\"", s->name);
  o += format_time(line + o, 64);
  memcpy(line + o, "\"}\n", 3);
  o += 3;
  if (starting) gb_append(&raw, s->buf, s->len, RAW_MAX);
  s->len = 0;
  if (starting && gb_append(&pre, line, o, PRE_MAX) == 0) return;
  if (write_all(log_fd, line, o) < 0) diag("write log: %s", strerror(errno));
}

static void feed(struct stream *s, const char *p, size_t n) {
  while (n > 0) {
    size_t room = LINE_MAX_BYTES - s->len;
    size_t take = n < room ? n : room;
    const char *nl = memchr(p, '\n', take);
    if (nl) take = (size_t)(nl - p) + 1;
    memcpy(s->buf + s->len, p, take);
    s->len += take;
    p += take;
    n -= take;
    if (nl || s->len == LINE_MAX_BYTES) emit(s);
  }
}

static void drain(struct stream *s) {
  char tmp[65536];
  for (;;) {
    ssize_t r = read(s->fd, tmp, sizeof tmp);
    if (r > 0) {
      feed(s, tmp, (size_t)r);
      continue;
    }
    if (r == 0) {
      emit(s); /* an unterminated last line */
      s->eof = 1;
      close(s->fd);
      s->fd = -1;
      return;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN) {
      diag("read %s: %s", s->name, strerror(errno));
      s->eof = 1;
      close(s->fd);
      s->fd = -1;
    }
    return;
  }
}

static int write_exit_file(const char *path, int status, int unknown) {
  char tmp[4096], body[256], when[64];
  int code, sig = 0;
  if (WIFEXITED(status)) {
    code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    sig = WTERMSIG(status);
    code = 128 + sig;
  } else {
    code = 255;
  }
  format_time(when, sizeof when);
  char sigtext[16] = "null";
  if (sig) snprintf(sigtext, sizeof sigtext, "%d", sig);
  int n = snprintf(body, sizeof body, "{\"exitCode\":%d,\"signal\":%s,\"exitedAt\":\"%s\"%s}\n", code, sigtext, when,
                   unknown ? ",\"unknown\":true" : "");
  if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) return -1;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  if (write_all(fd, body, (size_t)n) < 0 || fsync(fd) < 0) {
    close(fd);
    return -1;
  }
  close(fd);
  return rename(tmp, path);
}

static int read_pid_file(const char *path) {
  char buf[32];
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t r = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (r <= 0) return -1;
  buf[r] = '\0';
  long v = strtol(buf, NULL, 10);
  return v > 0 ? (int)v : -1;
}

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/*
 * Closes every fd from 3 up. The shim outlives whoever started it, so a pipe it inherited by
 * accident (an fd without O_CLOEXEC in berthd or in berthd's parent, e.g. a CI runner's
 * output pipe) would otherwise stay open for the container's whole life.
 */
static void close_inherited_fds(void) {
#ifdef SYS_close_range
  if (syscall(SYS_close_range, 3U, ~0U, 0U) == 0) return;
#endif
  DIR *d = opendir("/proc/self/fd");
  if (!d) return;
  int self = dirfd(d);
  struct dirent *e;
  int fds[1024], n = 0;
  while ((e = readdir(d)) != NULL && n < 1024) {
    int fd = atoi(e->d_name);
    if (fd >= 3 && fd != self) fds[n++] = fd;
  }
  closedir(d);
  for (int i = 0; i < n; i++) close(fds[i]);
}

static int parse_args(int argc, char **argv, struct opts *o) {
  memset(o, 0, sizeof *o);
  for (int i = 1; i < argc; i += 2) {
    if (i + 1 >= argc) return -1;
    const char *k = argv[i], *v = argv[i + 1];
    if (!strcmp(k, "--runc")) o->runc = v;
    else if (!strcmp(k, "--runc-root")) o->runc_root = v;
    else if (!strcmp(k, "--bundle")) o->bundle = v;
    else if (!strcmp(k, "--id")) o->id = v;
    else if (!strcmp(k, "--pid-file")) o->pid_file = v;
    else if (!strcmp(k, "--runc-log")) o->runc_log = v;
    else if (!strcmp(k, "--log")) o->log = v;
    else if (!strcmp(k, "--exit-file")) o->exit_file = v;
    else return -1;
  }
  if (!o->runc || !o->runc_root || !o->bundle || !o->id || !o->pid_file || !o->runc_log || !o->log ||
      !o->exit_file)
    return -1;
  return 0;
}

int main(int argc, char **argv) {
  struct opts o;
  if (parse_args(argc, argv, &o) < 0) {
    fprintf(stderr,
            "usage: berth-shim --runc PATH --runc-root DIR --bundle DIR --id ID --pid-file FILE "
            "--runc-log FILE --log FILE --exit-file FILE\n");
    return 2;
  }
  close_inherited_fds();
  /* berthd going away must not take us along: no SIGPIPE from the report pipe, no SIGHUP. */
  signal(SIGPIPE, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  signal(SIGINT, SIG_IGN);
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
    diag("prctl(PR_SET_CHILD_SUBREAPER): %s", strerror(errno));
    return 3;
  }
  sigset_t chld, old;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, &old);
  int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) {
    diag("signalfd: %s", strerror(errno));
    return 3;
  }
  log_fd = open(o.log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (log_fd < 0) {
    diag("open %s: %s", o.log, strerror(errno));
    printf("error -1\nberth-shim: open log %s: %s\n", o.log, strerror(errno));
    return 3;
  }
  int outp[2], errp[2];
  if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
    diag("pipe2: %s", strerror(errno));
    return 3;
  }
  pid_t runc_pid = fork();
  if (runc_pid < 0) {
    diag("fork: %s", strerror(errno));
    return 3;
  }
  if (runc_pid == 0) {
    /* The container inherits these dispositions and mask through runc: restore defaults. */
    signal(SIGPIPE, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    sigprocmask(SIG_SETMASK, &old, NULL);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(outp[1], 1) < 0 || dup2(errp[1], 2) < 0) _exit(127);
    execl(o.runc, o.runc, "--root", o.runc_root, "--log", o.runc_log, "--log-format", "json", "run", "-d",
          "--pid-file", o.pid_file, "-b", o.bundle, o.id, (char *)NULL);
    dprintf(2, "berth-shim: exec %s: %s\n", o.runc, strerror(errno));
    _exit(127);
  }
  close(outp[1]);
  close(errp[1]);
  static struct stream out = {.name = "stdout"}, err = {.name = "stderr"};
  out.fd = outp[0];
  err.fd = errp[0];
  fcntl(out.fd, F_SETFL, O_NONBLOCK);
  fcntl(err.fd, F_SETFL, O_NONBLOCK);

  int runc_done = 0, runc_status = 0;
  pid_t container_pid = -1;
  int container_exited = 0, container_status = 0, unknown = 0;
  struct { pid_t pid; int status; } early[MAX_EARLY];
  int n_early = 0;
  long drain_deadline = -1;

  for (;;) {
    struct pollfd fds[3];
    struct stream *who[3];
    int n = 0;
    fds[n].fd = sfd;
    fds[n].events = POLLIN;
    who[n++] = NULL;
    if (!out.eof) { fds[n].fd = out.fd; fds[n].events = POLLIN; who[n++] = &out; }
    if (!err.eof) { fds[n].fd = err.fd; fds[n].events = POLLIN; who[n++] = &err; }
    /* While the container runs, wake up now and then to check it still exists (see below). */
    int timeout = (container_pid > 0 && !container_exited) ? 1000 : -1;
    if (drain_deadline >= 0) {
      long left = drain_deadline - now_ms();
      timeout = left > 0 ? (int)left : 0;
    }
    int pr = poll(fds, (nfds_t)n, timeout);
    if (pr < 0) {
      if (errno == EINTR) continue;
      diag("poll: %s", strerror(errno));
      return 4;
    }
    for (int i = 1; i < n; i++)
      if (pr > 0 && (fds[i].revents & (POLLIN | POLLHUP | POLLERR))) drain(who[i]);
    if (pr > 0 && (fds[0].revents & POLLIN)) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
      }
      for (;;) {
        int st;
        pid_t p = waitpid(-1, &st, WNOHANG);
        if (p <= 0) break;
        if (p == runc_pid) {
          runc_done = 1;
          runc_status = st;
        } else if (container_pid > 0 && p == container_pid) {
          container_exited = 1;
          container_status = st;
        } else if (container_pid < 0 && n_early < MAX_EARLY) {
          early[n_early].pid = p;
          early[n_early].status = st;
          n_early++;
        }
      }
    }
    if (starting && runc_done) {
      /* runc has exited, so everything it wrote is in the pipes: collect it first. */
      if (!out.eof) drain(&out);
      if (!err.eof) drain(&err);
      int ok = WIFEXITED(runc_status) && WEXITSTATUS(runc_status) == 0;
      if (ok) container_pid = read_pid_file(o.pid_file);
      if (!ok || container_pid <= 0) {
        int code = WIFEXITED(runc_status) ? WEXITSTATUS(runc_status) : 128 + WTERMSIG(runc_status);
        if (ok) code = -2; /* runc succeeded but left no pid file */
        if (out.len) gb_append(&raw, out.buf, out.len, RAW_MAX);
        if (err.len) gb_append(&raw, err.buf, err.len, RAW_MAX);
        dprintf(1, "error %d\n", code);
        if (raw.len) write_all(1, raw.data, raw.len);
        diag("runc run failed with status %d", code);
        return 1;
      }
      starting = 0;
      for (int i = 0; i < n_early; i++)
        if (early[i].pid == container_pid) {
          container_exited = 1;
          container_status = early[i].status;
        }
      if (pre.len && write_all(log_fd, pre.data, pre.len) < 0) diag("write log: %s", strerror(errno));
      free(pre.data);
      free(raw.data);
      pre = (struct growbuf){0};
      raw = (struct growbuf){0};
      dprintf(1, "ok %d\n", (int)container_pid);
      int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
      if (devnull >= 0) {
        dup2(devnull, 1);
        close(devnull);
      }
    }
    /* A zombie child of ours still answers kill(0). ESRCH means something else reaped the
       container process (it was never re-parented to us), so its status is lost: record an
       unknown exit instead of waiting forever. */
    if (container_pid > 0 && !container_exited && kill(container_pid, 0) < 0 && errno == ESRCH) {
      diag("container process %d vanished without being reaped by the shim", (int)container_pid);
      container_exited = 1;
      unknown = 1;
      container_status = 255 << 8;
    }
    if (container_exited) {
      if (out.eof && err.eof) break;
      /* The container's pid namespace dies with its init, so EOF follows at once; the deadline
         only guards against a writer that escaped it. */
      if (drain_deadline < 0) drain_deadline = now_ms() + DRAIN_MS;
      else if (now_ms() >= drain_deadline) {
        diag("pipes still open %d ms after the container exited; closing them", DRAIN_MS);
        break;
      }
    }
  }
  emit(&out);
  emit(&err);
  if (write_exit_file(o.exit_file, container_status, unknown) < 0) {
    diag("write %s: %s", o.exit_file, strerror(errno));
    return 4;
  }
  return 0;
}
