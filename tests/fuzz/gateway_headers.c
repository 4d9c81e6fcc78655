/* Fuzz harness: what the gateway reads from a client's headers before and while forwarding: the
 * client address behind trusted proxies (X-Forwarded-For), the rate-limit key made from it, the
 * X-Forwarded-For and header lines sent upstream (hop-by-hop and forged identity headers dropped,
 * no CR or LF passed on), which upstream answer headers go back, and the CORS headers for an
 * Origin (answers and preflights). The two settings the gateway parses at start
 * (CRM_TRUSTED_PROXIES, CRM_CORS_ORIGINS) come from the input too.
 *
 * Input: lines. 0 trusted proxies, 1 CORS origins (a bad list falls back to a fixed one, as a
 * gateway would not start with it), 2 the peer (an IPv4 address as the socket gives it; anything
 * else stands for 127.0.0.1), 3 X-Forwarded-For, 4 Connection, 5 Origin, 6
 * Access-Control-Request-Method, 7 an upstream's Vary; each further line "Name: value" is one more
 * request header. */
#include "cors.h"
#include "forwarding.h"
#include "fuzz_support.h"
#include "proxy.h"
#include "ratelimit.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ulfius.h>

#define DEFAULT_PROXIES "127.0.0.1, 10.0.0.0/8, ::1, fd00::/8"
#define DEFAULT_ORIGINS "https://app.example.com, http://localhost:3000"

static ratelimit *limiter;
static double clock_seconds;

static int is_address(const char *text)
{
    unsigned char bytes[16];
    return inet_pton(AF_INET, text, bytes) == 1 || inet_pton(AF_INET6, text, bytes) == 1;
}

/* The header block sent upstream: "Name: value" lines, each ended by CR LF and holding no other
 * CR or LF, so no client byte can end a line or the head early. */
