/* Cases: validation tables, defaults, the lifecycle and the JSON form; customer events. */
#include "model.h"

#include "crm/problem.h"
#include "crm/query.h"
#include "crm/util.h"
#include "crm/validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const case_priorities[] = {"low", "normal", "high", "urgent", NULL};
const char *const case_statuses[] = {"new",      "open",   "pending", "on_hold",
                                     "resolved", "closed", NULL};

void support_case_clean(support_case *c)
{
    if (!c)
        return;
    free(c->title);
    free(c->description);
    c->title = NULL;
    c->description = NULL;
}

void case_patch_clean(case_patch *patch)
{
    if (!patch)
        return;
    free(patch->title);
    free(patch->description);
    patch->title = NULL;
    patch->description = NULL;
}

int case_priority_rank(const char *priority)
{
    for (int i = 0; case_priorities[i]; i++) {
        if (strcmp(priority, case_priorities[i]) == 0)
            return i + 1;
    }
    return 0;
}

/* Any move among the first five statuses; `closed` from anywhere; out of `closed` only to
 * `open` (a reopen). */
int case_transition_allowed(const char *from, const char *to)
{
    if (strcmp(from, to) == 0 || strcmp(to, "closed") == 0)
        return 1;
    if (strcmp(from, "closed") == 0)
        return strcmp(to, "open") == 0;
    return 1;
}

void case_transition_targets(const char *from, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; case_statuses[i] && used < len; i++) {
        if (strcmp(case_statuses[i], from) == 0 || !case_transition_allowed(from, case_statuses[i]))
            continue;
        used +=
            (size_t)snprintf(buf + used, len - used, "%s%s", used ? ", " : "", case_statuses[i]);
    }
}

void case_status_set(support_case *c, const char *status, long long now)
{
    if (strcmp(c->status, status) == 0)
        return;
    if (strcmp(status, "resolved") == 0)
        c->resolved_at = now;
    else if (strcmp(c->status, "resolved") == 0)
        c->resolved_at = 0;
    if (strcmp(status, "closed") == 0)
        c->closed_at = now;
    else if (strcmp(c->status, "closed") == 0)
        c->closed_at = 0;
    snprintf(c->status, sizeof(c->status), "%s", status);
}

static int check_id(const json_t *value, const char *path, json_t *errors)
{
    if (crm_id_valid(json_string_value(value)))
        return 0;
    crm_problem_errors_add(errors, path, "format", "must be an id (24 lowercase hex digits)");
    return 1;
}

#define REQUIRED (CRM_FIELD_REQUIRED | CRM_FIELD_NOT_BLANK)

#define READ_ONLY(name)                                                                            \
    {                                                                                              \
        name, CRM_FIELD_STRING, CRM_FIELD_READ_ONLY, 0, 0, NULL, NULL                              \
    }

#define READ_ONLY_FIELDS                                                                           \
    READ_ONLY("id"), READ_ONLY("created_by"), READ_ONLY("created_at"), READ_ONLY("updated_at"),    \
        READ_ONLY("resolved_at"), READ_ONLY("closed_at"), READ_ONLY("version")

#define WRITABLE_FIELDS(title_flags)                                                               \
    {"title", CRM_FIELD_STRING, title_flags, 1, CASE_TITLE_MAX, NULL, NULL},                       \
        {"description", CRM_FIELD_STRING, CRM_FIELD_NULLABLE, 0, CASE_DESC_MAX, NULL, NULL},       \
        {"assigned_to", CRM_FIELD_STRING, CRM_FIELD_NULLABLE, 0, 0, NULL, check_id},               \
        {"priority", CRM_FIELD_STRING, 0, 0, 0, case_priorities, NULL},                            \
    {                                                                                              \
        "status", CRM_FIELD_STRING, 0, 0, 0, case_statuses, NULL                                   \
    }

static const crm_field create_fields[] = {
    {"customer_id", CRM_FIELD_STRING, REQUIRED, 0, 0, NULL, check_id},
    WRITABLE_FIELDS(REQUIRED),
    READ_ONLY_FIELDS,
};

static const crm_field patch_fields[] = {
    READ_ONLY("customer_id"),
    WRITABLE_FIELDS(CRM_FIELD_NOT_BLANK),
    READ_ONLY_FIELDS,
};

#define COUNT(table) (sizeof(table) / sizeof(table[0]))

/* A body that is not an object is one error on the body itself (field ""). */
static size_t validate_body(const json_t *body, const crm_field *fields, size_t count,
                            json_t *errors)
{
    if (!json_is_object(body)) {
        crm_problem_errors_add(errors, "", "type", "the body must be a JSON object");
        return 1;
    }
    return crm_validate(body, fields, count, "", errors);
}

static const char *string_of(const json_t *body, const char *name)
{
    return json_string_value(json_object_get(body, name));
}

size_t case_create_read(const json_t *body, long long now, support_case *c, json_t *errors)
{
    memset(c, 0, sizeof(*c));
    size_t bad = validate_body(body, create_fields, COUNT(create_fields), errors);
    if (bad)
        return bad;
    const char *description = string_of(body, "description");
    const char *assigned_to = string_of(body, "assigned_to");
    const char *priority = string_of(body, "priority");
    const char *status = string_of(body, "status");
    snprintf(c->customer_id, sizeof(c->customer_id), "%s", string_of(body, "customer_id"));
    c->title = strdup(string_of(body, "title"));
    c->description = description ? strdup(description) : NULL;
    snprintf(c->assigned_to, sizeof(c->assigned_to), "%s", assigned_to ? assigned_to : "");
    snprintf(c->priority, sizeof(c->priority), "%s", priority ? priority : "normal");
    snprintf(c->status, sizeof(c->status), "new");
    case_status_set(c, status ? status : "new", now);
    c->created_at = c->updated_at = now;
    c->version = 1;
    return 0;
}

