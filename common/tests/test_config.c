/* Unit tests for common/src/config.c: the defaults of API.md "Configuration", the URLs derived
 * from the ports, valid overrides, every kind of bad value (refused with a message naming the
 * variable), the names list, crm_settings_get_long and the exit status of
 * crm_settings_load_or_exit. Every test starts from an environment without any CRM_* variable. */
#include "crm/config.h"
#include "crm/log.h"

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const char *const all_names[] = {"CRM_BIND",
                                        "CRM_GATEWAY_PORT",
                                        "CRM_AUTH_PORT",
                                        "CRM_CUSTOMERS_PORT",
                                        "CRM_CASES_PORT",
                                        "CRM_AUTH_URL",
                                        "CRM_CUSTOMERS_URL",
                                        "CRM_CASES_URL",
                                        "CRM_MONGO_URI",
                                        "CRM_KAFKA_BROKERS",
                                        "CRM_KAFKA_PARTITIONS",
                                        "CRM_JWT_PRIVATE_KEY_FILE",
                                        "CRM_JWT_PUBLIC_KEY_FILES",
                                        "CRM_JWT_TTL_SECONDS",
                                        "CRM_REFRESH_TTL_SECONDS",
                                        "CRM_BOOTSTRAP_ADMIN_USERNAME",
                                        "CRM_BOOTSTRAP_ADMIN_PASSWORD",
                                        "CRM_RATE_AUTH_PER_MINUTE",
                                        "CRM_RATE_API_PER_SECOND",
                                        "CRM_TRUSTED_PROXIES",
                                        "CRM_LOG_LEVEL",
                                        "CRM_HTTP_THREADS",
                                        "CRM_HTTP_CONNECTION_TIMEOUT_SECONDS",
                                        "CRM_HTTP_MAX_CONNECTIONS",
                                        "CRM_SHUTDOWN_GRACE_SECONDS",
                                        NULL};

static const char DEFAULT_MONGO_URI[] =
    "mongodb://127.0.0.1:27017/?serverSelectionTimeoutMS=1000&connectTimeoutMS=1000";

static crm_settings s;
static char err[256];

/* Removes every CRM_* variable; names are copied first because unsetenv edits environ. */
static void clear_crm_environment(void)
{
    char names[64][128];
    size_t count = 0;
    for (char **e = environ; *e && count < 64; e++) {
        if (strncmp(*e, "CRM_", 4) != 0)
            continue;
        size_t len = strcspn(*e, "=");
        if (len >= sizeof(names[0]))
            continue;
        memcpy(names[count], *e, len);
        names[count++][len] = '\0';
    }
    for (size_t i = 0; i < count; i++)
        unsetenv(names[i]);
}

static void setup(void)
{
    clear_crm_environment();
    memset(&s, 0, sizeof(s));
    memset(err, 0, sizeof(err));
}

static void teardown(void)
{
    crm_settings_clean(&s);
    clear_crm_environment();
}

START_TEST(test_defaults_when_nothing_is_set)
{
    ck_assert_int_eq(crm_settings_load(&s, all_names, err, sizeof(err)), 0);
    ck_assert_str_eq(s.bind, "127.0.0.1");
    ck_assert_int_eq(s.gateway_port, 8080);
    ck_assert_int_eq(s.auth_port, 8081);
    ck_assert_int_eq(s.customers_port, 8082);
    ck_assert_int_eq(s.cases_port, 8083);
    ck_assert_str_eq(s.auth_url, "http://127.0.0.1:8081");
    ck_assert_str_eq(s.customers_url, "http://127.0.0.1:8082");
    ck_assert_str_eq(s.cases_url, "http://127.0.0.1:8083");
    ck_assert_str_eq(s.mongo_uri, DEFAULT_MONGO_URI);
    ck_assert_str_eq(s.kafka_brokers, "127.0.0.1:9092");
    ck_assert_int_eq(s.kafka_partitions, 3);
    ck_assert_str_eq(s.jwt_private_key_file, "var/keys/jwt.pem");
    ck_assert_str_eq(s.jwt_public_key_files, "var/keys/jwt.pub");
    ck_assert_int_eq(s.jwt_ttl_seconds, 900);
    ck_assert_int_eq(s.refresh_ttl_seconds, 2592000);
    ck_assert_str_eq(s.bootstrap_admin_username, "admin");
    ck_assert_str_eq(s.bootstrap_admin_password, "");
    ck_assert_int_eq(s.rate_auth_per_minute, 20);
    ck_assert_int_eq(s.rate_api_per_second, 50);
    ck_assert_str_eq(s.trusted_proxies, "");
    ck_assert_int_eq(s.log_level, CRM_LOG_INFO);
}
END_TEST

