/*
 * berth-shim: the per-container monitor. One runs beside each container, detached from berthd
 * (its own session), so a container keeps running, keeps logging, keeps its terminal and stdin,
 * and gets its exit code recorded while berthd is down or restarting. The role of
 * containerd-shim / conmon, in one small C file because Node can neither be a child subreaper,
 * nor reap processes it did not spawn, nor receive a file descriptor (SCM_RIGHTS), and a Node
 * monitor costs ~40 MB RSS per container.
 *
 *   berth-shim --runc PATH --runc-root DIR --bundle DIR --id ID --pid-file FILE
 *              --runc-log FILE --exit-file FILE [--log FILE] [--attach-socket PATH]
 *              [--stdin] [--tty --console-socket PATH] [--hold] [--exec-process FILE]
 *
 * Relative paths are relative to the bundle: the shim runs there (and so does runc), which
 * keeps socket paths short (sun_path holds 107 bytes; an exec-root plus a 64-hex id does not fit).
 *
 * 1. becomes a child subreaper (PR_SET_CHILD_SUBREAPER), makes a pipe for the container's
 *    stdout and one for its stderr (and, with --stdin and no tty, one for its stdin), listens
 *    on the attach socket and, with --tty, on the console socket; then runs
 *    `runc --root DIR --log FILE --log-format json run -d --pid-file FILE [--console-socket S]
 *    -b BUNDLE ID` with those pipes as runc's fds 0, 1 and 2 (a detached runc hands its own
 *    stdio to the container process, see runc's utils_linux.go setupIO). With --exec-process
 *    it runs `runc … exec -d --pid-file FILE --process FILE [--console-socket S] ID` instead:
 *    one process in a running container, with the same I/O handling and no log;
 * 2. with --tty, runc connects to the console socket and sends the pty master (SCM_RIGHTS);
 *    the shim keeps the master for the container's life: its output is the container's stdout,
 *    attach-socket input is written into it, resize requests become TIOCSWINSZ;
 * 3. when runc exits, reports on its fd 1 (a pipe to berthd) either `ok <pid>\n` or
 *    `error <runc status>\n<what runc printed>`, then points fd 1 at /dev/null: from here on
 *    berthd may die without the shim noticing;
 * 4. the container process, orphaned when runc exits, is re-parented to the shim (the
 *    subreaper), which reaps it and so learns its wait status;
 * 5. copies the output into FILE in Docker's json-file format, one object per line,
 *    `{"log":"…\n","stream":"stdout","time":"RFC3339Nano"}`, byte-for-byte the escaping of
 *    moby's jsonlog (\u003c for '<', \ufffd for invalid UTF-8, lines split at 16 KiB), and to
 *    every attached client (below);
 * 6. after the container exits and its output reaches EOF, writes the exit status to
 *    `EXIT-FILE` atomically (tmp + rename) as `{"exitCode":N,"signal":S|null,"exitedAt":"…"}`,
 *    sends it to attached clients, flushes them, removes the attach socket and exits. If the
 *    process disappears without becoming our child (something else reaped it), the file says
 *    `"exitCode":255,…,"unknown":true` rather than the shim hanging.
 * Output that arrives before runc exits is held back from the log: if runc fails, it is runc's
 * own error text and goes into the error report instead.
 *
 * The attach socket (mode 0600, SOCK_STREAM) speaks Docker's stream framing both ways: an
 * 8-byte header [kind, 0, 0, 0, length u32 BE] and `length` (≤ 64 KiB) bytes.
 *   client → shim: 0 STDIN bytes for the container's stdin (dropped without --stdin);
 *                  1 CLOSE_STDIN: close the container's stdin once what was sent is written
 *                    (Docker's StdinOnce; ignored with a tty, whose stdin is the terminal);
 *                  2 RESIZE: rows u16 BE, cols u16 BE (TIOCSWINSZ on the pty; kept until the
 *                    pty exists; ignored without one);
 *                  3 ATTACH: send me the output from now on.
 *   shim → client (after ATTACH only): 1 stdout bytes (everything, with a tty), 2 stderr
 *                  bytes, 3 EXIT: the exit file's JSON; then the shim closes the connection.
 * With --hold, output is also kept (up to 1 MiB, then the container is made to wait) until
 * the first ATTACH, which gets all of it first, or for 10 s: berthd attaches right after the
 * start it was waiting for (`docker run` attaches before it starts), and must not miss the
 * first bytes of a fast container. A client that is slow to read holds back the container's
 * output (the container blocks on write) rather than the shim's memory growing, as in Docker.
 *
 * Diagnostics go to fd 2, which berthd opens on a file in the bundle directory.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES 16384           /* moby's logger.BufSize: longer lines are split */
