/* Customers: validation tables, defaults, merge-patch rules, the public JSON form, list filters
 * and the escaping of q. */
#include "model.h"

#include "crm/mongo.h"

#include "crm/problem.h"
#include "crm/util.h"
#include "crm/validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const customer_statuses[] = {"lead", "prospect", "active", "inactive", "churned", NULL};

static char *dup_or_null(const char *text)
{
    return text ? strdup(text) : NULL;
}

static void tags_free(char **tags, size_t *count)
{
    for (size_t i = 0; i < *count; i++) {
        free(tags[i]);
        tags[i] = NULL;
    }
    *count = 0;
}

void customer_clean(customer *c)
{
    if (!c)
        return;
    free(c->name);
    free(c->email);
    free(c->phone);
    free(c->address);
    tags_free(c->tags, &c->tag_count);
    c->name = c->email = c->phone = c->address = NULL;
}

void customer_patch_clean(customer_patch *patch)
{
    if (!patch)
        return;
    free(patch->name);
    free(patch->email);
    free(patch->phone);
    free(patch->address);
    tags_free(patch->tags, &patch->tag_count);
    patch->name = patch->email = patch->phone = patch->address = NULL;
}

int customer_copy(customer *to, const customer *from)
{
    *to = *from;
    to->name = dup_or_null(from->name);
    to->email = dup_or_null(from->email);
    to->phone = dup_or_null(from->phone);
    to->address = dup_or_null(from->address);
    for (size_t i = 0; i < from->tag_count; i++)
        to->tags[i] = strdup(from->tags[i]);
    return 0;
}

/* ---- validation tables ---- */

static int check_phone(const json_t *value, const char *path, json_t *errors)
{
    const char *text = json_string_value(value);
    for (const char *p = text; *p; p++) {
        if (!((*p >= '0' && *p <= '9') || strchr(" +()-.", *p))) {
            crm_problem_errors_add(errors, path, "format",
                                   "may hold only digits, spaces and + ( ) - .");
            return 1;
        }
    }
    return 0;
}

static const crm_field contact_fields[] = {
    {"email", CRM_FIELD_STRING, CRM_FIELD_NULLABLE, 0, 254, NULL, crm_check_email},
    {"phone", CRM_FIELD_STRING, CRM_FIELD_NULLABLE, 0, 32, NULL, check_phone},
    {"address", CRM_FIELD_STRING, CRM_FIELD_NULLABLE, 0, 500, NULL, NULL},
};

#define COUNT(table) (sizeof(table) / sizeof(table[0]))

static int check_contact_info(const json_t *value, const char *path, json_t *errors)
{
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "%s.", path);
    return crm_validate(value, contact_fields, COUNT(contact_fields), prefix, errors) > 0;
}

/* One entry per bad tag (its first failed rule), like one per bad field. */
static int check_tags(const json_t *value, const char *path, json_t *errors)
{
    char item[80];
    size_t index;
    const json_t *tag;
    int bad = 0;
    if (json_array_size(value) > CUSTOMER_TAGS_MAX) {
        crm_problem_errors_add(errors, path, "length", "at most 20 tags");
        return 1;
    }
    json_array_foreach(value, index, tag)
    {
        snprintf(item, sizeof(item), "%s[%zu]", path, index);
        const char *text = json_string_value(tag);
        if (!text) {
            crm_problem_errors_add(errors, item, "type", "must be a string");
        } else if (strlen(text) != json_string_length(tag)) {
            crm_problem_errors_add(errors, item, "format", "must not contain NUL characters");
        } else if (crm_utf8_length(text) < 1 || crm_utf8_length(text) > 40) {
            crm_problem_errors_add(errors, item, "length", "must be 1 to 40 characters long");
        } else {
            int repeated = 0;
            for (size_t j = 0; j < index && !repeated; j++) {
                const char *other = json_string_value(json_array_get(value, j));
                repeated = other && strcmp(other, text) == 0;
            }
            if (!repeated)
                continue;
            crm_problem_errors_add(errors, item, "duplicate", "repeats an earlier tag");
        }
        bad = 1;
    }
    return bad;
}

