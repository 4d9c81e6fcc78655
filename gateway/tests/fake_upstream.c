/* The fake service of fake_upstream.h: a blocking accept loop and a thread per connection, all
 * ended by shutting the sockets down. */
#include "fake_upstream.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CONNECTIONS 256
#define MAX_HEAD        (64 * 1024)
#define MAX_BODY        (4 * 1024 * 1024)

typedef struct connection {
    fake_upstream *upstream;
    int fd;
    pthread_t thread;
} connection;

struct fake_upstream {
    char name[32];
    int listener;
    int port;
    pthread_t acceptor;
    atomic_int stopping;
    atomic_long connections;
    atomic_long requests;
    pthread_mutex_t lock;
    connection *open[MAX_CONNECTIONS];
    size_t open_count;
};

/* The value of `key` in a query string, copied into `out`; 0 when absent. */
static int query_value(const char *target, const char *key, char *out, size_t out_len)
{
    const char *query = strchr(target, '?');
    size_t key_len = strlen(key);
    for (const char *p = query ? query + 1 : NULL; p && *p;) {
        size_t len = strcspn(p, "&");
        if (len > key_len && strncmp(p, key, key_len) == 0 && p[key_len] == '=') {
            snprintf(out, out_len, "%.*s", (int)(len - key_len - 1), p + key_len + 1);
            return 1;
        }
        p += len;
        if (*p == '&')
            p++;
    }
    return 0;
}

static int send_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n <= 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Sleeps `ms`, waking early when the server stops. */
static void nap(fake_upstream *upstream, long ms)
{
    for (long slept = 0; slept < ms && !atomic_load(&upstream->stopping); slept += 10)
        usleep(10000);
}

static int respond(connection *c, const char *method, const char *target, json_t *headers,
                   size_t body_length)
{
    char value[32], head[1024];
    long status = 200;
    if (query_value(target, "fake_status", value, sizeof(value)))
        status = strtol(value, NULL, 10);
    json_t *echo =
        json_pack("{s:s, s:s, s:s, s:O, s:I}", "upstream", c->upstream->name, "method", method,
                  "target", target, "headers", headers, "body_length", (json_int_t)body_length);
    char *body = echo ? json_dumps(echo, JSON_COMPACT) : NULL;
    json_decref(echo);
    if (!body)
        return -1;
    /* 204 and 304 answers have no body (a Content-Length of 0 is tolerated everywhere). */
    int bodiless = status == 204 || status == 304;
    size_t len = bodiless ? 0 : strlen(body);
    int head_len = snprintf(head, sizeof(head),
                            "HTTP/1.1 %ld Fake\r\n"
                            "Content-Type: application/json\r\n"
                            "Content-Length: %zu\r\n"
                            "ETag: \"7\"\r\n"
                            "Location: /api/things/1\r\n"
                            "X-Upstream: %s\r\n"
                            "Keep-Alive: timeout=30\r\n"
                            "Connection: keep-alive\r\n"
                            "Access-Control-Allow-Origin: *\r\n"
                            "X-Request-Id: upstream-own-id\r\n"
                            "\r\n",
                            status, len, c->upstream->name);
    int rc = send_all(c->fd, head, (size_t)head_len) == 0 && send_all(c->fd, body, len) == 0;
    free(body);
    return rc ? 0 : -1;
}

/* Reads one request from `buffer` (which may already hold the start of it) and answers it.
 * Returns 0 to keep the connection, -1 to close it. */
static int serve_one(connection *c, char *buffer, size_t *filled)
{
    char method[16], target[2048], value[32];
    char *end = NULL;
    while (!(end = memmem(buffer, *filled, "\r\n\r\n", 4))) {
        if (*filled == MAX_HEAD)
            return -1;
        ssize_t n = recv(c->fd, buffer + *filled, MAX_HEAD - *filled, 0);
        if (n <= 0)
            return -1;
        *filled += (size_t)n;
    }
    *end = '\0';
    if (sscanf(buffer, "%15s %2047s", method, target) != 2)
        return -1;
    json_t *headers = json_object();
    size_t body_length = 0;
    for (char *line = strstr(buffer, "\r\n"); line && line[2];) {
        line += 2;
        char *next = strstr(line, "\r\n");
        if (next)
            *next = '\0';
        char *colon = strchr(line, ':');
        if (colon) {
            *colon = '\0';
            for (char *p = line; *p; p++)
                *p = (char)tolower((unsigned char)*p);
            const char *v = colon + 1;
            while (*v == ' ')
                v++;
            json_object_set_new(headers, line, json_string(v));
            if (strcmp(line, "content-length") == 0)
                body_length = strtoul(v, NULL, 10);
        }
        if (!next)
            break;
        line = next;
    }
    size_t head_len = (size_t)(end + 4 - buffer);
    size_t have = *filled - head_len;
    if (body_length > MAX_BODY) {
        json_decref(headers);
        return -1;
    }
    /* Discard the body, keeping whatever follows it (a pipelined request). */
    while (have < body_length) {
        char sink[16384];
        size_t want = body_length - have < sizeof(sink) ? body_length - have : sizeof(sink);
        ssize_t n = recv(c->fd, sink, want, 0);
        if (n <= 0) {
            json_decref(headers);
            return -1;
        }
        have += (size_t)n;
    }
    size_t consumed = head_len + body_length;
    size_t rest = *filled > consumed ? *filled - consumed : 0;
    memmove(buffer, buffer + (*filled - rest), rest);
    *filled = rest;
    atomic_fetch_add(&c->upstream->requests, 1);

    int rc = 0;
    if (query_value(target, "fake_drop", value, sizeof(value))) {
        rc = -1;
    } else {
        if (query_value(target, "fake_sleep_ms", value, sizeof(value)))
            nap(c->upstream, strtol(value, NULL, 10));
        rc = respond(c, method, target, headers, body_length);
    }
    json_decref(headers);
    return rc;
}

