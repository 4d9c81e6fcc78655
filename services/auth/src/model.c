/* Users: validation tables, username rules, the public JSON form. */
#include "model.h"

#include "crm/problem.h"
#include "crm/util.h"
#include "crm/validate.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const user_roles[] = {"admin", "agent", "viewer", NULL};

void user_clean(user *u)
{
    if (!u)
        return;
    free(u->email);
    free(u->password_hash);
    u->email = NULL;
    u->password_hash = NULL;
}

void user_patch_clean(user_patch *patch)
{
    if (!patch)
        return;
    free(patch->email);
    patch->email = NULL;
}

int username_normalize(const char *raw, char *out)
{
    size_t len = strlen(raw);
    if (len < 3 || len > USERNAME_MAX)
        return -1;
    for (size_t i = 0; i < len; i++) {
        char c = (char)tolower((unsigned char)raw[i]);
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return -1;
        out[i] = c;
    }
    out[len] = '\0';
    return 0;
}

static int check_username(const json_t *value, const char *path, json_t *errors)
{
    char normalized[USERNAME_MAX + 1];
    if (username_normalize(json_string_value(value), normalized) == 0)
        return 0;
    crm_problem_errors_add(errors, path, "format",
                           "may hold only a-z, 0-9, '.', '_' and '-' (case is ignored)");
    return 1;
}

#define EMAIL_FIELD                                                                                \
    {                                                                                              \
        "email", CRM_FIELD_STRING, CRM_FIELD_NULLABLE, 0, 254, NULL, crm_check_email               \
    }

#define READ_ONLY_FIELDS                                                                           \
    {"id", CRM_FIELD_STRING, CRM_FIELD_READ_ONLY, 0, 0, NULL, NULL},                               \
        {"created_at", CRM_FIELD_STRING, CRM_FIELD_READ_ONLY, 0, 0, NULL, NULL},                   \
        {"updated_at", CRM_FIELD_STRING, CRM_FIELD_READ_ONLY, 0, 0, NULL, NULL},                   \
    {                                                                                              \
        "version", CRM_FIELD_INTEGER, CRM_FIELD_READ_ONLY, 0, 0, NULL, NULL                        \
    }

#define REQUIRED (CRM_FIELD_REQUIRED | CRM_FIELD_NOT_BLANK)

static const crm_field register_fields[] = {
    {"username", CRM_FIELD_STRING, REQUIRED, 3, USERNAME_MAX, NULL, check_username},
    {"password", CRM_FIELD_STRING, REQUIRED, 8, 128, NULL, NULL},
    EMAIL_FIELD,
    {"role", CRM_FIELD_STRING, 0, 0, 0, user_roles, NULL},
    {"disabled", CRM_FIELD_BOOLEAN, CRM_FIELD_READ_ONLY, 0, 0, NULL, NULL},
    READ_ONLY_FIELDS,
};

/* Login takes any string: a name that could never register simply fails to log in. */
static const crm_field login_fields[] = {
    {"username", CRM_FIELD_STRING, REQUIRED, 1, 256, NULL, NULL},
    {"password", CRM_FIELD_STRING, REQUIRED, 1, 1024, NULL, NULL},
};

static const crm_field refresh_fields[] = {
    {"refresh_token", CRM_FIELD_STRING, REQUIRED, 1, 256, NULL, NULL},
};

static const crm_field patch_fields[] = {
    {"role", CRM_FIELD_STRING, 0, 0, 0, user_roles, NULL},
    {"disabled", CRM_FIELD_BOOLEAN, 0, 0, 0, NULL, NULL},
    EMAIL_FIELD,
    {"username", CRM_FIELD_STRING, CRM_FIELD_READ_ONLY, 0, 0, NULL, NULL},
    READ_ONLY_FIELDS,
};

#define COUNT(table) (sizeof(table) / sizeof(table[0]))

size_t register_body_validate(const json_t *body, json_t *errors)
{
    return crm_validate(body, register_fields, COUNT(register_fields), "", errors);
}

