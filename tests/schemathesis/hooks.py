"""schemathesis hooks of tests/integration/schemathesis.sh: keep the fuzzer away from the
bootstrap admin, whom every later integration test logs in as.

The run uses an admin of its own (made by the script), which may not demote or disable itself
(409). What must never happen is that fuzzed requests lock the bootstrap admin out: five failed
logins with its username throttle it for 15 minutes (429), and an admin may demote or disable
another admin. So a login naming the bootstrap admin gets another username, and a PATCH of the
bootstrap admin's user another id, before the request is sent (the check of the answer still
runs). CRM_ST_ADMIN_USERNAME and CRM_ST_ADMIN_ID name that user.

One probe of schemathesis is rewritten too: `Content-Type: multipart/form-data` without a
boundary. ulfius 2.7.13 (Debian 12) hands every multipart/form-data request to libmicrohttpd's
form parser before any code of ours runs, and when that parser cannot start (no boundary) it
closes the connection without an answer. No route can change that, so api/openapi.yaml lists it
with the other answers libmicrohttpd gives by itself, and the probe gets a boundary: the request
is still a form and still must be refused (415) where a body is expected.
"""
import os

import schemathesis

ADMIN_USERNAME = os.environ["CRM_ST_ADMIN_USERNAME"].lower()
ADMIN_ID = os.environ["CRM_ST_ADMIN_ID"]
ELSEWHERE = "000000000000000000000000"  # a well-formed id that names no user


@schemathesis.hook
def before_call(context, case, kwargs):
    operation = case.operation
    if operation.method.upper() == "POST" and operation.path == "/api/auth/login":
        body = case.body
        if isinstance(body, dict) and isinstance(body.get("username"), str):
            if body["username"].strip().lower() == ADMIN_USERNAME:
                body["username"] = body["username"] + "-not"
    if operation.method.upper() == "PATCH" and operation.path == "/api/users/{id}":
        params = case.path_parameters or {}
        if str(params.get("id", "")).lower() == ADMIN_ID:
            params["id"] = ELSEWHERE

    headers = case.headers if case.headers is not None else {}
    for name in list(headers):
        if name.lower() == "content-type":
            value = str(headers[name])
            if value.lower().startswith("multipart/form-data") and "boundary=" not in value:
                headers[name] = "multipart/form-data; boundary=crm-schemathesis"
