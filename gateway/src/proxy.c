/* The forwarder of proxy.h: libcurl easy handles taken from an idle pool for each request (their
 * connection caches are what keep upstream connections alive), one attempt per instance until one
 * is sent, and the answer relayed or turned into a problem. */
#include "proxy.h"

#include "crm/log.h"
#include "crm/problem.h"
#include "crm/util.h"
#include "forwarding.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ulfius.h>

typedef struct idle_handle {
    CURL *handle;
    double since; /* monotonic seconds when it was given back */
} idle_handle;

struct proxy {
    long connect_timeout_ms;
    long timeout_ms;
    long idle_seconds; /* a connection idle longer is not reused */
    long connections;  /* idle connections one worker keeps */
    crm_metrics *metrics;
    pthread_mutex_t idle_lock;
    idle_handle idle[PROXY_IDLE_HANDLES]; /* handles not in use, the most recently used last */
    size_t idle_count;
};

typedef enum attempt_outcome {
    ATTEMPT_NOT_SENT = 0, /* never left the gateway: the next instance may take it */
    ATTEMPT_ANSWERED,
    ATTEMPT_TIMED_OUT,
    ATTEMPT_FAILED, /* sent (or maybe sent), then no usable answer */
} attempt_outcome;

/* One attempt's state, filled by libcurl's callbacks. */
typedef struct exchange {
    int replayable;     /* GET, HEAD, OPTIONS: safe for libcurl to resend */
    int sends;          /* how often libcurl was about to send the request */
    int replay_refused; /* libcurl wanted to resend a write and was stopped */
    int too_large;      /* the answer passed PROXY_MAX_RESPONSE */
    long status;
    long connects;         /* new TCP connections this attempt opened */
    struct _u_map headers; /* as the upstream sent them; filtered when relayed */
    char *body;
    size_t len, cap;
    char error[CURL_ERROR_SIZE];
} exchange;

/* ---- handles ---- */

/* A handle (and the connections its cache holds) belongs to no thread: a request takes the
 * handle used last and gives it back, so upstream connections outlive the client connection
 * whose thread opened them (with a thread per connection, per-thread handles would have opened
 * new upstream connections for every new client connection). A handle left unused longer than
 * libcurl would reuse its connections (idle_seconds) is released with them, so a burst does not
 * leave its handles behind for good. */
static void handles_release(CURL **handles, size_t count)
{
    for (size_t i = 0; i < count; i++)
        curl_easy_cleanup(handles[i]);
}

/* Moves the handles idle for too long (the oldest, at the bottom) into `expired`; under the
 * lock. Returns how many. */
static size_t idle_expire(proxy *forwarder, double now, CURL **expired)
{
    size_t n = 0;
    while (n < forwarder->idle_count &&
           now - forwarder->idle[n].since > (double)forwarder->idle_seconds)
        n++;
    for (size_t i = 0; i < n; i++)
        expired[i] = forwarder->idle[i].handle;
    forwarder->idle_count -= n;
    memmove(forwarder->idle, forwarder->idle + n, forwarder->idle_count * sizeof(*forwarder->idle));
    return n;
}

static CURL *handle_take(proxy *forwarder)
{
    CURL *handle = NULL, *expired[PROXY_IDLE_HANDLES];
    double now = crm_monotonic_seconds();
    pthread_mutex_lock(&forwarder->idle_lock);
    size_t n = idle_expire(forwarder, now, expired);
    if (forwarder->idle_count > 0)
        handle = forwarder->idle[--forwarder->idle_count].handle;
    pthread_mutex_unlock(&forwarder->idle_lock);
    handles_release(expired, n);
    return handle ? handle : curl_easy_init();
}

