/* Unit tests for gateway/src/forwarding.c: trusted proxy lists (addresses, CIDR, IPv6, bad
 * values), who the client is behind trusted and untrusted peers, the X-Forwarded-For an upstream
 * sees, which headers pass in each direction, and rate-limit keys. */
#include "forwarding.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static forwarding_proxies proxies;
static char err[256];

static void trust(const char *list)
{
    ck_assert_msg(forwarding_proxies_parse(&proxies, list, err, sizeof(err)) == 0, "%s: %s", list,
                  err);
}

START_TEST(test_proxy_lists_parse)
{
    trust("");
    ck_assert_uint_eq(proxies.count, 0);
    trust(NULL);
    ck_assert_uint_eq(proxies.count, 0);
    trust("10.0.0.1");
    ck_assert_uint_eq(proxies.count, 1);
    trust(" 10.0.0.0/8 , 192.168.1.7,::1, fd00::/8 ,");
    ck_assert_uint_eq(proxies.count, 4);
}
END_TEST

START_TEST(test_bad_proxy_lists_name_the_setting)
{
    static const char *const bad[] = {
        "10.0.0", "10.0.0.1/33", "::1/129", "example.com", "10.0.0.1/", "10.0.0.1/x", "1.2.3.4 5",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        ck_assert_msg(forwarding_proxies_parse(&proxies, bad[i], err, sizeof(err)) == -1, "%s",
                      bad[i]);
        ck_assert_ptr_nonnull(strstr(err, "CRM_TRUSTED_PROXIES"));
    }
    char many[2048] = "";
    for (int i = 0; i <= FORWARDING_MAX_PROXIES; i++)
        snprintf(many + strlen(many), sizeof(many) - strlen(many), "10.0.0.%d,", i);
    ck_assert_int_eq(forwarding_proxies_parse(&proxies, many, err, sizeof(err)), -1);
}
END_TEST

START_TEST(test_proxy_membership)
{
    trust("10.1.2.3/8, 192.168.1.7, fd00::/8, 2001:db8::1");
    ck_assert(forwarding_proxies_contains(&proxies, "10.0.0.1"));
    ck_assert(forwarding_proxies_contains(&proxies, "10.255.255.255"));
    ck_assert(!forwarding_proxies_contains(&proxies, "11.0.0.1"));
    ck_assert(forwarding_proxies_contains(&proxies, "192.168.1.7"));
    ck_assert(!forwarding_proxies_contains(&proxies, "192.168.1.8"));
    ck_assert(forwarding_proxies_contains(&proxies, "fd12:3456::1"));
    ck_assert(!forwarding_proxies_contains(&proxies, "fe80::1"));
    ck_assert(forwarding_proxies_contains(&proxies, "2001:db8::1"));
    ck_assert(!forwarding_proxies_contains(&proxies, "2001:db8::2"));
    ck_assert(forwarding_proxies_contains(&proxies, "::ffff:10.9.8.7")); /* mapped IPv4 */
    ck_assert(!forwarding_proxies_contains(&proxies, "unknown"));
    ck_assert(!forwarding_proxies_contains(&proxies, ""));
    trust("");
    ck_assert(!forwarding_proxies_contains(&proxies, "10.0.0.1"));
    trust("10.0.0.0/0"); /* everything IPv4, nothing IPv6 */
    ck_assert(forwarding_proxies_contains(&proxies, "8.8.8.8"));
    ck_assert(!forwarding_proxies_contains(&proxies, "::1"));
    trust("192.168.1.0/23");
    ck_assert(forwarding_proxies_contains(&proxies, "192.168.0.255"));
    ck_assert(!forwarding_proxies_contains(&proxies, "192.168.2.0"));
}
END_TEST

static void client_of(const char *peer, const char *xff, const char *want)
{
    char out[FORWARDING_ADDRESS_LEN];
    forwarding_client_address(&proxies, peer, xff, out, sizeof(out));
    ck_assert_msg(strcmp(out, want) == 0, "peer %s, X-Forwarded-For %s: got %s, want %s", peer,
                  xff ? xff : "(none)", out, want);
}

