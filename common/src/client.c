/* The client of client.h: libcurl easy handles in an idle pool shared by every thread (their
 * connection caches keep the connections alive, whichever thread made them, even after it
 * exits), instances tried in order until one answers. */
#include "crm/client.h"

#include "crm/log.h"
#include "crm/util.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLIENT_MAX_BODY     (1024 * 1024) /* the answers we read are single resources */
#define CLIENT_IDLE_HANDLES 32            /* idle handles kept, with their connections */
#define CLIENT_IDLE_SECONDS 15.0          /* and for how long at most */

typedef struct idle_handle {
    CURL *handle;
    double since; /* monotonic seconds when it was given back */
} idle_handle;

struct crm_client {
    long connect_timeout_ms;
    long timeout_ms;
    pthread_mutex_t idle_lock;
    idle_handle idle[CLIENT_IDLE_HANDLES]; /* the most recently used last */
    size_t idle_count;
};

typedef struct buffer {
    char *data;
    size_t len;
    int too_large;
} buffer;

/* libcurl's global state, made by the first client: only the executables that call other
 * services pay for it (it initialises GnuTLS, libssh2 and with it OpenSSL: about 1.4 MB of
 * libcrypto made resident). Clients are made at start, before serving, so no other thread uses
 * libcurl yet, as curl_global_init requires; the state lives until the process exits. */
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_start(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

crm_client *crm_client_new(long connect_timeout_ms, long timeout_ms)
{
    pthread_once(&curl_once, curl_start);
    crm_client *client = calloc(1, sizeof(*client));
    if (!client)
        return NULL;
    client->connect_timeout_ms = connect_timeout_ms;
    client->timeout_ms = timeout_ms;
    if (pthread_mutex_init(&client->idle_lock, NULL) != 0) {
        free(client);
        return NULL;
    }
    return client;
}

void crm_client_free(crm_client *client)
{
    if (!client)
        return;
    for (size_t i = 0; i < client->idle_count; i++)
        curl_easy_cleanup(client->idle[i].handle);
    pthread_mutex_destroy(&client->idle_lock);
    free(client);
}

/* A handle left unused for CLIENT_IDLE_SECONDS is released with its connections, so a burst
 * does not leave its handles behind for good. Under the lock: moves the expired handles (the
 * oldest, at the bottom) into `expired` and returns how many. */
static size_t idle_expire(crm_client *client, double now, CURL **expired)
{
    size_t n = 0;
    while (n < client->idle_count && now - client->idle[n].since > CLIENT_IDLE_SECONDS)
        n++;
    for (size_t i = 0; i < n; i++)
        expired[i] = client->idle[i].handle;
    client->idle_count -= n;
    memmove(client->idle, client->idle + n, client->idle_count * sizeof(*client->idle));
    return n;
}

static void handles_release(CURL **handles, size_t count)
{
    for (size_t i = 0; i < count; i++)
        curl_easy_cleanup(handles[i]);
}

static CURL *handle_take(crm_client *client)
{
    CURL *handle = NULL, *expired[CLIENT_IDLE_HANDLES];
    double now = crm_monotonic_seconds();
    pthread_mutex_lock(&client->idle_lock);
    size_t n = idle_expire(client, now, expired);
    if (client->idle_count > 0)
        handle = client->idle[--client->idle_count].handle;
    pthread_mutex_unlock(&client->idle_lock);
    handles_release(expired, n);
    return handle ? handle : curl_easy_init();
}

static void handle_give(crm_client *client, CURL *handle)
{
    CURL *expired[CLIENT_IDLE_HANDLES];
    double now = crm_monotonic_seconds();
    if (!handle)
        return;
    pthread_mutex_lock(&client->idle_lock);
    size_t n = idle_expire(client, now, expired);
    if (client->idle_count < CLIENT_IDLE_HANDLES) {
        client->idle[client->idle_count++] = (idle_handle){handle, now};
        handle = NULL;
    }
    pthread_mutex_unlock(&client->idle_lock);
    handles_release(expired, n);
    curl_easy_cleanup(handle);
}

static size_t on_body(char *data, size_t size, size_t count, void *context)
{
    buffer *b = context;
    size_t n = size * count;
    if (b->len + n > CLIENT_MAX_BODY) {
        b->too_large = 1;
        return 0;
    }
    char *grown = realloc(b->data, b->len + n + 1);
    if (!grown)
        return 0;
    memcpy(grown + b->len, data, n);
    b->data = grown;
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

/* One attempt on one instance: the status, or -1 when it did not answer. */
static long get_once(crm_client *client, CURL *handle, const char *url, struct curl_slist *headers,
                     buffer *b)
{
    curl_easy_reset(handle); /* keeps the connection cache */
    curl_easy_setopt(handle, CURLOPT_URL, url);
    curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(handle, CURLOPT_PROXY, ""); /* never an http_proxy from the environment */
    curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, client->timeout_ms);
    curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, client->connect_timeout_ms);
    curl_easy_setopt(handle, CURLOPT_MAXAGE_CONN, 10L);
    curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(handle, CURLOPT_WRITEDATA, b);
    CURLcode code = curl_easy_perform(handle);
    if (code != CURLE_OK) {
        CRM_LOG_WARN("upstream GET failed: %s", curl_easy_strerror(code));
        return -1;
    }
    long status = 0;
    curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

static struct curl_slist *headers_new(const char *authorization, const char *request_id)
{
    char line[8192];
    struct curl_slist *list = curl_slist_append(NULL, "Accept: application/json");
    if (list && authorization && strlen(authorization) < sizeof(line) - 32) {
        snprintf(line, sizeof(line), "Authorization: %s", authorization);
        struct curl_slist *grown = curl_slist_append(list, line);
        list = grown ? grown : list;
    }
    if (list && request_id && strlen(request_id) < 200) {
        snprintf(line, sizeof(line), "X-Request-Id: %s", request_id);
        struct curl_slist *grown = curl_slist_append(list, line);
        list = grown ? grown : list;
    }
    return list;
}

long crm_client_get(crm_client *client, const char *base_urls, const char *path,
                    const char *authorization, const char *request_id, json_t **body)
{
    long status = -1;
    if (body)
        *body = NULL;
    CURL *handle = handle_take(client);
    struct curl_slist *headers = headers_new(authorization, request_id);
    if (!handle || !headers)
        goto done;
    for (const char *item = base_urls; item && *item && status < 0;) {
        size_t len = strcspn(item, ",");
        char url[2048];
        buffer b = {0};
        if (len + strlen(path) < sizeof(url)) {
            snprintf(url, sizeof(url), "%.*s%s", (int)len, item, path);
            status = get_once(client, handle, url, headers, &b);
        }
        if (status >= 0 && body && b.data && !b.too_large)
            *body = json_loadb(b.data, b.len, JSON_REJECT_DUPLICATES, NULL);
        free(b.data);
        item = item[len] == ',' ? item + len + 1 : NULL;
    }
done:
    handle_give(client, handle);
    curl_slist_free_all(headers);
    return status;
}
