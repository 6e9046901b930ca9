// A consumer of login-sessions written against the types openapi-typescript
// generates, with default flags, from openapi/login-sessions.json
// (`schema.d.ts` beside this file), and the openapi-fetch client.
//
// It records, lists (every page), views and revokes sessions through the
// native API, logs in to the Looker dialect and reads sessions there,
// fetches a session through the Prefactor dialect and reads a 404, and
// parses one native error into its typed model. tests/tests/consumers.rs
// compiles it with `tsc --strict` and runs it with node against a live
// server, passing the credentials in LS_* environment variables. Any failed
// expectation exits non-zero with a message saying what was expected.

import createClient from "openapi-fetch";
import type { components, paths } from "./schema.js";

type Session = components["schemas"]["Session"];
type SessionResultsPage = components["schemas"]["SessionResultsPage"];

const IDENTITY_STORE = "acme";
const USER_ID = "42";
const SESSIONS = 5;
const PAGE_SIZE = 2;

function fail(message: string): never {
  console.error(`consumer.ts: ${message}`);
  process.exit(1);
}

function check(condition: boolean, message: string): void {
  if (!condition) {
    fail(message);
  }
}

function env(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") {
    fail(`the environment variable ${name} is not set`);
  }
  return value;
}

/** A body that must be there: `what` failed when it is not. */
function expectData<T>(data: T | undefined, error: unknown, response: Response, what: string): T {
  if (data === undefined) {
    fail(`${what}: answered ${response.status}: ${JSON.stringify(error)}`);
  }
  return data;
}

/** An `application/x-www-form-urlencoded` body of the fields that are set. */
function form(fields: Record<string, string | undefined>): string {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) {
    if (value !== undefined) {
      body.append(name, value);
    }
  }
  return body.toString();
}

function bearer(baseUrl: string, token: string, scheme = "Bearer") {
  return createClient<paths>({ baseUrl, headers: { Authorization: `${scheme} ${token}` } });
}

type Client = ReturnType<typeof bearer>;

async function createSession(native: Client): Promise<Session> {
  const { data, error, response } = await native.POST("/native/v1/sessions", {
    body: {
      identity_store_id: IDENTITY_STORE,
      user_id: USER_ID,
      session_type: "browser",
      ip_address: "203.0.113.9",
      user_agent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
      credentials_type: "email",
      ttl_seconds: 7200,
    },
  });
  check(response.status === 201, `session_create answered ${response.status}, not 201`);
  return expectData(data, error, response, "session_create");
}

async function listPage(native: Client, pageToken: string | null): Promise<SessionResultsPage> {
  const { data, error, response } = await native.GET("/native/v1/sessions", {
    params: {
      query: { identity_store_id: IDENTITY_STORE, limit: PAGE_SIZE, page_token: pageToken },
    },
  });
  return expectData(data, error, response, "session_list");
}

async function listEverySession(native: Client): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let pages = 0;
  let pageToken: string | null = null;
  do {
    const page = await listPage(native, pageToken);
    pages += 1;
    ids.push(...page.items.map((session) => session.id));
    pageToken = page.next_page ?? null;
    check(pages <= SESSIONS, "session_list keeps returning a next page");
  } while (pageToken !== null);
  return { ids, pages };
}

