/* Unit tests for gateway/src/wire.c's answer parser, fed from memory in pieces of every size (a
 * socket may cut an answer anywhere), and for the instance addresses upstreams.c derives. The
 * exchange over sockets (pool, reuse, replays, timeouts) is covered end to end by
 * test_gateway_proxy and test_gateway_failover. */
#include "upstreams.h"
#include "wire.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct memory_source {
    const char *data;
    size_t len, pos, piece; /* at most `piece` bytes per fill */
} memory_source;

static ssize_t memory_fill(void *context, char *into, size_t room)
{
    memory_source *source = context;
    size_t n = source->len - source->pos;
    if (n > source->piece)
        n = source->piece;
    if (n > room)
        n = room;
    memcpy(into, source->data + source->pos, n);
    source->pos += n;
    return (ssize_t)n;
}

static wire_answer answer;

static void teardown(void)
{
    wire_answer_clean(&answer);
}

/* Parses `text` cut into pieces of each size from 1 to 17 and whole; every cut must agree.
 * Returns the parser's result; `answer` holds the last parse. */
static int parse(const char *text, int head_request, size_t max_body)
{
    int first = -2;
    size_t pieces[] = {1, 2, 3, 5, 7, 11, 13, 17, 1 << 20};
    for (size_t i = 0; i < sizeof(pieces) / sizeof(*pieces); i++) {
        memory_source source = {text, strlen(text), 0, pieces[i]};
        wire_answer_clean(&answer);
        ck_assert_int_eq(wire_answer_init(&answer, max_body), 0);
        int got = 0, result = wire_response_read(memory_fill, &source, head_request, &answer, &got);
        if (first == -2)
            first = result;
        ck_assert_int_eq(result, first);
        ck_assert_int_eq(got, source.len > 0);
    }
    return first;
}

static const char *header(const char *name)
{
    return u_map_get_case(&answer.headers, name);
}

START_TEST(test_content_length_keeps_the_connection)
{
    ck_assert_int_eq(parse("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                           "Content-Length: 7\r\n\r\n{\"a\":1}",
                           0, 1024),
                     1);
    ck_assert_int_eq(answer.status, 200);
    ck_assert_uint_eq(answer.len, 7);
    ck_assert_int_eq(memcmp(answer.body, "{\"a\":1}", 7), 0);
    ck_assert_str_eq(header("content-type"), "application/json");
}
END_TEST

START_TEST(test_chunked_is_joined)
{
    ck_assert_int_eq(parse("HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
                           "4\r\nabcd\r\n3;ext=1\r\nefg\r\n0\r\nTrailer: x\r\n\r\n",
                           0, 1024),
                     1);
    ck_assert_int_eq(answer.status, 201);
    ck_assert_uint_eq(answer.len, 7);
    ck_assert_int_eq(memcmp(answer.body, "abcdefg", 7), 0);
}
END_TEST

START_TEST(test_without_framing_the_body_ends_with_the_connection)
{
    ck_assert_int_eq(parse("HTTP/1.1 200 OK\r\n\r\nuntil the end", 0, 1024), 0);
    ck_assert_uint_eq(answer.len, 13);
}
END_TEST

START_TEST(test_no_body_for_head_204_304)
{
    ck_assert_int_eq(parse("HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", 1, 1024), 1);
    ck_assert_uint_eq(answer.len, 0);
    ck_assert_int_eq(parse("HTTP/1.1 204 No Content\r\n\r\n", 0, 1024), 1);
    ck_assert_int_eq(parse("HTTP/1.1 304 Not Modified\r\nETag: \"3\"\r\n\r\n", 0, 1024), 1);
    ck_assert_str_eq(header("ETag"), "\"3\"");
}
END_TEST

START_TEST(test_interim_answers_are_skipped)
{
    ck_assert_int_eq(parse("HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\n"
                           "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
                           0, 1024),
                     1);
    ck_assert_int_eq(answer.status, 200);
    ck_assert_ptr_null(header("X-Interim"));
}
END_TEST

START_TEST(test_close_and_http10_end_the_connection)
{
    ck_assert_int_eq(
        parse("HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 0\r\n\r\n", 0,
              1024),
        0);
    ck_assert_int_eq(parse("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", 0, 1024), 0);
    ck_assert_int_eq(answer.status, 200);
}
END_TEST

/* Only what has arrived can be seen, so this one is read whole. */
START_TEST(test_bytes_past_the_answer_end_the_connection)
{
    static const char text[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200";
    memory_source source = {text, sizeof(text) - 1, 0, sizeof(text)};
    ck_assert_int_eq(wire_answer_init(&answer, 1024), 0);
    ck_assert_int_eq(wire_response_read(memory_fill, &source, 0, &answer, NULL), 0);
    ck_assert_uint_eq(answer.len, 2);
}
END_TEST

START_TEST(test_repeated_headers_are_joined)
{
    ck_assert_int_eq(parse("HTTP/1.1 200 OK\r\nVary: Origin\r\nVary:  Accept \r\n"
                           "Content-Length: 0\r\n\r\n",
                           0, 1024),
                     1);
    ck_assert_str_eq(header("Vary"), "Origin, Accept");
}
END_TEST

START_TEST(test_malformed_answers_fail)
{
    const char *bad[] = {
        "",
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc",            /* closed early */
        "HTTP/2 200 OK\r\n\r\n",                                      /* not HTTP/1.x */
        "HTTP/1.1 20 OK\r\n\r\n",                                     /* two digits */
        "HTTP/1.1 600 Odd\r\n\r\n",                                   /* no such class */
        "HTTP/1.1 200OK\r\n\r\n",                                     /* no space */
        "HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n",                   /* a line without a colon */
        "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",                     /* a space in a name */
        "HTTP/1.1 200 OK\r\nA: 1\r\n folded\r\n\r\n",                 /* obsolete folding */
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",              /* a sign */
        "HTTP/1.1 200 OK\r\nContent-Length: 1, 1\r\n\r\nx",           /* a list */
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",         /* not chunked */
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nz\r\n", /* not hex */
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n", /* overlong */
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n",  /* no last chunk */
        "HTTP/1.1 101 Switching Protocols\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        ck_assert_msg(parse(bad[i], 0, 1024) == -1, "accepted: %s", bad[i]);
        ck_assert_msg(answer.error[0] != '\0', "no reason for: %s", bad[i]);
    }
}
END_TEST

START_TEST(test_a_nul_in_the_head_fails)
{
    static const char text[] = "HTTP/1.1 200 OK\r\nA: x\0y\r\nContent-Length: 0\r\n\r\n";
    memory_source source = {text, sizeof(text) - 1, 0, 64};
    ck_assert_int_eq(wire_answer_init(&answer, 1024), 0);
    ck_assert_int_eq(wire_response_read(memory_fill, &source, 0, &answer, NULL), -1);
}
END_TEST

START_TEST(test_bodies_past_the_limit_fail_as_too_large)
{
    ck_assert_int_eq(parse("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n0123456789a", 0, 10), -1);
    ck_assert_int_eq(answer.too_large, 1);
    ck_assert_int_eq(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                           "6\r\n012345\r\n6\r\n678901\r\n0\r\n\r\n",
                           0, 10),
                     -1);
    ck_assert_int_eq(answer.too_large, 1);
    ck_assert_int_eq(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                           "ffffffffffffffffffff\r\n",
                           0, 10),
                     -1);
    ck_assert_int_eq(answer.too_large, 1);
    ck_assert_int_eq(parse("HTTP/1.1 200 OK\r\n\r\n0123456789abcdef", 0, 10), -1);
    ck_assert_int_eq(answer.too_large, 1);
}
END_TEST

