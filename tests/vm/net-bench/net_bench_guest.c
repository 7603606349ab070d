/*
 * Guest side of `voidbox-bench net`: a TCP client of the bench's server on
 * the host (reached through the gateway, 10.0.2.2), timing itself with the
 * guest's monotonic clock and printing one result line on stdout (the
 * console) per run:
 *
 *   net-bench-guest ADDR PORT send MIB   guest-to-host: MIB MiB, then the
 *                                         server's byte count back
 *     VBNET tx_mib_s=<MiB/s> bytes=<n> secs=<s>
 *   net-bench-guest ADDR PORT recv MIB   host-to-guest: MIB MiB until EOF
 *     VBNET rx_mib_s=<MiB/s> bytes=<n> secs=<s>
 *   net-bench-guest ADDR PORT crr N      N times: connect, 64-byte request,
 *                                         64-byte reply, close
 *     VBNET crr_p50_us=<us> crr_p99_us=<us> crr_mean_us=<us> rounds=<n>
 *
 * A failure prints `VBNET-ERROR <mode>: <what>: <errno text>` and exits 1.
 * The protocol (one request line first on every connection) is the one
 * tools/voidbox-bench/net_servers.cpp serves.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { kRequestBytes = 64, kChunk = 256 * 1024, kMaxMib = 1 << 16, kMaxRounds = 1000000 };

static const char* g_mode = "?";
static char g_buf[kChunk];

static int fail(const char* what) {
  printf("VBNET-ERROR %s: %s: %s\n", g_mode, what, errno ? strerror(errno) : "protocol");
  fflush(stdout);
  return 1;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int dial(const struct sockaddr_in* addr) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return -1;
  if (connect(s, (const struct sockaddr*)addr, sizeof *addr) != 0) {
    int saved = errno;
    close(s);
    errno = saved;
    return -1;
  }
  return s;
}

static int write_all(int s, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = write(s, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Reads exactly n bytes; -1 on error or early EOF (errno 0 then). */
static int read_all(int s, char* p, size_t n) {
  while (n > 0) {
    ssize_t r = read(s, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) errno = 0;
    if (r <= 0) return -1;
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

/* A request line padded with spaces to kRequestBytes, ending in '\n'. */
static void request(char* out, const char* text) {
  memset(out, ' ', kRequestBytes);
  memcpy(out, text, strlen(text));
  out[kRequestBytes - 1] = '\n';
}

static int run_send(const struct sockaddr_in* addr, unsigned long long bytes) {
  char req[kRequestBytes];
  request(req, "send");
  for (size_t i = 0; i < sizeof g_buf; ++i) g_buf[i] = (char)(i * 131 + 17);
  int s = dial(addr);
  if (s < 0) return fail("connect");
  double start = now_s();
  if (write_all(s, req, sizeof req) != 0) return fail("write request");
  for (unsigned long long left = bytes; left > 0;) {
    size_t n = left < sizeof g_buf ? (size_t)left : sizeof g_buf;
    if (write_all(s, g_buf, n) != 0) return fail("write");
    left -= n;
  }
  if (shutdown(s, SHUT_WR) != 0) return fail("shutdown");
  /* The server answers with the count it received once it sees EOF, so the
   * time covers the data's arrival, not only its hand-over to the kernel. */
  char reply[32] = {0};
  size_t got = 0;
  for (ssize_t r; got < sizeof reply - 1 && (r = read(s, reply + got, sizeof reply - 1 - got)) > 0;)
    got += (size_t)r;
  double secs = now_s() - start;
  close(s);
  errno = 0;
  if (strtoull(reply, NULL, 10) != bytes) return fail("server count differs");
  printf("VBNET tx_mib_s=%.3f bytes=%llu secs=%.6f\n", (double)bytes / 1048576.0 / secs, bytes,
         secs);
  return 0;
}

static int run_recv(const struct sockaddr_in* addr, unsigned long long bytes) {
  char req[kRequestBytes], text[48];
  snprintf(text, sizeof text, "recv %llu", bytes);
  request(req, text);
  int s = dial(addr);
  if (s < 0) return fail("connect");
  double start = now_s();
  if (write_all(s, req, sizeof req) != 0) return fail("write request");
  unsigned long long got = 0;
  for (;;) {
    ssize_t r = read(s, g_buf, sizeof g_buf);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return fail("read");
    if (r == 0) break;
    got += (unsigned long long)r;
  }
  double secs = now_s() - start;
  close(s);
  errno = 0;
  if (got != bytes) return fail("short stream");
  printf("VBNET rx_mib_s=%.3f bytes=%llu secs=%.6f\n", (double)bytes / 1048576.0 / secs, bytes,
         secs);
  return 0;
}

static int by_value(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

static int run_crr(const struct sockaddr_in* addr, int rounds) {
  double* us = calloc((size_t)rounds, sizeof *us);
  if (us == NULL) return fail("calloc");
  char req[kRequestBytes], reply[kRequestBytes];
  request(req, "crr");
  const int one = 1;
  double sum = 0;
  for (int i = 0; i < rounds; ++i) {
    double start = now_s();
    int s = dial(addr);
    if (s < 0) return fail("connect");
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (write_all(s, req, sizeof req) != 0) return fail("write request");
    if (read_all(s, reply, sizeof reply) != 0) return fail("read reply");
    close(s);
    us[i] = (now_s() - start) * 1e6;
    sum += us[i];
  }
  qsort(us, (size_t)rounds, sizeof *us, by_value);
  /* Nearest rank: the smallest value with at least p % of the rounds at or
   * below it. */
  int p50 = (rounds * 50 + 99) / 100 - 1, p99 = (rounds * 99 + 99) / 100 - 1;
  printf("VBNET crr_p50_us=%.1f crr_p99_us=%.1f crr_mean_us=%.1f rounds=%d\n", us[p50], us[p99],
         sum / rounds, rounds);
  free(us);
  return 0;
}

int main(int argc, char** argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s ADDR PORT send|recv MIB | crr N\n", argv[0]);
    return 2;
  }
  g_mode = argv[3];
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  long port = strtol(argv[2], NULL, 10);
  long count = strtol(argv[4], NULL, 10);
  errno = 0;
  if (inet_pton(AF_INET, argv[1], &addr.sin_addr) != 1 || port <= 0 || port > 65535)
    return fail("bad address or port");
  addr.sin_port = htons((unsigned short)port);
  int rc;
  if (strcmp(g_mode, "send") == 0 && count > 0 && count <= kMaxMib) {
    rc = run_send(&addr, (unsigned long long)count << 20);
  } else if (strcmp(g_mode, "recv") == 0 && count > 0 && count <= kMaxMib) {
    rc = run_recv(&addr, (unsigned long long)count << 20);
  } else if (strcmp(g_mode, "crr") == 0 && count > 0 && count <= kMaxRounds) {
    rc = run_crr(&addr, (int)count);
  } else {
    errno = 0;
    return fail("bad mode or count");
  }
  fflush(stdout);
  return rc;
}
