/* The cases service's HTTP surface: its route table and handlers. */
#ifndef CASES_ROUTES_H
#define CASES_ROUTES_H

#include "crm/service.h"

/* Registers every /api/cases route and GET /api/customers/:id/cases on the service's server,
 * with a client for the reference checks. Returns 0 or -1. */
int cases_routes_add(crm_service *service);

/* Releases what cases_routes_add made; after the server stopped. */
void cases_routes_clean(void);

#endif