START_TEST(test_defaults_without_names)
{
    /* Even variables that are set are ignored when no name is listed. */
    setenv("CRM_AUTH_PORT", "9999", 1);
    ck_assert_int_eq(crm_settings_load(&s, NULL, err, sizeof(err)), 0);
    ck_assert_int_eq(s.auth_port, 8081);
    ck_assert_int_eq(s.kafka_partitions, 3);
    ck_assert_str_eq(s.auth_url, "http://127.0.0.1:8081");
    ck_assert_str_eq(s.mongo_uri, DEFAULT_MONGO_URI);
    ck_assert_int_eq(s.log_level, CRM_LOG_INFO);
}
END_TEST

START_TEST(test_urls_derived_from_ports)
{
    setenv("CRM_AUTH_PORT", "9001", 1);
    setenv("CRM_CUSTOMERS_PORT", "9002", 1);
    setenv("CRM_CASES_URL", "http://cases.internal:7000", 1);
    setenv("CRM_CASES_PORT", "9003", 1);
    ck_assert_int_eq(crm_settings_load(&s, all_names, err, sizeof(err)), 0);
    ck_assert_str_eq(s.auth_url, "http://127.0.0.1:9001");
    ck_assert_str_eq(s.customers_url, "http://127.0.0.1:9002");
    /* An explicit URL wins over the port. */
    ck_assert_str_eq(s.cases_url, "http://cases.internal:7000");
    ck_assert_int_eq(s.cases_port, 9003);
}
END_TEST

START_TEST(test_url_derived_from_unlisted_port_default)
{
    /* CRM_AUTH_PORT is not listed, so its default feeds the derived URL. */
    static const char *const names[] = {"CRM_AUTH_URL", NULL};
    setenv("CRM_AUTH_PORT", "9001", 1);
    ck_assert_int_eq(crm_settings_load(&s, names, err, sizeof(err)), 0);
    ck_assert_str_eq(s.auth_url, "http://127.0.0.1:8081");
}
END_TEST

START_TEST(test_valid_overrides)
{
    setenv("CRM_BIND", "0.0.0.0", 1);
    setenv("CRM_GATEWAY_PORT", "1", 1);
    setenv("CRM_AUTH_PORT", "65535", 1);
    setenv("CRM_CUSTOMERS_URL", "http://10.0.0.1:8082,http://10.0.0.2:8082", 1);
    setenv("CRM_MONGO_URI", "mongodb+srv://db.example.com/crm", 1);
    setenv("CRM_KAFKA_BROKERS", "k1:9092,k2:9092", 1);
    setenv("CRM_KAFKA_PARTITIONS", "12", 1);
    setenv("CRM_JWT_TTL_SECONDS", "60", 1);
    setenv("CRM_REFRESH_TTL_SECONDS", "86400", 1);
    setenv("CRM_BOOTSTRAP_ADMIN_USERNAME", "root", 1);
    setenv("CRM_BOOTSTRAP_ADMIN_PASSWORD", "correct horse battery", 1);
    setenv("CRM_RATE_AUTH_PER_MINUTE", "0", 1);
    setenv("CRM_RATE_API_PER_SECOND", "1000", 1);
    setenv("CRM_TRUSTED_PROXIES", "10.0.0.1,10.0.0.2", 1);
    setenv("CRM_LOG_LEVEL", "debug", 1);
    setenv("CRM_HTTP_THREADS", "3", 1);
    ck_assert_int_eq(crm_settings_load(&s, all_names, err, sizeof(err)), 0);
    ck_assert_str_eq(s.bind, "0.0.0.0");
    ck_assert_int_eq(s.gateway_port, 1);
    ck_assert_int_eq(s.auth_port, 65535);
    ck_assert_str_eq(s.auth_url, "http://127.0.0.1:65535");
    ck_assert_str_eq(s.customers_url, "http://10.0.0.1:8082,http://10.0.0.2:8082");
    ck_assert_str_eq(s.mongo_uri, "mongodb+srv://db.example.com/crm");
    ck_assert_str_eq(s.kafka_brokers, "k1:9092,k2:9092");
    ck_assert_int_eq(s.kafka_partitions, 12);
    ck_assert_int_eq(s.jwt_ttl_seconds, 60);
    ck_assert_int_eq(s.refresh_ttl_seconds, 86400);
    ck_assert_str_eq(s.bootstrap_admin_username, "root");
    ck_assert_str_eq(s.bootstrap_admin_password, "correct horse battery");
    ck_assert_int_eq(s.rate_auth_per_minute, 0);
    ck_assert_int_eq(s.rate_api_per_second, 1000);
    ck_assert_str_eq(s.trusted_proxies, "10.0.0.1,10.0.0.2");
    ck_assert_int_eq(s.log_level, CRM_LOG_DEBUG);
    ck_assert_int_eq(s.http_threads, 3);
}
END_TEST

