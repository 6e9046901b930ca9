"""Drives Looker's official Python SDK (looker-sdk, unmodified) against a
live login-sessions server.

Configured only as a user of the SDK would: the LOOKERSDK_* environment
variables (base URL, client id and secret). The test that runs this script
(tests/tests/looker/sdk.rs) passes the ids of the sessions it created in
LS_* variables, and reads the JSON this script prints on its last line.

Every step states what the SDK must see; a failed expectation raises, the
script exits non-zero, and the Rust test fails with the traceback.

Operations exercised (by their Looker operation ids): "user_session",
"all_user_sessions", "delete_user_session", "login", "logout",
"login_user".
"""

import json
import os
import re
import sys

import looker_sdk
import requests
from looker_sdk import error

# The pattern the SDK matches documentation URLs with (an attrs field of
# ErrorDocHelper, so read from an instance).
LOOKER_DOC_PATTERN = error.ErrorDocHelper().RE_PATTERN
assert re.search(LOOKER_DOC_PATTERN,
                 "https://cloud.google.com/looker/docs/r/err/4.0/404/get/users/:user_id"), \
    "the SDK's pattern matches Looker's own documentation URLs"

USER_ID = os.environ["LS_USER_ID"]
SESSION_ID = os.environ["LS_SESSION_ID"]
DELETE_SESSION_ID = os.environ["LS_DELETE_SESSION_ID"]
OTHER_USER_SESSION_ID = os.environ["LS_OTHER_USER_SESSION_ID"]

# The SDK fetches Looker's error index from the network when an error's
# documentation_url matches this pattern (looker_sdk/error.py). Record any
# such attempt instead of letting it out.
outbound = []
_real_get = requests.get


def _recording_get(url, *args, **kwargs):
    outbound.append(url)
    raise requests.exceptions.ConnectionError(f"test: no network for {url}")


requests.get = _recording_get
error.requests.get = _recording_get


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


def expect_sdk_error(call, what):
    try:
        call()
    except error.SDKError as e:
        return e
    raise AssertionError(f"{what}: expected an SDKError")


results = {}

sdk = looker_sdk.init40()

# "user_session": the seed operation; login happens on the first call.
session = sdk.user_session(USER_ID, SESSION_ID)
expect(session.id == SESSION_ID, f"id: {session.id!r}")
expect(isinstance(session.id, str), "ids are strings")
expect(session.can == {}, f"can: {session.can!r}")
for name in ("created_at", "expires_at"):
    value = getattr(session, name)
    expect(
        isinstance(value, str)
        and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", value),
        f"{name}: {value!r}",
    )
expect(session.extended_at is None, f"extended_at: {session.extended_at!r}")
expect(session.extended_count == 0, f"extended_count: {session.extended_count!r}")
expect(session.ip_address == "203.0.113.9", f"ip_address: {session.ip_address!r}")
expect(session.credentials_type == "email", repr(session.credentials_type))
expect(session.sudo_user_id is None, repr(session.sudo_user_id))
results["session"] = {
    "id": session.id,
    "created_at": session.created_at,
    "expires_at": session.expires_at,
    "url": session.url,
}

# "user_session" with fields: only those are set.
partial = sdk.user_session(USER_ID, SESSION_ID, fields="id, created_at")
expect(partial.id == SESSION_ID, repr(partial.id))
expect(partial.created_at == session.created_at, repr(partial.created_at))
expect(partial.expires_at is None and partial.url is None and partial.can is None,
       f"unselected fields: {partial!r}")

# "all_user_sessions"
listed = sdk.all_user_sessions(USER_ID)
results["listed"] = [s.id for s in listed]
expect(SESSION_ID in results["listed"] and DELETE_SESSION_ID in results["listed"],
       f"listed: {results['listed']}")
ids_only = sdk.all_user_sessions(USER_ID, fields="id")
expect(all(s.id and s.created_at is None for s in ids_only), repr(ids_only))

# "delete_user_session": 204, the SDK returns the empty body.
deleted = sdk.delete_user_session(USER_ID, DELETE_SESSION_ID)
expect(deleted == "", f"delete_user_session returned {deleted!r}")
results["deleted"] = deleted

# A 404 surfaces as SDKError with Looker's message.
gone = expect_sdk_error(lambda: sdk.user_session(USER_ID, DELETE_SESSION_ID),
                        "a deleted session")
expect(gone.message == "Not found", f"message: {gone.message!r}")
expect(gone.documentation_url, "documentation_url is set")
expect(not re.search(LOOKER_DOC_PATTERN, gone.documentation_url),
       f"documentation_url matches the SDK's Looker pattern: {gone.documentation_url}")
expect(gone.error_doc_url == "" and gone.error_doc == "", "no error doc looked up")
results["not_found"] = {"message": gone.message,
                        "documentation_url": gone.documentation_url}

# Another user's session under this user's path does not exist either.
other = expect_sdk_error(lambda: sdk.user_session(USER_ID, OTHER_USER_SESSION_ID),
                         "another user's session")
expect(other.message == "Not found", other.message)

# A malformed fields list: 400 with a validation detail the SDK parses.
bad = expect_sdk_error(lambda: sdk.user_session(USER_ID, SESSION_ID, fields="id,(can"),
                       "malformed fields")
expect(len(bad.errors) == 1 and bad.errors[0].field == "fields", repr(bad.errors))
expect(bad.errors[0].documentation_url, "detail documentation_url")
expect(not re.search(LOOKER_DOC_PATTERN, bad.errors[0].documentation_url),
       "detail documentation_url matches the SDK's Looker pattern")
results["bad_fields"] = {"message": bad.message, "field": bad.errors[0].field,
                         "code": bad.errors[0].code}

# "login_user": sudo as the user; the token acts as them, and the sudo is
# recorded as a session carrying sudo_user_id.
sdk.auth.login_user(USER_ID)
as_user = sdk.all_user_sessions(USER_ID)
sudo_sessions = [s for s in as_user if s.sudo_user_id]
expect(len(sudo_sessions) == 1, f"sudo sessions: {as_user!r}")
results["sudo_session"] = {"id": sudo_sessions[0].id,
                           "sudo_user_id": sudo_sessions[0].sudo_user_id,
                           "credentials_type": sudo_sessions[0].credentials_type}
# Ends the sudo token (DELETE /api/logout), back to the API credential.
sdk.auth.logout()
after_sudo = sdk.all_user_sessions(USER_ID)
expect(all(s.id != sudo_sessions[0].id for s in after_sudo),
       "logging the sudo token out ended its session")

# "logout" through the generated method (DELETE /api/4.0/logout): 204, "".
logged_out = sdk.logout()
expect(logged_out == "", f"logout returned {logged_out!r}")
# The SDK keeps its (now revoked) token: the next call is a 401.
unauthenticated = expect_sdk_error(lambda: sdk.all_user_sessions(USER_ID),
                                   "a logged-out token")
expect(unauthenticated.message == "Requires authentication.", unauthenticated.message)
results["after_logout"] = unauthenticated.message

# Leaving a `with` block logs out through DELETE /api/logout, cleanly.
with looker_sdk.init40() as scoped:
    results["scoped"] = [s.id for s in scoped.all_user_sessions(USER_ID)]
    expect(scoped.auth.is_authenticated, "logged in inside the block")
expect(not scoped.auth.is_authenticated, "logged out after the block")

expect(outbound == [], f"the SDK tried to reach the network: {outbound}")
results["outbound"] = outbound

print(json.dumps(results))
