"""A consumer of login-sessions written against the Python client that
openapi-python-client generates, with default settings, from
openapi/login-sessions.json (package `login_sessions_client`).

It records, lists (every page), views and revokes sessions through the
native API, logs in to the Looker dialect and reads sessions there, fetches
a session through the Prefactor dialect and reads a 404, and parses one
native error into its typed model. tests/tests/consumers.rs runs it against
a live server (passing the credentials in LS_* environment variables) and
type-checks it with `mypy --strict` first. Any failed expectation exits
non-zero with a message saying what was expected.
"""

import os
import sys
from http import HTTPStatus
from typing import NoReturn, TypeVar

from login_sessions_client import AuthenticatedClient, Client
from login_sessions_client.api.looker import all_user_sessions, login, user_session
from login_sessions_client.api.native import (
    session_create,
    session_list,
    session_revoke,
    session_view,
)
from login_sessions_client.api.prefactor import fetch_session
from login_sessions_client.models import (
    LoginLookerLoginBody,
    LookerAccessToken,
    LookerSession,
    NativeError,
    NativeErrorCode,
    PrefactorError,
    PrefactorErrorCode,
    Session,
    SessionCreate,
    SessionFetchResponse,
    SessionResultsPage,
    SessionStatus,
    SessionType,
)
from login_sessions_client.types import Response

T = TypeVar("T")
R = TypeVar("R")

IDENTITY_STORE = "acme"
USER_ID = "42"
SESSIONS = 5
PAGE_SIZE = 2


def fail(message: str) -> NoReturn:
    print(f"consumer.py: {message}", file=sys.stderr)
    sys.exit(1)


def check(condition: bool, message: str) -> None:
    if not condition:
        fail(message)


def env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        fail(f"the environment variable {name} is not set")
    return value


def parsed(response: Response[R], kind: type[T], status: HTTPStatus, what: str) -> T:
    """The body of `response`, which must have `status` and parse as `kind`."""
    body = response.parsed
    if response.status_code != status or not isinstance(body, kind):
        fail(
            f"{what}: expected {status.value} with a {kind.__name__}, got "
            f"{response.status_code.value}: {response.content.decode(errors='replace')}"
        )
    return body


def native_flow(native: AuthenticatedClient, unknown_id: str) -> list[str]:
    created = [
        parsed(
            session_create.sync_detailed(
                client=native,
                body=SessionCreate(
                    identity_store_id=IDENTITY_STORE,
                    user_id=USER_ID,
                    session_type=SessionType.BROWSER,
                    ip_address="203.0.113.9",
                    user_agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
                    credentials_type="email",
                    ttl_seconds=7200,
                ),
            ),
            Session,
            HTTPStatus.CREATED,
            "session_create",
        )
        for _ in range(SESSIONS)
    ]
    ids = [session.id for session in created]
    check(
        all(session.status == SessionStatus.AUTHENTICATED for session in created),
        "a session created with a user is authenticated",
    )

    listed: list[str] = []
    pages = 0
    page_token: str | None = None
    while True:
        page = parsed(
            session_list.sync_detailed(
                client=native,
                identity_store_id=IDENTITY_STORE,
                limit=PAGE_SIZE,
                page_token=page_token,
            ),
            SessionResultsPage,
            HTTPStatus.OK,
            "session_list",
        )
        pages += 1
        listed.extend(session.id for session in page.items)
        if not isinstance(page.next_page, str):
            break
        page_token = page.next_page
        check(pages <= SESSIONS, "session_list keeps returning a next page")
    check(
        sorted(listed) == sorted(ids),
        f"the pages list {listed}, not the sessions created {ids}",
    )
    check(
        pages >= SESSIONS // PAGE_SIZE,
        f"{SESSIONS} sessions came in {pages} page(s) of {PAGE_SIZE}",
    )

    viewed = parsed(
        session_view.sync_detailed(ids[0], client=native),
        Session,
        HTTPStatus.OK,
        "session_view",
    )
    check(viewed.id == ids[0], f"session_view answered {viewed.id}, not {ids[0]}")
    check(
        viewed.identity_store_id == IDENTITY_STORE,
        "the viewed session is in its identity store",
    )

    revoked = parsed(
        session_revoke.sync_detailed(ids[-1], client=native),
        Session,
        HTTPStatus.OK,
        "session_revoke",
    )
    check(
        revoked.status == SessionStatus.REVOKED,
        f"a revoked session is revoked, not {revoked.status}",
    )

    missing = session_view.sync_detailed(unknown_id, client=native)
    error = parsed(
        missing, NativeError, HTTPStatus.NOT_FOUND, "session_view of an unknown session"
    )
    check(
        error.error_code == NativeErrorCode.NOTFOUND,
        f"the error code is NotFound, not {error.error_code}",
    )
    request_id = missing.headers.get("x-request-id")
    check(
        error.request_id == request_id,
        f"the error's request_id {error.request_id!r} is not the X-Request-Id "
        f"header {request_id!r}",
    )
    return ids[:-1]


