/* HTTP/1.1 to the upstream instances (wire.h): the idle pool, connecting, sending, and the answer
 * parser. */
#include "wire.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

/* ---- the idle pool ---- */

typedef struct idle_connection {
    int fd;
    const upstream_instance *instance;
    long long since_ms;
} idle_connection;

#define WIRE_MAX_ADDRESSES 4
#define WIRE_NAMES         (3 * UPSTREAM_MAX_INSTANCES)

/* An instance's addresses as last resolved: a new connection does not wait on DNS unless they
 * are older than WIRE_RESOLVE_TTL_MS, and a failed lookup falls back on them. */
typedef struct resolved_name {
    const upstream_instance *instance;
    struct sockaddr_storage addresses[WIRE_MAX_ADDRESSES];
    socklen_t lengths[WIRE_MAX_ADDRESSES];
    size_t count;
    long long at_ms;
} resolved_name;

typedef struct address_list {
    struct sockaddr_storage addresses[WIRE_MAX_ADDRESSES];
    socklen_t lengths[WIRE_MAX_ADDRESSES];
    size_t count;
} address_list;

struct wire_pool {
    long idle_ms;
    size_t max_idle;
    pthread_mutex_t lock;
    idle_connection *idle; /* the most recently given back last */
    size_t count;
    resolved_name names[WIRE_NAMES]; /* under lock */
    size_t name_count;
};

wire_pool *wire_pool_new(long idle_ms, size_t max_idle)
{
    wire_pool *pool = calloc(1, sizeof(*pool));
    if (!pool)
        return NULL;
    pool->idle_ms = idle_ms;
    pool->max_idle = max_idle;
    pool->idle = calloc(max_idle ? max_idle : 1, sizeof(*pool->idle));
    if (!pool->idle || pthread_mutex_init(&pool->lock, NULL) != 0) {
        free(pool->idle);
        free(pool);
        return NULL;
    }
    return pool;
}

void wire_pool_free(wire_pool *pool)
{
    if (!pool)
        return;
    for (size_t i = 0; i < pool->count; i++)
        close(pool->idle[i].fd);
    pthread_mutex_destroy(&pool->lock);
    free(pool->idle);
    free(pool);
}

/* An idle connection to `instance` that is still open, or -1. Connections idle for too long go
 * first (the oldest are at the bottom); a connection the instance closed meanwhile, or one with
 * unexpected bytes waiting, is closed and the next is tried. No system call under the lock. */
static int connection_take(wire_pool *pool, const upstream_instance *instance)
{
    int expired[16];
    if (!pool)
        return -1;
    for (;;) {
        long long now = upstream_now_ms();
        int fd = -1;
        size_t n = 0;
        pthread_mutex_lock(&pool->lock);
        while (n < pool->count && n < sizeof(expired) / sizeof(*expired) &&
               now - pool->idle[n].since_ms > pool->idle_ms) {
            expired[n] = pool->idle[n].fd;
            n++;
        }
        pool->count -= n;
        memmove(pool->idle, pool->idle + n, pool->count * sizeof(*pool->idle));
        for (size_t i = pool->count; i-- > 0;) {
            if (pool->idle[i].instance != instance)
                continue;
            fd = pool->idle[i].fd;
            pool->count--;
            memmove(pool->idle + i, pool->idle + i + 1, (pool->count - i) * sizeof(*pool->idle));
            break;
        }
        pthread_mutex_unlock(&pool->lock);
        for (size_t i = 0; i < n; i++)
            close(expired[i]);
        if (fd < 0)
            return -1;
        char byte;
        if (recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) < 0 &&
            (errno == EAGAIN || errno == EWOULDBLOCK))
            return fd;
        close(fd);
    }
}

static void connection_give(wire_pool *pool, const upstream_instance *instance, int fd)
{
    if (!pool) {
        close(fd);
        return;
    }
    pthread_mutex_lock(&pool->lock);
    if (pool->count < pool->max_idle) {
        pool->idle[pool->count++] = (idle_connection){fd, instance, upstream_now_ms()};
        fd = -1;
    }
    pthread_mutex_unlock(&pool->lock);
    if (fd >= 0)
        close(fd); /* more idle than kept */
}

/* ---- sockets ---- */

static long long remaining_ms(long long deadline_ms)
{
    long long left = deadline_ms - upstream_now_ms();
    return left > 0 ? left : 0;
}

