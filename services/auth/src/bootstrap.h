/* What crm-auth does once at start, before it accepts requests. */
#ifndef AUTH_BOOTSTRAP_H
#define AUTH_BOOTSTRAP_H

#include "crm/service.h"

/* Waits for MongoDB (polling; a SIGTERM meanwhile ends the wait), creates the indexes, then
 * creates the admin of CRM_BOOTSTRAP_ADMIN_* if absent. Refuses (exit status 2) when that name
 * belongs to a non-admin or no valid password is configured for a missing admin. Returns 0 or
 * the exit status. */
int auth_bootstrap(crm_service *service);

#endif
