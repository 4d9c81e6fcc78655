/* Fuzz harness: the gateway's parser of upstream answers (gateway/src/wire.c,
 * wire_response_read), fed the way a socket would, in pieces.
 *
 * Input: byte 0 picks the piece size (1 + low 6 bits) and, with its high bit, a HEAD request;
 * the rest is the byte stream from the upstream. Bodies are limited to 4 KiB. */
#include "fuzz_support.h"
#include "wire.h"

#include <string.h>

#define MAX_BODY 4096

typedef struct source {
    const uint8_t *data;
    size_t len, pos, piece;
} source;

static ssize_t fill(void *context, char *into, size_t room)
{
    source *s = context;
    size_t n = s->len - s->pos;
    if (n > s->piece)
        n = s->piece;
    if (n > room)
        n = room;
    memcpy(into, s->data + s->pos, n);
    s->pos += n;
    return (ssize_t)n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wire_answer answer;
    if (size < 1)
        return 0;
    fuzz_quiet();
    source s = {data + 1, size - 1, 0, 1 + (data[0] & 0x3f)};
    FUZZ_CHECK(wire_answer_init(&answer, MAX_BODY) == 0);
    int got = 0, result = wire_response_read(fill, &s, data[0] & 0x80, &answer, &got);
    FUZZ_CHECK(result >= -1 && result <= 1);
    FUZZ_CHECK(got == (size > 1));
    if (result >= 0) {
        FUZZ_CHECK(answer.status >= 200 && answer.status <= 599);
        FUZZ_CHECK(answer.len <= MAX_BODY);
        FUZZ_CHECK(answer.error[0] == '\0');
        FUZZ_CHECK(!(data[0] & 0x80) || answer.len == 0); /* a HEAD answer has no body */
    } else {
        FUZZ_CHECK(answer.error[0] != '\0');
    }
    wire_answer_clean(&answer);
    return 0;
}
