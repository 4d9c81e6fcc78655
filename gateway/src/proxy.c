/* The forwarder of proxy.h: one exchange per instance (wire.h) until one is sent, and the answer
 * relayed or turned into a problem. */
#include "proxy.h"

#include "crm/log.h"
#include "crm/problem.h"
#include "crm/util.h"
#include "forwarding.h"
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ulfius.h>

struct proxy {
    long connect_timeout_ms;
    long timeout_ms;
    crm_metrics *metrics;
    wire_pool *pool; /* idle upstream connections, shared by every worker */
};

proxy *proxy_new(const crm_settings *settings, crm_metrics *metrics)
{
    proxy *forwarder = calloc(1, sizeof(*forwarder));
    if (!forwarder)
        return NULL;
    forwarder->connect_timeout_ms = settings->upstream_connect_timeout_ms;
    forwarder->timeout_ms = settings->upstream_timeout_ms;
    forwarder->metrics = metrics;
    /* Well inside the services' idle limit, so the gateway never reuses a connection that the
     * service is about to close: that race is the one case where a write might be lost. */
    long idle_ms = settings->http_connection_timeout_seconds * 1000 / 2;
    forwarder->pool = wire_pool_new(idle_ms > 1000 ? idle_ms : 1000, PROXY_IDLE_CONNECTIONS);
    if (!forwarder->pool) {
        free(forwarder);
        return NULL;
    }
    return forwarder;
}

void proxy_free(proxy *forwarder)
{
    if (!forwarder)
        return;
    wire_pool_free(forwarder->pool);
    free(forwarder);
}

/* ---- one request ---- */

typedef struct lines {
    char *text;
    size_t len, cap;
    int failed;
} lines;

static void lines_add(lines *out, const char *name, const char *value)
{
    size_t name_len = strlen(name), value_len = strlen(value), need = name_len + value_len + 5;
    if (out->failed)
        return;
    if (out->len + need > out->cap) {
        size_t cap = out->cap ? out->cap : 1024;
        while (cap < out->len + need)
            cap *= 2;
        char *grown = realloc(out->text, cap);
        if (!grown) {
            out->failed = 1;
            return;
        }
        out->text = grown;
        out->cap = cap;
    }
    char *p = out->text + out->len;
    memcpy(p, name, name_len);
    p += name_len;
    memcpy(p, ": ", 2);
    memcpy(p + 2, value, value_len);
    memcpy(p + 2 + value_len, "\r\n", 3); /* with the NUL */
    out->len += need - 1;
}

char *proxy_request_headers(const proxy_request *forward)
{
    const struct _u_map *map = forward->request->map_header;
    const char **keys = u_map_enum_keys(map), **values = u_map_enum_values(map);
    const char *connection = u_map_get_case(map, "Connection");
    const char *request_id = crm_log_request_id();
    lines out = {0};

    for (size_t i = 0; keys && keys[i]; i++) {
        if (!forwarding_request_header_passes(keys[i], connection, forward->peer_trusted) ||
            strpbrk(keys[i], "\r\n") || strpbrk(values[i], "\r\n"))
            continue;
        lines_add(&out, keys[i], values[i]);
    }
    lines_add(&out, "X-Request-Id", request_id ? request_id : "");
    lines_add(&out, "X-Forwarded-For", forward->forwarded_for);
    if (out.failed) {
        free(out.text);
        return NULL;
    }
    return out.text ? out.text : strdup("");
}

static void relay(const wire_answer *answer, struct _u_response *response)
{
    const char *connection = u_map_get_case(&answer->headers, "Connection");
    const char **keys = u_map_enum_keys(&answer->headers);
    const char **values = u_map_enum_values(&answer->headers);
    for (size_t i = 0; keys && keys[i]; i++) {
        if (forwarding_response_header_passes(keys[i], connection))
            u_map_put(response->map_header, keys[i], values[i]);
    }
    if (answer->len > 0)
        ulfius_set_binary_body_response(response, (unsigned int)answer->status, answer->body,
                                        answer->len);
    else
        ulfius_set_empty_body_response(response, (unsigned int)answer->status);
}