def looker_flow(base_url: str, live_ids: list[str]) -> None:
    token = parsed(
        login.sync_detailed(
            client=Client(base_url=base_url),
            body=LoginLookerLoginBody(
                client_id=env("LS_LOOKER_CLIENT_ID"),
                client_secret=env("LS_LOOKER_CLIENT_SECRET"),
            ),
        ),
        LookerAccessToken,
        HTTPStatus.OK,
        "login",
    )
    access_token = token.access_token
    if not isinstance(access_token, str):
        fail("login answered no access_token")
    looker = AuthenticatedClient(base_url=base_url, token=access_token, prefix="token")

    one = parsed(
        user_session.sync_detailed(USER_ID, live_ids[0], client=looker),
        LookerSession,
        HTTPStatus.OK,
        "user_session",
    )
    check(one.id == live_ids[0], f"user_session answered {one.id}, not {live_ids[0]}")

    response = all_user_sessions.sync_detailed(USER_ID, client=looker)
    check(
        response.status_code == HTTPStatus.OK,
        f"all_user_sessions answered {response.status_code.value}",
    )
    sessions = response.parsed
    if not isinstance(sessions, list):
        fail(f"all_user_sessions answered {response.content.decode(errors='replace')}")
    listed = {session.id for session in sessions if isinstance(session, LookerSession)}
    check(
        set(live_ids) <= listed,
        f"all_user_sessions lists {listed}, not every live session {live_ids}",
    )


def prefactor_flow(
    prefactor: AuthenticatedClient, session_id: str, unknown_id: str
) -> None:
    fetched = parsed(
        fetch_session.sync_detailed(session_id, client=prefactor),
        SessionFetchResponse,
        HTTPStatus.OK,
        "fetch_session",
    )
    check(
        fetched.summary.id == session_id,
        f"fetch_session answered {fetched.summary.id}, not {session_id}",
    )
    check(
        fetched.summary.pool_id == IDENTITY_STORE, "the fetched session is in its pool"
    )

    error = parsed(
        fetch_session.sync_detailed(unknown_id, client=prefactor),
        PrefactorError,
        HTTPStatus.NOT_FOUND,
        "fetch_session of an unknown session",
    )
    check(
        error.code == PrefactorErrorCode.NOT_FOUND,
        f"the error code is not_found, not {error.code}",
    )


def main() -> None:
    base_url = env("LS_BASE_URL")
    unknown_id = env("LS_UNKNOWN_SESSION_ID")
    native = AuthenticatedClient(base_url=base_url, token=env("LS_NATIVE_TOKEN"))
    live_ids = native_flow(native, unknown_id)
    looker_flow(base_url, live_ids)
    prefactor = AuthenticatedClient(base_url=base_url, token=env("LS_PREFACTOR_TOKEN"))
    prefactor_flow(prefactor, live_ids[0], unknown_id)
    print(f"consumer.py: every check passed ({len(live_ids) + 1} sessions)")


if __name__ == "__main__":
    main()