size_t case_patch_read(const json_t *body, case_patch *patch, json_t *errors)
{
    memset(patch, 0, sizeof(*patch));
    size_t bad = validate_body(body, patch_fields, COUNT(patch_fields), errors);
    if (bad)
        return bad;
    const json_t *value;
    if ((value = json_object_get(body, "title"))) {
        patch->has_title = 1;
        patch->title = strdup(json_string_value(value));
    }
    if ((value = json_object_get(body, "description"))) {
        patch->has_description = 1;
        patch->description = json_is_string(value) ? strdup(json_string_value(value)) : NULL;
    }
    if ((value = json_object_get(body, "assigned_to"))) {
        patch->has_assigned_to = 1;
        snprintf(patch->assigned_to, sizeof(patch->assigned_to), "%s",
                 json_is_string(value) ? json_string_value(value) : "");
    }
    if ((value = json_object_get(body, "priority"))) {
        patch->has_priority = 1;
        snprintf(patch->priority, sizeof(patch->priority), "%s", json_string_value(value));
    }
    if ((value = json_object_get(body, "status"))) {
        patch->has_status = 1;
        snprintf(patch->status, sizeof(patch->status), "%s", json_string_value(value));
    }
    return 0;
}

static int same_text(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

int case_patch_apply(support_case *c, const case_patch *patch, long long now)
{
    int changed = 0;
    if (patch->has_title && strcmp(c->title, patch->title) != 0) {
        free(c->title);
        c->title = strdup(patch->title);
        changed = 1;
    }
    if (patch->has_description && !same_text(c->description, patch->description)) {
        free(c->description);
        c->description = patch->description ? strdup(patch->description) : NULL;
        changed = 1;
    }
    if (patch->has_assigned_to && strcmp(c->assigned_to, patch->assigned_to) != 0) {
        snprintf(c->assigned_to, sizeof(c->assigned_to), "%s", patch->assigned_to);
        changed = 1;
    }
    if (patch->has_priority && strcmp(c->priority, patch->priority) != 0) {
        snprintf(c->priority, sizeof(c->priority), "%s", patch->priority);
        changed = 1;
    }
    if (patch->has_status && strcmp(c->status, patch->status) != 0) {
        case_status_set(c, patch->status, now);
        changed = 1;
    }
    return changed;
}

static json_t *time_or_null(long long milliseconds)
{
    return milliseconds ? crm_time_json(milliseconds) : json_null();
}

static json_t *text_or_null(const char *text)
{
    return text && text[0] ? json_string(text) : json_null();
}

json_t *case_to_json(const support_case *c)
{
    return json_pack("{s:s, s:s, s:s, s:o, s:o, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:I}", "id",
                     c->id, "customer_id", c->customer_id, "title", c->title ? c->title : "",
                     "description", c->description ? json_string(c->description) : json_null(),
                     "assigned_to", text_or_null(c->assigned_to), "priority", c->priority, "status",
                     c->status, "created_by", text_or_null(c->created_by), "created_at",
                     crm_time_json(c->created_at), "updated_at", crm_time_json(c->updated_at),
                     "resolved_at", time_or_null(c->resolved_at), "closed_at",
                     time_or_null(c->closed_at), "version", (json_int_t)c->version);
}

int customer_event_parse(const char *value, size_t len, customer_event *event, char *err,
                         size_t err_len)
{
    json_error_t error;
    int rc = -1;
    memset(event, 0, sizeof(*event));
    json_t *root = value ? json_loadb(value, len, JSON_REJECT_DUPLICATES, &error) : NULL;
    if (!json_is_object(root)) {
        snprintf(err, err_len, "the value is not a JSON object");
        goto done;
    }
    const char *id = string_of(root, "id");
    const char *type = string_of(root, "type");
    const char *customer_id = string_of(root, "customer_id");
    const char *occurred_at = string_of(root, "occurred_at");
    if (!id || !id[0] || strlen(id) >= sizeof(event->id)) {
        snprintf(err, err_len, "id is missing or not a short string");
        goto done;
    }
    if (!type || strlen(type) >= sizeof(event->type) || strncmp(type, "customer.", 9) != 0) {
        snprintf(err, err_len, "type is missing or not a customer event");
        goto done;
    }
    if (!customer_id || !crm_id_valid(customer_id)) {
        snprintf(err, err_len, "customer_id is missing or not an id");
        goto done;
    }
    if (!occurred_at || crm_time_parse(occurred_at, &event->occurred_at) != 0) {
        snprintf(err, err_len, "occurred_at is missing or not an RFC 3339 time");
        goto done;
    }
    snprintf(event->id, sizeof(event->id), "%s", id);
    snprintf(event->type, sizeof(event->type), "%s", type);
    snprintf(event->customer_id, sizeof(event->customer_id), "%s", customer_id);
    rc = 0;
done:
    json_decref(root);
    return rc;
}