static void handle_give(proxy *forwarder, CURL *handle)
{
    CURL *expired[PROXY_IDLE_HANDLES];
    double now = crm_monotonic_seconds();
    if (!handle)
        return;
    pthread_mutex_lock(&forwarder->idle_lock);
    size_t n = idle_expire(forwarder, now, expired);
    if (forwarder->idle_count < PROXY_IDLE_HANDLES) {
        forwarder->idle[forwarder->idle_count++] = (idle_handle){handle, now};
        handle = NULL;
    }
    pthread_mutex_unlock(&forwarder->idle_lock);
    handles_release(expired, n);
    curl_easy_cleanup(handle); /* more idle than kept: its connections close */
}

proxy *proxy_new(const crm_settings *settings, crm_metrics *metrics, size_t connections)
{
    proxy *forwarder = calloc(1, sizeof(*forwarder));
    if (!forwarder)
        return NULL;
    forwarder->connect_timeout_ms = settings->upstream_connect_timeout_ms;
    forwarder->timeout_ms = settings->upstream_timeout_ms;
    /* Well inside the services' idle limit, so the gateway never reuses a connection that the
     * service is about to close: that race is the one case where a request might be lost. */
    forwarder->idle_seconds = settings->http_connection_timeout_seconds / 2;
    if (forwarder->idle_seconds < 1)
        forwarder->idle_seconds = 1;
    forwarder->connections = connections > 5 ? (long)connections : 5;
    forwarder->metrics = metrics;
    if (pthread_mutex_init(&forwarder->idle_lock, NULL) != 0) {
        free(forwarder);
        return NULL;
    }
    return forwarder;
}

void proxy_free(proxy *forwarder)
{
    if (!forwarder)
        return;
    for (size_t i = 0; i < forwarder->idle_count; i++)
        curl_easy_cleanup(forwarder->idle[i].handle);
    pthread_mutex_destroy(&forwarder->idle_lock);
    free(forwarder);
}

/* ---- libcurl callbacks ---- */

/* Called each time libcurl is about to send the request on a connection. A second call means
 * libcurl is resending it on a fresh connection because a reused one died without answering:
 * the first copy may have been processed, so a write stops here. */
static int on_send(void *user, char *upstream_ip, char *local_ip, int upstream_port, int local_port)
{
    exchange *ex = user;
    (void)upstream_ip;
    (void)local_ip;
    (void)upstream_port;
    (void)local_port;
    if (++ex->sends > 1 && !ex->replayable) {
        ex->replay_refused = 1;
        return CURL_PREREQFUNC_ABORT;
    }
    return CURL_PREREQFUNC_OK;
}

static size_t on_header(char *data, size_t size, size_t count, void *user)
{
    exchange *ex = user;
    size_t n = size * count, len = n;
    char status[8];
    while (len > 0 && (data[len - 1] == '\r' || data[len - 1] == '\n'))
        len--;
    if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) { /* a new response: forget an interim one */
        const char *space = memchr(data, ' ', len);
        size_t digits = space ? len - (size_t)(space + 1 - data) : 0;
        snprintf(status, sizeof(status), "%.*s", (int)(digits < 3 ? digits : 3),
                 space ? space + 1 : "");
        ex->status = strtol(status, NULL, 10);
        u_map_empty(&ex->headers);
        return n;
    }
    const char *colon = memchr(data, ':', len);
    if (len == 0 || data[0] == ' ' || data[0] == '\t' || !colon || colon == data)
        return n; /* the blank line, obsolete line folding, or not a header */
    const char *value = colon + 1;
    while (value < data + len && (*value == ' ' || *value == '\t'))
        value++;
    while (len > (size_t)(value - data) && (data[len - 1] == ' ' || data[len - 1] == '\t'))
        len--;
    char *name = strndup(data, (size_t)(colon - data));
    char *text = strndup(value, (size_t)(data + len - value));
    char *joined = NULL;
    const char *previous = name ? u_map_get(&ex->headers, name) : NULL;
    if (previous && text && asprintf(&joined, "%s, %s", previous, text) < 0)
        joined = NULL;
    int ok = name && text && (!previous || joined) &&
             u_map_put(&ex->headers, name, joined ? joined : text) == U_OK;
    free(name);
    free(text);
    free(joined);
    return ok ? n : 0;
}