/* Waits for `events` on `fd` until the deadline: 1 ready, 0 time ran out, -1 error. */
static int wait_for(int fd, short events, long long deadline_ms)
{
    for (;;) {
        long long left = remaining_ms(deadline_ms);
        if (left <= 0)
            return 0;
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, left > 60000 ? 60000 : (int)left);
        if (n > 0)
            return 1;
        if (n < 0 && errno != EINTR)
            return -1;
    }
}

/* Resolves the instance's name now (getaddrinfo: may wait on DNS). 0, or -1 with `error`. */
static int resolve(const upstream_instance *instance, address_list *out, char *error,
                   size_t error_len)
{
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *addresses = NULL;
    int rc = getaddrinfo(instance->host, instance->port, &hints, &addresses);
    if (rc != 0) {
        snprintf(error, error_len, "cannot resolve %s: %s", instance->host, gai_strerror(rc));
        return -1;
    }
    out->count = 0;
    for (struct addrinfo *a = addresses; a && out->count < WIRE_MAX_ADDRESSES; a = a->ai_next) {
        if (a->ai_addrlen > sizeof(out->addresses[0]))
            continue;
        memcpy(&out->addresses[out->count], a->ai_addr, a->ai_addrlen);
        out->lengths[out->count++] = a->ai_addrlen;
    }
    freeaddrinfo(addresses);
    if (out->count == 0) {
        snprintf(error, error_len, "no address for %s", instance->host);
        return -1;
    }
    return 0;
}

/* The pool's entry for `instance`, made when missing (NULL when the table is full); under lock. */
static resolved_name *name_slot(wire_pool *pool, const upstream_instance *instance)
{
    for (size_t i = 0; i < pool->name_count; i++) {
        if (pool->names[i].instance == instance)
            return &pool->names[i];
    }
    if (pool->name_count == WIRE_NAMES)
        return NULL;
    resolved_name *slot = &pool->names[pool->name_count++];
    memset(slot, 0, sizeof(*slot));
    slot->instance = instance;
    return slot;
}

/* The instance's addresses: the pool's copy while it is fresh, else resolved again (outside the
 * lock) and kept; when that fails, the last ones known, if any. */
static int addresses_of(wire_pool *pool, const upstream_instance *instance, address_list *out,
                        char *error, size_t error_len)
{
    long long now = upstream_now_ms();
    int fresh = 0;
    out->count = 0;
    if (pool) {
        pthread_mutex_lock(&pool->lock);
        resolved_name *slot = name_slot(pool, instance);
        if (slot && slot->count > 0) {
            memcpy(out->addresses, slot->addresses, sizeof(out->addresses));
            memcpy(out->lengths, slot->lengths, sizeof(out->lengths));
            out->count = slot->count;
            fresh = now - slot->at_ms < WIRE_RESOLVE_TTL_MS;
        }
        pthread_mutex_unlock(&pool->lock);
    }
    if (fresh)
        return 0;
    address_list resolved;
    if (resolve(instance, &resolved, error, error_len) != 0)
        return out->count > 0 ? 0 : -1; /* DNS down: the last addresses known still serve */
    *out = resolved;
    if (pool) {
        pthread_mutex_lock(&pool->lock);
        resolved_name *slot = name_slot(pool, instance);
        if (slot) {
            memcpy(slot->addresses, resolved.addresses, sizeof(slot->addresses));
            memcpy(slot->lengths, resolved.lengths, sizeof(slot->lengths));
            slot->count = resolved.count;
            slot->at_ms = now;
        }
        pthread_mutex_unlock(&pool->lock);
    }
    return 0;
}

/* A new non-blocking connection to one of the instance's addresses, or -1 with `error` set. */
static int connection_open(wire_pool *pool, const upstream_instance *instance,
                           long long deadline_ms, char *error, size_t error_len)
{
    address_list list;
    if (addresses_of(pool, instance, &list, error, error_len) != 0)
        return -1;
    int fd = -1;
    for (size_t i = 0; i < list.count && fd < 0; i++) {
        const struct sockaddr *address = (const struct sockaddr *)&list.addresses[i];
        fd = socket(address->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            snprintf(error, error_len, "socket: %s", strerror(errno));
            continue;
        }
        int on = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
        int ready = 1, failure = 0;
        if (connect(fd, address, list.lengths[i]) != 0) {
            failure = errno;
            if (failure == EINPROGRESS) {
                socklen_t len = sizeof(failure);
                ready = wait_for(fd, POLLOUT, deadline_ms);
                failure = 0;
                if (ready == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &failure, &len) != 0)
                    failure = errno;
            }
        }
        if (ready == 1 && failure == 0)
            break;
        if (ready == 0)
            snprintf(error, error_len, "connecting to %s timed out", instance->url);
        else
            snprintf(error, error_len, "connecting to %s: %s", instance->url,
                     strerror(failure ? failure : errno));
        close(fd);
        fd = -1;
    }
    return fd;
}

