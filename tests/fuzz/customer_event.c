/* Fuzz harness: the cases service's reading of a message value from crm.customers.v1 (the
 * cascade's input, customer_event_parse), bytes as Kafka delivers them. */
#include "crm/query.h"
#include "fuzz_support.h"
#include "model.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    customer_event event;
    char err[160];
    fuzz_quiet();
    if (customer_event_parse((const char *)data, size, &event, err, sizeof(err)) == 0) {
        FUZZ_CHECK(event.id[0] != '\0');
        FUZZ_CHECK(strncmp(event.type, "customer.", 9) == 0);
        FUZZ_CHECK(crm_id_valid(event.customer_id));
    } else {
        FUZZ_CHECK(err[0] != '\0');
    }
    return 0;
}
