/* GET /api/openapi.json: api/openapi.yaml as JSON, compiled into the binary at build time. */
#include "contract.h"

#include <ulfius.h>

extern const unsigned char contract_openapi_json[];
extern const size_t contract_openapi_json_len;

static int handle_openapi(const struct _u_request *request, struct _u_response *response,
                          void *user_data)
{
    (void)request;
    (void)user_data;
    ulfius_set_binary_body_response(response, 200, (const char *)contract_openapi_json,
                                    contract_openapi_json_len);
    u_map_put(response->map_header, "Content-Type", "application/json");
    u_map_put(response->map_header, "Cache-Control", "public, max-age=300");
    return U_CALLBACK_COMPLETE;
}

int contract_routes_add(crm_http_server *server)
{
    static const crm_route routes[] = {
        {"GET", "/api/openapi.json", handle_openapi, NULL, CRM_ACCESS_PUBLIC},
    };
    return crm_http_server_add_routes(server, routes, 1);
}
