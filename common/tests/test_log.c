/* Unit tests for common/src/log.c and common/src/util.c: each log line is one JSON object with
 * ts, level, service, request_id and msg, ending in exactly one newline, whatever bytes the
 * message holds; the threshold is checked before formatting; timestamps and UUIDs have the exact
 * shapes of API.md. Lines go to a temporary file through crm_log_set_fd and are read back. */
#include "crm/log.h"
#include "crm/util.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_LINES 1024

static const char TS_PATTERN[] = "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T"
                                 "([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\\.[0-9]{3}Z$";
static const char UUID_PATTERN[] =
    "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$";

static FILE *sink;
static char *raw; /* everything written so far */
static json_t *lines[MAX_LINES];
static size_t line_count;

static void setup(void)
{
    sink = tmpfile();
    ck_assert_ptr_nonnull(sink);
    /* O_APPEND: lines from several threads each land whole at the end. */
    ck_assert_int_eq(fcntl(fileno(sink), F_SETFL, O_APPEND), 0);
    crm_log_set_fd(fileno(sink));
    crm_log_set_request_id(NULL);
    raw = NULL;
    line_count = 0;
}

static void release_lines(void)
{
    for (size_t i = 0; i < line_count; i++)
        json_decref(lines[i]);
    line_count = 0;
    free(raw);
    raw = NULL;
}

static void teardown(void)
{
    release_lines();
    crm_log_set_fd(STDERR_FILENO);
    fclose(sink);
}

