/* Helpers of fuzz_support.h. */
#include "fuzz_support.h"

#include "crm/http.h"
#include "crm/log.h"
#include "crm/problem.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ulfius.h>

void fuzz_fields_split(fuzz_fields *fields, const uint8_t *data, size_t size, char separator,
                       size_t max)
{
    memset(fields, 0, sizeof(*fields));
    if (max > FUZZ_MAX_FIELDS)
        max = FUZZ_MAX_FIELDS;
    fields->buffer = malloc(size + 1);
    if (!fields->buffer)
        abort();
    if (size)
        memcpy(fields->buffer, data, size);
    fields->buffer[size] = '\0';
    size_t start = 0;
    for (size_t i = 0; i <= size && fields->count < max; i++) {
        int last = fields->count + 1 == max;
        if (i < size && (last || fields->buffer[i] != separator))
            continue;
        fields->field[fields->count] = fields->buffer + start;
        fields->len[fields->count] = i - start;
        fields->count++;
        fields->buffer[i] = '\0';
        start = i + 1;
    }
}

void fuzz_fields_clean(fuzz_fields *fields)
{
    free(fields->buffer);
    memset(fields, 0, sizeof(*fields));
}

const char *fuzz_field(const fuzz_fields *fields, size_t i)
{
    return i < fields->count ? fields->field[i] : "";
}

void fuzz_request_init(struct _u_request *request, const char *method, const char *url,
                       const void *body, size_t body_len)
{
    if (ulfius_init_request(request) != U_OK)
        abort();
    request->http_verb = strdup(method);
    request->http_url = strdup(url);
    if (body_len) {
        request->binary_body = malloc(body_len);
        if (!request->binary_body)
            abort();
        memcpy(request->binary_body, body, body_len);
        request->binary_body_length = body_len;
    }
}

void fuzz_request_header(struct _u_request *request, const char *name, const char *value)
{
    if (value)
        u_map_put(request->map_header, name, value);
}

void fuzz_expect_problem(const struct _u_response *response, unsigned int low, unsigned int high)
{
    unsigned int status = (unsigned int)response->status;
    if (status < low || status > high) {
        fprintf(stderr, "fuzz: answered %u, expected %u..%u\n", status, low, high);
        abort();
    }
    json_t *body = json_loadb(response->binary_body, response->binary_body_length, 0, NULL);
    json_int_t rendered = json_integer_value(json_object_get(body, "status"));
    json_decref(body);
    if (rendered != (json_int_t)status) {
        fprintf(stderr, "fuzz: a %u answer without its problem body\n", status);
        abort();
    }
}

void fuzz_check(int condition, const char *text, const char *file, int line)
{
    if (condition)
        return;
    fprintf(stderr, "fuzz: invariant broken at %s:%d: %s\n", file, line, text);
    abort();
}

void fuzz_quiet(void)
{
    crm_log_threshold = CRM_LOG_ERROR;
}

json_t *fuzz_body_read(const uint8_t *data, size_t size, int merge_patch, const char *path)
{
    struct _u_request request;
    struct _u_response response;
    json_t *body = NULL;
    fuzz_request_init(&request, merge_patch ? "PATCH" : "POST", path, data, size);
    fuzz_request_header(&request, "Content-Type",
                        merge_patch ? "application/merge-patch+json" : "application/json");
    ulfius_init_response(&response);
    if (crm_http_read_json_or_reply(&request, &response, merge_patch, &body) != 0) {
        FUZZ_CHECK(body == NULL);
        fuzz_expect_problem(&response, 400, 422);
    } else {
        FUZZ_CHECK(json_is_object(body));
    }
    ulfius_clean_request(&request);
    ulfius_clean_response(&response);
    return body;
}

void fuzz_validation_answer(json_t *errors, size_t bad)
{
    struct _u_response response;
    FUZZ_CHECK(json_array_size(errors) >= bad);
    ulfius_init_response(&response);
    crm_problem_send_validation(&response, errors); /* takes errors */
    fuzz_expect_problem(&response, 422, 422);
    ulfius_clean_response(&response);
}
