"""Drives Looker's official Python SDK (looker-sdk, unmodified) against a
login-sessions stand-in (serve --database memory --fixtures --testing-api),
as a consumer's CI would: configured by the LOOKERSDK_* variables with the
fixtures' secrets, while the test moves the server's clock and injects a
fault through the testing API (LS_URL, LS_ADMIN_TOKEN).

Reports what the SDK saw, as JSON on its last line; the Rust test
(tests/tests/standin.rs) asserts on it.
"""

import json
import os

import looker_sdk
import requests
from looker_sdk import error

URL = os.environ["LS_URL"]
ADMIN = {"Authorization": "Bearer " + os.environ["LS_ADMIN_TOKEN"]}
USER_ID = os.environ["LS_USER_ID"]


def testing(method, path, body=None):
    response = requests.request(method, URL + "/testing/v1" + path, json=body,
                                headers=ADMIN, timeout=30)
    assert response.status_code in (200, 201, 204), (path, response.status_code, response.text)
    return response.json() if response.content else None


def ids(call):
    """The ids a listing returned, or what the SDK raised instead."""
    try:
        return {"listed": [session.id for session in call()]}
    except error.SDKError as raised:
        return {
            "raised": f"{type(raised).__module__}.{type(raised).__name__}",
            "message": raised.message,
            "documentation_url": raised.documentation_url,
        }


results = {}
sdk = looker_sdk.init40()
results["before"] = ids(lambda: sdk.all_user_sessions(USER_ID))

# Past the expiring session (an hour after the fixtures' clock) and the
# lifetime of the access token the SDK holds (an hour).
testing("POST", "/clock/advance", {"seconds": 3601})
results["cached_token"] = ids(lambda: sdk.all_user_sessions(USER_ID))
fresh = looker_sdk.init40()
results["new_login"] = ids(lambda: fresh.all_user_sessions(USER_ID))

# One 429, then served again.
testing("POST", "/faults", {"dialect": "looker", "operation": "all_user_sessions",
                            "status": 429, "count": 1})
results["throttled"] = ids(lambda: fresh.all_user_sessions(USER_ID))
results["retried"] = ids(lambda: fresh.all_user_sessions(USER_ID))

print(json.dumps(results))