static int matches(const char *pattern, const char *text)
{
    regex_t re;
    ck_assert_int_eq(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
    int rc = regexec(&re, text, 0, NULL, 0);
    regfree(&re);
    return rc == 0;
}

/* Reads back everything written and parses it line by line. Every line must be a JSON object
 * with no raw control character; the text must end with a newline. Returns the line count. */
static size_t collect(void)
{
    release_lines();
    int fd = fileno(sink);
    off_t size = lseek(fd, 0, SEEK_END);
    ck_assert_int_ge(size, 0);
    raw = calloc(1, (size_t)size + 1);
    ck_assert_ptr_nonnull(raw);
    ck_assert_int_eq(pread(fd, raw, (size_t)size, 0), size);
    if (size > 0)
        ck_assert_msg(raw[size - 1] == '\n', "output does not end with a newline");

    const char *start = raw;
    while (*start) {
        const char *end = strchr(start, '\n');
        ck_assert_ptr_nonnull(end);
        ck_assert_msg(end > start, "empty line: two newlines in a row");
        for (const char *p = start; p < end; p++)
            ck_assert_msg((unsigned char)*p >= 0x20, "raw control byte 0x%02x in a line",
                          (unsigned char)*p);
        json_error_t error;
        json_t *line = json_loadb(start, (size_t)(end - start), JSON_REJECT_DUPLICATES, &error);
        ck_assert_msg(line != NULL, "not JSON (%s): %.*s", error.text, (int)(end - start), start);
        ck_assert_msg(json_is_object(line), "not an object: %.*s", (int)(end - start), start);
        ck_assert_uint_lt(line_count, MAX_LINES);
        lines[line_count++] = line;
        start = end + 1;
    }
    return line_count;
}

static const char *member_string(json_t *object, const char *key)
{
    json_t *value = json_object_get(object, key);
    ck_assert_msg(json_is_string(value), "member %s is not a string", key);
    return json_string_value(value);
}

START_TEST(test_line_members)
{
    crm_log_init("svc-test", CRM_LOG_DEBUG);
    crm_log_write(CRM_LOG_INFO, "hello %s %d", "world", 42);
    ck_assert_uint_eq(collect(), 1);
    json_t *line = lines[0];
    ck_assert_uint_eq(json_object_size(line), 5);
    const char *ts = member_string(line, "ts");
    ck_assert_msg(matches(TS_PATTERN, ts), "ts \"%s\" is not RFC 3339 with ms and Z", ts);
    ck_assert_str_eq(member_string(line, "level"), "info");
    ck_assert_str_eq(member_string(line, "service"), "svc-test");
    ck_assert(json_is_null(json_object_get(line, "request_id")));
    ck_assert_str_eq(member_string(line, "msg"), "hello world 42");

    /* Members come in the documented order. */
    const char *expected_keys[] = {"ts", "level", "service", "request_id", "msg"};
    size_t k = 0;
    const char *key;
    json_t *value;
    json_object_foreach(line, key, value)
    {
        (void)value;
        ck_assert_str_eq(key, expected_keys[k++]);
    }
}
END_TEST

START_TEST(test_ts_is_now)
{
    time_t before = time(NULL);
    crm_log_write(CRM_LOG_INFO, "tick");
    time_t after = time(NULL);
    ck_assert_uint_eq(collect(), 1);
    const char *ts = member_string(lines[0], "ts");
    struct tm tm = {0};
    const char *rest = strptime(ts, "%Y-%m-%dT%H:%M:%S", &tm);
    ck_assert_ptr_nonnull(rest);
    time_t when = timegm(&tm);
    ck_assert_int_ge(when, before);
    ck_assert_int_le(when, after);
}
END_TEST

START_TEST(test_defaults_before_init)
{
    /* Each test runs in its own process, and main never calls crm_log_init. */
    ck_assert_int_eq(crm_log_threshold, CRM_LOG_INFO);
    CRM_LOG_DEBUG("hidden");
    CRM_LOG_INFO("shown");
    ck_assert_uint_eq(collect(), 1);
    ck_assert_str_eq(member_string(lines[0], "service"), "test_log");
    ck_assert_str_eq(member_string(lines[0], "msg"), "shown");
}
END_TEST

START_TEST(test_request_id)
{
    crm_log_init("svc", CRM_LOG_DEBUG);
    ck_assert_ptr_null(crm_log_request_id());
    crm_log_write(CRM_LOG_INFO, "one");
    char id[] = "req-123.abc:def_0";
    crm_log_set_request_id(id);
    id[0] = 'X'; /* the id was copied */
    ck_assert_str_eq(crm_log_request_id(), "req-123.abc:def_0");
    crm_log_write(CRM_LOG_INFO, "two");
    crm_log_set_request_id(NULL);
    ck_assert_ptr_null(crm_log_request_id());
    crm_log_write(CRM_LOG_INFO, "three");

    ck_assert_uint_eq(collect(), 3);
    ck_assert(json_is_null(json_object_get(lines[0], "request_id")));
    ck_assert_str_eq(member_string(lines[1], "request_id"), "req-123.abc:def_0");
    ck_assert(json_is_null(json_object_get(lines[2], "request_id")));
}
END_TEST

static void *request_id_thread(void *arg)
{
    (void)arg;
    /* A new thread has no request id even when another thread set one. */
    return (void *)crm_log_request_id();
}

START_TEST(test_request_id_is_per_thread)
{
    pthread_t thread;
    void *seen = (void *)1;
    crm_log_set_request_id("main-thread");
    ck_assert_int_eq(pthread_create(&thread, NULL, request_id_thread, NULL), 0);
    ck_assert_int_eq(pthread_join(thread, &seen), 0);
    ck_assert_ptr_null(seen);
    ck_assert_str_eq(crm_log_request_id(), "main-thread");
}
END_TEST

START_TEST(test_threshold_suppresses_lower_levels)
{
    crm_log_init("svc", CRM_LOG_WARN);
    int evaluated = 0;
    CRM_LOG_DEBUG("debug %d", ++evaluated);
    CRM_LOG_INFO("info %d", ++evaluated);
    CRM_LOG_WARN("warn");
    CRM_LOG_ERROR("error");
    /* The level is checked before the arguments are evaluated or formatted. */
    ck_assert_int_eq(evaluated, 0);
    ck_assert_uint_eq(collect(), 2);
    ck_assert_str_eq(member_string(lines[0], "level"), "warn");
    ck_assert_str_eq(member_string(lines[0], "msg"), "warn");
    ck_assert_str_eq(member_string(lines[1], "level"), "error");
    ck_assert_str_eq(member_string(lines[1], "msg"), "error");
}
END_TEST

START_TEST(test_every_level_name)
{
    crm_log_init("svc", CRM_LOG_DEBUG);
    CRM_LOG_DEBUG("d");
    CRM_LOG_INFO("i");
    CRM_LOG_WARN("w");
    CRM_LOG_ERROR("e");
    ck_assert_uint_eq(collect(), 4);
    ck_assert_str_eq(member_string(lines[0], "level"), "debug");
    ck_assert_str_eq(member_string(lines[1], "level"), "info");
    ck_assert_str_eq(member_string(lines[2], "level"), "warn");
    ck_assert_str_eq(member_string(lines[3], "level"), "error");
}
END_TEST

START_TEST(test_write_fields)
{
    crm_log_init("svc", CRM_LOG_DEBUG);
    json_t *fields = json_pack("{s:i, s:s, s:b, s:n, s:{s:i}}", "status", 201, "route",
                               "/api/cases/:id", "cached", 1, "user", "nested", "depth", 2);
    ck_assert_ptr_nonnull(fields);
    crm_log_write_fields(CRM_LOG_WARN, fields, "answered %d", 201);
    ck_assert_int_eq(fields->refcount, 1); /* borrowed, not stolen */
    ck_assert_uint_eq(collect(), 1);
    json_t *line = lines[0];
    ck_assert_uint_eq(json_object_size(line), 10);
    ck_assert_str_eq(member_string(line, "level"), "warn");
    ck_assert_str_eq(member_string(line, "msg"), "answered 201");
    ck_assert_int_eq(json_integer_value(json_object_get(line, "status")), 201);
    ck_assert_str_eq(member_string(line, "route"), "/api/cases/:id");
    ck_assert(json_is_true(json_object_get(line, "cached")));
    ck_assert(json_is_null(json_object_get(line, "user")));
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(line, "nested"), "depth")),
                     2);
    /* The extra members follow msg. */
    const char *key;
    json_t *value;
    size_t position = 0, msg_position = 0, status_position = 0;
    json_object_foreach(line, key, value)
    {
        (void)value;
        if (strcmp(key, "msg") == 0)
            msg_position = position;
        if (strcmp(key, "status") == 0)
            status_position = position;
        position++;
    }
    ck_assert_uint_lt(msg_position, status_position);
    json_decref(fields);
}
END_TEST