/* Sends the head and body. 0 when all went, else -1 with *sent telling whether any byte did. */
static int send_all(int fd, const char *head, size_t head_len, const char *body, size_t body_len,
                    long long deadline_ms, int *sent, int *timed_out)
{
    struct iovec parts[2] = {{(void *)head, head_len}, {(void *)body, body_len}};
    struct iovec *next = parts;
    int left_parts = body_len > 0 ? 2 : 1;
    while (left_parts > 0) {
        struct msghdr message = {.msg_iov = next, .msg_iovlen = (size_t)left_parts};
        ssize_t n = sendmsg(fd, &message, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                return -1;
            int ready = wait_for(fd, POLLOUT, deadline_ms);
            if (ready <= 0) {
                *timed_out = ready == 0;
                return -1;
            }
            continue;
        }
        *sent |= n > 0;
        while (left_parts > 0 && (size_t)n >= next->iov_len) {
            n -= (ssize_t)next->iov_len;
            next++;
            left_parts--;
        }
        if (left_parts > 0) {
            next->iov_base = (char *)next->iov_base + n;
            next->iov_len -= (size_t)n;
        }
    }
    return 0;
}

typedef struct socket_source {
    int fd;
    long long deadline_ms;
    int waited;    /* the first read waits before trying: the answer is never there at once */
    int timed_out; /* the deadline passed */
} socket_source;

static ssize_t socket_fill(void *context, char *into, size_t room)
{
    socket_source *source = context;
    for (;;) {
        if (!source->waited) {
            int ready = wait_for(source->fd, POLLIN, source->deadline_ms);
            if (ready <= 0) {
                source->timed_out = ready == 0;
                return -1;
            }
            source->waited = 1;
        }
        ssize_t n = recv(source->fd, into, room, 0);
        if (n >= 0)
            return n;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            source->waited = 0;
        else if (errno != EINTR)
            return -1;
    }
}

/* ---- the answer ---- */

int wire_answer_init(wire_answer *answer, size_t max_body)
{
    memset(answer, 0, sizeof(*answer));
    answer->max_body = max_body;
    return u_map_init(&answer->headers) == U_OK ? 0 : -1;
}

void wire_answer_clean(wire_answer *answer)
{
    if (!answer)
        return;
    u_map_clean(&answer->headers);
    free(answer->body);
    answer->body = NULL;
    answer->len = answer->cap = 0;
}

/* Forgets a partial answer before the request goes again on a fresh connection. */
static void answer_reset(wire_answer *answer)
{
    u_map_empty(&answer->headers);
    answer->status = 0;
    answer->len = 0;
}

typedef struct reader {
    wire_fill_fn fill;
    void *source;
    char *buf;
    size_t pos, len, cap;
    size_t head_left; /* bytes the head and trailer lines may still take */
    int got_bytes;
    wire_answer *answer;
} reader;

static int fail(reader *r, const char *why)
{
    snprintf(r->answer->error, sizeof(r->answer->error), "%s", why);
    return -1;
}

/* Reads more into the buffer, keeping what is unread. 1 read, 0 end of stream, -1 error. */
static int reader_more(reader *r)
{
    if (r->pos > 0) {
        memmove(r->buf, r->buf + r->pos, r->len - r->pos);
        r->len -= r->pos;
        r->pos = 0;
    }
    if (r->len == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16384;
        if (cap > WIRE_MAX_HEAD + 16384)
            return fail(r, "the answer's head is too large");
        char *grown = realloc(r->buf, cap);
        if (!grown)
            return fail(r, "out of memory");
        r->buf = grown;
        r->cap = cap;
    }
    ssize_t n = r->fill(r->source, r->buf + r->len, r->cap - r->len);
    if (n < 0)
        return fail(r, "reading the answer failed");
    r->got_bytes |= n > 0;
    r->len += (size_t)n;
    return n > 0;
}