START_TEST(test_each_log_level)
{
    static const struct {
        const char *text;
        long level;
    } cases[] = {{"debug", CRM_LOG_DEBUG},
                 {"info", CRM_LOG_INFO},
                 {"warn", CRM_LOG_WARN},
                 {"error", CRM_LOG_ERROR}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        setenv("CRM_LOG_LEVEL", cases[i].text, 1);
        ck_assert_int_eq(crm_settings_load(&s, all_names, err, sizeof(err)), 0);
        ck_assert_int_eq(s.log_level, cases[i].level);
        crm_settings_clean(&s);
    }
}
END_TEST

/* One bad value per line; each must fail alone with a message naming its variable. */
static const struct {
    const char *name;
    const char *value;
} bad_values[] = {
    {"CRM_AUTH_PORT", "abc"},
    {"CRM_AUTH_PORT", "0"},
    {"CRM_AUTH_PORT", "70000"},
    {"CRM_AUTH_PORT", "65536"},
    {"CRM_AUTH_PORT", "12x"},
    {"CRM_AUTH_PORT", "-1"},
    {"CRM_AUTH_PORT", " 8081"},
    {"CRM_AUTH_PORT", "8081 "},
    {"CRM_AUTH_PORT", "0x1f90"},
    {"CRM_AUTH_PORT", "99999999999999999999999"},
    {"CRM_GATEWAY_PORT", "abc"},
    {"CRM_CUSTOMERS_PORT", "0"},
    {"CRM_CASES_PORT", "70000"},
    {"CRM_KAFKA_PARTITIONS", "0"},
    {"CRM_KAFKA_PARTITIONS", "3.5"},
    {"CRM_JWT_TTL_SECONDS", "ten"},
    {"CRM_REFRESH_TTL_SECONDS", "-5"},
    {"CRM_RATE_AUTH_PER_MINUTE", "-1"},
    {"CRM_RATE_API_PER_SECOND", "fifty"},
    {"CRM_LOG_LEVEL", "verbose"},
    {"CRM_LOG_LEVEL", "warning"},
    {"CRM_LOG_LEVEL", "info "},
    {"CRM_AUTH_URL", "ftp://127.0.0.1:8081"},
    {"CRM_AUTH_URL", "http://a:1,ftp://b:2"},
    {"CRM_AUTH_URL", "http://a:1,"},
    {"CRM_AUTH_URL", ",http://a:1"},
    {"CRM_AUTH_URL", "http://a:1,,http://b:2"},
    {"CRM_AUTH_URL", "http://"},
    {"CRM_AUTH_URL", "127.0.0.1:8081"},
    {"CRM_CUSTOMERS_URL", "http://a b:1"},
    {"CRM_CASES_URL", "https//x"},
    {"CRM_MONGO_URI", "postgres://127.0.0.1/crm"},
    {"CRM_MONGO_URI", "mongodb:/127.0.0.1"},
    {"CRM_MONGO_URI", "127.0.0.1:27017"},
    {"CRM_BOOTSTRAP_ADMIN_USERNAME", "ab"},
};

#define BAD_VALUE_COUNT ((int)(sizeof(bad_values) / sizeof(bad_values[0])))

START_TEST(test_bad_value_fails_naming_the_variable)
{
    const char *name = bad_values[_i].name;
    const char *value = bad_values[_i].value;
    setenv(name, value, 1);
    int rc = crm_settings_load(&s, all_names, err, sizeof(err));
    ck_assert_msg(rc == -1, "%s=\"%s\" was accepted", name, value);
    ck_assert_msg(strstr(err, name) != NULL, "%s=\"%s\": message \"%s\" does not name it", name,
                  value, err);
    /* A failed load leaves nothing to free: the strings are released and reset. */
    ck_assert_ptr_null(s.bind);
    ck_assert_ptr_null(s.mongo_uri);
    ck_assert_ptr_null(s.auth_url);
}
END_TEST