START_TEST(test_client_address)
{
    trust("10.0.0.0/8");
    /* An untrusted peer's list is ignored: it is the client. */
    client_of("203.0.113.9", "1.2.3.4", "203.0.113.9");
    client_of("203.0.113.9", NULL, "203.0.113.9");
    /* A trusted peer: the rightmost hop it did not itself trust. */
    client_of("10.0.0.2", "1.2.3.4", "1.2.3.4");
    client_of("10.0.0.2", NULL, "10.0.0.2");
    client_of("10.0.0.2", "6.6.6.6, 1.2.3.4", "1.2.3.4"); /* 6.6.6.6 is what 1.2.3.4 claimed */
    client_of("10.0.0.2", "6.6.6.6, 1.2.3.4, 10.0.0.5", "1.2.3.4");
    client_of("10.0.0.2", "1.2.3.4,10.0.0.5,10.0.0.6", "1.2.3.4");
    client_of("10.0.0.2", "  2001:db8::7  ", "2001:db8::7");
    /* Every hop trusted: the leftmost. */
    client_of("10.0.0.2", "10.0.0.9, 10.0.0.5", "10.0.0.9");
    /* Garbage stops the walk at the last believable hop. */
    client_of("10.0.0.2", "1.2.3.4, garbage", "10.0.0.2");
    client_of("10.0.0.2", "garbage, 10.0.0.5", "10.0.0.5");
    client_of("10.0.0.2", "1.2.3.4, , 10.0.0.5", "10.0.0.5");
    client_of("10.0.0.2", "", "10.0.0.2");
}
END_TEST

static void forwarded_for(const char *peer, int trusted, const char *incoming, const char *want)
{
    char *got = forwarding_for_header(peer, trusted, incoming);
    ck_assert_ptr_nonnull(got);
    ck_assert_str_eq(got, want);
    free(got);
}

START_TEST(test_forwarded_for_header)
{
    forwarded_for("203.0.113.9", 0, "1.2.3.4", "203.0.113.9"); /* a client's own list dropped */
    forwarded_for("203.0.113.9", 0, NULL, "203.0.113.9");
    forwarded_for("10.0.0.2", 1, "1.2.3.4", "1.2.3.4, 10.0.0.2");
    forwarded_for("10.0.0.2", 1, "6.6.6.6, 1.2.3.4", "6.6.6.6, 1.2.3.4, 10.0.0.2");
    forwarded_for("10.0.0.2", 1, NULL, "10.0.0.2");
    forwarded_for("10.0.0.2", 1, "", "10.0.0.2");
    /* A line break would split the header upstream (found by tests/fuzz/gateway_headers). */
    forwarded_for("10.0.0.2", 1, "\r", "10.0.0.2");
    forwarded_for("10.0.0.2", 1, "1.2.3.4\r\nX-User-Id: 1", "10.0.0.2");
}
END_TEST

START_TEST(test_peer_address)
{
    char out[FORWARDING_ADDRESS_LEN];
    struct sockaddr_in v4 = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.2", &v4.sin_addr);
    forwarding_peer_address((struct sockaddr *)&v4, out, sizeof(out));
    ck_assert_str_eq(out, "127.0.0.2");
    struct sockaddr other = {.sa_family = AF_UNIX};
    forwarding_peer_address(&other, out, sizeof(out));
    ck_assert_str_eq(out, "unknown");
    forwarding_peer_address(NULL, out, sizeof(out));
    ck_assert_str_eq(out, "unknown");
}
END_TEST