static void check_upstream_lines(const char *text, int trusted)
{
    for (const char *line = text; *line;) {
        const char *end = strstr(line, "\r\n");
        FUZZ_CHECK(end != NULL);
        size_t len = (size_t)(end - line);
        FUZZ_CHECK(len > 0); /* a blank line would end the head */
        FUZZ_CHECK(memchr(line, '\r', len) == NULL && memchr(line, '\n', len) == NULL);
        size_t name_len = strcspn(line, ":");
        FUZZ_CHECK(name_len < len);
        char name[256];
        if (name_len < sizeof(name)) {
            memcpy(name, line, name_len);
            name[name_len] = '\0';
            /* A forged identity never passes, whoever the peer is. */
            FUZZ_CHECK(strncasecmp(name, "x-user", 6) != 0);
            FUZZ_CHECK(strncasecmp(name, "x-auth", 6) != 0);
            FUZZ_CHECK(strcasecmp(name, "transfer-encoding") != 0);
            FUZZ_CHECK(strcasecmp(name, "content-length") != 0);
            FUZZ_CHECK(strcasecmp(name, "host") != 0);
            if (!trusted)
                FUZZ_CHECK(strncasecmp(name, "x-forwarded-", 12) != 0 ||
                           strcasecmp(name, "x-forwarded-for") == 0);
        }
        line = end + 2;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_fields lines;
    forwarding_proxies proxies;
    cors_policy cors;
    struct _u_request request;
    struct _u_response response;
    char err[256], client[FORWARDING_ADDRESS_LEN], rate_key[FORWARDING_ADDRESS_LEN], key[96];
    ratelimit_result limit;

    fuzz_quiet();
    if (!limiter)
        limiter = ratelimit_new(5.0, 10, 64);
    fuzz_fields_split(&lines, data, size, '\n', FUZZ_MAX_FIELDS);
    if (forwarding_proxies_parse(&proxies, fuzz_field(&lines, 0), err, sizeof(err)) != 0)
        FUZZ_CHECK(forwarding_proxies_parse(&proxies, DEFAULT_PROXIES, err, sizeof(err)) == 0);
    if (cors_policy_init(&cors, fuzz_field(&lines, 1), err, sizeof(err)) != 0) {
        cors_policy_clean(&cors);
        FUZZ_CHECK(cors_policy_init(&cors, DEFAULT_ORIGINS, err, sizeof(err)) == 0);
    }
    unsigned char v4[4];
    const char *peer =
        inet_pton(AF_INET, fuzz_field(&lines, 2), v4) == 1 ? fuzz_field(&lines, 2) : "127.0.0.1";
    const char *forwarded_for = lines.count > 3 ? fuzz_field(&lines, 3) : NULL;

    /* Who the client is, and the bucket it takes from (routes.c: limit_take). */
    int trusted = forwarding_proxies_contains(&proxies, peer);
    forwarding_client_address(&proxies, peer, forwarded_for, client, sizeof(client));
    FUZZ_CHECK(strcmp(client, peer) == 0 || (trusted && is_address(client)));
    forwarding_rate_key(client, rate_key, sizeof(rate_key));
    snprintf(key, sizeof(key), "ip:%s", rate_key);
    clock_seconds += 0.01;
    ratelimit_take(limiter, key, clock_seconds, &limit);
    FUZZ_CHECK(limit.remaining >= 0 && limit.remaining <= limit.limit);

    /* The request as ulfius parsed it. */
    fuzz_request_init(&request, "GET", "/api/customers", NULL, 0);
    fuzz_request_header(&request, "X-Forwarded-For", forwarded_for);
    fuzz_request_header(&request, "Connection", lines.count > 4 ? fuzz_field(&lines, 4) : NULL);
    fuzz_request_header(&request, "Origin", lines.count > 5 ? fuzz_field(&lines, 5) : NULL);
    fuzz_request_header(&request, "Access-Control-Request-Method",
                        lines.count > 6 ? fuzz_field(&lines, 6) : NULL);
    for (size_t i = 8; i < lines.count; i++) {
        char *line = strdup(lines.field[i]);
        char *colon = strchr(line, ':');
        if (colon && colon != line) {
            *colon = '\0';
            const char *value = colon + 1;
            value += strspn(value, " \t");
            fuzz_request_header(&request, line, value);
        }
        free(line);
    }

    /* What goes upstream (proxy.c, routes.c: handle_forward). */
    char *xff = forwarding_for_header(peer, trusted, forwarded_for);
    FUZZ_CHECK(xff != NULL);
    FUZZ_CHECK(trusted || strcmp(xff, peer) == 0);
    proxy_request forward = {&request, xff, trusted};
    char *upstream = proxy_request_headers(&forward);
    FUZZ_CHECK(upstream != NULL);
    check_upstream_lines(upstream, trusted);
    free(upstream);
    free(xff);

    /* Which of the same names an upstream's answer could pass back. */
    const char *connection = u_map_get_case(request.map_header, "Connection");
    const char **names = u_map_enum_keys(request.map_header);
    for (size_t i = 0; names && names[i]; i++) {
        if (forwarding_response_header_passes(names[i], connection))
            FUZZ_CHECK(strncasecmp(names[i], "access-control-", 15) != 0);
    }

    /* CORS on an answer and on a preflight. */
    ulfius_init_response(&response);
    if (lines.count > 7 && fuzz_field(&lines, 7)[0])
        u_map_put(response.map_header, "Vary", fuzz_field(&lines, 7));
    cors_response_decorate(&cors, &request, &response);
    const char *allowed = u_map_get_case(response.map_header, "Access-Control-Allow-Origin");
    FUZZ_CHECK(!allowed || cors_origin_allowed(&cors, allowed));
    ulfius_clean_response(&response);
    ulfius_init_response(&response);
    cors_preflight_decorate(&cors, &request, &response, "GET, POST");
    FUZZ_CHECK(!u_map_get_case(response.map_header, "Access-Control-Allow-Methods") ||
               cors_origin_allowed(&cors, u_map_get_case(request.map_header, "Origin")));
    ulfius_clean_response(&response);

    ulfius_clean_request(&request);
    cors_policy_clean(&cors);
    fuzz_fields_clean(&lines);
    return 0;
}
