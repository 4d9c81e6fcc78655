/* Forwarding one request to an upstream group over keep-alive connections shared by all threads
 * through an idle pool (wire.h), so the TCP connections to each instance stay open and are reused
 * (never one per request, nor one per client connection).
 *
 * Retries: a request moves on to the group's next instance only when it was never sent (the
 * connection was refused or could not be made); such an instance sits out a short cool-down.
 * Once a request may have reached an instance it is never replayed elsewhere, and a write
 * (anything but GET, HEAD, OPTIONS) is not even replayed on a fresh connection to the same
 * instance when a reused connection dies without answering. */
#ifndef GATEWAY_PROXY_H
#define GATEWAY_PROXY_H

#include "crm/config.h"
#include "crm/metrics.h"
#include "upstreams.h"

#include <stddef.h>

struct _u_request;
struct _u_response;

#define PROXY_MAX_RESPONSE     (16u * 1024 * 1024) /* a larger upstream answer is a 502 */
#define PROXY_IDLE_CONNECTIONS 256 /* idle upstream connections kept, all instances together */

typedef struct proxy proxy;

/* What to forward: the request as ulfius parsed it, plus what the gateway decided about it. */
typedef struct proxy_request {
    const struct _u_request *request;
    const char *forwarded_for; /* the X-Forwarded-For to send */
    int peer_trusted;          /* keeps the client's other X-Forwarded-* headers */
} proxy_request;

/* Creates the forwarder: timeouts from CRM_UPSTREAM_CONNECT_TIMEOUT_MS and
 * CRM_UPSTREAM_TIMEOUT_MS; idle connections are dropped before CRM_HTTP_CONNECTION_TIMEOUT_SECONDS
 * (the services' own idle limit) so a reused connection is not one the service is closing.
 * Counters and latency go to `metrics` (borrowed). Returns NULL when out of memory. */
proxy *proxy_new(const crm_settings *settings, crm_metrics *metrics);

/* Releases the forwarder and closes its idle connections; accepts NULL. Call after the HTTP
 * workers have ended. */
void proxy_free(proxy *forwarder);

/* The header lines that go upstream ("Name: value\r\n" each): the client's that pass
 * forwarding.h's policy and hold no CR or LF, then the gateway's own (X-Request-Id,
 * X-Forwarded-For). NULL when out of memory; the caller frees it. Exposed for tests and fuzzing;
 * proxy_forward uses it. */
char *proxy_request_headers(const proxy_request *forward);

/* Forwards `forward` to `group` and answers `response` with the upstream's status, headers
 * (hop-by-hop ones removed) and body, or with a problem: 503 when every instance is cooling
 * down, 502 when every instance refused or the exchange failed after sending, 504 when
 * CRM_UPSTREAM_TIMEOUT_MS ran out (it bounds the whole call, failovers included). Method, path and
 * query go upstream exactly as received. Call from an HTTP worker thread. */
void proxy_forward(proxy *forwarder, upstream_group *group, const proxy_request *forward,
                   struct _u_response *response);

#endif
