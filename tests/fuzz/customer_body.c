/* Fuzz harness: the request bodies of POST /api/customers and PATCH /api/customers/:id, from the
 * raw bytes as a route sees them (crm_http_read_json_or_reply: size, nesting, strict JSON) through
 * the validation table to the customer or patch, then the patch applied and the JSON form. Every
 * rejected body must be answered with a 4xx problem. */
#include "crm/http.h"
#include "crm/problem.h"
#include "fuzz_support.h"
#include "model.h"

#include <jansson.h>
#include <string.h>
#include <ulfius.h>

static void check_customer(const customer *c)
{
    FUZZ_CHECK(c->name != NULL && c->name[0] != '\0');
    FUZZ_CHECK(c->tag_count <= CUSTOMER_TAGS_MAX);
    int known = 0;
    for (size_t i = 0; customer_statuses[i]; i++)
        known |= strcmp(c->status, customer_statuses[i]) == 0;
    FUZZ_CHECK(known);
    /* The event's tree and the answer's writer give the same bytes. */
    json_t *rendered = customer_to_json(c);
    FUZZ_CHECK(rendered != NULL);
    char *text = json_dumps(rendered, JSON_COMPACT | JSON_PRESERVE_ORDER);
    FUZZ_CHECK(text != NULL);
    crm_json_text written;
    crm_json_text_init(&written, 0);
    customer_json_write(&written, c);
    FUZZ_CHECK(!written.failed && strcmp(written.text, text) == 0);
    crm_json_text_clean(&written);
    free(text);
    json_decref(rendered);
}

static void create(const uint8_t *data, size_t size)
{
    customer c;
    json_t *body = fuzz_body_read(data, size, 0, "/api/customers");
    if (!body)
        return;
    json_t *errors = json_array();
    size_t bad = customer_create_read(body, &c, errors);
    if (bad) {
        fuzz_validation_answer(errors, bad);
    } else {
        FUZZ_CHECK(json_array_size(errors) == 0);
        json_decref(errors);
        check_customer(&c);
    }
    customer_clean(&c);
    json_decref(body);
}

static void patch(const uint8_t *data, size_t size)
{
    customer_patch p;
    json_t *body = fuzz_body_read(data, size, 1, "/api/customers");
    if (!body)
        return;
    json_t *errors = json_array();
    size_t bad = customer_patch_read(body, &p, errors);
    if (bad) {
        fuzz_validation_answer(errors, bad);
    } else {
        FUZZ_CHECK(json_array_size(errors) == 0);
        json_decref(errors);
        customer current = {.id = "0123456789abcdef01234567", .status = "lead", .version = 3};
        customer next;
        current.name = strdup("Acme GmbH");
        current.email = strdup("ops@acme.example");
        current.tags[current.tag_count++] = strdup("vip");
        customer_copy(&next, &current);
        customer_patch_apply(&next, &p);
        check_customer(&next);
        customer_clean(&next);
        customer_clean(&current);
    }
    customer_patch_clean(&p);
    json_decref(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_quiet();
    create(data, size);
    patch(data, size);
    return 0;
}
