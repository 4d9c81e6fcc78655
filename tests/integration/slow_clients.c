/* Hostile connection patterns against one HTTP process (a service or the gateway), for
 * tests/integration/limits.sh. Plain sockets and poll, so that what is measured is the server:
 *
 *   slow_clients trickle PORT CONNECTIONS SECONDS
 *       CONNECTIONS clients send a request's headers one byte every 100 ms and never finish,
 *       while a normal GET /healthz is made every 200 ms on a new connection: each must be
 *       answered 200 within PROBE_LIMIT_MS.
 *   slow_clients idle PORT CONNECTIONS TIMEOUT
 *       CONNECTIONS clients connect (half of them send part of a request line) and then send
 *       nothing: the server must close every one after its idle timeout TIMEOUT (seconds), not
 *       long before and not long after.
 *   slow_clients per-address PORT CONNECTIONS SECONDS
 *       The same trickle from 127.0.0.1 with more CONNECTIONS than the server's connection limit,
 *       while the normal requests come from 127.0.0.2: the server must close the connections
 *       over its limit per client address at once, so that the other address is served.
 *   slow_clients flood PORT CONNECTIONS TIMEOUT
 *       CONNECTIONS idle clients, more than the server's connection limit: the ones over the
 *       limit must be closed or left unserved (never a crash), and once they go a normal
 *       request is answered again.
 *
 * Prints one "ok:" line with the figures, or "FAIL ..." and exits 1. */
#include "check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNECTIONS 1024
#define PROBE_LIMIT_MS  2000
#define TRICKLE_MS      100
#define PROBE_EVERY_MS  200

static const char slow_request[] = "GET /healthz HTTP/1.1\r\nHost: slow\r\nX-Slow-1: a\r\n"
                                   "X-Slow-2: b\r\nX-Slow-3: c\r\nX-Slow-4: d\r\nX-Slow-5: e\r\n"
                                   "X-Slow-6: f\r\nX-Slow-7: g\r\nX-Slow-8: h\r\nX-Slow-9: i\r\n";

typedef struct client {
    int fd;
    size_t sent;      /* bytes of slow_request sent */
    double closed_at; /* seconds since start when the server closed it, or 0 */
    int refused;      /* connect() failed */
} client;

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long number(const char *text, long min, long max, const char *what)
{
    char *end = NULL;
    long value = strtol(text, &end, 10);
    CHECK(*text && *end == '\0' && value >= min && value <= max, "%s must be %ld..%ld, got %s",
          what, min, max, text);
    return value;
}

/* A connected TCP socket from `source` (a loopback address) to 127.0.0.1:port, non-blocking, or
 * -1 when the server refuses it or does not complete the handshake within a second. */
static int connect_from(const char *source, long port)
{
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    struct sockaddr_in local = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    inet_pton(AF_INET, source, &local.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    CHECK(fd >= 0, "socket: %s", strerror(errno));
    CHECK(bind(fd, (struct sockaddr *)&local, sizeof(local)) == 0, "bind to %s: %s", source,
          strerror(errno));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (struct sockaddr *)&address, sizeof(address)) == 0)
        return fd;
    if (errno == EINPROGRESS) {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int error = 0;
        socklen_t len = sizeof(error);
        if (poll(&p, 1, 1000) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) == 0 &&
            error == 0)
            return fd;
    }
    close(fd);
    return -1;
}

/* Whether the server closed the connection: a read that sees EOF or a reset. Bytes the server
 * sent (an error answer) are read and dropped. */
static int server_closed(int fd)
{
    char buf[4096];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n > 0)
            continue;
        if (n == 0)
            return 1;
        return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : 1;
    }
}

static int connect_to(long port)
{
    return connect_from("127.0.0.1", port);
}

/* One normal request on a new connection from `source`, given up after `limit_ms`. Returns the
 * HTTP status (0 when none came) and sets *millis to the time until the answer's status line. */
static int probe_from(const char *source, long port, double *millis, double limit_ms)
{
    static const char request[] =
        "GET /healthz HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n";
    double started = now_seconds();
    char buf[512];
    size_t got = 0;
    int status = 0;
    int fd = connect_from(source, port);
    *millis = 0;
    if (fd < 0)
        return 0;
    if (send(fd, request, sizeof(request) - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof(request) - 1))
        goto done;
    while (got < sizeof(buf) - 1 && !memchr(buf, '\n', got)) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        double left = limit_ms - (now_seconds() - started) * 1000.0;
        if (left <= 0 || poll(&p, 1, (int)left) != 1)
            goto done;
        ssize_t n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
        if (n <= 0)
            goto done;
        got += (size_t)n;
    }
    buf[got] = '\0';
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
        status = 0;
    *millis = (now_seconds() - started) * 1000.0;