#define PRE_MAX (1024 * 1024)          /* output held back while runc runs */
#define RAW_MAX (64 * 1024)            /* runc error text kept for the report */
#define DRAIN_MS 2000                  /* after the exit, wait this long for output EOF */
#define MAX_EARLY 64                   /* statuses reaped before the container pid is known */
#define MAX_CLIENTS 32                 /* attach-socket connections at once */
#define FRAME_MAX 65536                /* largest frame payload a client may send */
#define CLIENT_HIGH (1024 * 1024)      /* unsent bytes to a client that pause the container's output */
#define REPLAY_MAX (1024 * 1024)       /* output held for the first client (--hold) */
#define STDIN_HIGH (1024 * 1024)       /* unwritten stdin that pauses reading from clients */
#define HOLD_MS 10000                  /* --hold: how long to wait for the first client */
#define FLUSH_MS 5000                  /* at exit: give up on a client that reads nothing for this long */

/* Attach-socket frame kinds (see the header comment). */
#define IN_STDIN 0
#define IN_CLOSE_STDIN 1
#define IN_RESIZE 2
#define IN_ATTACH 3
#define OUT_STDOUT 1
#define OUT_STDERR 2
#define OUT_EXIT 3

struct opts {
  const char *runc, *runc_root, *bundle, *id, *pid_file, *runc_log, *log, *exit_file;
  const char *attach_socket, *console_socket, *exec_process;
  int stdin_open, tty, hold;
};

struct stream {
  const char *name;
  int fd;
  int eof;
  int frame;      /* attach-socket stream of its bytes; 0: runc's own output, not the container's */
  int keep_open;  /* the pty master: EOF does not close it (it is also the container's stdin) */
  size_t len;
  char buf[LINE_MAX_BYTES];
};

/* Bytes in [off, len) are pending; [0, off) were consumed. */
struct growbuf {
  char *data;
  size_t len, cap, off;
};

struct client {
  int fd;                              /* -1: a free slot */
  int attached;                        /* sent ATTACH: gets the output */
  struct growbuf out;                  /* framed output not yet written to it */
  size_t in_len;
  unsigned char in[8 + FRAME_MAX];     /* a partly received frame */
};

static int log_fd = -1;
static int starting = 1;               /* runc has not exited yet */
static struct growbuf pre;             /* formatted log lines held back while starting */
static struct growbuf raw;             /* raw bytes seen while starting (runc's errors) */
static struct growbuf replay;          /* --hold: framed output kept for the first client */
static int hold_active;
static struct client clients[MAX_CLIENTS];
static int is_tty;
static int stdin_open;                 /* --stdin */
static int master = -1;                /* the pty master (--tty) */
static int stdin_fd = -1;              /* where STDIN frames go: the stdin pipe or the master */
static struct growbuf stdin_buf;       /* stdin not yet written */
static int stdin_close_pending;
static int have_ws;                    /* a RESIZE that came before the pty */
static struct winsize pending_ws;
static char exit_body[256];            /* the exit file's JSON, once written */
static size_t exit_len;
static long last_progress;             /* when a client last took some output */
static long now_ms(void);

static void diag(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "berth-shim[%d]: ", (int)getpid());
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

static size_t gb_pending(const struct growbuf *b) { return b->len - b->off; }

