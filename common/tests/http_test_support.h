/* Shared by the HTTP unit tests: a free loopback port and a libcurl client that records the
 * status, the body (parsed when it is JSON) and every response header, plus the assertion that a
 * response is an RFC 9457 problem. Header-only: every function is static inline, so a test file
 * that leaves one unused still builds with -Werror. Call curl_global_init once in main. */
#ifndef CRM_HTTP_TEST_SUPPORT_H
#define CRM_HTTP_TEST_SUPPORT_H

#include <arpa/inet.h>
#include <check.h>
#include <curl/curl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* One answer. Release with reply_clean. */
typedef struct reply {
    long status;
    char *body; /* NUL-terminated; NULL when the answer has no body */
    size_t len;
    json_t *json; /* the body parsed, when it is JSON */
    char content_type[128];
    char allow[128];
    char request_id[256];
    size_t request_id_count; /* how many X-Request-Id headers came */
    char *headers;           /* every header line as received, NUL-terminated */
    size_t headers_len;
} reply;

typedef struct http_test_upload {
    const char *data;
    size_t len, sent;
} http_test_upload;

/* A port nobody listens on: bind port 0, read it back, close. */
static inline long http_test_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = 0};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&address, sizeof(address)), 0);
    socklen_t len = sizeof(address);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&address, &len), 0);
    close(fd);
    return ntohs(address.sin_port);
}

/* Appends `n` bytes to a NUL-terminated growing buffer; returns 0 on out of memory. */
static inline size_t http_test_append(char **buffer, size_t *len, const char *data, size_t n)
{
    char *grown = realloc(*buffer, *len + n + 1);
    if (!grown)
        return 0;
    memcpy(grown + *len, data, n);
    *buffer = grown;
    *len += n;
    (*buffer)[*len] = '\0';
    return n;
}

static inline size_t http_test_on_body(char *data, size_t size, size_t count, void *user)
{
    reply *r = user;
    return http_test_append(&r->body, &r->len, data, size * count);
}

static inline size_t http_test_on_header(char *data, size_t size, size_t count, void *user)
{
    reply *r = user;
    return http_test_append(&r->headers, &r->headers_len, data, size * count);
}

static inline size_t http_test_on_read(char *buffer, size_t size, size_t count, void *user)
{
    http_test_upload *u = user;
    size_t n = size * count;
    if (n > u->len - u->sent)
        n = u->len - u->sent;
    memcpy(buffer, u->data + u->sent, n);
    u->sent += n;
    return n;
}

/* A write callback that drops the body. */
static inline size_t http_test_discard(char *data, size_t size, size_t count, void *user)
{
    (void)data;
    (void)user;
    return size * count;
}

/* How many `name` headers the answer had; the value of the first one (trimmed) into `out`
 * ("" when there is none). */
static inline size_t reply_header(const reply *r, const char *name, char *out, size_t out_len)
{
    size_t found = 0, name_len = strlen(name);
    out[0] = '\0';
    for (const char *line = r->headers; line && *line;) {
        size_t line_len = strcspn(line, "\r\n");
        if (line_len > name_len && line[name_len] == ':' &&
            strncasecmp(line, name, name_len) == 0) {
            const char *value = line + name_len + 1;
            size_t value_len = line_len - name_len - 1;
            while (value_len > 0 && (*value == ' ' || *value == '\t')) {
                value++;
                value_len--;
            }
            while (value_len > 0 && (value[value_len - 1] == ' ' || value[value_len - 1] == '\t'))
                value_len--;
            if (found++ == 0)
                snprintf(out, out_len, "%.*s", (int)value_len, value);
        }
        line += line_len;
        line += strspn(line, "\r\n");
    }
    return found;
}

static inline void reply_clean(reply *r)
{
    free(r->body);
    free(r->headers);
    json_decref(r->json);
    memset(r, 0, sizeof(*r));
}

/* Sends one request to 127.0.0.1:`port`. `content_type` NULL sends none; `body` NULL sends no
 * body; `chunked` sends the body without Content-Length. `headers` is a NULL-terminated list of
 * extra header lines (or NULL). */
static inline void http_test_request(reply *r, long port, const char *method, const char *path,
                                     const char *content_type, const char *body, size_t len,
                                     int chunked, const char *const *headers)
{
    char url[512], line[256];
    struct curl_slist *list = NULL;
    http_test_upload source = {body, len, 0};

    memset(r, 0, sizeof(*r));
    CURL *curl = curl_easy_init();
    ck_assert_ptr_nonnull(curl);
    snprintf(url, sizeof(url), "http://127.0.0.1:%ld%s", port, path);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, http_test_on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, http_test_on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROXY, "");
    list = curl_slist_append(list, "Expect:");
    snprintf(line, sizeof(line), "Content-Type:%s%s", content_type ? " " : "",
             content_type ? content_type : "");
    list = curl_slist_append(list, line);
    for (size_t i = 0; headers && headers[i]; i++)
        list = curl_slist_append(list, headers[i]);
    if (chunked) {
        list = curl_slist_append(list, "Transfer-Encoding: chunked");
        curl_easy_setopt(curl, CURLOPT_POST, 1L);
        curl_easy_setopt(curl, CURLOPT_READFUNCTION, http_test_on_read);
        curl_easy_setopt(curl, CURLOPT_READDATA, &source);
    } else if (body) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);

    CURLcode rc = curl_easy_perform(curl);
    ck_assert_msg(rc == CURLE_OK, "%s %s: %s", method, path, curl_easy_strerror(rc));
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_cleanup(curl);
    curl_slist_free_all(list);
    reply_header(r, "Content-Type", r->content_type, sizeof(r->content_type));
    reply_header(r, "Allow", r->allow, sizeof(r->allow));
    r->request_id_count = reply_header(r, "X-Request-Id", r->request_id, sizeof(r->request_id));

    if (r->body && strncmp(r->content_type, "application/", 12) == 0 &&
        strstr(r->content_type, "json"))
        r->json = json_loadb(r->body, r->len, JSON_REJECT_DUPLICATES, NULL);
}

/* The string member `key` of `object`; fails the test when it is not a string. */
static inline const char *member_string(json_t *object, const char *key)
{
    json_t *value = json_object_get(object, key);
    ck_assert_msg(json_is_string(value), "member %s is not a string", key);
    return json_string_value(value);
}

/* The response is a problem of `status` and `slug`, with the request id of its header. */
static inline void assert_problem(const reply *r, long status, const char *slug)
{
    char type[96];
    snprintf(type, sizeof(type), "/problems/%s", slug);
    ck_assert_msg(r->status == status, "status %ld, want %ld; body %s", r->status, status,
                  r->body ? r->body : "(none)");
    ck_assert_str_eq(r->content_type, "application/problem+json");
    ck_assert_msg(r->json != NULL, "body is not JSON: %s", r->body ? r->body : "(none)");
    ck_assert_str_eq(member_string(r->json, "type"), type);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "status")), status);
    ck_assert_uint_gt(strlen(member_string(r->json, "title")), 0);
    ck_assert(json_is_string(json_object_get(r->json, "detail")));
    ck_assert_uint_gt(strlen(r->request_id), 0);
    ck_assert_str_eq(member_string(r->json, "request_id"), r->request_id);
}

#endif