#define READ_ONLY_FIELDS                                                                           \
    {"id", CRM_FIELD_STRING, CRM_FIELD_READ_ONLY, 0, 0, NULL, NULL},                               \
        {"created_at", CRM_FIELD_STRING, CRM_FIELD_READ_ONLY, 0, 0, NULL, NULL},                   \
        {"updated_at", CRM_FIELD_STRING, CRM_FIELD_READ_ONLY, 0, 0, NULL, NULL},                   \
    {                                                                                              \
        "version", CRM_FIELD_INTEGER, CRM_FIELD_READ_ONLY, 0, 0, NULL, NULL                        \
    }

static const crm_field create_fields[] = {
    {"name", CRM_FIELD_STRING, CRM_FIELD_REQUIRED | CRM_FIELD_NOT_BLANK, 1, 200, NULL, NULL},
    {"contact_info", CRM_FIELD_OBJECT, CRM_FIELD_NULLABLE, 0, 0, NULL, check_contact_info},
    {"status", CRM_FIELD_STRING, 0, 0, 0, customer_statuses, NULL},
    {"tags", CRM_FIELD_ARRAY, CRM_FIELD_NULLABLE, 0, 0, NULL, check_tags},
    READ_ONLY_FIELDS,
};

/* name is required on create only; in a patch it may be left out but never cleared. */
static const crm_field patch_fields[] = {
    {"name", CRM_FIELD_STRING, CRM_FIELD_NOT_BLANK, 1, 200, NULL, NULL},
    {"contact_info", CRM_FIELD_OBJECT, CRM_FIELD_NULLABLE, 0, 0, NULL, check_contact_info},
    {"status", CRM_FIELD_STRING, 0, 0, 0, customer_statuses, NULL},
    {"tags", CRM_FIELD_ARRAY, CRM_FIELD_NULLABLE, 0, 0, NULL, check_tags},
    READ_ONLY_FIELDS,
};

static size_t tags_read(const json_t *value, char **tags)
{
    size_t count = 0;
    for (; count < json_array_size(value); count++)
        tags[count] = strdup(json_string_value(json_array_get(value, count)));
    return count;
}

static const char *member_string(const json_t *object, const char *name)
{
    return json_string_value(json_object_get(object, name));
}

size_t customer_create_read(const json_t *body, customer *out, json_t *errors)
{
    memset(out, 0, sizeof(*out));
    size_t bad = crm_validate(body, create_fields, COUNT(create_fields), "", errors);
    if (bad)
        return bad;
    const json_t *contact = json_object_get(body, "contact_info");
    out->name = strdup(member_string(body, "name"));
    out->email = dup_or_null(member_string(contact, "email"));
    out->phone = dup_or_null(member_string(contact, "phone"));
    out->address = dup_or_null(member_string(contact, "address"));
    snprintf(out->status, sizeof(out->status), "%s",
             member_string(body, "status") ? member_string(body, "status") : "lead");
    out->tag_count = tags_read(json_object_get(body, "tags"), out->tags);
    return 0;
}