static int gb_append(struct growbuf *b, const void *p, size_t n, size_t limit) {
  if (gb_pending(b) + n > limit) return -1;
  if (b->off > 0 && b->len + n > b->cap) {
    memmove(b->data, b->data + b->off, b->len - b->off);
    b->len -= b->off;
    b->off = 0;
  }
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

static void gb_consume(struct growbuf *b, size_t n) {
  b->off += n;
  if (b->off >= b->len) b->off = b->len = 0;
}

static void gb_free(struct growbuf *b) {
  free(b->data);
  *b = (struct growbuf){0};
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
  if (starting) gb_append(&raw, s->buf, s->len, RAW_MAX);
  /* With a tty the pipes carry only runc's own output: it is not the container's log. */
  if (log_fd < 0 || (is_tty && s->frame == 0)) {
    s->len = 0;
    return;
  }
  size_t o = 0;
  memcpy(line, "{\"log\":\"", 8);
  o = 8;
  o += json_escape(line + o, (const unsigned char *)s->buf, s->len);
  o += (size_t)sprintf(line + o, "\",\"stream\":\"%s\",\"time\":\"", s->name);
  o += format_time(line + o, 64);
  memcpy(line + o, "\"}\n", 3);
  o += 3;
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

/* --- attach clients ------------------------------------------------------------------------ */

static void frame_header(unsigned char h[8], int kind, size_t n) {
  h[0] = (unsigned char)kind;
  h[1] = h[2] = h[3] = 0;
  h[4] = (unsigned char)(n >> 24);
  h[5] = (unsigned char)(n >> 16);
  h[6] = (unsigned char)(n >> 8);
  h[7] = (unsigned char)n;
}

static void client_close(struct client *c) {
  if (c->fd < 0) return;
  close(c->fd);
  c->fd = -1;
  c->attached = 0;
  c->in_len = 0;
  gb_free(&c->out);
}

static void client_flush(struct client *c) {
  while (c->fd >= 0 && gb_pending(&c->out) > 0) {
    ssize_t w = send(c->fd, c->out.data + c->out.off, gb_pending(&c->out), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) client_close(c); /* the peer went away */
      return;
    }
    gb_consume(&c->out, (size_t)w);
    last_progress = now_ms();
  }
}

static void client_send(struct client *c, int kind, const void *p, size_t n) {
  unsigned char h[8];
  frame_header(h, kind, n);
  if (gb_append(&c->out, h, 8, SIZE_MAX) < 0 || gb_append(&c->out, p, n, SIZE_MAX) < 0) {
    diag("out of memory for an attach client; closing it");
    client_close(c);
    return;
  }
  client_flush(c);
}

/* Container output (or the exit record) to every attached client, and to the replay. */
static void publish(int kind, const void *p, size_t n) {
  if (hold_active) {
    unsigned char h[8];
    frame_header(h, kind, n);
    if (gb_append(&replay, h, 8, SIZE_MAX) < 0 || gb_append(&replay, p, n, SIZE_MAX) < 0) {
      diag("out of memory for held output; dropping it");
      gb_free(&replay);
      hold_active = 0;
    }
  }
  for (int i = 0; i < MAX_CLIENTS; i++)
    if (clients[i].fd >= 0 && clients[i].attached) client_send(&clients[i], kind, p, n);
}

/* True while the container's output must wait: a client (or the replay) has enough unsent. */
static int output_blocked(void) {
  if (hold_active && gb_pending(&replay) >= REPLAY_MAX) return 1;
  for (int i = 0; i < MAX_CLIENTS; i++)
    if (clients[i].fd >= 0 && gb_pending(&clients[i].out) >= CLIENT_HIGH) return 1;
  return 0;
}

static void stdin_flush(void) {
  while (stdin_fd >= 0 && gb_pending(&stdin_buf) > 0) {
    ssize_t w = write(stdin_fd, stdin_buf.data + stdin_buf.off, gb_pending(&stdin_buf));
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return;
      /* EPIPE: nobody reads the pipe any more; EIO: the pty has no slave left. */
      gb_free(&stdin_buf);
      break;
    }
    gb_consume(&stdin_buf, (size_t)w);
  }
  if (stdin_close_pending && gb_pending(&stdin_buf) == 0 && stdin_fd >= 0 && stdin_fd != master) {
    close(stdin_fd);
    stdin_fd = -1;
  }
}

static void apply_resize(void) {
  if (master < 0 || !have_ws) return;
  if (ioctl(master, TIOCSWINSZ, &pending_ws) < 0) diag("TIOCSWINSZ: %s", strerror(errno));
  have_ws = 0;
}

