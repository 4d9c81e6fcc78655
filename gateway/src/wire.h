/* HTTP/1.1 on the wire to the upstream instances, without libcurl: the request goes out in one
 * writev on a keep-alive connection taken from an idle pool, the answer is read with one poll and
 * one recv in the common case and parsed in place (Content-Length, chunked, or until close).
 * The gateway's upstreams are its own services, but their answers are still parsed as untrusted:
 * every size is bounded and anything malformed is a failed exchange, never a crash.
 *
 * Whether a request was sent decides what may happen next (proxy.h): an exchange that never left
 * the gateway (the connection could not be made) may go to another instance. One whose reused
 * connection turned out dead before any answer byte is sent again on a fresh connection only when
 * the method is safe to repeat (GET, HEAD, OPTIONS); a write is never replayed. */
#ifndef GATEWAY_WIRE_H
#define GATEWAY_WIRE_H

#include "upstreams.h"

#include <stddef.h>
#include <sys/types.h>
#include <ulfius.h>

#define WIRE_MAX_HEAD       65536 /* status line and headers of an answer; larger is a failure */
#define WIRE_RESOLVE_TTL_MS 5000  /* how long a pool reuses an instance's resolved addresses */

typedef enum wire_outcome {
    WIRE_NOT_SENT = 0, /* never left the gateway: the next instance may take it */
    WIRE_ANSWERED,
    WIRE_TIMED_OUT,
    WIRE_FAILED, /* sent (or maybe sent), then no usable answer */
} wire_outcome;

typedef struct wire_request {
    const char *method;
    const char *target;       /* origin-form path and query, sent verbatim after the prefix */
    const char *header_lines; /* "Name: value\r\n" lines; Host and Content-Length are wire's */
    const char *body;
    size_t body_len;
    int replayable; /* safe to send again when a reused connection died unanswered */
} wire_request;

typedef struct wire_answer {
    long status;
    struct _u_map headers; /* as sent; repeated names joined with ", " */
    char *body;
    size_t len, cap;
    size_t max_body;    /* a larger body fails the exchange with too_large set */
    int too_large;      /* the answer passed max_body */
    int replay_refused; /* a write met a dead reused connection and was not resent */
    long connects;      /* new TCP connections the exchange opened */
    char error[160];    /* why it was not answered, for the log */
} wire_answer;

typedef struct wire_pool wire_pool;

/* A pool of idle keep-alive connections, shared by all threads: at most `max_idle` kept, none
 * reused after `idle_ms` (keep it inside the services' own idle limit). It also keeps each
 * instance's resolved addresses for WIRE_RESOLVE_TTL_MS, so that a new connection seldom waits
 * on DNS (getaddrinfo has no timeout of ours), and uses the last ones known while DNS fails.
 * NULL when out of memory. */
wire_pool *wire_pool_new(long idle_ms, size_t max_idle);

/* Closes every idle connection and releases the pool; accepts NULL. */
void wire_pool_free(wire_pool *pool);

/* Prepares `answer` for an exchange (bodies up to `max_body` bytes). 0, or -1 out of memory. */
int wire_answer_init(wire_answer *answer, size_t max_body);
void wire_answer_clean(wire_answer *answer);

/* One request to `instance`, answered into `answer` unless the outcome says otherwise. The whole
 * exchange ends by `deadline_ms` (upstream_now_ms's clock); a new connection gets at most
 * `connect_timeout_ms` of it. With `pool` NULL the connection is new and closed afterwards.
 * Thread-safe. */
wire_outcome wire_exchange(wire_pool *pool, const upstream_instance *instance,
                           const wire_request *request, long long deadline_ms,
                           long connect_timeout_ms, wire_answer *answer);

/* Where wire_response_read gets its bytes: appends up to `room` bytes at `into` and returns how
 * many, 0 at the end of the stream, -1 on an error or when time ran out (a socket, or a buffer in
 * the tests and the fuzzer). */
typedef ssize_t (*wire_fill_fn)(void *source, char *into, size_t room);

/* The answer parser, apart from sockets: reads one answer from `fill` into `answer` (interim 1xx
 * answers skipped; no body for a HEAD, 204 or 304). Returns 1 when an answer was read and the
 * connection could carry another (keep-alive, exact framing, nothing left over), 0 when it was
 * read but the connection must close, -1 when no complete answer came (answer->error says why;
 * *got_bytes tells whether any byte of it arrived). */
int wire_response_read(wire_fill_fn fill, void *source, int head_request, wire_answer *answer,
                       int *got_bytes);

#endif