static void *serve_connection(void *arg)
{
    connection *c = arg;
    char *buffer = malloc(MAX_HEAD);
    size_t filled = 0;
    while (buffer && !atomic_load(&c->upstream->stopping) && serve_one(c, buffer, &filled) == 0) {
    }
    free(buffer);
    shutdown(c->fd, SHUT_RDWR);
    return NULL;
}

static void *accept_loop(void *arg)
{
    fake_upstream *upstream = arg;
    for (;;) {
        int fd = accept(upstream->listener, NULL, NULL);
        if (fd < 0 || atomic_load(&upstream->stopping)) {
            if (fd >= 0)
                close(fd);
            return NULL;
        }
        atomic_fetch_add(&upstream->connections, 1);
        connection *c = calloc(1, sizeof(*c));
        pthread_mutex_lock(&upstream->lock);
        int room = c && upstream->open_count < MAX_CONNECTIONS;
        if (room) {
            c->upstream = upstream;
            c->fd = fd;
            upstream->open[upstream->open_count++] = c;
            if (pthread_create(&c->thread, NULL, serve_connection, c) != 0) {
                upstream->open_count--;
                room = 0;
            }
        }
        pthread_mutex_unlock(&upstream->lock);
        if (!room) {
            close(fd);
            free(c);
        }
    }
}

fake_upstream *fake_upstream_start(const char *name)
{
    struct sockaddr_in address = {.sin_family = AF_INET};
    socklen_t len = sizeof(address);
    fake_upstream *upstream = calloc(1, sizeof(*upstream));
    if (!upstream)
        return NULL;
    snprintf(upstream->name, sizeof(upstream->name), "%s", name);
    pthread_mutex_init(&upstream->lock, NULL);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    upstream->listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (upstream->listener < 0 ||
        bind(upstream->listener, (struct sockaddr *)&address, sizeof(address)) != 0 ||
        listen(upstream->listener, 64) != 0 ||
        getsockname(upstream->listener, (struct sockaddr *)&address, &len) != 0)
        goto fail;
    upstream->port = ntohs(address.sin_port);
    if (pthread_create(&upstream->acceptor, NULL, accept_loop, upstream) != 0)
        goto fail;
    return upstream;
fail:
    if (upstream->listener >= 0)
        close(upstream->listener);
    pthread_mutex_destroy(&upstream->lock);
    free(upstream);
    return NULL;
}

void fake_upstream_stop(fake_upstream *upstream)
{
    if (!upstream)
        return;
    atomic_store(&upstream->stopping, 1);
    shutdown(upstream->listener, SHUT_RDWR); /* wakes accept() */
    pthread_join(upstream->acceptor, NULL);
    close(upstream->listener);
    pthread_mutex_lock(&upstream->lock);
    for (size_t i = 0; i < upstream->open_count; i++)
        shutdown(upstream->open[i]->fd, SHUT_RDWR); /* wakes recv() */
    pthread_mutex_unlock(&upstream->lock);
    for (size_t i = 0; i < upstream->open_count; i++) {
        pthread_join(upstream->open[i]->thread, NULL);
        close(upstream->open[i]->fd);
        free(upstream->open[i]);
    }
    pthread_mutex_destroy(&upstream->lock);
    free(upstream);
}

int fake_upstream_port(const fake_upstream *upstream)
{
    return upstream->port;
}

long fake_upstream_connections(fake_upstream *upstream)
{
    return atomic_load(&upstream->connections);
}

long fake_upstream_requests(fake_upstream *upstream)
{
    return atomic_load(&upstream->requests);
}
