/* The API's own description, served by the gateway: GET /api/openapi.json. */
#ifndef GATEWAY_CONTRACT_H
#define GATEWAY_CONTRACT_H

#include "crm/http.h"

/* Registers GET /api/openapi.json (public). Returns 0 or -1. */
int contract_routes_add(crm_http_server *server);

#endif