static size_t on_body(char *data, size_t size, size_t count, void *user)
{
    exchange *ex = user;
    size_t n = size * count;
    if (ex->len + n > PROXY_MAX_RESPONSE) {
        ex->too_large = 1;
        return 0;
    }
    if (ex->len + n > ex->cap) {
        size_t cap = ex->cap ? ex->cap * 2 : 16384;
        while (cap < ex->len + n)
            cap *= 2;
        char *grown = realloc(ex->body, cap);
        if (!grown)
            return 0;
        ex->body = grown;
        ex->cap = cap;
    }
    memcpy(ex->body + ex->len, data, n);
    ex->len += n;
    return n;
}

/* ---- one request ---- */

static struct curl_slist *line_append(struct curl_slist *list, const char *line, int *failed)
{
    struct curl_slist *grown = *failed ? NULL : curl_slist_append(list, line);
    if (!grown)
        *failed = 1;
    return grown ? grown : list;
}

static struct curl_slist *header_append(struct curl_slist *list, const char *name,
                                        const char *value, int *failed)
{
    char *line = NULL;
    /* For libcurl "Name:" would remove a header; "Name;" sends it with an empty value. */
    int len = value[0] ? asprintf(&line, "%s: %s", name, value) : asprintf(&line, "%s;", name);
    if (len < 0) {
        *failed = 1;
        return list;
    }
    list = line_append(list, line, failed);
    free(line);
    return list;
}

struct curl_slist *proxy_request_headers(const proxy_request *forward)
{
    const struct _u_map *map = forward->request->map_header;
    const char **keys = u_map_enum_keys(map), **values = u_map_enum_values(map);
    const char *connection = u_map_get_case(map, "Connection");
    const char *request_id = crm_log_request_id();
    struct curl_slist *list = NULL;
    int failed = 0, has_type = 0, has_accept = 0;

    for (size_t i = 0; keys && keys[i]; i++) {
        if (!forwarding_request_header_passes(keys[i], connection, forward->peer_trusted) ||
            strpbrk(keys[i], "\r\n") || strpbrk(values[i], "\r\n"))
            continue;
        has_type |= strcasecmp(keys[i], "Content-Type") == 0;
        has_accept |= strcasecmp(keys[i], "Accept") == 0;
        list = header_append(list, keys[i], values[i], &failed);
    }
    list = header_append(list, "X-Request-Id", request_id ? request_id : "", &failed);
    list = header_append(list, "X-Forwarded-For", forward->forwarded_for, &failed);
    /* libcurl's defaults would change the request: no 100-continue round trip, no form content
     * type for a body without one, no Accept the client did not send. */
    list = line_append(list, "Expect:", &failed);
    if (!has_type)
        list = line_append(list, "Content-Type:", &failed);
    if (!has_accept)
        list = line_append(list, "Accept:", &failed);
    if (failed) {
        curl_slist_free_all(list);
        return NULL;
    }
    return list;
}

static void method_setup(CURL *handle, const struct _u_request *request)
{
    const char *method = request->http_verb;
    size_t len = request->binary_body_length;
    int body_method =
        strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 || strcmp(method, "PATCH") == 0;
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(handle, CURLOPT_NOBODY, 1L);
        return;
    }
    if (len == 0 && !body_method) {
        if (strcmp(method, "GET") != 0)
            curl_easy_setopt(handle, CURLOPT_CUSTOMREQUEST, method);
        return;
    }
    /* Not copied: the request outlives the transfer. */
    curl_easy_setopt(handle, CURLOPT_POSTFIELDS, len ? (const char *)request->binary_body : "");
    curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    if (strcmp(method, "POST") != 0)
        curl_easy_setopt(handle, CURLOPT_CUSTOMREQUEST, method);
}

static int exchange_init(exchange *ex, const struct _u_request *request)
{
    const char *method = request->http_verb;
    memset(ex, 0, sizeof(*ex));
    ex->replayable =
        strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0 || strcmp(method, "OPTIONS") == 0;
    return u_map_init(&ex->headers) == U_OK ? 0 : -1;
}