async function nativeFlow(native: Client, unknownId: string): Promise<string[]> {
  const created: Session[] = [];
  for (let i = 0; i < SESSIONS; i += 1) {
    created.push(await createSession(native));
  }
  const ids = created.map((session) => session.id);
  check(
    created.every((session) => session.status === "authenticated"),
    "a session created with a user is authenticated",
  );

  const listed = await listEverySession(native);
  check(
    JSON.stringify([...listed.ids].sort()) === JSON.stringify([...ids].sort()),
    `the pages list ${listed.ids.join(",")}, not the sessions created ${ids.join(",")}`,
  );
  check(
    listed.pages >= Math.floor(SESSIONS / PAGE_SIZE),
    `${SESSIONS} sessions came in ${listed.pages} page(s) of ${PAGE_SIZE}`,
  );

  const [first] = ids;
  const last = ids[ids.length - 1];
  if (first === undefined || last === undefined) {
    fail("no session was created");
  }
  const viewed = await native.GET("/native/v1/sessions/{session_id}", {
    params: { path: { session_id: first } },
  });
  const session = expectData(viewed.data, viewed.error, viewed.response, "session_view");
  check(session.id === first, `session_view answered ${session.id}, not ${first}`);
  check(session.identity_store_id === IDENTITY_STORE, "the viewed session is in its identity store");

  const revoked = await native.POST("/native/v1/sessions/{session_id}/revoke", {
    params: { path: { session_id: last } },
  });
  const ended = expectData(revoked.data, revoked.error, revoked.response, "session_revoke");
  check(ended.status === "revoked", `a revoked session is revoked, not ${ended.status}`);

  const missing = await native.GET("/native/v1/sessions/{session_id}", {
    params: { path: { session_id: unknownId } },
  });
  check(missing.response.status === 404, `an unknown session is 404, not ${missing.response.status}`);
  const error = missing.error;
  if (error === undefined) {
    fail("session_view of an unknown session answered no error body");
  }
  check(error.error_code === "NotFound", `the error code is NotFound, not ${error.error_code}`);
  const requestId = missing.response.headers.get("x-request-id");
  check(
    error.request_id === requestId,
    `the error's request_id ${error.request_id} is the X-Request-Id header ${requestId}`,
  );
  return ids.slice(0, -1);
}

async function lookerFlow(baseUrl: string, liveIds: string[]): Promise<void> {
  const anonymous = createClient<paths>({ baseUrl });
  const login = await anonymous.POST("/api/4.0/login", {
    body: { client_id: env("LS_LOOKER_CLIENT_ID"), client_secret: env("LS_LOOKER_CLIENT_SECRET") },
    bodySerializer: (body) => form(body),
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
  });
  const token = expectData(login.data, login.error, login.response, "login");
  const accessToken = token.access_token;
  if (accessToken === undefined) {
    fail("login answered no access_token");
  }
  const looker = bearer(baseUrl, accessToken, "token");

  const [first] = liveIds;
  if (first === undefined) {
    fail("no live session to read");
  }
  const one = await looker.GET("/api/4.0/users/{user_id}/sessions/{session_id}", {
    params: { path: { user_id: USER_ID, session_id: first } },
  });
  const session = expectData(one.data, one.error, one.response, "user_session");
  check(session.id === first, `user_session answered ${session.id}, not ${first}`);

  const all = await looker.GET("/api/4.0/users/{user_id}/sessions", {
    params: { path: { user_id: USER_ID } },
  });
  const sessions = expectData(all.data, all.error, all.response, "all_user_sessions");
  const listed = new Set(sessions.map((listedSession) => listedSession.id));
  check(
    liveIds.every((id) => listed.has(id)),
    `all_user_sessions lists ${[...listed].join(",")}, not every live session ${liveIds.join(",")}`,
  );
}

async function prefactorFlow(prefactor: Client, sessionId: string, unknownId: string): Promise<void> {
  const fetched = await prefactor.GET("/api/v1/session/{session_id}", {
    params: { path: { session_id: sessionId } },
  });
  const body = expectData(fetched.data, fetched.error, fetched.response, "fetch_session");
  check(body.summary.id === sessionId, `fetch_session answered ${body.summary.id}, not ${sessionId}`);
  check(body.summary.pool_id === IDENTITY_STORE, "the fetched session is in its pool");

  const missing = await prefactor.GET("/api/v1/session/{session_id}", {
    params: { path: { session_id: unknownId } },
  });
  check(missing.response.status === 404, `an unknown session is 404, not ${missing.response.status}`);
  check(
    missing.error?.code === "not_found",
    `the error code is not_found, not ${JSON.stringify(missing.error)}`,
  );
}

const baseUrl = env("LS_BASE_URL");
const unknownId = env("LS_UNKNOWN_SESSION_ID");
const liveIds = await nativeFlow(bearer(baseUrl, env("LS_NATIVE_TOKEN")), unknownId);
await lookerFlow(baseUrl, liveIds);
const [firstLive] = liveIds;
if (firstLive === undefined) {
  fail("no live session left");
}
await prefactorFlow(bearer(baseUrl, env("LS_PREFACTOR_TOKEN")), firstLive, unknownId);
console.log(`consumer.ts: every check passed (${liveIds.length + 1} sessions)`);