done:
    close(fd);
    return status;
}

static int probe(long port, double *millis, double limit_ms)
{
    return probe_from("127.0.0.1", port, millis, limit_ms);
}

static size_t open_clients(client *clients, size_t count, long port)
{
    size_t connected = 0;
    for (size_t i = 0; i < count; i++) {
        clients[i] = (client){.fd = connect_to(port)};
        clients[i].refused = clients[i].fd < 0;
        connected += clients[i].fd >= 0;
    }
    return connected;
}

static void close_clients(client *clients, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (clients[i].fd >= 0)
            close(clients[i].fd);
        clients[i].fd = -1;
    }
}

/* Marks the clients the server has closed since the last look; returns how many are closed. */
static size_t sweep(client *clients, size_t count, double started)
{
    size_t closed = 0;
    for (size_t i = 0; i < count; i++) {
        if (clients[i].fd >= 0 && !clients[i].closed_at && server_closed(clients[i].fd))
            clients[i].closed_at = now_seconds() - started;
        closed += clients[i].closed_at > 0;
    }
    return closed;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Trickles headers on `count` connections for `seconds` while probing from `probe_source`. With
 * `capped`, the server is expected to close the connections over its per-address limit at once;
 * without, every slow client must get connected and stay. */
static int trickle(long port, size_t count, long seconds, const char *probe_source, int capped)
{
    static client clients[MAX_CONNECTIONS];
    static double latencies[4096];
    size_t probes = 0, connected = open_clients(clients, count, port);
    double started = now_seconds(), next_probe = started + 0.5;
    usleep(300 * 1000);
    size_t cut = sweep(clients, count, started) + (count - connected);
    if (capped)
        CHECK(cut > 0 && cut < count,
              "%zu slow clients from one address, %zu refused or closed at once: the limit per "
              "address does not hold",
              count, cut);
    else
        CHECK(cut == 0, "%zu of %zu slow clients were refused or closed at once", cut, count);
    while (now_seconds() - started < (double)seconds) {
        for (size_t i = 0; i < count; i++) {
            client *c = &clients[i];
            if (c->fd < 0 || c->closed_at || c->sent >= sizeof(slow_request) - 1)
                continue; /* never the final blank line: the request never completes */
            if (send(c->fd, slow_request + c->sent, 1, MSG_NOSIGNAL) == 1)
                c->sent++;
            else
                c->closed_at = now_seconds() - started;
        }
        sweep(clients, count, started);
        if (now_seconds() >= next_probe && probes < sizeof(latencies) / sizeof(latencies[0])) {
            double millis = 0;
            int status = probe_from(probe_source, port, &millis, PROBE_LIMIT_MS * 2.5);
            CHECK(status == 200 && millis <= PROBE_LIMIT_MS,
                  "with %zu slow clients connected, GET /healthz from %s answered %d after %.0f ms "
                  "(limit %d ms)",
                  count - cut, probe_source, status, millis, PROBE_LIMIT_MS);
            latencies[probes++] = millis;
            next_probe = now_seconds() + PROBE_EVERY_MS / 1000.0;
        }
        usleep(TRICKLE_MS * 1000);
    }
    size_t closed = sweep(clients, count, started) + (count - connected);
    close_clients(clients, count);
    CHECK(probes > 0, "no probe was made in %ld s", seconds);
    qsort(latencies, probes, sizeof(latencies[0]), compare_doubles);
    if (capped)
        printf("ok: %zu slow clients from 127.0.0.1: %zu refused or closed at once (the limit per "
               "address), %zu kept trickling for %ld s; %zu normal requests from %s answered "
               "200, median %.1f ms, max %.1f ms\n",
               count, cut, count - cut, seconds, probes, probe_source, latencies[probes / 2],
               latencies[probes - 1]);
    else
        printf("ok: %zu slow clients trickling headers for %ld s: %zu normal requests answered "
               "200, median %.1f ms, max %.1f ms; %zu slow clients closed by the server "
               "meanwhile\n",
               count, seconds, probes, latencies[probes / 2], latencies[probes - 1], closed);
    return 0;
}

static int idle(long port, size_t count, long timeout)
{
    static client clients[MAX_CONNECTIONS];
    size_t connected = open_clients(clients, count, port);
    CHECK(connected == count, "only %zu of %zu idle clients could connect", connected, count);
    for (size_t i = 0; i < count; i += 2) /* half stop in the middle of the request line */
        send(clients[i].fd, "GET /heal", 9, MSG_NOSIGNAL);
    double started = now_seconds(), limit = (double)timeout + 3.0;
    size_t closed = 0;
    while ((closed = sweep(clients, count, started)) < count && now_seconds() - started < limit)
        usleep(50 * 1000);
    double first = limit, last = 0;
    for (size_t i = 0; i < count; i++) {
        if (clients[i].closed_at && clients[i].closed_at < first)
            first = clients[i].closed_at;
        if (clients[i].closed_at > last)
            last = clients[i].closed_at;
    }
    close_clients(clients, count);
    CHECK(closed == count,
          "%zu of %zu idle connections still open %.0f s after connecting "
          "(idle timeout %ld s)",
          count - closed, count, limit, timeout);
    CHECK(first >= (double)timeout * 0.5,
          "an idle connection was closed after %.2f s, well before the %ld s timeout", first,
          timeout);
    double millis = 0;
    int status = probe(port, &millis, PROBE_LIMIT_MS);
    CHECK(status == 200, "after the idle clients, GET /healthz answered %d", status);
    printf("ok: %zu idle connections (half with a partial request line) closed by the server "
           "between %.2f s and %.2f s (timeout %ld s); a normal request then took %.1f ms\n",
           count, first, last, timeout, millis);
    return 0;
}

static int flood(long port, size_t count, long timeout)
{
    static client clients[MAX_CONNECTIONS];
    double started = now_seconds();
    size_t connected = open_clients(clients, count, port);
    usleep(500 * 1000);
    size_t closed = sweep(clients, count, started);
    double held_millis = 0;
    int held_status = probe(port, &held_millis, 500); /* waits in the backlog: informative only */
    size_t refused = count - connected;
    /* Over the limit a connection is refused, closed at once, or waits unserved in the listen
     * backlog: all are clean. What must not happen is that the server serves them all. */
    size_t served = 0;
    for (size_t i = 0; i < count; i++) {
        if (clients[i].fd < 0 || clients[i].closed_at)
            continue;
        static const char request[] = "GET /healthz HTTP/1.1\r\nHost: flood\r\n\r\n";
        send(clients[i].fd, request, sizeof(request) - 1, MSG_NOSIGNAL);
    }
    usleep(500 * 1000);
    for (size_t i = 0; i < count; i++) {
        char buf[16];
        if (clients[i].fd >= 0 && !clients[i].closed_at &&
            recv(clients[i].fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
            served++;
    }
    close_clients(clients, count);
    CHECK(served < count, "all %zu connections were served: no connection limit", count);
    double millis = 0, deadline = now_seconds() + (double)timeout + 3.0;
    int status = 0;
    while ((status = probe(port, &millis, PROBE_LIMIT_MS)) != 200 && now_seconds() < deadline)
        usleep(100 * 1000);
    CHECK(status == 200, "after the flood of %zu connections went away, GET /healthz answered %d",
          count, status);
    printf("ok: %zu connections at once: %zu refused, %zu closed by the server, %zu served, the "
           "rest left waiting in the listen backlog; a request during the flood %s, after it "
           "answered %d in %.1f ms\n",
           count, refused, closed, served,
           held_status ? "was answered" : "waited (no answer within 0.5 s)", status, millis);
    return 0;
}

int main(int argc, char **argv)
{
    CHECK(argc == 5, "usage: %s trickle|per-address|idle|flood PORT CONNECTIONS SECONDS", argv[0]);
    long port = number(argv[2], 1, 65535, "PORT");
    size_t count = (size_t)number(argv[3], 1, MAX_CONNECTIONS, "CONNECTIONS");
    long seconds = number(argv[4], 1, 600, "SECONDS");
    if (strcmp(argv[1], "trickle") == 0)
        return trickle(port, count, seconds, "127.0.0.1", 0);
    if (strcmp(argv[1], "per-address") == 0)
        return trickle(port, count, seconds, "127.0.0.2", 1);
    if (strcmp(argv[1], "idle") == 0)
        return idle(port, count, seconds);
    if (strcmp(argv[1], "flood") == 0)
        return flood(port, count, seconds);
    CHECK(0, "unknown scenario %s", argv[1]);
    return 2;
}
