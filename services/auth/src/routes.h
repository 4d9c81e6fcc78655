/* The auth service's HTTP surface: its route table and handlers. */
#ifndef AUTH_ROUTES_H
#define AUTH_ROUTES_H

#include "crm/service.h"

/* Registers every /api/auth and /api/users route on the service's server. Returns 0 or -1. */
int auth_routes_add(crm_service *service);

#endif