START_TEST(test_empty_value_means_unset)
{
    setenv("CRM_AUTH_PORT", "", 1);
    setenv("CRM_LOG_LEVEL", "", 1);
    setenv("CRM_AUTH_URL", "", 1);
    setenv("CRM_MONGO_URI", "", 1);
    setenv("CRM_KAFKA_PARTITIONS", "", 1);
    setenv("CRM_BIND", "", 1);
    ck_assert_int_eq(crm_settings_load(&s, all_names, err, sizeof(err)), 0);
    ck_assert_int_eq(s.auth_port, 8081);
    ck_assert_int_eq(s.log_level, CRM_LOG_INFO);
    ck_assert_str_eq(s.auth_url, "http://127.0.0.1:8081");
    ck_assert_str_eq(s.mongo_uri, DEFAULT_MONGO_URI);
    ck_assert_int_eq(s.kafka_partitions, 3);
    ck_assert_str_eq(s.bind, "127.0.0.1");
}
END_TEST

START_TEST(test_unknown_name_fails)
{
    static const char *const names[] = {"CRM_AUTH_PORT", "CRM_NO_SUCH_SETTING", NULL};
    ck_assert_int_eq(crm_settings_load(&s, names, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "CRM_NO_SUCH_SETTING"));
    ck_assert_ptr_null(s.bind);
}
END_TEST

START_TEST(test_only_listed_names_are_read)
{
    static const char *const names[] = {"CRM_CASES_PORT", "CRM_LOG_LEVEL", NULL};
    setenv("CRM_AUTH_PORT", "abc", 1);
    setenv("CRM_MONGO_URI", "postgres://x", 1);
    setenv("CRM_AUTH_URL", "ftp://x", 1);
    setenv("CRM_CASES_PORT", "9083", 1);
    setenv("CRM_LOG_LEVEL", "error", 1);
    ck_assert_msg(crm_settings_load(&s, names, err, sizeof(err)) == 0, "failed: %s", err);
    ck_assert_int_eq(s.auth_port, 8081);
    ck_assert_str_eq(s.mongo_uri, DEFAULT_MONGO_URI);
    ck_assert_str_eq(s.auth_url, "http://127.0.0.1:8081");
    ck_assert_int_eq(s.cases_port, 9083);
    ck_assert_str_eq(s.cases_url, "http://127.0.0.1:9083");
    ck_assert_int_eq(s.log_level, CRM_LOG_ERROR);
}
END_TEST

START_TEST(test_first_bad_of_several_is_named)
{
    static const char *const names[] = {"CRM_GATEWAY_PORT", "CRM_AUTH_PORT", NULL};
    setenv("CRM_GATEWAY_PORT", "8080", 1);
    setenv("CRM_AUTH_PORT", "12x", 1);
    ck_assert_int_eq(crm_settings_load(&s, names, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "CRM_AUTH_PORT"));
    ck_assert_ptr_null(strstr(err, "CRM_GATEWAY_PORT"));
}
END_TEST

START_TEST(test_small_error_buffer_is_terminated)
{
    char small[8];
    memset(small, 'x', sizeof(small));
    setenv("CRM_AUTH_PORT", "abc", 1);
    ck_assert_int_eq(crm_settings_load(&s, all_names, small, sizeof(small)), -1);
    ck_assert_uint_eq(strlen(small), sizeof(small) - 1);
    ck_assert_int_eq(strncmp(small, "CRM_AUT", 7), 0);
}
END_TEST

