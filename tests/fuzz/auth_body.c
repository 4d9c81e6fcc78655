/* Fuzz harness: the request bodies of the auth service, from the raw bytes as a route sees them
 * (crm_http_read_json_or_reply) through each validation table: register (and the username
 * normalisation the route applies after it), login, refresh/logout, and PATCH /api/users/:id with
 * the patch applied and the user's JSON form. Every rejected body must be answered with a 4xx
 * problem. */
#include "crm/http.h"
#include "crm/problem.h"
#include "fuzz_support.h"
#include "model.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <ulfius.h>

/* Validates with `validate`; answers a failure as the route does. Returns 1 when valid. */
static int valid(const json_t *body, size_t (*validate)(const json_t *, json_t *))
{
    struct _u_response response;
    json_t *errors = json_array();
    size_t bad = validate(body, errors);
    if (!bad) {
        FUZZ_CHECK(json_array_size(errors) == 0);
        json_decref(errors);
        return 1;
    }
    FUZZ_CHECK(json_array_size(errors) >= bad);
    ulfius_init_response(&response);
    crm_problem_send_validation(&response, errors);
    fuzz_expect_problem(&response, 422, 422);
    ulfius_clean_response(&response);
    return 0;
}

static const char *member(const json_t *body, const char *name)
{
    return json_string_value(json_object_get(body, name));
}

static void patch_user(const json_t *body)
{
    user_patch p;
    json_t *errors = json_array();
    size_t bad = user_patch_read(body, &p, errors);
    if (bad) {
        struct _u_response response;
        FUZZ_CHECK(json_array_size(errors) >= bad);
        ulfius_init_response(&response);
        crm_problem_send_validation(&response, errors);
        fuzz_expect_problem(&response, 422, 422);
        ulfius_clean_response(&response);
        user_patch_clean(&p);
        return;
    }
    json_decref(errors);
    user u = {.id = "0123456789abcdef01234567", .username = "alice", .role = "agent", .version = 4};
    u.email = strdup("alice@example.com");
    u.password_hash = strdup("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA");
    user_patch_apply(&u, &p);
    FUZZ_CHECK(strcmp(u.role, "admin") == 0 || strcmp(u.role, "agent") == 0 ||
               strcmp(u.role, "viewer") == 0);
    json_t *rendered = user_to_json(&u);
    FUZZ_CHECK(rendered != NULL);
    FUZZ_CHECK(json_object_get(rendered, "password_hash") == NULL);
    json_decref(rendered);
    user_clean(&u);
    user_patch_clean(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_quiet();
    json_t *body = fuzz_body_read(data, size, 0, "/api/auth/register");
    if (body) {
        if (valid(body, register_body_validate)) {
            char username[USERNAME_MAX + 1];
            FUZZ_CHECK(username_normalize(member(body, "username"), username) == 0);
            FUZZ_CHECK(strlen(member(body, "password")) >= 8);
        }
        if (valid(body, login_body_validate)) {
            char username[USERNAME_MAX + 1];
            username_normalize(member(body, "username"), username);
            FUZZ_CHECK(member(body, "password") != NULL);
        }
        if (valid(body, refresh_body_validate))
            FUZZ_CHECK(member(body, "refresh_token") != NULL);
        json_decref(body);
    }
    body = fuzz_body_read(data, size, 1, "/api/auth/register");
    if (body) {
        patch_user(body);
        json_decref(body);
    }
    return 0;
}