START_TEST(test_fields_cannot_replace_base_members)
{
    crm_log_init("svc", CRM_LOG_DEBUG);
    crm_log_set_request_id("rid-1");
    json_t *fields =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:i}", "ts", "yesterday", "level", "debug", "service",
                  "other", "request_id", "forged", "msg", "replaced", "extra", 1);
    crm_log_write_fields(CRM_LOG_ERROR, fields, "original");
    json_decref(fields);
    ck_assert_uint_eq(collect(), 1);
    ck_assert_uint_eq(json_object_size(lines[0]), 6);
    ck_assert(matches(TS_PATTERN, member_string(lines[0], "ts")));
    ck_assert_str_eq(member_string(lines[0], "level"), "error");
    ck_assert_str_eq(member_string(lines[0], "service"), "svc");
    ck_assert_str_eq(member_string(lines[0], "request_id"), "rid-1");
    ck_assert_str_eq(member_string(lines[0], "msg"), "original");
}
END_TEST

START_TEST(test_write_members)
{
    crm_log_init("svc", CRM_LOG_DEBUG);
    crm_log_write_members(CRM_LOG_INFO, "\"route\":\"/api/x\",\"status\":204", "done %d", 1);
    crm_log_write_members(CRM_LOG_INFO, "", "no members");
    ck_assert_uint_eq(collect(), 2);
    ck_assert_uint_eq(json_object_size(lines[0]), 7);
    ck_assert_str_eq(member_string(lines[0], "msg"), "done 1");
    ck_assert_str_eq(member_string(lines[0], "route"), "/api/x");
    ck_assert_int_eq(json_integer_value(json_object_get(lines[0], "status")), 204);
    ck_assert_uint_eq(json_object_size(lines[1]), 5);
}
END_TEST

START_TEST(test_write_fields_null)
{
    crm_log_write_fields(CRM_LOG_INFO, NULL, "no fields");
    ck_assert_uint_eq(collect(), 1);
    ck_assert_uint_eq(json_object_size(lines[0]), 5);
    ck_assert_str_eq(member_string(lines[0], "msg"), "no fields");
}
END_TEST

START_TEST(test_hostile_message_is_one_valid_line)
{
    crm_log_init("svc", CRM_LOG_DEBUG);
    crm_log_write(CRM_LOG_INFO, "path %s end", "/a\xff\xfe\xc3(\n\r\t\x01\x1b[31m\"\\}\n{\"x\":1}");
    ck_assert_uint_eq(collect(), 1);
    ck_assert_uint_eq(json_object_size(lines[0]), 5);
    const char *msg = member_string(lines[0], "msg");
    ck_assert_int_eq(strncmp(msg, "path /a", 7), 0);
    const char *tail = "(\n\r\t\x01\x1b[31m\"\\}\n{\"x\":1} end";
    ck_assert_uint_ge(strlen(msg), strlen(tail));
    ck_assert_str_eq(msg + strlen(msg) - strlen(tail), tail);
    /* The line is one line: exactly one newline, at the end. */
    ck_assert_ptr_eq(strchr(raw, '\n'), raw + strlen(raw) - 1);
}
END_TEST

