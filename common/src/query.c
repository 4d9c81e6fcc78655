/* Strict query-string parsing, list parameters and keyset cursors. */
#include "crm/query.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes `len` bytes of a query component ('+' is a space). Returns a new string or NULL when
 * an escape is malformed or decodes to NUL or invalid UTF-8. */
static char *component_decode(const char *text, size_t len)
{
    char *out = malloc(len + 1);
    size_t n = 0;
    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '%') {
            int high = i + 2 < len ? hex_value(text[i + 1]) : -1;
            int low = i + 2 < len ? hex_value(text[i + 2]) : -1;
            if (high < 0 || low < 0 || (high == 0 && low == 0))
                goto fail;
            out[n++] = (char)(high * 16 + low);
            i += 2;
        } else {
            out[n++] = text[i] == '+' ? ' ' : text[i];
        }
    }
    out[n] = '\0';
    json_t *probe = json_stringn(out, n); /* jansson refuses invalid UTF-8 */
    if (!probe)
        goto fail;
    json_decref(probe);
    return out;
fail:
    free(out);
    return NULL;
}

static int name_allowed(const char *name, const char *const *allowed)
{
    for (size_t i = 0; allowed && allowed[i]; i++) {
        if (strcmp(name, allowed[i]) == 0)
            return 1;
    }
    return 0;
}

int crm_query_parse(crm_query *query, const char *url, const char *const *allowed, char *err,
                    size_t err_len)
{
    memset(query, 0, sizeof(*query));
    const char *p = strchr(url, '?');
    if (!p)
        return 0;
    p++;
    while (*p) {
        size_t len = strcspn(p, "&");
        if (len > 0) {
            const char *equals = memchr(p, '=', len);
            size_t name_len = equals ? (size_t)(equals - p) : len;
            char *name = component_decode(p, name_len);
            char *value = equals ? component_decode(equals + 1, len - name_len - 1) : strdup("");
            if (!name || !value) {
                free(name);
                free(value);
                snprintf(err, err_len, "the query string is malformed");
                return -1;
            }
            if (!name_allowed(name, allowed)) {
                snprintf(err, err_len, "unknown parameter \"%.40s\"", name);
                free(name);
                free(value);
                return -1;
            }
            if (crm_query_get(query, name)) {
                snprintf(err, err_len, "parameter \"%.40s\" is given twice", name);
                free(name);
                free(value);
                return -1;
            }
            if (query->count == CRM_QUERY_MAX_PARAMS) {
                free(name);
                free(value);
                snprintf(err, err_len, "too many parameters");
                return -1;
            }
            query->params[query->count++] = (crm_query_param){name, value};
        }
        p += len;
        if (*p == '&')
            p++;
    }
    return 0;
}

void crm_query_clean(crm_query *query)
{
    if (!query)
        return;
    for (size_t i = 0; i < query->count; i++) {
        free(query->params[i].name);
        free(query->params[i].value);
    }
    query->count = 0;
}

const char *crm_query_get(const crm_query *query, const char *name)
{
    for (size_t i = 0; i < query->count; i++) {
        if (strcmp(query->params[i].name, name) == 0)
            return query->params[i].value;
    }
    return NULL;
}