START_TEST(test_request_headers)
{
    static const char *const pass[] = {
        "Authorization", "Content-Type", "Accept",          "If-Match", "If-None-Match",
        "User-Agent",    "Origin",       "Accept-Language", "X-Custom", "Cookie",
    };
    for (size_t i = 0; i < sizeof(pass) / sizeof(pass[0]); i++)
        ck_assert_msg(forwarding_request_header_passes(pass[i], NULL, 0), "%s", pass[i]);
    static const char *const dropped[] = {
        /* hop-by-hop */
        "Connection",
        "keep-alive",
        "TE",
        "Trailer",
        "Transfer-Encoding",
        "Upgrade",
        "Proxy-Authorization",
        "Proxy-Connection",
        /* set by the gateway */
        "Host",
        "Content-Length",
        "Expect",
        "X-Request-Id",
        "x-forwarded-for",
        "Forwarded",
        "X-Real-IP",
        /* identity */
        "X-User-Id",
        "X-User-Role",
        "x-userid",
        "X-Principal",
        "X-Principal-Role",
        "X-Auth-User",
        "X-Auth-Request-Email",
        "X-Authenticated-User",
        "X-Remote-User",
        "Remote-User",
        "X-Forwarded-User",
        "X-Forwarded-Email",
        "X-Forwarded-Groups",
        "X-Role",
        "X-Roles",
        "X-Consumer-Id",
        "X-Credential-Identifier",
        "X-Identity",
        "X-JWT-Claims",
        /* method and URL overrides */
        "X-HTTP-Method-Override",
        "X-Original-URL",
        "X-Rewrite-URL",
    };
    for (size_t i = 0; i < sizeof(dropped) / sizeof(dropped[0]); i++) {
        ck_assert_msg(!forwarding_request_header_passes(dropped[i], NULL, 0), "%s", dropped[i]);
        ck_assert_msg(!forwarding_request_header_passes(dropped[i], NULL, 1), "%s", dropped[i]);
    }
    /* Connection names more hop-by-hop headers. */
    ck_assert(!forwarding_request_header_passes("X-Secret", "keep-alive, X-Secret", 0));
    ck_assert(!forwarding_request_header_passes("x-secret", " X-Other ,X-SECRET ", 0));
    ck_assert(forwarding_request_header_passes("X-Secret", "keep-alive, X-Secret-2", 0));
    ck_assert(forwarding_request_header_passes("X-Secret", "", 0));
    /* The rest of X-Forwarded-* only from a trusted proxy. */
    ck_assert(!forwarding_request_header_passes("X-Forwarded-Proto", NULL, 0));
    ck_assert(forwarding_request_header_passes("X-Forwarded-Proto", NULL, 1));
    ck_assert(forwarding_request_header_passes("X-Forwarded-Host", NULL, 1));
    ck_assert(!forwarding_request_header_passes("X-Forwarded-User", NULL, 1));
}
END_TEST

START_TEST(test_response_headers)
{
    static const char *const pass[] = {
        "Content-Type", "ETag",          "Location", "Retry-After", "WWW-Authenticate",
        "Vary",         "Cache-Control", "Date",     "X-Custom",
    };
    for (size_t i = 0; i < sizeof(pass) / sizeof(pass[0]); i++)
        ck_assert_msg(forwarding_response_header_passes(pass[i], NULL), "%s", pass[i]);
    static const char *const dropped[] = {
        "Connection",
        "Keep-Alive",
        "Transfer-Encoding",
        "Upgrade",
        "Trailer",
        "Proxy-Authenticate",
        "Content-Length",
        "X-Request-Id",
        "Access-Control-Allow-Origin",
        "access-control-allow-credentials",
    };
    for (size_t i = 0; i < sizeof(dropped) / sizeof(dropped[0]); i++)
        ck_assert_msg(!forwarding_response_header_passes(dropped[i], NULL), "%s", dropped[i]);
    ck_assert(!forwarding_response_header_passes("X-Hop", "close, X-Hop"));
}
END_TEST

START_TEST(test_rate_keys)
{
    char key[FORWARDING_ADDRESS_LEN];
    forwarding_rate_key("203.0.113.9", key, sizeof(key));
    ck_assert_str_eq(key, "203.0.113.9");
    forwarding_rate_key("2001:db8:1:2:3:4:5:6", key, sizeof(key));
    ck_assert_str_eq(key, "2001:db8:1:2::/64");
    char other[FORWARDING_ADDRESS_LEN];
    forwarding_rate_key("2001:db8:1:2:ffff::1", other, sizeof(other));
    ck_assert_str_eq(key, other); /* one /64, one bucket */
    forwarding_rate_key("unknown", key, sizeof(key));
    ck_assert_str_eq(key, "unknown");
}
END_TEST

static Suite *forwarding_suite(void)
{
    Suite *suite = suite_create("forwarding");
    TCase *tc = tcase_create("policy");
    tcase_add_test(tc, test_proxy_lists_parse);
    tcase_add_test(tc, test_bad_proxy_lists_name_the_setting);
    tcase_add_test(tc, test_proxy_membership);
    tcase_add_test(tc, test_client_address);
    tcase_add_test(tc, test_forwarded_for_header);
    tcase_add_test(tc, test_peer_address);
    tcase_add_test(tc, test_request_headers);
    tcase_add_test(tc, test_response_headers);
    tcase_add_test(tc, test_rate_keys);
    suite_add_tcase(suite, tc);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(forwarding_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