size_t login_body_validate(const json_t *body, json_t *errors)
{
    return crm_validate(body, login_fields, COUNT(login_fields), "", errors);
}

size_t refresh_body_validate(const json_t *body, json_t *errors)
{
    return crm_validate(body, refresh_fields, COUNT(refresh_fields), "", errors);
}

size_t user_patch_read(const json_t *body, user_patch *patch, json_t *errors)
{
    memset(patch, 0, sizeof(*patch));
    size_t bad = crm_validate(body, patch_fields, COUNT(patch_fields), "", errors);
    if (bad)
        return bad;
    const json_t *role = json_object_get(body, "role");
    const json_t *disabled = json_object_get(body, "disabled");
    const json_t *email = json_object_get(body, "email");
    if (role) {
        patch->has_role = 1;
        snprintf(patch->role, sizeof(patch->role), "%s", json_string_value(role));
    }
    if (disabled) {
        patch->has_disabled = 1;
        patch->disabled = json_is_true(disabled);
    }
    if (email) {
        patch->has_email = 1;
        patch->email = json_is_string(email) ? strdup(json_string_value(email)) : NULL;
    }
    return 0;
}

static int same_text(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

int user_patch_apply(user *u, const user_patch *patch)
{
    int changed = 0;
    if (patch->has_role && strcmp(u->role, patch->role) != 0) {
        snprintf(u->role, sizeof(u->role), "%s", patch->role);
        changed = 1;
    }
    if (patch->has_disabled && u->disabled != patch->disabled) {
        u->disabled = patch->disabled;
        changed = 1;
    }
    if (patch->has_email && !same_text(u->email, patch->email)) {
        free(u->email);
        u->email = patch->email ? strdup(patch->email) : NULL;
        changed = 1;
    }
    return changed;
}

json_t *user_to_json(const user *u)
{
    return json_pack("{s:s, s:s, s:s?, s:s, s:b, s:o, s:o, s:I}", "id", u->id, "username",
                     u->username, "email", u->email, "role", u->role, "disabled", u->disabled,
                     "created_at", crm_time_json(u->created_at), "updated_at",
                     crm_time_json(u->updated_at), "version", (json_int_t)u->version);
}

/* ---- lists ---- */

const char *const user_list_params[] = {"limit", "cursor", "sort", "role", "disabled", NULL};
const char *const user_sortable[] = {"created_at", "username", NULL};

int user_filters_read(const crm_query *query, user_filters *filters, char *err, size_t err_len)
{
    memset(filters, 0, sizeof(*filters));
    filters->disabled = -1;
    const char *roles = crm_query_get(query, "role");
    for (const char *item = roles; item;) {
        size_t len = strcspn(item, ",");
        size_t n = 0, known = 0;
        while (filters->roles[n])
            n++;
        for (; user_roles[known]; known++) {
            if (strlen(user_roles[known]) == len && strncmp(item, user_roles[known], len) == 0)
                break;
        }
        int repeated = 0;
        for (size_t i = 0; i < n && user_roles[known]; i++)
            repeated |= filters->roles[i] == user_roles[known];
        if (!user_roles[known] || repeated) {
            snprintf(err, err_len,
                     "role must be one of admin, agent, viewer, or a comma list "
                     "of distinct roles");
            return -1;
        }
        filters->roles[n] = user_roles[known];
        item = item[len] == ',' ? item + len + 1 : NULL;
    }
    const char *disabled = crm_query_get(query, "disabled");
    if (disabled) {
        if (strcmp(disabled, "true") != 0 && strcmp(disabled, "false") != 0) {
            snprintf(err, err_len, "disabled must be true or false");
            return -1;
        }
        filters->disabled = strcmp(disabled, "true") == 0;
    }
    return 0;
}

void user_filters_key(const crm_query *query, const user_filters *filters, char *key,
                      size_t key_len)
{
    const char *roles = crm_query_get(query, "role");
    snprintf(key, key_len, "role=%s&disabled=%d", roles ? roles : "", filters->disabled);
}
