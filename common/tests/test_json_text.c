/* Unit tests for common/src/json_text.c: strings come out byte for byte as jansson's json_dumps
 * writes them (every ASCII byte, multi-byte UTF-8), invalid UTF-8 as '?', integers and times as
 * jansson and crm_time_json give them. */
#include "crm/json_text.h"
#include "crm/util.h"

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What jansson writes for `value` (a string, or any value). */
static char *jansson_text(json_t *value)
{
    char *text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(value);
    ck_assert_ptr_nonnull(text);
    return text;
}

static void assert_string_as_jansson(const char *value)
{
    crm_json_text out;
    crm_json_text_init(&out, 4); /* small, so that it grows */
    crm_json_text_string(&out, value);
    ck_assert_int_eq(out.failed, 0);
    char *expected = jansson_text(json_string(value));
    ck_assert_msg(strcmp(out.text, expected) == 0, "ours %s, jansson %s", out.text, expected);
    ck_assert_uint_eq(out.len, strlen(expected));
    free(expected);
    crm_json_text_clean(&out);
}

START_TEST(test_every_ascii_byte_as_jansson)
{
    char one[2] = {0, 0};
    for (int c = 1; c < 0x80; c++) {
        one[0] = (char)c;
        assert_string_as_jansson(one);
    }
    assert_string_as_jansson("");
    assert_string_as_jansson("plain text, with \"quotes\" and \\backslashes\\ and /slashes/");
    assert_string_as_jansson("tab\there\r\nnew line\x01\x1f\x7f end");
}
END_TEST

START_TEST(test_utf8_as_jansson)
{
    assert_string_as_jansson("Zoë Ångström, 東京, emoji \xf0\x9f\x98\x80, \xe2\x80\xa8 line sep");
}
END_TEST

START_TEST(test_invalid_utf8_becomes_question_marks)
{
    crm_json_text out;
    crm_json_text_init(&out, 0);
    crm_json_text_string(&out, "ok \xc3\xa9 then bad \xff\xfe and \xc0\xaf");
    ck_assert_str_eq(out.text, "\"ok ?? then bad ?? and ??\"");
    crm_json_text_clean(&out);
}
END_TEST

START_TEST(test_null_int_time_and_raw)
{
    crm_json_text out;
    crm_json_text_init(&out, 0);
    crm_json_text_lit(&out, "[");
    crm_json_text_string(&out, NULL);
    crm_json_text_lit(&out, ",");
    crm_json_text_int(&out, -9007199254740993LL);
    crm_json_text_lit(&out, ",");
    crm_json_text_time(&out, 1795000000123LL);
    crm_json_text_lit(&out, ",");
    crm_json_text_time(&out, -1);
    crm_json_text_lit(&out, "]");
    json_t *array = json_pack("[n, I, o, o]", (json_int_t)-9007199254740993LL,
                              crm_time_json(1795000000123LL), crm_time_json(-1));
    char *expected = jansson_text(array);
    ck_assert_str_eq(out.text, expected);
    free(expected);
    crm_json_text_clean(&out);
}
END_TEST

static Suite *json_text_suite(void)
{
    Suite *suite = suite_create("json_text");
    TCase *tc = tcase_create("writer");
    tcase_add_test(tc, test_every_ascii_byte_as_jansson);
    tcase_add_test(tc, test_utf8_as_jansson);
    tcase_add_test(tc, test_invalid_utf8_becomes_question_marks);
    tcase_add_test(tc, test_null_int_time_and_raw);
    suite_add_tcase(suite, tc);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(json_text_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