static void count(proxy *forwarder, const upstream_group *group, const char *outcome)
{
    char labels[96];
    snprintf(labels, sizeof(labels), "upstream=\"%s\",outcome=\"%s\"", group->name, outcome);
    crm_metrics_counter_add_labelled(forwarder->metrics, "crm_gateway_upstream_requests_total",
                                     "Requests forwarded to a service, by outcome.", labels, 1);
}

/* The latency of an answered attempt and the connections an attempt opened. */
static void observe(proxy *forwarder, const upstream_group *group, const wire_answer *answer,
                    int answered, double seconds)
{
    char labels[48];
    snprintf(labels, sizeof(labels), "upstream=\"%s\"", group->name);
    if (answer->connects > 0)
        crm_metrics_counter_add_labelled(
            forwarder->metrics, "crm_gateway_upstream_connections_total",
            "TCP connections the gateway opened to services.", labels, (double)answer->connects);
    if (answered)
        crm_metrics_histogram_observe(forwarder->metrics, "crm_gateway_upstream_duration_seconds",
                                      "Time for a service to answer the gateway.", labels, seconds);
}

static void answer_failure(proxy *forwarder, const upstream_group *group, wire_outcome outcome,
                           int too_large, struct _u_response *response)
{
    switch (outcome) {
    case WIRE_NOT_SENT:
        count(forwarder, group, "refused");
        crm_problem_send(response, CRM_PROBLEM_UPSTREAM_UNAVAILABLE,
                         "the %s service is unavailable", group->name);
        return;
    case WIRE_TIMED_OUT:
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
    const struct _u_request *request = forward->request;
    long long started = upstream_now_ms(), deadline = started + forwarder->timeout_ms;
    size_t candidates = upstream_group_pick(group, started, order);
    wire_outcome outcome = WIRE_NOT_SENT;
    int too_large = 0;

    if (candidates == 0) {
        count(forwarder, group, "no_instance");
        crm_problem_send(response, CRM_PROBLEM_SERVICE_UNAVAILABLE,
                         "no instance of the %s service is available; retry shortly", group->name);
        return;
    }
    const char *method = request->http_verb;
    wire_request out = {
        .method = method,
        .target = request->http_url,
        .header_lines = proxy_request_headers(forward),
        .body = request->binary_body,
        .body_len = request->binary_body_length,
        .replayable = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0 ||
                      strcmp(method, "OPTIONS") == 0,
    };
    if (!out.header_lines) {
        crm_problem_send(response, CRM_PROBLEM_INTERNAL, "out of memory");
        return;
    }
    for (size_t i = 0; i < candidates && outcome == WIRE_NOT_SENT; i++) {
        wire_answer answer;
        if (upstream_now_ms() >= deadline) {
            outcome = WIRE_TIMED_OUT;
            break;
        }
        if (wire_answer_init(&answer, PROXY_MAX_RESPONSE) != 0) {
            crm_problem_send(response, CRM_PROBLEM_INTERNAL, "out of memory");
            goto done;
        }
        double begun = crm_monotonic_seconds();
        outcome = wire_exchange(forwarder->pool, order[i], &out, deadline,
                                forwarder->connect_timeout_ms, &answer);
        observe(forwarder, group, &answer, outcome == WIRE_ANSWERED,
                crm_monotonic_seconds() - begun);
        if (outcome == WIRE_ANSWERED) {
            relay(&answer, response);
            count(forwarder, group, "answered");
        } else if (outcome == WIRE_NOT_SENT) {
            upstream_instance_mark_down(order[i], upstream_now_ms());
            CRM_LOG_WARN("%s instance %s unreachable, skipped for %d ms: %s", group->name,
                         order[i]->url, UPSTREAM_COOLDOWN_MS, answer.error);
        } else {
            too_large = answer.too_large;
            CRM_LOG_WARN("%s instance %s: %s%s", group->name, order[i]->url, answer.error,
                         answer.replay_refused ? " (a write is never resent)" : "");
        }
        wire_answer_clean(&answer);
    }
    if (outcome != WIRE_ANSWERED)
        answer_failure(forwarder, group, outcome, too_large, response);
done:
    free((char *)out.header_lines);
}