/* The next line (without its CR LF) as a NUL-terminated string in the buffer, or NULL. */
static char *reader_line(reader *r, size_t *line_len)
{
    for (;;) {
        char *end = r->len > r->pos ? memchr(r->buf + r->pos, '\n', r->len - r->pos) : NULL;
        if (end) {
            char *line = r->buf + r->pos;
            size_t len = (size_t)(end - line);
            r->pos += len + 1;
            if (len > 0 && line[len - 1] == '\r')
                len--;
            line[len] = '\0';
            if (len > r->head_left)
                return fail(r, "the answer's head is too large"), NULL;
            r->head_left -= len;
            if (memchr(line, '\0', len))
                return fail(r, "a NUL byte in the answer's head"), NULL;
            *line_len = len;
            return line;
        }
        if (r->len - r->pos > WIRE_MAX_HEAD)
            return fail(r, "the answer's head is too large"), NULL;
        int more = reader_more(r);
        if (more <= 0)
            return more == 0 ? (fail(r, "the connection closed before the answer ended"), NULL)
                             : NULL;
    }
}

static int body_reserve(reader *r, size_t more)
{
    wire_answer *a = r->answer;
    if (more > a->max_body - a->len) {
        a->too_large = 1;
        return fail(r, "the answer is too large");
    }
    if (a->len + more <= a->cap)
        return 0;
    size_t cap = a->cap ? a->cap : 4096;
    while (cap < a->len + more)
        cap *= 2;
    char *grown = realloc(a->body, cap);
    if (!grown)
        return fail(r, "out of memory");
    a->body = grown;
    a->cap = cap;
    return 0;
}

/* Moves exactly `n` body bytes into the answer: what is buffered, then straight from the source. */
static int body_take(reader *r, size_t n)
{
    wire_answer *a = r->answer;
    if (body_reserve(r, n) != 0)
        return -1;
    size_t buffered = r->len - r->pos < n ? r->len - r->pos : n;
    if (buffered > 0)
        memcpy(a->body + a->len, r->buf + r->pos, buffered);
    r->pos += buffered;
    a->len += buffered;
    n -= buffered;
    while (n > 0) {
        ssize_t got = r->fill(r->source, a->body + a->len, n);
        if (got <= 0)
            return fail(r, got == 0 ? "the connection closed before the answer ended"
                                    : "reading the answer failed");
        a->len += (size_t)got;
        n -= (size_t)got;
    }
    return 0;
}

/* The body up to the end of the stream: the connection cannot be reused after it. */
static int body_until_close(reader *r)
{
    wire_answer *a = r->answer;
    if (body_take(r, r->len - r->pos) != 0)
        return -1;
    for (;;) {
        size_t room = a->max_body - a->len;
        char extra;
        if (room > 16384)
            room = 16384;
        if (room > 0 && body_reserve(r, room) != 0)
            return -1;
        /* At the limit, one byte more tells a full answer from one too large. */
        ssize_t got =
            room > 0 ? r->fill(r->source, a->body + a->len, room) : r->fill(r->source, &extra, 1);
        if (got < 0)
            return fail(r, "reading the answer failed");
        if (got == 0)
            return 0;
        if (room == 0) {
            a->too_large = 1;
            return fail(r, "the answer is too large");
        }
        a->len += (size_t)got;
    }
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int body_chunked(reader *r)
{
    for (;;) {
        size_t len, size = 0, digits = 0;
        size_t budget = r->head_left;
        char *line = reader_line(r, &len);
        if (!line)
            return -1;
        r->head_left = budget;
        for (; digits < len && hex_value(line[digits]) >= 0; digits++) {
            if (size > (r->answer->max_body >> 4))
                return r->answer->too_large = 1, fail(r, "the answer is too large");
            size = size * 16 + (size_t)hex_value(line[digits]);
        }
        if (digits == 0 ||
            (digits < len && line[digits] != ';' && line[digits] != ' ' && line[digits] != '\t'))
            return fail(r, "a malformed chunk size in the answer");
        if (size == 0)
            break;
        if (body_take(r, size) != 0 || !(line = reader_line(r, &len)))
            return -1;
        r->head_left = budget; /* chunk framing does not count against the head */
        if (len != 0)
            return fail(r, "a chunk longer than its size in the answer");
    }
    for (;;) { /* trailers, ignored, up to the blank line */
        size_t len;
        const char *line = reader_line(r, &len);
        if (!line)
            return -1;
        if (len == 0)
            return 0;
    }
}

static int token_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f && !strchr("\"(),/:;<=>?@[\\]{}", c);
}