static void handle_frame(struct client *c, int kind, const unsigned char *p, size_t n) {
  switch (kind) {
  case IN_STDIN:
    if (stdin_fd < 0 || stdin_close_pending) return;
    if (gb_append(&stdin_buf, p, n, SIZE_MAX) < 0) diag("out of memory for stdin; dropping %zu bytes", n);
    stdin_flush();
    return;
  case IN_CLOSE_STDIN:
    if (stdin_fd < 0 || stdin_fd == master) return;
    stdin_close_pending = 1;
    stdin_flush();
    return;
  case IN_RESIZE:
    if (n != 4) return;
    pending_ws = (struct winsize){.ws_row = (unsigned short)(p[0] << 8 | p[1]), .ws_col = (unsigned short)(p[2] << 8 | p[3])};
    have_ws = 1;
    apply_resize();
    return;
  case IN_ATTACH:
    if (c->attached) return;
    c->attached = 1;
    if (hold_active) {
      /* The first client takes what was held: the output from the start on. */
      hold_active = 0;
      if (gb_append(&c->out, replay.data + replay.off, gb_pending(&replay), SIZE_MAX) < 0) diag("out of memory for held output");
      gb_free(&replay);
      client_flush(c);
    } else if (exit_len > 0) {
      client_send(c, OUT_EXIT, exit_body, exit_len);
    }
    return;
  default:
    diag("attach client sent an unknown frame kind %d; closing it", kind);
    client_close(c);
  }
}

/* Reads what a client sent and handles every complete frame. EOF closes the client. */
static void client_read(struct client *c) {
  ssize_t r = read(c->fd, c->in + c->in_len, sizeof c->in - c->in_len);
  if (r < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (r <= 0) {
    client_close(c);
    return;
  }
  c->in_len += (size_t)r;
  size_t off = 0;
  while (c->in_len - off >= 8) {
    const unsigned char *h = c->in + off;
    size_t n = (size_t)h[4] << 24 | (size_t)h[5] << 16 | (size_t)h[6] << 8 | h[7];
    if (n > FRAME_MAX) {
      diag("attach client sent a %zu-byte frame; closing it", n);
      client_close(c);
      return;
    }
    if (c->in_len - off - 8 < n) break;
    handle_frame(c, h[0], h + 8, n);
    if (c->fd < 0) return;
    off += 8 + n;
  }
  memmove(c->in, c->in + off, c->in_len - off);
  c->in_len -= off;
}

static void accept_clients(int listen_fd) {
  for (;;) {
    int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) diag("accept: %s", strerror(errno));
      return;
    }
    struct client *c = NULL;
    for (int i = 0; i < MAX_CLIENTS && !c; i++)
      if (clients[i].fd < 0) c = &clients[i];
    if (!c) {
      diag("more than %d attach clients; refusing one", MAX_CLIENTS);
      close(fd);
      continue;
    }
    c->fd = fd;
    c->attached = 0;
    c->in_len = 0;
  }
}

/*
 * Closes every client gracefully: EOF first (shutdown), then what they still send is read
 * until they close too (up to 1 s). Closing a unix socket with unread data in it makes the
 * peer's next read fail with ECONNRESET, and a client (Node) may then drop output it has
 * received but not yet consumed — found as a lost last line in the unit tests.
 */
static void close_clients(void) {
  char sink[4096];
  for (int i = 0; i < MAX_CLIENTS; i++)
    if (clients[i].fd >= 0) shutdown(clients[i].fd, SHUT_WR);
  long end = now_ms() + 1000;
  for (;;) {
    struct pollfd fds[MAX_CLIENTS];
    int who[MAX_CLIENTS], n = 0;
    for (int i = 0; i < MAX_CLIENTS; i++)
      if (clients[i].fd >= 0) {
        fds[n].fd = clients[i].fd;
        fds[n].events = POLLIN;
        who[n++] = i;
      }
    long left = end - now_ms();
    if (n == 0 || left <= 0) break;
    if (poll(fds, (nfds_t)n, (int)left) < 0 && errno != EINTR) break;
    for (int k = 0; k < n; k++) {
      if (!fds[k].revents) continue;
      ssize_t r = read(fds[k].fd, sink, sizeof sink);
      if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) client_close(&clients[who[k]]);
    }
  }
  for (int i = 0; i < MAX_CLIENTS; i++) client_close(&clients[i]);
}