static void digest_hex(const char *text, char out[65])
{
    unsigned char hash[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(hash, (const unsigned char *)text, strlen(text));
    sodium_bin2hex(out, 65, hash, sizeof(hash));
}

/* Decodes and checks a cursor against the current sort and filters. The longest cursor the lists
 * issue carries a 200-character name that JSON may escape to 1200 bytes ("\u0001" each), so the
 * decoded JSON gets room for several times that. */
static int cursor_decode(crm_list_params *list, const char *text, char *err, size_t err_len)
{
    unsigned char raw[4096];
    size_t raw_len = 0;
    char sort[40];
    json_t *cursor = NULL;
    int rc = -1;

    if (sodium_base642bin(raw, sizeof(raw) - 1, text, strlen(text), NULL, &raw_len, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        goto done;
    cursor = json_loadb((const char *)raw, raw_len, JSON_REJECT_DUPLICATES, NULL);
    const char *s = json_string_value(json_object_get(cursor, "s"));
    const char *f = json_string_value(json_object_get(cursor, "f"));
    const char *id = json_string_value(json_object_get(cursor, "id"));
    json_t *value = json_object_get(cursor, "v");
    if (!s || !f || !id || !value || !crm_id_valid(id) || json_object_size(cursor) != 4)
        goto done;
    snprintf(sort, sizeof(sort), "%s%s", list->descending ? "-" : "", list->sort_field);
    if (strcmp(s, sort) != 0 || strcmp(f, list->filters_key) != 0) {
        snprintf(err, err_len, "the cursor belongs to another sort or other filters");
        goto fail_quietly;
    }
    if (!json_is_string(value) && !json_is_integer(value))
        goto done;
    list->after_value = json_incref(value);
    snprintf(list->after_id, sizeof(list->after_id), "%s", id);
    rc = 0;
done:
    if (rc != 0)
        snprintf(err, err_len, "the cursor is not valid");
fail_quietly:
    json_decref(cursor);
    return rc;
}

int crm_list_params_read(crm_list_params *list, const crm_query *query, const char *const *sortable,
                         const char *filters_key, char *err, size_t err_len)
{
    memset(list, 0, sizeof(*list));
    list->limit = 20;
    snprintf(list->sort_field, sizeof(list->sort_field), "created_at");
    list->descending = 1;
    digest_hex(filters_key, list->filters_key);

    const char *limit = crm_query_get(query, "limit");
    if (limit) {
        char *end = NULL;
        long value = isdigit((unsigned char)limit[0]) ? strtol(limit, &end, 10) : 0;
        if (!end || *end || value < 1 || value > 100) {
            snprintf(err, err_len, "limit must be an integer from 1 to 100");
            return -1;
        }
        list->limit = value;
    }
    const char *sort = crm_query_get(query, "sort");
    if (sort) {
        int descending = sort[0] == '-';
        if (!name_allowed(sort + descending, sortable) ||
            strlen(sort + descending) >= sizeof(list->sort_field)) {
            snprintf(err, err_len, "sort must be one of the sortable fields, optionally with -");
            return -1;
        }
        list->descending = descending;
        snprintf(list->sort_field, sizeof(list->sort_field), "%s", sort + descending);
    }
    const char *cursor = crm_query_get(query, "cursor");
    if (cursor && cursor_decode(list, cursor, err, err_len) != 0)
        return -1;
    return 0;
}

void crm_list_params_clean(crm_list_params *list)
{
    if (!list)
        return;
    json_decref(list->after_value);
    list->after_value = NULL;
}

char *crm_cursor_encode(const crm_list_params *list, const json_t *value, const char *id)
{
    char sort[40];
    snprintf(sort, sizeof(sort), "%s%s", list->descending ? "-" : "", list->sort_field);
    json_t *cursor =
        json_pack("{s:s, s:s, s:O, s:s}", "s", sort, "f", list->filters_key, "v", value, "id", id);
    char *text = json_dumps(cursor, JSON_COMPACT);
    json_decref(cursor);
    if (!text)
        return NULL;
    size_t len = strlen(text);
    size_t encoded_len = sodium_base64_encoded_len(len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *encoded = malloc(encoded_len);
    if (encoded)
        sodium_bin2base64(encoded, encoded_len, (const unsigned char *)text, len,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    free(text);
    return encoded;
}

int crm_id_valid(const char *text)
{
    size_t i = 0;
    for (; text[i]; i++) {
        if (!((text[i] >= '0' && text[i] <= '9') || (text[i] >= 'a' && text[i] <= 'f')))
            return 0;
    }
    return i == 24;
}

static int digits(const char *p, int count, int *out)
{
    int value = 0;
    for (int i = 0; i < count; i++) {
        if (!isdigit((unsigned char)p[i]))
            return -1;
        value = value * 10 + (p[i] - '0');
    }
    *out = value;
    return 0;
}

int crm_time_parse(const char *text, long long *milliseconds)
{
    int year, month, day, hour, minute, second, millis = 0, offset = 0;
    static const int days_in_month[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (strlen(text) < 20 || digits(text, 4, &year) || text[4] != '-' ||
        digits(text + 5, 2, &month) || text[7] != '-' || digits(text + 8, 2, &day) ||
        (text[10] != 'T' && text[10] != 't') || digits(text + 11, 2, &hour) || text[13] != ':' ||
        digits(text + 14, 2, &minute) || text[16] != ':' || digits(text + 17, 2, &second))
        return -1;
    const char *p = text + 19;
    if (*p == '.') {
        int n = 0, value = 0;
        for (p++; isdigit((unsigned char)*p); p++, n++) {
            if (n < 3)
                value = value * 10 + (*p - '0');
        }
        if (n == 0)
            return -1;
        for (; n < 3; n++)
            value *= 10;
        millis = value;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om) || oh > 23 || om > 59)
            return -1;
        offset = (oh * 60 + om) * (*p == '+' ? 1 : -1);
        p += 6;
    } else {
        return -1;
    }
    if (*p || month < 1 || month > 12 || day < 1 || day > days_in_month[month - 1] || hour > 23 ||
        minute > 59 || second > 60)
        return -1;
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (month == 2 && day == 29 && !leap) /* timegm would quietly make it March 1st */
        return -1;
    struct tm tm = {.tm_year = year - 1900,
                    .tm_mon = month - 1,
                    .tm_mday = day,
                    .tm_hour = hour,
                    .tm_min = minute,
                    .tm_sec = second};
    time_t seconds = timegm(&tm);
    *milliseconds = ((long long)seconds - offset * 60LL) * 1000 + millis;
    return 0;
}
