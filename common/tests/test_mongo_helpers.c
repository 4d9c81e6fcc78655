/* The pure MongoDB helpers: literal regexes for q and the $in builder. */
#include "crm/mongo.h"

#include <check.h>
#include <stdlib.h>

static void assert_literal(const char *text, const char *expected)
{
    char *pattern = crm_regex_literal(text);
    ck_assert_ptr_nonnull(pattern);
    ck_assert_str_eq(pattern, expected);
    free(pattern);
}

START_TEST(test_letters_fold_digits_stay)
{
    assert_literal("a.B*", "[aA]\\.[bB]\\*");
    assert_literal("Zoë 42", "[zZ][oO]\xc3\xab\\ 42"); /* bytes >= 0x80 are kept */
    assert_literal("", "");
}
END_TEST

START_TEST(test_every_metacharacter_is_escaped)
{
    assert_literal("(x+)$|^[]{1}\\ ?", "\\([xX]\\+\\)\\$\\|\\^\\[\\]\\{1\\}\\\\\\ \\?");
    assert_literal(".*.*.*.*!", "\\.\\*\\.\\*\\.\\*\\.\\*\\!");
}
END_TEST

START_TEST(test_append_in)
{
    static const char *const values[] = {"lead", "active", NULL};
    bson_t doc = BSON_INITIALIZER;
    crm_mongo_append_in(&doc, "status", values);
    char *json = bson_as_canonical_extended_json(&doc, NULL);
    ck_assert_str_eq(json, "{ \"status\" : { \"$in\" : [ \"lead\", \"active\" ] } }");
    bson_free(json);
    bson_destroy(&doc);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("mongo_helpers");
    TCase *tc = tcase_create("pure");
    tcase_add_test(tc, test_letters_fold_digits_stay);
    tcase_add_test(tc, test_every_metacharacter_is_escaped);
    tcase_add_test(tc, test_append_in);
    suite_add_tcase(suite, tc);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
