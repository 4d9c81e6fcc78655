/* Fuzz harness: the request bodies of POST /api/cases and PATCH /api/cases/:id, from the raw bytes
 * as a route sees them (crm_http_read_json_or_reply) through the validation table to the case or
 * patch, then the lifecycle check, the patch applied to an open and a closed case, and the JSON
 * form. Every rejected body must be answered with a 4xx problem. */
#include "crm/http.h"
#include "crm/problem.h"
#include "crm/query.h"
#include "fuzz_support.h"
#include "model.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <ulfius.h>

#define NOW 1767225600000LL /* 2026-01-01T00:00:00Z: fixed, so every run is the same */

static int in_list(const char *text, const char *const *list)
{
    for (size_t i = 0; list[i]; i++) {
        if (strcmp(text, list[i]) == 0)
            return 1;
    }
    return 0;
}

static void check_case(const support_case *c)
{
    FUZZ_CHECK(c->title != NULL && c->title[0] != '\0');
    FUZZ_CHECK(in_list(c->priority, case_priorities));
    FUZZ_CHECK(in_list(c->status, case_statuses));
    FUZZ_CHECK(c->assigned_to[0] == '\0' || crm_id_valid(c->assigned_to));
    FUZZ_CHECK((strcmp(c->status, "resolved") == 0) == (c->resolved_at != 0));
    FUZZ_CHECK((strcmp(c->status, "closed") == 0) == (c->closed_at != 0));
    /* What a client reads back is one JSON object of the 13 fields, whatever the input held. */
    crm_json_text text;
    crm_json_text_init(&text, 0);
    case_json_write(&text, c);
    FUZZ_CHECK(!text.failed);
    json_t *parsed = json_loads(text.text, 0, NULL);
    FUZZ_CHECK(json_is_object(parsed) && json_object_size(parsed) == 13);
    const char *title = json_string_value(json_object_get(parsed, "title"));
    FUZZ_CHECK(title && strcmp(title, c->title) == 0);
    json_decref(parsed);
    crm_json_text_clean(&text);
}

static void create(const uint8_t *data, size_t size)
{
    support_case c;
    json_t *body = fuzz_body_read(data, size, 0, "/api/cases");
    if (!body)
        return;
    json_t *errors = json_array();
    size_t bad = case_create_read(body, NOW, &c, errors);
    if (bad) {
        fuzz_validation_answer(errors, bad);
    } else {
        FUZZ_CHECK(json_array_size(errors) == 0);
        json_decref(errors);
        FUZZ_CHECK(crm_id_valid(c.customer_id));
        check_case(&c);
    }
    support_case_clean(&c);
    json_decref(body);
}

/* The route's order: the move is checked against the current status, then applied. */
static void apply_to(const case_patch *p, const char *status)
{
    char targets[128];
    support_case c = {.id = "0123456789abcdef01234567",
                      .customer_id = "89abcdef0123456789abcdef",
                      .priority = "normal",
                      .status = "new",
                      .created_at = NOW - 1000,
                      .updated_at = NOW - 1000,
                      .version = 2};
    c.title = strdup("Printer on fire");
    case_status_set(&c, status, NOW - 500);
    case_transition_targets(c.status, targets, sizeof(targets));
    if (!p->has_status || case_transition_allowed(c.status, p->status))
        case_patch_apply(&c, p, NOW);
    check_case(&c);
    support_case_clean(&c);
}

static void patch(const uint8_t *data, size_t size)
{
    case_patch p;
    json_t *body = fuzz_body_read(data, size, 1, "/api/cases");
    if (!body)
        return;
    json_t *errors = json_array();
    size_t bad = case_patch_read(body, &p, errors);
    if (bad) {
        fuzz_validation_answer(errors, bad);
    } else {
        FUZZ_CHECK(json_array_size(errors) == 0);
        json_decref(errors);
        apply_to(&p, "open");
        apply_to(&p, "closed");
        apply_to(&p, "resolved");
    }
    case_patch_clean(&p);
    json_decref(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_quiet();
    create(data, size);
    patch(data, size);
    return 0;
}