START_TEST(test_get_long)
{
    setenv("CRM_AUTH_PORT", "9001", 1);
    setenv("CRM_KAFKA_PARTITIONS", "7", 1);
    ck_assert_int_eq(crm_settings_load(&s, all_names, err, sizeof(err)), 0);
    ck_assert_int_eq(crm_settings_get_long(&s, "CRM_AUTH_PORT"), 9001);
    ck_assert_int_eq(crm_settings_get_long(&s, "CRM_GATEWAY_PORT"), 8080);
    ck_assert_int_eq(crm_settings_get_long(&s, "CRM_KAFKA_PARTITIONS"), 7);
    ck_assert_int_eq(crm_settings_get_long(&s, "CRM_JWT_TTL_SECONDS"), 900);
    ck_assert_int_eq(crm_settings_get_long(&s, "CRM_REFRESH_TTL_SECONDS"), 2592000);
    ck_assert_int_eq(crm_settings_get_long(&s, "CRM_RATE_AUTH_PER_MINUTE"), 20);
    /* Not an integer setting, or no setting at all. */
    ck_assert_int_eq(crm_settings_get_long(&s, "CRM_AUTH_URL"), -1);
    ck_assert_int_eq(crm_settings_get_long(&s, "CRM_MONGO_URI"), -1);
    ck_assert_int_eq(crm_settings_get_long(&s, "CRM_NO_SUCH_SETTING"), -1);
    ck_assert_int_eq(crm_settings_get_long(&s, ""), -1);
}
END_TEST

START_TEST(test_clean_accepts_null_and_repeats)
{
    crm_settings_clean(NULL);
    ck_assert_int_eq(crm_settings_load(&s, all_names, err, sizeof(err)), 0);
    crm_settings_clean(&s);
    ck_assert_ptr_null(s.bind);
    ck_assert_ptr_null(s.auth_url);
    crm_settings_clean(&s); /* teardown cleans a third time */
}
END_TEST

START_TEST(test_load_or_exit_returns_on_success)
{
    setenv("CRM_AUTH_PORT", "9001", 1);
    crm_settings_load_or_exit(&s, all_names);
    ck_assert_int_eq(s.auth_port, 9001);
}
END_TEST

/* Registered with tcase_add_exit_test: must exit with status 2. */
START_TEST(test_load_or_exit_exits_2)
{
    int devnull = open("/dev/null", O_WRONLY);
    crm_log_set_fd(devnull);
    setenv("CRM_AUTH_PORT", "abc", 1);
    crm_settings_load_or_exit(&s, all_names);
    ck_abort_msg("crm_settings_load_or_exit returned on a bad value");
}
END_TEST

START_TEST(test_load_or_exit_logs_the_variable)
{
    int fds[2];
    char line[1024] = {0};
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        crm_log_set_fd(fds[1]);
        setenv("CRM_KAFKA_PARTITIONS", "many", 1);
        crm_settings_load_or_exit(&s, all_names);
        _exit(0);
    }
    close(fds[1]);
    size_t used = 0;
    ssize_t n;
    while (used < sizeof(line) - 1 && (n = read(fds[0], line + used, sizeof(line) - 1 - used)) > 0)
        used += (size_t)n;
    close(fds[0]);
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 2);
    ck_assert_msg(strstr(line, "CRM_KAFKA_PARTITIONS") != NULL, "log line: %s", line);
    ck_assert_msg(strstr(line, "\"level\":\"error\"") != NULL, "log line: %s", line);
    ck_assert_int_eq(line[used - 1], '\n');
}
END_TEST

static Suite *config_suite(void)
{
    Suite *suite = suite_create("config");
    TCase *tc = tcase_create("load");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_defaults_when_nothing_is_set);
    tcase_add_test(tc, test_defaults_without_names);
    tcase_add_test(tc, test_urls_derived_from_ports);
    tcase_add_test(tc, test_url_derived_from_unlisted_port_default);
    tcase_add_test(tc, test_valid_overrides);
    tcase_add_test(tc, test_each_log_level);
    tcase_add_loop_test(tc, test_bad_value_fails_naming_the_variable, 0, BAD_VALUE_COUNT);
    tcase_add_test(tc, test_empty_value_means_unset);
    tcase_add_test(tc, test_unknown_name_fails);
    tcase_add_test(tc, test_only_listed_names_are_read);
    tcase_add_test(tc, test_first_bad_of_several_is_named);
    tcase_add_test(tc, test_small_error_buffer_is_terminated);
    tcase_add_test(tc, test_get_long);
    tcase_add_test(tc, test_clean_accepts_null_and_repeats);
    suite_add_tcase(suite, tc);

    TCase *exit_tc = tcase_create("exit");
    tcase_add_checked_fixture(exit_tc, setup, teardown);
    tcase_add_test(exit_tc, test_load_or_exit_returns_on_success);
    tcase_add_exit_test(exit_tc, test_load_or_exit_exits_2, 2);
    tcase_add_test(exit_tc, test_load_or_exit_logs_the_variable);
    suite_add_tcase(suite, exit_tc);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(config_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