/* Whether the comma list `value` holds `token` (case-insensitive). */
static int list_has(const char *value, const char *token)
{
    size_t n = strlen(token);
    for (const char *p = value; p && *p;) {
        p += strspn(p, " \t,");
        size_t len = strcspn(p, ",");
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len == n && strncasecmp(p, token, n) == 0)
            return 1;
        p = strchr(p, ',');
    }
    return 0;
}

static int header_add(reader *r, char *line, size_t len)
{
    char *colon = memchr(line, ':', len);
    if (!colon || colon == line)
        return fail(r, "a malformed header line in the answer");
    for (const char *p = line; p < colon; p++) {
        if (!token_char((unsigned char)*p))
            return fail(r, "a malformed header name in the answer");
    }
    *colon = '\0';
    char *value = colon + 1, *end = line + len;
    while (value < end && (*value == ' ' || *value == '\t'))
        value++;
    while (end > value && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    *end = '\0';
    struct _u_map *headers = &r->answer->headers;
    const char *previous = u_map_get(headers, line);
    char *joined = NULL;
    if (previous && asprintf(&joined, "%s, %s", previous, value) < 0)
        return fail(r, "out of memory");
    int ok = u_map_put(headers, line, joined ? joined : value) == U_OK;
    free(joined);
    return ok ? 0 : fail(r, "out of memory");
}

/* Status line and headers, skipping interim 1xx answers. Sets *http10. */
static int head_read(reader *r, int *http10)
{
    for (;;) {
        size_t len;
        char *line = reader_line(r, &len);
        if (!line)
            return -1;
        if (len < 12 || strncmp(line, "HTTP/1.", 7) != 0 || (line[7] != '0' && line[7] != '1') ||
            line[8] != ' ' || line[9] < '1' || line[9] > '5' || line[10] < '0' || line[10] > '9' ||
            line[11] < '0' || line[11] > '9' || (len > 12 && line[12] != ' '))
            return fail(r, "a malformed status line in the answer");
        *http10 = line[7] == '0';
        r->answer->status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
        u_map_empty(&r->answer->headers);
        for (;;) {
            if (!(line = reader_line(r, &len)))
                return -1;
            if (len == 0)
                break;
            if ((line[0] == ' ' || line[0] == '\t'))
                return fail(r, "a folded header line in the answer");
            if (header_add(r, line, len) != 0)
                return -1;
        }
        if (r->answer->status >= 200 || r->answer->status == 101)
            return 0;
    }
}

/* Content-Length as a number: digits only, else -1. */
static long long content_length(const char *value)
{
    long long n = 0;
    if (!value || !*value)
        return -1;
    for (const char *p = value; *p; p++) {
        if (*p < '0' || *p > '9' || n > (1LL << 40))
            return -1;
        n = n * 10 + (*p - '0');
    }
    return n;
}

int wire_response_read(wire_fill_fn fill, void *source, int head_request, wire_answer *answer,
                       int *got_bytes)
{
    reader r = {.fill = fill, .source = source, .answer = answer, .head_left = WIRE_MAX_HEAD};
    int http10 = 0, reusable = -1;
    answer->error[0] = '\0';
    if (head_read(&r, &http10) != 0)
        goto done;
    struct _u_map *headers = &answer->headers;
    const char *encoding = u_map_get_case(headers, "Transfer-Encoding");
    const char *length = u_map_get_case(headers, "Content-Length");
    const char *connection = u_map_get_case(headers, "Connection");
    long status = answer->status;
    int keep = !http10 && !(connection && list_has(connection, "close"));
    if (status == 101) {
        fail(&r, "the upstream switched protocols");
        goto done;
    }
    if (head_request || status == 204 || status == 304) {
        reusable = keep;
    } else if (encoding) {
        if (strcasecmp(encoding, "chunked") != 0) {
            fail(&r, "an unsupported transfer coding in the answer");
            goto done;
        }
        if (body_chunked(&r) == 0)
            reusable = keep && !length;
    } else if (length) {
        long long n = content_length(length);
        if (n < 0)
            fail(&r, "a malformed Content-Length in the answer");
        else if ((unsigned long long)n > answer->max_body)
            answer->too_large = 1, fail(&r, "the answer is too large");
        else if (body_take(&r, (size_t)n) == 0)
            reusable = keep;
    } else if (body_until_close(&r) == 0) {
        reusable = 0;
    }
    if (reusable == 1 && r.pos != r.len)
        reusable = 0; /* bytes beyond the answer: the connection is out of step */
    if (reusable < 0 && answer->too_large)
        answer->len = 0;
done:
    free(r.buf);
    if (got_bytes)
        *got_bytes = r.got_bytes;
    return reusable;
}

/* ---- one exchange ---- */

static char *head_build(const upstream_instance *instance, const wire_request *request,
                        size_t *head_len)
{
    int with_length = request->body_len > 0 || strcmp(request->method, "POST") == 0 ||
                      strcmp(request->method, "PUT") == 0 || strcmp(request->method, "PATCH") == 0;
    char length[48] = "";
    if (with_length)
        snprintf(length, sizeof(length), "Content-Length: %zu\r\n", request->body_len);
    char *head = NULL;
    int n = asprintf(&head, "%s %s%s HTTP/1.1\r\nHost: %s\r\n%s%s\r\n", request->method,
                     instance->prefix, request->target, instance->authority,
                     request->header_lines ? request->header_lines : "", length);
    if (n < 0)
        return NULL;
    *head_len = (size_t)n;
    return head;
}

wire_outcome wire_exchange(wire_pool *pool, const upstream_instance *instance,
                           const wire_request *request, long long deadline_ms,
                           long connect_timeout_ms, wire_answer *answer)
{
    size_t head_len = 0;
    char *head = head_build(instance, request, &head_len);
    wire_outcome outcome = WIRE_FAILED;
    int head_request = strcmp(request->method, "HEAD") == 0;
    if (!head) {
        snprintf(answer->error, sizeof(answer->error), "out of memory");
        return WIRE_FAILED;
    }
    /* Round 0 may use an idle connection; round 1 is the fresh one after it died unanswered. */
    for (int round = 0; round < 2; round++) {
        int fd = round == 0 ? connection_take(pool, instance) : -1, reused = fd >= 0;
        if (remaining_ms(deadline_ms) <= 0) {
            if (fd >= 0)
                connection_give(pool, instance, fd);
            snprintf(answer->error, sizeof(answer->error), "no time left");
            outcome = WIRE_TIMED_OUT;
            break;
        }
        if (fd < 0) {
            long long connect_by = upstream_now_ms() + connect_timeout_ms;
            fd =
                connection_open(pool, instance, connect_by < deadline_ms ? connect_by : deadline_ms,
                                answer->error, sizeof(answer->error));
            if (fd < 0) {
                outcome = WIRE_NOT_SENT;
                break;
            }
            answer->connects++;
        }
        int sent = 0, got_bytes = 0, reusable = -1;
        socket_source source = {.fd = fd, .deadline_ms = deadline_ms};
        if (send_all(fd, head, head_len, request->body, request->body_len, deadline_ms, &sent,
                     &source.timed_out) != 0) {
            snprintf(answer->error, sizeof(answer->error), "sending to %s: %s", instance->url,
                     source.timed_out ? "timed out" : strerror(errno));
        } else {
            sent = 1;
            reusable = wire_response_read(socket_fill, &source, head_request, answer, &got_bytes);
        }
        if (reusable >= 0) {
            if (reusable)
                connection_give(pool, instance, fd);
            else
                close(fd);
            outcome = WIRE_ANSWERED;
            break;
        }
        close(fd);
        if (source.timed_out) {
            outcome = WIRE_TIMED_OUT;
            break;
        }
        if (!sent) { /* not a byte went: any method may go again, on a fresh connection */
            if (!reused) {
                outcome = WIRE_NOT_SENT;
                break;
            }
            answer_reset(answer);
            continue;
        }
        /* A reused connection that died before any byte of an answer: the instance closed it
         * while it was idle, or took the request and died. Only a safe method goes again. */
        int died_unanswered = reused && !got_bytes && !answer->too_large;
        if (!died_unanswered) {
            outcome = WIRE_FAILED;
            break;
        }
        if (!request->replayable) {
            answer->replay_refused = 1;
            outcome = WIRE_FAILED;
            break;
        }
        answer_reset(answer);
    }
    free(head);
    return outcome;
}