/* A listening unix socket at `path`, mode 0600 (a stale file is replaced). */
static int listen_unix(const char *path) {
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof a.sun_path) {
    errno = ENAMETOOLONG;
    return -1;
  }
  strcpy(a.sun_path, path);
  unlink(path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  mode_t old = umask(0177); /* sockets are made 0777 & ~umask: 0600 */
  int r = bind(fd, (struct sockaddr *)&a, sizeof a);
  umask(old);
  if (r < 0 || listen(fd, 16) < 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

/* --- the console socket (--tty) ------------------------------------------------------------ */

static int console_fd = -1;            /* listening */
static int console_conn = -1;          /* runc's connection */

/*
 * Takes the pty master runc sends over the console socket: one message (the terminal's name)
 * with the fd in an SCM_RIGHTS control message (runc's utils.SendFd). Non-blocking: called
 * whenever the socket is readable and once more when runc has exited (runc may connect, send
 * and exit before we accept: the connection and its message wait in the backlog).
 */
static void try_console(struct stream *pty) {
  if (master >= 0 || console_fd < 0) return;
  if (console_conn < 0) {
    console_conn = accept4(console_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (console_conn < 0) return;
  }
  char name[4096];
  struct iovec iov = {.iov_base = name, .iov_len = sizeof name};
  union {
    struct cmsghdr h;
    char b[CMSG_SPACE(sizeof(int))];
  } u;
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof u.b};
  ssize_t r = recvmsg(console_conn, &m, MSG_CMSG_CLOEXEC);
  if (r < 0 && (errno == EAGAIN || errno == EINTR)) return;
  int fd = -1;
  if (r >= 0)
    for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h))
      if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS) memcpy(&fd, CMSG_DATA(h), sizeof fd);
  close(console_conn);
  console_conn = -1;
  if (fd < 0) {
    diag("console socket: a connection without a terminal (%s)", r < 0 ? strerror(errno) : "no fd");
    return;
  }
  master = fd;
  fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
  pty->fd = master;
  pty->eof = 0;
  if (stdin_open) stdin_fd = master;
  apply_resize();
}

static void close_console(const char *path) {
  if (console_conn >= 0) close(console_conn);
  if (console_fd >= 0) close(console_fd);
  console_conn = console_fd = -1;
  if (path) unlink(path);
}

/* Reads what is there; `all`: until EAGAIN even while output is blocked (runc has exited). */
static void drain(struct stream *s, int all) {
  char tmp[65536];
  for (;;) {
    ssize_t r = read(s->fd, tmp, sizeof tmp);
    if (r > 0) {
      if (s->frame) publish(s->frame, tmp, (size_t)r);
      feed(s, tmp, (size_t)r);
      if (!all && s->frame && output_blocked()) return; /* the loop polls again once it can */
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && errno == EAGAIN) return;
    /* EOF; EIO is a pty master's EOF (no slave open any more). */
    if (r < 0 && errno != EIO) diag("read %s: %s", s->name, strerror(errno));
    emit(s); /* an unterminated last line */
    s->eof = 1;
    if (!s->keep_open) {
      close(s->fd);
      s->fd = -1;
    }
    return;
  }
}

/* Writes the exit file; its JSON stays in exit_body for the EXIT frame. */
static int write_exit_file(const char *path, int status, int unknown) {
  char tmp[4096], when[64];
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
  int n = snprintf(exit_body, sizeof exit_body, "{\"exitCode\":%d,\"signal\":%s,\"exitedAt\":\"%s\"%s}\n", code, sigtext, when,
                   unknown ? ",\"unknown\":true" : "");
  exit_len = (size_t)n;
  if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) return -1;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  if (write_all(fd, exit_body, (size_t)n) < 0 || fsync(fd) < 0) {
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
  for (int i = 1; i < argc; i++) {
    const char *k = argv[i];
    if (!strcmp(k, "--stdin")) o->stdin_open = 1;
    else if (!strcmp(k, "--tty")) o->tty = 1;
    else if (!strcmp(k, "--hold")) o->hold = 1;
    else {
      if (i + 1 >= argc) return -1;
      const char *v = argv[++i];
      if (!strcmp(k, "--runc")) o->runc = v;
      else if (!strcmp(k, "--runc-root")) o->runc_root = v;
      else if (!strcmp(k, "--bundle")) o->bundle = v;
      else if (!strcmp(k, "--id")) o->id = v;
      else if (!strcmp(k, "--pid-file")) o->pid_file = v;
      else if (!strcmp(k, "--runc-log")) o->runc_log = v;
      else if (!strcmp(k, "--log")) o->log = v;
      else if (!strcmp(k, "--exit-file")) o->exit_file = v;
      else if (!strcmp(k, "--attach-socket")) o->attach_socket = v;
      else if (!strcmp(k, "--console-socket")) o->console_socket = v;
      else if (!strcmp(k, "--exec-process")) o->exec_process = v;
      else return -1;
    }
  }
  if (!o->runc || !o->runc_root || !o->bundle || !o->id || !o->pid_file || !o->runc_log || !o->exit_file) return -1;
  if (o->tty != (o->console_socket != NULL)) return -1;
  return 0;
}

