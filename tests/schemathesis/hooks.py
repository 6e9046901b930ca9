"""Schemathesis hooks for the property-based tests of `tests/tests/schemathesis.rs`.

Loaded by `schemathesis run` through `SCHEMATHESIS_HOOKS=hooks` (this directory
on `PYTHONPATH`). They do two things:

* Authenticate every generated request as the dialect of its operation expects,
  with the real credentials of an `admin` credential that the Rust test passes
  in the environment: the native and Prefactor bearer tokens, a Looker access
  token obtained through the real `login` operation, and Huawei's AK/SK
  request signature (SDK-HMAC-SHA256), computed here on the final request
  bytes (see `HuaweiSignature`). Schemathesis's `ignored_auth` check then
  resends requests without and with made-up credentials, which must be 401.
* Drop the failures that the documented exceptions of `exceptions.toml`
  explain: rules the server enforces that OpenAPI 3.0 cannot state. A failure
  is dropped only when the response is the dialect's validation error and the
  request breaks the rule the exception names; anything else still fails.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import ipaddress
import os
import pathlib
import tomllib
import unicodedata
import urllib.parse
from typing import Any, Callable, Iterator

import requests
import schemathesis

HERE = pathlib.Path(__file__).resolve().parent

# ---------------------------------------------------------------------------
# Huawei's AK/SK request signing, as `client/src/huawei.rs` and Huawei's SDKs
# do it.

ALGORITHM = "SDK-HMAC-SHA256"
EMPTY_PAYLOAD_HASH = hashlib.sha256(b"").hexdigest()


def _encode(text: str) -> str:
    """RFC 3986 encoding of one path segment or query part."""
    return urllib.parse.quote(text, safe="~")


def canonical_uri(raw_path: str) -> str:
    """The whole path decoded, split on `/`, each segment re-encoded, a trailing `/`."""
    decoded = urllib.parse.unquote(raw_path, errors="replace")
    uri = "/".join(_encode(segment) for segment in decoded.split("/"))
    return uri if uri.endswith("/") else uri + "/"


def canonical_query(raw_query: str) -> str:
    """Pairs decoded (`+` stays a plus), sorted, re-encoded, joined with `&`."""
    pairs = []
    for pair in raw_query.split("&"):
        if not pair:
            continue
        key, _, value = pair.partition("=")
        pairs.append(
            (urllib.parse.unquote(key, errors="replace"), urllib.parse.unquote(value, errors="replace"))
        )
    pairs.sort()
    return "&".join(f"{_encode(key)}={_encode(value)}" for key, value in pairs)


class HuaweiSignature(requests.auth.AuthBase):
    """Signs a prepared request: `Host`, `X-Sdk-Date`, then `Authorization`
    over `content-type` (when there is a body), `host` and `x-sdk-date`."""

    def __init__(self, access_key: str, secret_key: str) -> None:
        self.access_key = access_key
        self.secret_key = secret_key

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        url = urllib.parse.urlsplit(request.url)
        date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        request.headers["Host"] = url.netloc
        request.headers["X-Sdk-Date"] = date
        signed = {"host": url.netloc, "x-sdk-date": date}
        content_type = request.headers.get("Content-Type")
        if content_type is not None:
            signed["content-type"] = content_type
        names = sorted(signed)
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        payload = hashlib.sha256(body).hexdigest() if body else EMPTY_PAYLOAD_HASH
        canonical = "\n".join(
            [
                request.method.upper(),
                canonical_uri(url.path),
                canonical_query(url.query),
                "".join(f"{name}:{signed[name].strip()}\n" for name in names),
                ";".join(names),
                payload,
            ]
        )
        to_sign = f"{ALGORITHM}\n{date}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        signature = hmac.new(self.secret_key.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
        request.headers["Authorization"] = (
            f"{ALGORITHM} Access={self.access_key}, SignedHeaders={';'.join(names)}, Signature={signature}"
        )
        return request


# ---------------------------------------------------------------------------
# Authentication per dialect.


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"{name} is not set: run these hooks through tests/tests/schemathesis.rs")
    return value


def dialect(path: str) -> str:
    if path.startswith("/native/"):
        return "native"
    if path.startswith("/api/v1/"):
        return "prefactor"
    if path.startswith("/api/4.0/"):
        return "looker"
    if path.startswith("/v1/"):
        return "huawei"
    raise ValueError(f"no dialect serves {path}")


def looker_login() -> str:
    """A fresh Looker access token, through the real `login` operation."""
    response = requests.post(
        _env("LS_BASE_URL") + "/api/4.0/login",
        data={"client_id": _env("LS_LOOKER_CLIENT_ID"), "client_secret": _env("LS_LOOKER_CLIENT_SECRET")},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()["access_token"]


@schemathesis.auth(refresh_interval=None)
class DialectAuth:
    """The admin's credentials, in the form the operation's dialect takes."""

    def __init__(self) -> None:
        self.looker_token: str | None = None

    def get(self, case: Any, ctx: Any) -> Any:
        kind = dialect(case.operation.path)
        if kind == "native":
            return "Bearer " + _env("LS_NATIVE_TOKEN")
        if kind == "prefactor":
            return "Bearer " + _env("LS_PREFACTOR_TOKEN")
        if kind == "huawei":
            return HuaweiSignature(_env("LS_HUAWEI_AK"), _env("LS_HUAWEI_SK"))
        # `logout` ends the token it is sent with: it gets one of its own.
        if case.operation.definition.raw.get("operationId") == "logout":
            return "token " + looker_login()
        if self.looker_token is None:
            self.looker_token = looker_login()
        return "token " + self.looker_token

    def set(self, case: Any, data: Any, ctx: Any) -> None:
        if isinstance(data, HuaweiSignature):
            # Applied by `requests` to the prepared request, whose bytes it signs.
            case._auth = data
        else:
            case.headers = {**(case.headers or {}), "Authorization": data}


# ---------------------------------------------------------------------------
# Documented exceptions.


def _strings(value: Any, name: str = "") -> Iterator[tuple[str, str]]:
    """Every (name, string) in a request part, nested objects and arrays
    included; an array's strings carry the array's name."""
    if isinstance(value, str):
        yield name, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, key)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item, name)


def _request_strings(case: Any) -> Iterator[tuple[str, str]]:
    for part in (case.path_parameters, case.query, case.body):
        if isinstance(part, (dict, list)):
            yield from _strings(part)
    # Path parameters may be held percent-encoded: their decoded text too.
    for name, text in _strings(case.path_parameters or {}):
        yield name, urllib.parse.unquote(text)


def _is_rust_whitespace(char: str) -> bool:
    # Rust's `char::is_whitespace` (Unicode White_Space), which the server trims with.
    return char in "\t\n\x0b\x0c\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000" or "\u2000" <= char <= "\u200a"


def has_control_character(case: Any) -> bool:
    return any(
        unicodedata.category(char) in ("Cc", "Cf")
        for name, text in _request_strings(case)
        if name != "user_agent"
        for char in text
    )


def has_surrounding_whitespace(case: Any) -> bool:
    return any(
        text and (_is_rust_whitespace(text[0]) or _is_rust_whitespace(text[-1]))
        for name, text in _request_strings(case)
        if name != "user_agent"
    )


def _body(case: Any) -> dict[str, Any]:
    return case.body if isinstance(case.body, dict) else {}


def gives_both_or_neither_expiry(case: Any) -> bool:
    body = _body(case)
    given = [body.get(name) is not None for name in ("ttl_seconds", "expires_at")]
    if case.operation.definition.raw.get("operationId") == "session_extend":
        return given[0] == given[1]
    return all(given)


def _parse_time(text: Any) -> datetime.datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def has_time_out_of_range(case: Any) -> bool:
    """A lifetime longer than the server's maximum, or a time that depends on
    the server's clock (an expiry must be between one second and the maximum
    lifetime from now; an interaction at most five minutes ahead, and not
    before the session was created)."""
    body = _body(case)
    ttl = body.get("ttl_seconds")
    if isinstance(ttl, int):
        # An extension must also end later than the session's current expiry.
        extending = case.operation.definition.raw.get("operationId") == "session_extend"
        if extending or ttl > int(_env("LS_MAX_TTL_SECONDS")):
            return True
    return any(_parse_time(body.get(name)) is not None for name in ("expires_at", "at"))


def has_inconsistent_status(case: Any) -> bool:
    body = _body(case)
    status = body.get("status")
    if status is None:
        return False
    has_user = body.get("user_id") is not None
    return status in ("complete", "revoked") or (status == "authenticated") != has_user


def has_unissued_page_token(case: Any) -> bool:
    return isinstance(case.query, dict) and case.query.get("page_token") is not None


def lacks_login_credentials(case: Any) -> bool:
    given = {}
    for part in (case.query, case.body):
        if isinstance(part, dict):
            given.update({key: value for key, value in part.items() if value is not None})
    return not ("client_id" in given and "client_secret" in given)


def has_unparsable_ip_address(case: Any) -> bool:
    """An `ip_address` that is not an IPv4 or IPv6 address as Rust's
    `IpAddr` reads it (no zone index, no leading zeros in IPv4)."""
    address = _body(case).get("ip_address")
    if not isinstance(address, str):
        return False
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return True
    return "%" in address


def has_integer_beyond_uint32(case: Any) -> bool:
    return any(
        isinstance(value, int) and not isinstance(value, bool) and value > 4294967295
        for part in (case.query, case.body)
        if isinstance(part, dict)
        for value in part.values()
    )


def has_fields_selection(case: Any) -> bool:
    return isinstance(case.query, dict) and isinstance(case.query.get("fields"), str)


RULES: dict[str, Callable[[Any], bool]] = {
    "control_characters": has_control_character,
    "surrounding_whitespace": has_surrounding_whitespace,
    "expiry_exclusive": gives_both_or_neither_expiry,
    "time_range": has_time_out_of_range,
    "status_consistency": has_inconsistent_status,
    "page_token_issued": has_unissued_page_token,
    "fields_grammar": has_fields_selection,
    "login_credentials": lacks_login_credentials,
    "ip_address_syntax": has_unparsable_ip_address,
    "uint32_range": has_integer_beyond_uint32,
}

VALIDATION_STATUSES = {400, 422}


def load_exceptions() -> list[dict[str, Any]]:
    with open(HERE / "exceptions.toml", "rb") as file:
        exceptions = tomllib.load(file)["exception"]
    for exception in exceptions:
        unknown = exception["rule"] not in RULES
        if unknown or not exception.get("reason") or not exception.get("operations"):
            raise ValueError(f"exceptions.toml: an exception needs a known rule, operations and a reason: {exception}")
    return exceptions


EXCEPTIONS = load_exceptions()


@schemathesis.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    """Keep a failure unless a documented exception explains it."""
    if "positive_data_acceptance" not in type(failure).checks or response.status_code not in VALIDATION_STATUSES:
        return True
    operation_id = case.operation.definition.raw.get("operationId")
    for exception in EXCEPTIONS:
        if operation_id in exception["operations"] and RULES[exception["rule"]](case):
            return False
    return True
