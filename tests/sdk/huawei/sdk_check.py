"""Drives login-sessions with Huawei's official, unmodified Python SDK.

Run by tests/tests/huawei_sdk.rs in the venv of tests/src/python.rs
(huaweicloudsdkidentitycenterstore + huaweicloudsdkcore, pinned in
tests/sdk/requirements.txt). Reads a JSON object on stdin:

    {"endpoint": "http://127.0.0.1:PORT",
     "store": "...", "user": "...", "odd_user": "...",
     "admin": {"ak", "sk"}, "temporary": {"ak", "sk", "token"},
     "user_credential": {"ak", "sk"},
     "delete": ["session id", ...]}

and prints one JSON object with what the SDK returned, for the Rust test to
assert on. It checks the types the SDK hands out itself (ints for times,
str for ids), and fails with a non-zero exit on anything unexpected.

The clients are pointed at the server with with_endpoints() and no region,
so the SDK never looks up a project or region at Huawei's IAM endpoints.
"""

import json
import sys

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions import exceptions
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkidentitycenterstore.v1 import (
    BatchDeleteSessionsReqBody,
    BatchDeleteSessionsRequest,
    IdentityCenterStoreClient,
    ListSessionsRequest,
)


def client(endpoint, credentials):
    config = HttpConfig.get_default_config()
    config.timeout = (10, 30)
    return (
        IdentityCenterStoreClient.new_builder()
        .with_credentials(credentials)
        .with_endpoints([endpoint])
        .with_http_config(config)
        .build()
    )


def sessions(response):
    """The listed sessions as plain dicts, after checking their types."""
    assert response.status_code == 200, response.status_code
    listed = []
    for dto in response.session_list:
        assert isinstance(dto.creation_time, int), repr(dto.creation_time)
        assert isinstance(dto.session_not_valid_after, int), repr(dto.session_not_valid_after)
        assert isinstance(dto.session_id, str), repr(dto.session_id)
        assert isinstance(dto.user_id, str), repr(dto.user_id)
        assert dto.ip_address is None or isinstance(dto.ip_address, str), repr(dto.ip_address)
        assert dto.user_agent is None or isinstance(dto.user_agent, str), repr(dto.user_agent)
        listed.append(
            {
                "creation_time": dto.creation_time,
                "ip_address": dto.ip_address,
                "session_id": dto.session_id,
                "session_not_valid_after": dto.session_not_valid_after,
                "user_agent": dto.user_agent,
                "user_id": dto.user_id,
            }
        )
    return listed


def failure(call):
    """What a call that must fail with a ClientRequestException raised."""
    try:
        call()
    except exceptions.ClientRequestException as error:
        return {
            "status_code": error.status_code,
            "error_code": error.error_code,
            "error_msg": error.error_msg,
            "request_id": error.request_id,
            "encoded_auth_msg": error.encoded_auth_msg,
        }
    raise AssertionError("the call succeeded, but it must fail")


def main():
    given = json.load(sys.stdin)
    endpoint, store, user = given["endpoint"], given["store"], given["user"]
    admin = client(endpoint, BasicCredentials(given["admin"]["ak"], given["admin"]["sk"]))
    result = {}

    result["listed"] = sessions(
        admin.list_sessions(ListSessionsRequest(identity_store_id=store, user_id=user))
    )
    result["odd_listed"] = sessions(
        admin.list_sessions(
            ListSessionsRequest(identity_store_id=store, user_id=given["odd_user"])
        )
    )
    result["empty_listed"] = sessions(
        admin.list_sessions(ListSessionsRequest(identity_store_id="d-nothing", user_id=user))
    )

    temporary = given["temporary"]
    temporary_client = client(
        endpoint,
        BasicCredentials(temporary["ak"], temporary["sk"]).with_security_token(temporary["token"]),
    )
    result["temporary_listed"] = sessions(
        temporary_client.list_sessions(ListSessionsRequest(identity_store_id=store, user_id=user))
    )
    with_project = client(
        endpoint,
        BasicCredentials(temporary["ak"], temporary["sk"], "proj123").with_security_token(
            temporary["token"]
        ),
    )
    result["temporary_with_project_listed"] = sessions(
        with_project.list_sessions(ListSessionsRequest(identity_store_id=store, user_id=user))
    )
    no_token = client(endpoint, BasicCredentials(temporary["ak"], temporary["sk"]))
    result["temporary_without_token"] = failure(
        lambda: no_token.list_sessions(ListSessionsRequest(identity_store_id=store, user_id=user))
    )

    wrong_sk = client(endpoint, BasicCredentials(given["admin"]["ak"], "0" * 40))
    result["wrong_sk"] = failure(
        lambda: wrong_sk.list_sessions(ListSessionsRequest(identity_store_id=store, user_id=user))
    )

    user_client = client(
        endpoint,
        BasicCredentials(given["user_credential"]["ak"], given["user_credential"]["sk"]),
    )
    result["forbidden"] = failure(
        lambda: user_client.list_sessions(
            ListSessionsRequest(identity_store_id=store, user_id=user)
        )
    )

    result["bad_request"] = failure(
        lambda: admin.batch_delete_sessions(
            BatchDeleteSessionsRequest(
                identity_store_id=store,
                user_id=user,
                body=BatchDeleteSessionsReqBody(session_ids=[]),
            )
        )
    )

    deleted = admin.batch_delete_sessions(
        BatchDeleteSessionsRequest(
            identity_store_id=store,
            user_id=user,
            body=BatchDeleteSessionsReqBody(session_ids=given["delete"]),
        )
    )
    result["delete_status"] = deleted.status_code
    result["delete_body"] = deleted.raw_content.decode("utf-8")
    odd_deleted = admin.batch_delete_sessions(
        BatchDeleteSessionsRequest(
            identity_store_id=store,
            user_id=given["odd_user"],
            body=BatchDeleteSessionsReqBody(
                session_ids=[s["session_id"] for s in result["odd_listed"]]
            ),
        )
    )
    result["odd_delete_status"] = odd_deleted.status_code
    result["after_delete"] = sessions(
        admin.list_sessions(ListSessionsRequest(identity_store_id=store, user_id=user))
    )
    result["odd_after_delete"] = sessions(
        admin.list_sessions(
            ListSessionsRequest(identity_store_id=store, user_id=given["odd_user"])
        )
    )

    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