static int attach_made, console_made;  /* the socket files are ours to remove */

/* Fails before runc ran: the report berthd reads, and the socket files we made go. */
static int fail_early(const struct opts *o, const char *what) {
  int e = errno;
  diag("%s: %s", what, strerror(e));
  printf("error -1\nberth-shim: %s: %s\n", what, strerror(e));
  if (attach_made) unlink(o->attach_socket);
  if (console_made) unlink(o->console_socket);
  return 3;
}

int main(int argc, char **argv) {
  struct opts o;
  if (parse_args(argc, argv, &o) < 0) {
    fprintf(stderr,
            "usage: berth-shim --runc PATH --runc-root DIR --bundle DIR --id ID --pid-file FILE "
            "--runc-log FILE --exit-file FILE [--log FILE] [--attach-socket PATH] [--stdin] "
            "[--tty --console-socket PATH] [--hold] [--exec-process FILE]\n");
    return 2;
  }
  close_inherited_fds();
  for (int i = 0; i < MAX_CLIENTS; i++) clients[i].fd = -1;
  is_tty = o.tty;
  stdin_open = o.stdin_open;
  /* berthd going away must not take us along: no SIGPIPE from the report pipe, no SIGHUP. */
  signal(SIGPIPE, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  signal(SIGINT, SIG_IGN);
  if (chdir(o.bundle) < 0) return fail_early(&o, "chdir to the bundle");
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) return fail_early(&o, "prctl(PR_SET_CHILD_SUBREAPER)");
  sigset_t chld, old;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, &old);
  int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) return fail_early(&o, "signalfd");
  if (o.log) {
    log_fd = open(o.log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (log_fd < 0) return fail_early(&o, "open log");
  }
  int attach_fd = -1;
  if (o.attach_socket && (attach_fd = listen_unix(o.attach_socket)) < 0) return fail_early(&o, "listen on the attach socket");
  attach_made = attach_fd >= 0;
  if (o.tty && (console_fd = listen_unix(o.console_socket)) < 0) return fail_early(&o, "listen on the console socket");
  console_made = console_fd >= 0;
  int outp[2], errp[2], inp[2] = {-1, -1};
  if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) return fail_early(&o, "pipe2");
  if (o.stdin_open && !o.tty && pipe2(inp, O_CLOEXEC) < 0) return fail_early(&o, "pipe2");
  pid_t runc_pid = fork();
  if (runc_pid < 0) return fail_early(&o, "fork");
  if (runc_pid == 0) {
    /* The container inherits these dispositions and mask through runc: restore defaults. */
    signal(SIGPIPE, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    sigprocmask(SIG_SETMASK, &old, NULL);
    int in = inp[0] >= 0 ? inp[0] : open("/dev/null", O_RDONLY);
    if (in < 0 || dup2(in, 0) < 0 || dup2(outp[1], 1) < 0 || dup2(errp[1], 2) < 0) _exit(127);
    const char *av[24];
    int k = 0;
    av[k++] = o.runc;
    av[k++] = "--root", av[k++] = o.runc_root;
    av[k++] = "--log", av[k++] = o.runc_log;
    av[k++] = "--log-format", av[k++] = "json";
    av[k++] = o.exec_process ? "exec" : "run";
    av[k++] = "-d";
    av[k++] = "--pid-file", av[k++] = o.pid_file;
    if (o.tty) av[k++] = "--console-socket", av[k++] = o.console_socket;
    if (o.exec_process) av[k++] = "--process", av[k++] = o.exec_process;
    else av[k++] = "-b", av[k++] = o.bundle;
    av[k++] = o.id;
    av[k] = NULL;
    execv(o.runc, (char *const *)av);
    dprintf(2, "berth-shim: exec %s: %s\n", o.runc, strerror(errno));
    _exit(127);
  }
  close(outp[1]);
  close(errp[1]);
  if (inp[0] >= 0) {
    close(inp[0]);
    stdin_fd = inp[1];
    fcntl(stdin_fd, F_SETFL, O_NONBLOCK);
  }
  /* Without a tty the pipes are the container's stdout and stderr; with one, runc's own. */
  static struct stream out = {.name = "stdout"}, err = {.name = "stderr"}, pty = {.name = "stdout"};
  out.fd = outp[0];
  err.fd = errp[0];
  out.frame = o.tty ? 0 : OUT_STDOUT;
  err.frame = o.tty ? 0 : OUT_STDERR;
  pty.fd = -1;
  pty.eof = 1; /* until runc sends the master */
  pty.frame = OUT_STDOUT;
  pty.keep_open = 1;
  fcntl(out.fd, F_SETFL, O_NONBLOCK);
  fcntl(err.fd, F_SETFL, O_NONBLOCK);
  hold_active = o.hold;
  long hold_deadline = now_ms() + HOLD_MS;

  int runc_done = 0, runc_status = 0;
  pid_t container_pid = -1;
  int container_exited = 0, container_status = 0, unknown = 0;
  struct { pid_t pid; int status; } early[MAX_EARLY];
  int n_early = 0;
  long drain_deadline = -1;
  int finishing = 0, rc = 0;
  enum { T_SIGNAL, T_OUT, T_ERR, T_PTY, T_STDIN, T_CONSOLE, T_LISTEN, T_CLIENT };

  for (;;) {
    struct pollfd fds[8 + MAX_CLIENTS];
    int tag[8 + MAX_CLIENTS];
    int n = 0;
#define ADD(f, ev, t) (fds[n].fd = (f), fds[n].events = (ev), fds[n].revents = 0, tag[n++] = (t))
    ADD(sfd, POLLIN, T_SIGNAL);
    /* Once the container has exited its output is what the pipes still hold (≤ 64 KiB each):
       read it even for a slow client, so the log is complete when the exit is recorded. */
    int blocked = output_blocked() && !container_exited;
    if (!finishing) {
      /* runc's own output (with a tty) is read regardless: it is not the container's. */
      if (!out.eof && (!blocked || !out.frame)) ADD(out.fd, POLLIN, T_OUT);
      if (!err.eof && (!blocked || !err.frame)) ADD(err.fd, POLLIN, T_ERR);
      if (!pty.eof && !blocked) ADD(pty.fd, POLLIN, T_PTY);
      if (stdin_fd >= 0 && gb_pending(&stdin_buf) > 0) ADD(stdin_fd, POLLOUT, T_STDIN);
      if (console_conn >= 0) ADD(console_conn, POLLIN, T_CONSOLE);
      else if (console_fd >= 0) ADD(console_fd, POLLIN, T_CONSOLE);
    }
    for (int i = 0; i < MAX_CLIENTS; i++) {
      struct client *c = &clients[i];
      if (c->fd < 0) continue;
      short ev = gb_pending(&stdin_buf) < STDIN_HIGH ? POLLIN : 0;
      if (gb_pending(&c->out) > 0) ev |= POLLOUT;
      ADD(c->fd, ev, T_CLIENT + i);
    }
    if (attach_fd >= 0) ADD(attach_fd, POLLIN, T_LISTEN);
#undef ADD
    /* While the container runs, wake up now and then to check it still exists (see below). */
    long now = now_ms();
    long timeout = (container_pid > 0 && !container_exited) ? 1000 : -1;
    long deadlines[3] = {drain_deadline, hold_active ? hold_deadline : -1, finishing && !hold_active ? last_progress + FLUSH_MS : -1};
    for (int i = 0; i < 3; i++) {
      if (deadlines[i] < 0) continue;
      long left = deadlines[i] > now ? deadlines[i] - now : 0;
      if (timeout < 0 || left < timeout) timeout = left;
    }
    int pr = poll(fds, (nfds_t)n, (int)timeout);
    if (pr < 0) {
      if (errno == EINTR) continue;
      diag("poll: %s", strerror(errno));
      return 4;
    }
    int reap = 0;
    for (int i = 0; pr > 0 && i < n; i++) {
      short re = fds[i].revents;
      if (!re) continue;
      switch (tag[i]) {
      case T_SIGNAL: reap = 1; break;
      case T_OUT: drain(&out, 0); break;
      case T_ERR: drain(&err, 0); break;
      case T_PTY: drain(&pty, 0); break;
      case T_STDIN: stdin_flush(); break;
      case T_CONSOLE: try_console(&pty); break;
      case T_LISTEN: accept_clients(attach_fd); break;
      default: {
        struct client *c = &clients[tag[i] - T_CLIENT];
        if (c->fd >= 0 && (re & (POLLIN | POLLHUP | POLLERR))) client_read(c);
        if (c->fd >= 0 && (re & POLLOUT)) client_flush(c);
      }
      }
    }
    if (reap) {
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
      if (!out.eof) drain(&out, 1);
      if (!err.eof) drain(&err, 1);
      int ok = WIFEXITED(runc_status) && WEXITSTATUS(runc_status) == 0;
      if (ok) container_pid = read_pid_file(o.pid_file);
      if (ok && o.tty) try_console(&pty);
      if (!ok || container_pid <= 0 || (o.tty && master < 0)) {
        int code = WIFEXITED(runc_status) ? WEXITSTATUS(runc_status) : 128 + WTERMSIG(runc_status);
        if (ok) code = -2; /* runc succeeded but left no pid file or sent no terminal */
        if (out.len) gb_append(&raw, out.buf, out.len, RAW_MAX);
        if (err.len) gb_append(&raw, err.buf, err.len, RAW_MAX);
        if (ok && container_pid > 0) {
          const char *m = "berth-shim: runc did not send the terminal over the console socket\n";
          gb_append(&raw, m, strlen(m), RAW_MAX + strlen(m));
          kill(container_pid, SIGKILL);
        }
        dprintf(1, "error %d\n", code);
        if (raw.len) write_all(1, raw.data, raw.len);
        diag("runc %s failed with status %d", o.exec_process ? "exec" : "run", code);
        close_console(o.console_socket);
        if (o.attach_socket) unlink(o.attach_socket);
        return 1;
      }
      starting = 0;
      close_console(o.console_socket);
      for (int i = 0; i < n_early; i++)
        if (early[i].pid == container_pid) {
          container_exited = 1;
          container_status = early[i].status;
        }
      if (pre.len && write_all(log_fd, pre.data, pre.len) < 0) diag("write log: %s", strerror(errno));
      gb_free(&pre);
      gb_free(&raw);
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
    now = now_ms();
    if (hold_active && now >= hold_deadline) {
      diag("nobody attached within %d ms; dropping the held output", HOLD_MS);
      hold_active = 0;
      gb_free(&replay);
    }
    if (container_exited && !finishing) {
      int done = out.eof && err.eof && pty.eof;
      /* The container's pid namespace dies with its init, so EOF follows at once; the deadline
         only guards against a writer that escaped it. */
      if (!done && drain_deadline < 0) drain_deadline = now + DRAIN_MS;
      else if (!done && now >= drain_deadline) {
        diag("output still open %d ms after the container exited; closing it", DRAIN_MS);
        done = 1;
      }
      if (done) {
        emit(&out);
        emit(&err);
        emit(&pty);
        if (stdin_fd >= 0 && stdin_fd != master) close(stdin_fd);
        stdin_fd = -1;
        gb_free(&stdin_buf);
        if (write_exit_file(o.exit_file, container_status, unknown) < 0) {
          diag("write %s: %s", o.exit_file, strerror(errno));
          rc = 4;
        }
        publish(OUT_EXIT, exit_body, exit_len);
        finishing = 1;
        drain_deadline = -1;
        last_progress = now;
      }
    }
    if (finishing) {
      /* Done when every attached client has its output (or stopped reading for FLUSH_MS) and
         nobody is still expected to attach (--hold). */
      int pending = 0;
      for (int i = 0; i < MAX_CLIENTS; i++)
        if (clients[i].fd >= 0 && gb_pending(&clients[i].out) > 0) pending = 1;
      if (!hold_active && (!pending || now - last_progress >= FLUSH_MS)) break;
    }
  }
  if (attach_fd >= 0) close(attach_fd);
  if (o.attach_socket) unlink(o.attach_socket);
  close_clients();
  if (master >= 0) close(master);
  return rc;
}
