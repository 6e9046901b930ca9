"""Checks the Huawei signer of `hooks.py` against the live server, so that a
broken signer cannot make every Huawei request of the property-based run a
401 that its checks accept: a `ListSessions` (odd characters in the path and
query) and a `BatchDeleteSessions` (a JSON body) signed with the admin's
AK/SK (must be 200), and one signed with a wrong secret key (must be 401
`APIGW.0301`). Prints the statuses as JSON for `tests/tests/schemathesis.rs`."""

import json
import os

import requests

from hooks import HuaweiSignature

URL = os.environ["LS_BASE_URL"] + "/v1/identity-stores/d-1%202/users/u%2B1~%C3%A9/sessions"
ACCESS_KEY = os.environ["LS_HUAWEI_AK"]
SECRET_KEY = os.environ["LS_HUAWEI_SK"]

signer = HuaweiSignature(ACCESS_KEY, SECRET_KEY)
signed = requests.get(URL, params={"probe": "a b+c"}, auth=signer, timeout=30)
signed_body = requests.post(URL + "/batch-delete", json={"session_ids": ["x"]}, auth=signer, timeout=30)
wrong = requests.get(URL, auth=HuaweiSignature(ACCESS_KEY, SECRET_KEY + "x"), timeout=30)
print(
    json.dumps(
        {
            "signed": signed.status_code,
            "signed_body": signed_body.status_code,
            "wrong_secret": wrong.status_code,
            "wrong_secret_code": wrong.json().get("error_code"),
        }
    )
)