size_t customer_patch_read(const json_t *body, customer_patch *patch, json_t *errors)
{
    memset(patch, 0, sizeof(*patch));
    size_t bad = crm_validate(body, patch_fields, COUNT(patch_fields), "", errors);
    if (bad)
        return bad;
    const json_t *name = json_object_get(body, "name");
    const json_t *contact = json_object_get(body, "contact_info");
    const json_t *status = json_object_get(body, "status");
    const json_t *tags = json_object_get(body, "tags");
    if (name) {
        patch->has_name = 1;
        patch->name = strdup(json_string_value(name));
    }
    if (status) {
        patch->has_status = 1;
        snprintf(patch->status, sizeof(patch->status), "%s", json_string_value(status));
    }
    if (tags) {
        patch->has_tags = 1;
        patch->tag_count = tags_read(tags, patch->tags);
    }
    if (json_is_null(contact)) {
        /* contact_info: null clears the object, so each of its fields. */
        patch->has_email = patch->has_phone = patch->has_address = 1;
    } else if (contact) {
        /* A nested merge patch: absent keeps, null clears, a string sets. */
        patch->has_email = json_object_get(contact, "email") != NULL;
        patch->has_phone = json_object_get(contact, "phone") != NULL;
        patch->has_address = json_object_get(contact, "address") != NULL;
        patch->email = dup_or_null(member_string(contact, "email"));
        patch->phone = dup_or_null(member_string(contact, "phone"));
        patch->address = dup_or_null(member_string(contact, "address"));
    }
    return 0;
}