static void exchange_clean(exchange *ex)
{
    u_map_clean(&ex->headers);
    free(ex->body);
}

static attempt_outcome attempt(proxy *forwarder, CURL *handle, const upstream_instance *instance,
                               const proxy_request *forward, struct curl_slist *headers,
                               long long remaining_ms, exchange *ex)
{
    char *url = NULL;
    if (asprintf(&url, "%s%s", instance->url, forward->request->http_url) < 0)
        return ATTEMPT_FAILED;
    curl_easy_reset(handle); /* keeps the connection cache */
    curl_easy_setopt(handle, CURLOPT_URL, url);
    curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http");
    curl_easy_setopt(handle, CURLOPT_PROXY, ""); /* never an http_proxy from the environment */
    curl_easy_setopt(handle, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(handle, CURLOPT_PATH_AS_IS, 1L); /* the path the gateway routed, verbatim */
    curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, (long)remaining_ms);
    curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(remaining_ms < forwarder->connect_timeout_ms
                                ? remaining_ms
                                : forwarder->connect_timeout_ms));
    curl_easy_setopt(handle, CURLOPT_MAXCONNECTS, forwarder->connections);
    curl_easy_setopt(handle, CURLOPT_MAXAGE_CONN, forwarder->idle_seconds);
    curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(handle, CURLOPT_PREREQFUNCTION, on_send);
    curl_easy_setopt(handle, CURLOPT_PREREQDATA, ex);
    curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(handle, CURLOPT_HEADERDATA, ex);
    curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(handle, CURLOPT_WRITEDATA, ex);
    curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, ex->error);
    method_setup(handle, forward->request);

    CURLcode code = curl_easy_perform(handle);
    free(url);
    curl_easy_getinfo(handle, CURLINFO_NUM_CONNECTS, &ex->connects);
    curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, NULL); /* ex->error dies with the attempt */
    if (code == CURLE_OK)
        return ATTEMPT_ANSWERED;
    if (!ex->error[0])
        snprintf(ex->error, sizeof(ex->error), "%s", curl_easy_strerror(code));
    /* Never sent, or a read that died on a stale connection and then found no new one. */
    if (ex->sends == 0 || (ex->replayable && code == CURLE_COULDNT_CONNECT))
        return ATTEMPT_NOT_SENT;
    return code == CURLE_OPERATION_TIMEDOUT ? ATTEMPT_TIMED_OUT : ATTEMPT_FAILED;
}

static void relay(const exchange *ex, struct _u_response *response)
{
    const char *connection = u_map_get_case(&ex->headers, "Connection");
    const char **keys = u_map_enum_keys(&ex->headers), **values = u_map_enum_values(&ex->headers);
    for (size_t i = 0; keys && keys[i]; i++) {
        if (forwarding_response_header_passes(keys[i], connection))
            u_map_put(response->map_header, keys[i], values[i]);
    }
    if (ex->len > 0)
        ulfius_set_binary_body_response(response, (unsigned int)ex->status, ex->body, ex->len);
    else
        ulfius_set_empty_body_response(response, (unsigned int)ex->status);
}

static void count(proxy *forwarder, const upstream_group *group, const char *outcome)
{
    char labels[96];
    snprintf(labels, sizeof(labels), "upstream=\"%s\",outcome=\"%s\"", group->name, outcome);
    crm_metrics_counter_add_labelled(forwarder->metrics, "crm_gateway_upstream_requests_total",
                                     "Requests forwarded to a service, by outcome.", labels, 1);
}

