/* Upstream groups from configuration: round-robin picking with a cool-down for instances that
 * refused, and the readiness probes. */
#include "upstreams.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
        group->instances[group->count].url = strndup(item, len);
        if (!group->instances[group->count].url) {
            snprintf(err, err_len, "out of memory");
            return -1;
        }
        group->count++;
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
        free(group->instances[i].url);
        group->instances[i].url = NULL;
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

static size_t discard_body(char *data, size_t size, size_t count, void *context)
{
    (void)data;
    (void)context;
    return size * count;
}

static int instance_ready(const char *base_url)
{
    char url[512];
    long status = 0;
    CURL *curl = curl_easy_init();
    if (!curl)
        return 0;
    snprintf(url, sizeof(url), "%s/healthz", base_url);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 500L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROXY, ""); /* never an http_proxy from the environment */
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard_body);
    if (curl_easy_perform(curl) == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(curl);
    return status == 200;
}

int upstream_group_ready(void *context)
{
    upstream_group *group = context;
    for (size_t i = 0; i < group->count; i++) {
        if (instance_ready(group->instances[i].url))
            return 1;
    }
    return 0;
}