static int same_text(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Sets *field to a copy of value when they differ. Returns 1 when it changed. */
static int text_set(char **field, const char *value)
{
    if (same_text(*field, value))
        return 0;
    free(*field);
    *field = dup_or_null(value);
    return 1;
}

static int tags_equal(char *const *a, size_t a_count, char *const *b, size_t b_count)
{
    if (a_count != b_count)
        return 0;
    for (size_t i = 0; i < a_count; i++) {
        if (strcmp(a[i], b[i]) != 0)
            return 0;
    }
    return 1;
}

int customer_patch_apply(customer *c, const customer_patch *patch)
{
    int changed = 0;
    if (patch->has_name)
        changed |= text_set(&c->name, patch->name);
    if (patch->has_email)
        changed |= text_set(&c->email, patch->email);
    if (patch->has_phone)
        changed |= text_set(&c->phone, patch->phone);
    if (patch->has_address)
        changed |= text_set(&c->address, patch->address);
    if (patch->has_status && strcmp(c->status, patch->status) != 0) {
        snprintf(c->status, sizeof(c->status), "%s", patch->status);
        changed = 1;
    }
    if (patch->has_tags && !tags_equal(c->tags, c->tag_count, patch->tags, patch->tag_count)) {
        tags_free(c->tags, &c->tag_count);
        for (size_t i = 0; i < patch->tag_count; i++)
            c->tags[i] = strdup(patch->tags[i]);
        c->tag_count = patch->tag_count;
        changed = 1;
    }
    return changed;
}

json_t *customer_to_json(const customer *c)
{
    json_t *tags = json_array();
    for (size_t i = 0; i < c->tag_count; i++)
        json_array_append_new(tags, json_string(c->tags[i]));
    return json_pack("{s:s, s:s?, s:{s:s?, s:s?, s:s?}, s:s, s:o, s:o, s:o, s:I}", "id", c->id,
                     "name", c->name, "contact_info", "email", c->email, "phone", c->phone,
                     "address", c->address, "status", c->status, "tags", tags, "created_at",
                     crm_time_json(c->created_at), "updated_at", crm_time_json(c->updated_at),
                     "version", (json_int_t)c->version);
}

void customer_json_write(crm_json_text *out, const customer *c)
{
    crm_json_text_lit(out, "{\"id\":");
    crm_json_text_string(out, c->id);
    crm_json_text_lit(out, ",\"name\":");
    crm_json_text_string(out, c->name);
    crm_json_text_lit(out, ",\"contact_info\":{\"email\":");
    crm_json_text_string(out, c->email);
    crm_json_text_lit(out, ",\"phone\":");
    crm_json_text_string(out, c->phone);
    crm_json_text_lit(out, ",\"address\":");
    crm_json_text_string(out, c->address);
    crm_json_text_lit(out, "},\"status\":");
    crm_json_text_string(out, c->status);
    crm_json_text_lit(out, ",\"tags\":[");
    for (size_t i = 0; i < c->tag_count; i++) {
        if (i > 0)
            crm_json_text_lit(out, ",");
        crm_json_text_string(out, c->tags[i]);
    }
    crm_json_text_lit(out, "],\"created_at\":");
    crm_json_text_time(out, c->created_at);
    crm_json_text_lit(out, ",\"updated_at\":");
    crm_json_text_time(out, c->updated_at);
    crm_json_text_lit(out, ",\"version\":");
    crm_json_text_int(out, c->version);
    crm_json_text_lit(out, "}");
}

/* ---- list filters ---- */

const char *const customer_list_params[] = {
    "limit", "cursor", "sort", "status", "tag", "q", "created_after", "created_before", NULL};
const char *const customer_sortable[] = {"created_at", "updated_at", "name", NULL};

static int statuses_read(const char *list, customer_filters *filters)
{
    size_t n = 0;
    for (const char *item = list; item;) {
        size_t len = strcspn(item, ",");
        size_t known = 0;
        for (; customer_statuses[known]; known++) {
            if (strlen(customer_statuses[known]) == len &&
                strncmp(item, customer_statuses[known], len) == 0)
                break;
        }
        if (!customer_statuses[known])
            return -1;
        for (size_t i = 0; i < n; i++) {
            if (filters->statuses[i] == customer_statuses[known])
                return -1;
        }
        filters->statuses[n++] = customer_statuses[known];
        item = item[len] == ',' ? item + len + 1 : NULL;
    }
    return 0;
}

static int time_read(const crm_query *query, const char *name, long long *out, char *err,
                     size_t err_len)
{
    const char *text = crm_query_get(query, name);
    *out = -1;
    if (!text)
        return 0;
    if (crm_time_parse(text, out) == 0)
        return 0;
    snprintf(err, err_len, "%s must be an RFC 3339 time such as 2026-11-26T10:00:00Z", name);
    return -1;
}

int customer_filters_read(const crm_query *query, customer_filters *filters, char *key,
                          size_t key_len, char *err, size_t err_len)
{
    memset(filters, 0, sizeof(*filters));
    filters->created_after = filters->created_before = -1;
    const char *statuses = crm_query_get(query, "status");
    if (statuses && statuses_read(statuses, filters) != 0) {
        snprintf(err, err_len,
                 "status must be one of lead, prospect, active, inactive, churned, or a comma "
                 "list of distinct statuses");
        return -1;
    }
    filters->tag = crm_query_get(query, "tag");
    if (filters->tag && (crm_utf8_length(filters->tag) < 1 || crm_utf8_length(filters->tag) > 40)) {
        snprintf(err, err_len, "tag must be 1 to 40 characters long");
        return -1;
    }
    const char *q = crm_query_get(query, "q");
    if (q) {
        size_t length = crm_utf8_length(q);
        if (length < 1 || length > CUSTOMER_Q_MAX) {
            snprintf(err, err_len, "q must be 1 to %d characters long", CUSTOMER_Q_MAX);
            return -1;
        }
        filters->q_pattern = crm_regex_literal(q);
        if (!filters->q_pattern) {
            snprintf(err, err_len, "out of memory");
            return -1;
        }
    }
    if (time_read(query, "created_after", &filters->created_after, err, err_len) != 0 ||
        time_read(query, "created_before", &filters->created_before, err, err_len) != 0)
        return -1;
    /* The canonical form the cursor is bound to (query.c digests it). */
    char statuses_key[64] = "";
    for (size_t i = 0, used = 0; filters->statuses[i]; i++)
        used += (size_t)snprintf(statuses_key + used, sizeof(statuses_key) - used, "%s,",
                                 filters->statuses[i]);
    snprintf(key, key_len, "status=%s&tag=%s&q=%s&after=%lld&before=%lld", statuses_key,
             filters->tag ? filters->tag : "", q ? q : "", filters->created_after,
             filters->created_before);
    return 0;
}

void customer_filters_clean(customer_filters *filters)
{
    if (!filters)
        return;
    free(filters->q_pattern);
    filters->q_pattern = NULL;
}
