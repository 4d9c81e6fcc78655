/* Upstream groups from configuration: round-robin picking with a cool-down for instances that
 * refused, and the readiness probes. */
#include "upstreams.h"

#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int upstream_instance_parse(upstream_instance *instance)
{
    const char *url = instance->url;
    if (strncmp(url, "http://", 7) != 0)
        return -1;
    const char *authority = url + 7, *slash = strchr(authority, '/');
    size_t authority_len = slash ? (size_t)(slash - authority) : strlen(authority);
    const char *host = authority, *port = NULL;
    size_t host_len = authority_len;
    if (authority_len > 0 && authority[0] == '[') { /* [v6 address] */
        const char *close = memchr(authority, ']', authority_len);
        if (!close)
            return -1;
        host = authority + 1;
        host_len = (size_t)(close - host);
        if (close + 1 < authority + authority_len) {
            if (close[1] != ':')
                return -1;
            port = close + 2;
        }
    } else {
        const char *colon = memchr(authority, ':', authority_len);
        if (colon) {
            host_len = (size_t)(colon - authority);
            port = colon + 1;
        }
    }
    size_t port_len = port ? (size_t)(authority + authority_len - port) : 0;
    if (host_len == 0 ||
        (port && (port_len == 0 || port_len > 5 || strspn(port, "0123456789") < port_len ||
                  strtol(port, NULL, 10) < 1 || strtol(port, NULL, 10) > 65535)))
        return -1;
    snprintf(instance->port, sizeof(instance->port), "%.*s", (int)port_len, port ? port : "");
    if (!port)
        snprintf(instance->port, sizeof(instance->port), "80");
    instance->authority = strndup(authority, authority_len);
    instance->host = strndup(host, host_len);
    instance->prefix = slash ? slash : "";
    return instance->authority && instance->host ? 0 : -1;
}

static int group_init(upstream_group *group, const char *name, const char *variable,
                      const char *list, char *err, size_t err_len)
{
    group->name = name;
    const char *item = list;
    while (*item) {
        size_t len = strcspn(item, ",");
        if (group->count == UPSTREAM_MAX_INSTANCES) {
            snprintf(err, err_len, "%s lists more than %d instances", variable,
                     UPSTREAM_MAX_INSTANCES);
            return -1;
        }
        while (len > 0 && item[len - 1] == '/') /* "http://h:1/" and "http://h:1" are one */
            len--;
        upstream_instance *instance = &group->instances[group->count];
        instance->url = strndup(item, len);
        group->count++;
        if (!instance->url || upstream_instance_parse(instance) != 0) {
            snprintf(err, err_len, "%s: \"%.*s\" is not an http://host[:port][/path] URL", variable,
                     (int)(len > 64 ? 64 : len), item);
            return -1;
        }
        item += strcspn(item, ",");
        if (*item == ',')
            item++;
    }
    return 0;
}

int upstreams_init(upstreams *all, const crm_settings *settings, char *err, size_t err_len)
{
    memset(all, 0, sizeof(*all));
    if (group_init(&all->auth, "auth", "CRM_AUTH_URL", settings->auth_url, err, err_len) != 0 ||
        group_init(&all->customers, "customers", "CRM_CUSTOMERS_URL", settings->customers_url, err,
                   err_len) != 0 ||
        group_init(&all->cases, "cases", "CRM_CASES_URL", settings->cases_url, err, err_len) != 0) {
        upstreams_clean(all);
        return -1;
    }
    return 0;
}

static void group_clean(upstream_group *group)
{
    for (size_t i = 0; i < group->count; i++) {
        upstream_instance *instance = &group->instances[i];
        free(instance->url);
        free(instance->authority);
        free(instance->host);
        instance->url = instance->authority = instance->host = NULL;
    }
    group->count = 0;
}

void upstreams_clean(upstreams *all)
{
    if (!all)
        return;
    group_clean(&all->auth);
    group_clean(&all->customers);
    group_clean(&all->cases);
}

long long upstream_now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

size_t upstream_group_pick(upstream_group *group, long long now_ms,
                           upstream_instance *order[UPSTREAM_MAX_INSTANCES])
{
    size_t picked = 0;
    if (group->count == 0)
        return 0;
    unsigned int start = atomic_fetch_add(&group->next, 1u) % (unsigned int)group->count;
    size_t cooling = group->count;
    /* Healthy instances from the front, cooling ones from the back (then put in ring order):
     * while one instance restarts, another may refuse for a moment too, and trying it costs a
     * refused connect where skipping it would cost the client a 503. */
    for (size_t i = 0; i < group->count; i++) {
        upstream_instance *instance = &group->instances[(start + i) % group->count];
        if (atomic_load(&instance->unhealthy_until) <= now_ms)
            order[picked++] = instance;
        else
            order[--cooling] = instance;
    }
    for (size_t i = picked, j = group->count - 1; i < j; i++, j--) {
        upstream_instance *swap = order[i];
        order[i] = order[j];
        order[j] = swap;
    }
    return group->count;
}

void upstream_instance_mark_down(upstream_instance *instance, long long now_ms)
{
    atomic_store(&instance->unhealthy_until, now_ms + UPSTREAM_COOLDOWN_MS);
}

/* GET /healthz on a connection of its own, 500 ms for the whole exchange. */
static int instance_ready(const upstream_instance *instance)
{
    wire_answer answer;
    const wire_request request = {.method = "GET", .target = "/healthz", .replayable = 1};
    if (wire_answer_init(&answer, 65536) != 0)
        return 0;
    wire_outcome outcome =
        wire_exchange(NULL, instance, &request, upstream_now_ms() + 500, 500, &answer);
    int ready = outcome == WIRE_ANSWERED && answer.status == 200;
    wire_answer_clean(&answer);
    return ready;
}

int upstream_group_ready(void *context)
{
    upstream_group *group = context;
    for (size_t i = 0; i < group->count; i++) {
        if (instance_ready(&group->instances[i]))
            return 1;
    }
    return 0;
}