START_TEST(test_valid_utf8_is_kept)
{
    crm_log_write(CRM_LOG_INFO, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    ck_assert_uint_eq(collect(), 1);
    ck_assert_str_eq(member_string(lines[0], "msg"), "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
}
END_TEST

START_TEST(test_invalid_utf8_service_and_request_id)
{
    crm_log_init("svc\xff", CRM_LOG_DEBUG);
    crm_log_set_request_id("rid\xc3");
    crm_log_write(CRM_LOG_INFO, "ok");
    ck_assert_uint_eq(collect(), 1);
    ck_assert_int_eq(strncmp(member_string(lines[0], "service"), "svc", 3), 0);
    ck_assert_int_eq(strncmp(member_string(lines[0], "request_id"), "rid", 3), 0);
    ck_assert_str_eq(member_string(lines[0], "msg"), "ok");
}
END_TEST

START_TEST(test_long_message_is_one_line)
{
    /* Long enough to be truncated, with a two-byte character across any cut point. */
    size_t len = 10000;
    char *text = malloc(len + 1);
    for (size_t i = 0; i + 1 < len; i += 2) {
        text[i] = (char)0xc3;
        text[i + 1] = (char)0xa9;
    }
    text[len] = '\0';
    crm_log_write(CRM_LOG_INFO, "x%s", text);
    crm_log_write(CRM_LOG_INFO, "%s", text);
    free(text);
    ck_assert_uint_eq(collect(), 2);
    ck_assert_uint_gt(strlen(member_string(lines[0], "msg")), 1000);
    ck_assert_uint_gt(strlen(member_string(lines[1], "msg")), 1000);
}
END_TEST

START_TEST(test_errno_preserved)
{
    errno = ENOENT;
    crm_log_write(CRM_LOG_INFO, "keep errno");
    ck_assert_int_eq(errno, ENOENT);
    crm_log_set_fd(-1); /* a failed write must not change errno either */
    errno = EACCES;
    crm_log_write(CRM_LOG_INFO, "lost");
    ck_assert_int_eq(errno, EACCES);
}
END_TEST

#define WRITER_THREADS 4
#define WRITER_LINES   200

static void *writer(void *arg)
{
    long id = (long)arg;
    char rid[32];
    snprintf(rid, sizeof(rid), "thread-%ld", id);
    crm_log_set_request_id(rid);
    for (int i = 0; i < WRITER_LINES; i++)
        crm_log_write(CRM_LOG_INFO, "thread %ld line %d %0200d", id, i, 0);
    return NULL;
}

START_TEST(test_concurrent_lines_do_not_interleave)
{
    pthread_t threads[WRITER_THREADS];
    for (long i = 0; i < WRITER_THREADS; i++)
        ck_assert_int_eq(pthread_create(&threads[i], NULL, writer, (void *)i), 0);
    for (int i = 0; i < WRITER_THREADS; i++)
        pthread_join(threads[i], NULL);
    ck_assert_uint_eq(collect(), WRITER_THREADS * WRITER_LINES);
    for (size_t i = 0; i < line_count; i++) {
        long thread = -1;
        int n = -1;
        const char *msg = member_string(lines[i], "msg");
        ck_assert_int_eq(sscanf(msg, "thread %ld line %d", &thread, &n), 2);
        char rid[32];
        snprintf(rid, sizeof(rid), "thread-%ld", thread);
        ck_assert_str_eq(member_string(lines[i], "request_id"), rid);
    }
}
END_TEST

START_TEST(test_level_parse)
{
    long level = 99;
    ck_assert_int_eq(crm_log_level_parse("debug", &level), 0);
    ck_assert_int_eq(level, CRM_LOG_DEBUG);
    ck_assert_int_eq(crm_log_level_parse("info", &level), 0);
    ck_assert_int_eq(level, CRM_LOG_INFO);
    ck_assert_int_eq(crm_log_level_parse("warn", &level), 0);
    ck_assert_int_eq(level, CRM_LOG_WARN);
    ck_assert_int_eq(crm_log_level_parse("error", &level), 0);
    ck_assert_int_eq(level, CRM_LOG_ERROR);

    static const char *const bad[] = {"",      "warning", "inf",    "infos", "fatal",
                                      "trace", " info",   "info\n", "0"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        level = 99;
        ck_assert_msg(crm_log_level_parse(bad[i], &level) == -1, "\"%s\" was accepted", bad[i]);
        ck_assert_int_eq(level, 99); /* untouched on failure */
    }
}
END_TEST

START_TEST(test_time_format_exact)
{
    static const struct {
        time_t sec;
        long nsec;
        const char *expected;
    } cases[] = {
        {0, 0, "1970-01-01T00:00:00.000Z"},
        {1795687200, 0, "2026-11-26T10:00:00.000Z"},
        {1795687200, 999999999, "2026-11-26T10:00:00.999Z"}, /* truncated, not rounded */
        {1795687200, 1000000, "2026-11-26T10:00:00.001Z"},
        {1795687200, 999999, "2026-11-26T10:00:00.000Z"},
        {951868799, 50000000, "2000-02-29T23:59:59.050Z"},
        {253402300799, 123456789, "9999-12-31T23:59:59.123Z"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct timespec when = {.tv_sec = cases[i].sec, .tv_nsec = cases[i].nsec};
        char buf[CRM_RFC3339_LEN];
        memset(buf, 'x', sizeof(buf));
        crm_time_format(&when, buf);
        ck_assert_str_eq(buf, cases[i].expected);
        ck_assert_uint_eq(strlen(buf), CRM_RFC3339_LEN - 1);
    }
}
END_TEST

START_TEST(test_time_now_shape)
{
    char buf[CRM_RFC3339_LEN];
    crm_time_now(buf);
    ck_assert_msg(matches(TS_PATTERN, buf), "\"%s\"", buf);
}
END_TEST

START_TEST(test_monotonic_never_goes_back)
{
    double previous = crm_monotonic_seconds();
    for (int i = 0; i < 1000; i++) {
        double now = crm_monotonic_seconds();
        ck_assert(now >= previous);
        previous = now;
    }
    struct timespec pause = {.tv_sec = 0, .tv_nsec = 20000000};
    double before = crm_monotonic_seconds();
    nanosleep(&pause, NULL);
    double elapsed = crm_monotonic_seconds() - before;
    ck_assert(elapsed >= 0.019 && elapsed < 5.0);
}
END_TEST

START_TEST(test_uuid_v4_shape)
{
    char a[CRM_UUID_LEN], b[CRM_UUID_LEN];
    crm_uuid_v4(a);
    crm_uuid_v4(b);
    ck_assert_uint_eq(strlen(a), 36);
    ck_assert_msg(matches(UUID_PATTERN, a), "\"%s\"", a);
    ck_assert_msg(matches(UUID_PATTERN, b), "\"%s\"", b);
    ck_assert_str_ne(a, b);

    /* Over many draws every variant nibble 8..b appears and the version is always 4. */
    int variants[4] = {0};
    for (int i = 0; i < 1000; i++) {
        crm_uuid_v4(a);
        ck_assert_msg(matches(UUID_PATTERN, a), "\"%s\"", a);
        char v = a[19];
        variants[v >= 'a' ? v - 'a' + 2 : v - '8']++;
    }
    for (int i = 0; i < 4; i++)
        ck_assert_int_gt(variants[i], 0);
}
END_TEST

static Suite *log_suite(void)
{
    Suite *suite = suite_create("log");
    TCase *tc = tcase_create("lines");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_line_members);
    tcase_add_test(tc, test_ts_is_now);
    tcase_add_test(tc, test_defaults_before_init);
    tcase_add_test(tc, test_request_id);
    tcase_add_test(tc, test_request_id_is_per_thread);
    tcase_add_test(tc, test_threshold_suppresses_lower_levels);
    tcase_add_test(tc, test_every_level_name);
    tcase_add_test(tc, test_write_fields);
    tcase_add_test(tc, test_fields_cannot_replace_base_members);
    tcase_add_test(tc, test_write_fields_null);
    tcase_add_test(tc, test_write_members);
    tcase_add_test(tc, test_hostile_message_is_one_valid_line);
    tcase_add_test(tc, test_valid_utf8_is_kept);
    tcase_add_test(tc, test_invalid_utf8_service_and_request_id);
    tcase_add_test(tc, test_long_message_is_one_line);
    tcase_add_test(tc, test_errno_preserved);
    tcase_add_test(tc, test_concurrent_lines_do_not_interleave);
    tcase_add_test(tc, test_level_parse);
    suite_add_tcase(suite, tc);

    TCase *util = tcase_create("util");
    tcase_add_test(util, test_time_format_exact);
    tcase_add_test(util, test_time_now_shape);
    tcase_add_test(util, test_monotonic_never_goes_back);
    tcase_add_test(util, test_uuid_v4_shape);
    suite_add_tcase(suite, util);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(log_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
