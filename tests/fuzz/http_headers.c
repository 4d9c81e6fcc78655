/* Fuzz harness: the client headers every service reads itself (common/src/http.c): If-Match and
 * If-None-Match against a resource's version (conditional writes and reads), X-Request-Id (echoed
 * and logged only when valid), and Content-Type and Content-Length in front of a JSON body.
 *
 * Input: lines. 0 If-Match, 1 If-None-Match, 2 X-Request-Id, 3 Content-Type, 4 Content-Length,
 * 5 the body; the first byte of line 0 also picks the resource's version. A header whose line is
 * missing is not sent. */
#include "crm/http.h"
#include "fuzz_support.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <ulfius.h>

static const long long versions[] = {1, 3, 42, 9223372036854775807LL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_fields lines;
    struct _u_request request;
    struct _u_response response;
    json_t *body = NULL;

    fuzz_quiet();
    fuzz_fields_split(&lines, data, size, '\n', 6);
    long long version = versions[(size ? data[0] : 0) % 4];
    const char *body_text = lines.count > 5 ? fuzz_field(&lines, 5) : "{}";
    fuzz_request_init(&request, "PATCH", "/api/customers/0123456789abcdef01234567", body_text,
                      strlen(body_text));
    static const char *const names[] = {"If-Match", "If-None-Match", "X-Request-Id", "Content-Type",
                                        "Content-Length"};
    for (size_t i = 0; i < 5; i++)
        fuzz_request_header(&request, names[i], i < lines.count ? lines.field[i] : NULL);

    /* Conditional requests. */
    long long demanded = crm_http_if_match_version(&request);
    FUZZ_CHECK(demanded >= -1);
    ulfius_init_response(&response);
    if (crm_http_if_match_or_reply(&request, &response, version) != 0) {
        fuzz_expect_problem(&response, 412, 412);
        FUZZ_CHECK(demanded != version); /* the one tag the database would accept passes here */
    }
    ulfius_clean_response(&response);
    ulfius_init_response(&response);
    if (crm_http_not_modified(&request, &response, version))
        FUZZ_CHECK(response.status == 304 && u_map_get(response.map_header, "ETag") != NULL);
    ulfius_clean_response(&response);

    /* The request id: only a valid one is ever echoed or logged. */
    if (lines.count > 2 && crm_http_request_id_valid(lines.field[2])) {
        size_t len = strlen(lines.field[2]);
        FUZZ_CHECK(len >= 1 && len <= 128);
        FUZZ_CHECK(strspn(lines.field[2], "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                          "0123456789._:-") == len);
    }

    /* The body behind Content-Type and Content-Length, for POST and for a merge patch. */
    for (int merge_patch = 0; merge_patch <= 1; merge_patch++) {
        ulfius_init_response(&response);
        if (crm_http_read_json_or_reply(&request, &response, merge_patch, &body) == 0) {
            FUZZ_CHECK(json_is_object(body));
            json_decref(body);
        } else {
            fuzz_expect_problem(&response, 400, 422);
        }
        ulfius_clean_response(&response);
    }
    ulfius_clean_request(&request);
    fuzz_fields_clean(&lines);
    return 0;
}