/* The latency of an answered attempt and the connections an attempt opened. */
static void observe(proxy *forwarder, const upstream_group *group, const exchange *ex, int answered,
                    double seconds)
{
    char labels[48];
    snprintf(labels, sizeof(labels), "upstream=\"%s\"", group->name);
    if (ex->connects > 0)
        crm_metrics_counter_add_labelled(
            forwarder->metrics, "crm_gateway_upstream_connections_total",
            "TCP connections the gateway opened to services.", labels, (double)ex->connects);
    if (answered)
        crm_metrics_histogram_observe(forwarder->metrics, "crm_gateway_upstream_duration_seconds",
                                      "Time for a service to answer the gateway.", labels, seconds);
}

static void answer_failure(proxy *forwarder, const upstream_group *group, attempt_outcome outcome,
                           int too_large, struct _u_response *response)
{
    switch (outcome) {
    case ATTEMPT_NOT_SENT:
        count(forwarder, group, "refused");
        crm_problem_send(response, CRM_PROBLEM_UPSTREAM_UNAVAILABLE,
                         "the %s service is unavailable", group->name);
        return;
    case ATTEMPT_TIMED_OUT:
        count(forwarder, group, "timeout");
        crm_problem_send(response, CRM_PROBLEM_UPSTREAM_TIMEOUT,
                         "the %s service did not answer within %ld ms", group->name,
                         forwarder->timeout_ms);
        return;
    default:
        count(forwarder, group, "failed");
        crm_problem_send(response, CRM_PROBLEM_UPSTREAM_UNAVAILABLE,
                         too_large ? "the %s service's answer is too large"
                                   : "the %s service failed while answering",
                         group->name);
        return;
    }
}

void proxy_forward(proxy *forwarder, upstream_group *group, const proxy_request *forward,
                   struct _u_response *response)
{
    upstream_instance *order[UPSTREAM_MAX_INSTANCES];
    long long started = upstream_now_ms(), deadline = started + forwarder->timeout_ms;
    size_t candidates = upstream_group_pick(group, started, order);
    attempt_outcome outcome = ATTEMPT_NOT_SENT;
    int too_large = 0;
    struct curl_slist *headers = NULL;
    CURL *handle = NULL;

    if (candidates == 0) {
        count(forwarder, group, "no_instance");
        crm_problem_send(response, CRM_PROBLEM_SERVICE_UNAVAILABLE,
                         "no instance of the %s service is available; retry shortly", group->name);
        return;
    }
    handle = handle_take(forwarder);
    headers = proxy_request_headers(forward);
    if (!handle || !headers) {
        crm_problem_send(response, CRM_PROBLEM_INTERNAL, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < candidates && outcome == ATTEMPT_NOT_SENT; i++) {
        exchange ex;
        long long now = upstream_now_ms();
        if (now >= deadline) {
            outcome = ATTEMPT_TIMED_OUT;
            break;
        }
        if (exchange_init(&ex, forward->request) != 0) {
            crm_problem_send(response, CRM_PROBLEM_INTERNAL, "out of memory");
            goto done;
        }
        double begun = crm_monotonic_seconds();
        outcome = attempt(forwarder, handle, order[i], forward, headers, deadline - now, &ex);
        observe(forwarder, group, &ex, outcome == ATTEMPT_ANSWERED,
                crm_monotonic_seconds() - begun);
        if (outcome == ATTEMPT_ANSWERED) {
            relay(&ex, response);
            count(forwarder, group, "answered");
        } else if (outcome == ATTEMPT_NOT_SENT) {
            upstream_instance_mark_down(order[i], upstream_now_ms());
            CRM_LOG_WARN("%s instance %s unreachable, skipped for %d ms: %s", group->name,
                         order[i]->url, UPSTREAM_COOLDOWN_MS, ex.error);
        } else {
            too_large = ex.too_large;
            CRM_LOG_WARN("%s instance %s: %s%s", group->name, order[i]->url, ex.error,
                         ex.replay_refused ? " (a write is never resent)" : "");
        }
        exchange_clean(&ex);
    }
    if (outcome != ATTEMPT_ANSWERED)
        answer_failure(forwarder, group, outcome, too_large, response);
done:
    handle_give(forwarder, handle);
    curl_slist_free_all(headers);
}
