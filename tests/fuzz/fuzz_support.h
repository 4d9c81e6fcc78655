/* What the libFuzzer harnesses of tests/fuzz share: cutting an input into text fields, building
 * the ulfius request a route would see, and a check that aborts (so libFuzzer records the input)
 * when an invariant of the code under test does not hold. */
#ifndef CRM_FUZZ_SUPPORT_H
#define CRM_FUZZ_SUPPORT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct _u_request;
struct _u_response;

#define FUZZ_MAX_FIELDS 24

/* The input cut at `separator` into at most `max` (<= FUZZ_MAX_FIELDS) NUL-terminated fields; the
 * last field keeps the rest, separators included. A field holding a NUL byte ends there as a C
 * string (len[] keeps the full length). Release with fuzz_fields_clean. */
typedef struct fuzz_fields {
    char *buffer; /* owned: the input copied once, separators replaced by NUL */
    const char *field[FUZZ_MAX_FIELDS];
    size_t len[FUZZ_MAX_FIELDS];
    size_t count;
} fuzz_fields;

void fuzz_fields_split(fuzz_fields *fields, const uint8_t *data, size_t size, char separator,
                       size_t max);
void fuzz_fields_clean(fuzz_fields *fields);

/* The field `i`, or "" when the input had fewer fields. */
const char *fuzz_field(const fuzz_fields *fields, size_t i);

/* Fills a request as ulfius hands it to a route: method, URL, a body of `body_len` bytes (copied
 * into a buffer of exactly that size, so reading past it is caught) and no headers yet. Release
 * with ulfius_clean_request. */
void fuzz_request_init(struct _u_request *request, const char *method, const char *url,
                       const void *body, size_t body_len);

/* Adds a header unless `value` is NULL. */
void fuzz_request_header(struct _u_request *request, const char *name, const char *value);

/* The status a route answered; aborts unless it is `low`..`high`, or when a problem's body is not a
 * JSON object holding that status (a 500 or an unrendered problem from bad input is a bug). */
void fuzz_expect_problem(const struct _u_response *response, unsigned int low, unsigned int high);

/* Reads a fuzzed body as a route does (POST, or PATCH when `merge_patch`, on `path`): returns the
 * JSON object, or NULL after checking that a 400..422 problem was answered. */
json_t *fuzz_body_read(const uint8_t *data, size_t size, int merge_patch, const char *path);

/* Answers the validation problem for `errors` (taken) as the routes do, and checks it is a 422
 * listing at least `bad` errors. */
void fuzz_validation_answer(json_t *errors, size_t bad);

/* Aborts with a message naming the broken invariant when `condition` is false. */
#define FUZZ_CHECK(condition) fuzz_check((condition), #condition, __FILE__, __LINE__)
void fuzz_check(int condition, const char *text, const char *file, int line);

/* Quiets the service log (an answered problem logs nothing worth seeing here); once. */
void fuzz_quiet(void);

#endif