START_TEST(test_an_endless_head_fails)
{
    size_t lines = WIRE_MAX_HEAD / 14 + 10, len = 0; /* 14 bytes a line without CR LF */
    char *text = malloc(lines * 16 + 64);
    ck_assert_ptr_nonnull(text);
    len += (size_t)sprintf(text, "HTTP/1.1 200 OK\r\n");
    for (size_t i = 0; i < lines; i++)
        len += (size_t)sprintf(text + len, "X-L%08zu: v\r\n", i);
    sprintf(text + len, "\r\n");
    memory_source source = {text, strlen(text), 0, 4096};
    ck_assert_int_eq(wire_answer_init(&answer, 1024), 0);
    ck_assert_int_eq(wire_response_read(memory_fill, &source, 0, &answer, NULL), -1);
    ck_assert_ptr_nonnull(strstr(answer.error, "too large"));
    free(text);
}
END_TEST

static upstream_instance instance;

static void instance_clean(void)
{
    free(instance.url);
    free(instance.authority);
    free(instance.host);
    memset(&instance, 0, sizeof(instance));
}

static int address(const char *url)
{
    instance_clean();
    instance.url = strdup(url);
    return upstream_instance_parse(&instance);
}

START_TEST(test_instance_addresses)
{
    ck_assert_int_eq(address("http://127.0.0.1:8081"), 0);
    ck_assert_str_eq(instance.host, "127.0.0.1");
    ck_assert_str_eq(instance.port, "8081");
    ck_assert_str_eq(instance.authority, "127.0.0.1:8081");
    ck_assert_str_eq(instance.prefix, "");
    ck_assert_int_eq(address("http://crm-cases/base"), 0);
    ck_assert_str_eq(instance.host, "crm-cases");
    ck_assert_str_eq(instance.port, "80");
    ck_assert_str_eq(instance.prefix, "/base");
    ck_assert_int_eq(address("http://[::1]:9/x"), 0);
    ck_assert_str_eq(instance.host, "::1");
    ck_assert_str_eq(instance.port, "9");
    ck_assert_str_eq(instance.authority, "[::1]:9");
    const char *bad[] = {"https://a:1", "http://",          "http://:80",  "http://a:",
                         "http://a:8x", "http://a:1234567", "http://[::1", "http://[::1]x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
        ck_assert_msg(address(bad[i]) == -1, "accepted %s", bad[i]);
    instance_clean();
}
END_TEST

static Suite *wire_suite(void)
{
    Suite *suite = suite_create("wire");
    TCase *tc = tcase_create("answers");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, test_content_length_keeps_the_connection);
    tcase_add_test(tc, test_chunked_is_joined);
    tcase_add_test(tc, test_without_framing_the_body_ends_with_the_connection);
    tcase_add_test(tc, test_no_body_for_head_204_304);
    tcase_add_test(tc, test_interim_answers_are_skipped);
    tcase_add_test(tc, test_close_and_http10_end_the_connection);
    tcase_add_test(tc, test_bytes_past_the_answer_end_the_connection);
    tcase_add_test(tc, test_repeated_headers_are_joined);
    tcase_add_test(tc, test_malformed_answers_fail);
    tcase_add_test(tc, test_a_nul_in_the_head_fails);
    tcase_add_test(tc, test_bodies_past_the_limit_fail_as_too_large);
    tcase_add_test(tc, test_an_endless_head_fails);
    tcase_add_test(tc, test_instance_addresses);
    suite_add_tcase(suite, tc);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(wire_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
