/* The service-to-service client against a fake upstream on a loopback socket: statuses, JSON
 * bodies, forwarded headers, kept-alive connections, failover, refusal and timeouts. */
#include "crm/client.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct fake_upstream {
    int listener;
    int port;
    int status;  /* what every request is answered with */
    int silent;  /* read requests, never answer */
    int accepts; /* connections accepted */
    char last_request[4096];
    pthread_t thread;
    pthread_mutex_t lock;
} fake_upstream;

static void *serve(void *context)
{
    fake_upstream *up = context;
    for (;;) {
        int fd = accept(up->listener, NULL, NULL);
        if (fd < 0)
            return NULL;
        pthread_mutex_lock(&up->lock);
        up->accepts++;
        pthread_mutex_unlock(&up->lock);
        char request[4096];
        size_t len = 0;
        for (;;) {
            ssize_t n = read(fd, request + len, sizeof(request) - 1 - len);
            if (n <= 0)
                break;
            len += (size_t)n;
            request[len] = '\0';
            if (!strstr(request, "\r\n\r\n"))
                continue;
            pthread_mutex_lock(&up->lock);
            snprintf(up->last_request, sizeof(up->last_request), "%s", request);
            pthread_mutex_unlock(&up->lock);
            len = 0;
            if (up->silent)
                continue;
            const char *json = up->status == 200 ? "{\"id\":\"abc\",\"role\":\"agent\"}" : "{}";
            char answer[512];
            int n_answer = snprintf(answer, sizeof(answer),
                                    "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
                                    "Content-Length: %zu\r\n\r\n%s",
                                    up->status, strlen(json), json);
            if (write(fd, answer, (size_t)n_answer) < 0)
                break;
        }
        close(fd);
    }
}

static void fake_start(fake_upstream *up, int status)
{
    memset(up, 0, sizeof(*up));
    up->status = status;
    pthread_mutex_init(&up->lock, NULL);
    up->listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(bind(up->listener, (struct sockaddr *)&addr, sizeof(addr)), 0);
    socklen_t addr_len = sizeof(addr);
    getsockname(up->listener, (struct sockaddr *)&addr, &addr_len);
    up->port = ntohs(addr.sin_port);
    ck_assert_int_eq(listen(up->listener, 16), 0);
    pthread_create(&up->thread, NULL, serve, up);
}

/* A port with nothing listening: bound, then closed. */
static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(fd, (struct sockaddr *)&addr, sizeof(addr));
    socklen_t addr_len = sizeof(addr);
    getsockname(fd, (struct sockaddr *)&addr, &addr_len);
    close(fd);
    return ntohs(addr.sin_port);
}

START_TEST(test_ok_json_and_headers_forwarded)
{
    fake_upstream up;
    fake_start(&up, 200);
    crm_client *client = crm_client_new(500, 1000);
    char base[64];
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", up.port);
    json_t *body = NULL;
    long status = crm_client_get(client, base, "/api/users/abc", "Bearer t0k", "rid-1", &body);
    ck_assert_int_eq(status, 200);
    ck_assert_ptr_nonnull(body);
    ck_assert_str_eq(json_string_value(json_object_get(body, "role")), "agent");
    json_decref(body);
    ck_assert_ptr_nonnull(strstr(up.last_request, "GET /api/users/abc HTTP/1.1"));
    ck_assert_ptr_nonnull(strstr(up.last_request, "Authorization: Bearer t0k"));
    ck_assert_ptr_nonnull(strstr(up.last_request, "X-Request-Id: rid-1"));
    crm_client_free(client);
}
END_TEST

START_TEST(test_statuses_passed_through)
{
    int statuses[] = {404, 503, 401};
    for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
        fake_upstream up;
        fake_start(&up, statuses[i]);
        crm_client *client = crm_client_new(500, 1000);
        char base[64];
        snprintf(base, sizeof(base), "http://127.0.0.1:%d", up.port);
        ck_assert_int_eq(crm_client_get(client, base, "/x", NULL, NULL, NULL), statuses[i]);
        crm_client_free(client);
    }
}
END_TEST

START_TEST(test_connection_kept_alive)
{
    fake_upstream up;
    fake_start(&up, 404);
    crm_client *client = crm_client_new(500, 1000);
    char base[64];
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", up.port);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(crm_client_get(client, base, "/x", NULL, NULL, NULL), 404);
    pthread_mutex_lock(&up.lock);
    ck_assert_int_eq(up.accepts, 1);
    pthread_mutex_unlock(&up.lock);
    crm_client_free(client);
}
END_TEST

START_TEST(test_refused_is_unreachable_and_next_instance_tried)
{
    crm_client *client = crm_client_new(500, 1000);
    char base[128];
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", closed_port());
    ck_assert_int_eq(crm_client_get(client, base, "/x", NULL, NULL, NULL), -1);
    fake_upstream up;
    fake_start(&up, 200);
    snprintf(base, sizeof(base), "http://127.0.0.1:%d,http://127.0.0.1:%d", closed_port(), up.port);
    ck_assert_int_eq(crm_client_get(client, base, "/x", NULL, NULL, NULL), 200);
    crm_client_free(client);
}
END_TEST

START_TEST(test_silent_upstream_times_out)
{
    fake_upstream up;
    fake_start(&up, 200);
    up.silent = 1;
    crm_client *client = crm_client_new(200, 300);
    char base[64];
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", up.port);
    json_t *body = (json_t *)1;
    ck_assert_int_eq(crm_client_get(client, base, "/x", NULL, NULL, &body), -1);
    ck_assert_ptr_null(body);
    crm_client_free(client);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("client");
    TCase *tc = tcase_create("get");
    tcase_add_test(tc, test_ok_json_and_headers_forwarded);
    tcase_add_test(tc, test_statuses_passed_through);
    tcase_add_test(tc, test_connection_kept_alive);
    tcase_add_test(tc, test_refused_is_unreachable_and_next_instance_tried);
    tcase_add_test(tc, test_silent_upstream_times_out);
    suite_add_tcase(suite, tc);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
