"""Drives Huawei's official Python SDK (huaweicloudsdkidentitycenterstore,
unmodified) against a login-sessions stand-in (serve --database memory
--fixtures --testing-api), with the fixtures' AK/SK, while the test moves
the server's clock and injects faults through the testing API.

Reads {"endpoint", "admin_token", "ak", "sk", "store", "user"} on stdin;
reports what the SDK saw as JSON on its last line, for
tests/tests/standin.rs.
"""

import json
import sys

import requests
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions import exceptions
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkidentitycenterstore.v1 import (
    IdentityCenterStoreClient,
    ListSessionsRequest,
)

given = json.load(sys.stdin)
ADMIN = {"Authorization": "Bearer " + given["admin_token"]}


def testing(method, path, body=None):
    response = requests.request(method, given["endpoint"] + "/testing/v1" + path, json=body,
                                headers=ADMIN, timeout=30)
    assert response.status_code in (200, 201, 204), (path, response.status_code, response.text)


config = HttpConfig.get_default_config()
config.timeout = (10, 30)
client = (
    IdentityCenterStoreClient.new_builder()
    .with_credentials(BasicCredentials(given["ak"], given["sk"]))
    .with_endpoints([given["endpoint"]])
    .with_http_config(config)
    .build()
)


def listed():
    """The session ids listed, or what the SDK raised instead."""
    request = ListSessionsRequest(identity_store_id=given["store"], user_id=given["user"])
    try:
        return {"listed": [s.session_id for s in client.list_sessions(request).session_list]}
    except exceptions.SdkException as raised:
        return {
            "raised": f"{type(raised).__module__}.{type(raised).__name__}",
            "status_code": getattr(raised, "status_code", None),
            "error_code": raised.error_code,
            "request_id": raised.request_id,
        }


results = {"before": listed()}
testing("POST", "/clock/advance", {"seconds": 3601})
results["after_advance"] = listed()
testing("POST", "/faults", {"dialect": "huawei", "operation": "ListSessions",
                            "status": 429, "count": 1})
results["throttled"] = listed()
testing("POST", "/faults", {"dialect": "huawei", "operation": "*", "status": 503, "count": 1})
results["unavailable"] = listed()
results["served_again"] = listed()
print(json.dumps(results))
