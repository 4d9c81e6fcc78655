/* The customers service's route table. */
#ifndef CUSTOMERS_ROUTES_H
#define CUSTOMERS_ROUTES_H

#include "crm/service.h"

/* Registers the routes of API.md's customers section on service->http. Returns 0 or -1. */
int customers_routes_add(crm_service *service);

#endif
