//! The answers no handler gives, in every dialect: a path no operation has
//! (404), a method the path does not have (405), a path whose
//! percent-encoding does not decode (400), and request heads over the
//! server's limits (414, 431). Each must come in the shape of the path's
//! dialect, valid against the published spec's error schema, with an
//! `X-Request-Id` equal to the body's `request_id` where the shape has one,
//! and never as the empty body hyper gives when its own limits are hit.
//!
//! These responses are not in the spec (no operation declares them), so
//! the requests go to the server directly, not through the validating
//! proxy; their bodies are validated against the component schemas here.
//! Connection limits and deadlines are tested on the real binary, in
//! `server/tests/connections.rs`.
//!
//! Also here: bodies sent to operations that take none (413 past 1 KiB, in
//! the dialect's shape), and the answers to browsers on other origins
//! (CORS), off by default and allowed per dialect, down to a page in
//! headless Chromium (which needs Chromium and Node.js, as `reference`
//! does: see `login_sessions_tests::browser`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use login_sessions_tests::spec::SpecValidator;
use login_sessions_tests::{PUBLIC_URL, TestServer};
use reqwest::Method;
use serde_json::Value;

/// One dialect: its error schema, and paths under its prefix.
struct Dialect {
    /// The component schema of its errors.
    schema: &'static str,
    /// A path no operation has.
    unknown: &'static str,
    /// A method and a path that has other methods (and those methods).
    wrong_method: (Method, &'static str, &'static str),
    /// A path whose percent-encoding does not decode to UTF-8.
    bad_encoding: &'static str,
    /// A path of one of its operations.
    operation: &'static str,
    /// An operation that takes no request body.
    bodyless: (Method, &'static str),
}

const DIALECTS: [Dialect; 4] = [
    Dialect {
        schema: "NativeError",
        unknown: "/native/v1/nowhere",
        wrong_method: (Method::DELETE, "/native/v1/sessions", "GET, POST"),
        bad_encoding: "/native/v1/sessions/%FF",
        operation: "/native/v1/sessions",
        bodyless: (Method::POST, "/native/v1/sessions/s-1/logout"),
    },
    Dialect {
        schema: "LookerError",
        unknown: "/api/4.0/nowhere",
        wrong_method: (Method::PUT, "/api/4.0/login", "POST"),
        bad_encoding: "/api/4.0/users/%FF/sessions",
        operation: "/api/4.0/users/42/sessions",
        bodyless: (Method::DELETE, "/api/4.0/logout"),
    },
    Dialect {
        schema: "PrefactorError",
        unknown: "/api/v1/nowhere",
        wrong_method: (Method::DELETE, "/api/v1/session", "GET"),
        bad_encoding: "/api/v1/session/%FF",
        operation: "/api/v1/session",
        bodyless: (Method::POST, "/api/v1/session/s-1/revoke"),
    },
    Dialect {
        schema: "HuaweiError",
        unknown: "/v1/identity-stores/d-1/users/u-1/nowhere",
        wrong_method: (
            Method::DELETE,
            "/v1/identity-stores/d-1/users/u-1/sessions",
            "GET",
        ),
        bad_encoding: "/v1/identity-stores/%FF/users/u-1/sessions",
        operation: "/v1/identity-stores/d-1/users/u-1/sessions",
        bodyless: (Method::GET, "/v1/identity-stores/d-1/users/u-1/sessions"),
    },
];

/// What came back: the status, the `X-Request-Id`, the `Allow` header and
/// the body.
struct Answer {
    status: u16,
    request_id: String,
    allow: Option<String>,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "{error}: {:?}",
                String::from_utf8_lossy(&self.body)
                    .chars()
                    .take(200)
                    .collect::<String>()
            )
        })
    }
}

async fn send(request: reqwest::RequestBuilder) -> Answer {
    let response = request.send().await.unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|value| value.to_str().unwrap().to_string())
    };
    let request_id = header("x-request-id").expect("every answer has an X-Request-Id");
    let allowed: Vec<&str> = response
        .headers()
        .get_all("allow")
        .iter()
        .map(|value| value.to_str().unwrap())
        .collect();
    let allow = (!allowed.is_empty()).then(|| allowed.join(", "));
    assert_eq!(
        header("content-type").as_deref(),
        Some("application/json"),
        "{}",
        response.url()
    );
    Answer {
        status: response.status().as_u16(),
        request_id,
        allow,
        body: response.bytes().await.unwrap().to_vec(),
    }
}

fn request(server: &TestServer, method: Method, path: &str) -> reqwest::RequestBuilder {
    server
        .http()
        .request(method, format!("http://{}{path}", server.server_addr()))
}

/// Checks an answer's shape: the dialect's schema, its code for the
/// status, and the request id in the body where the shape has one.
fn assert_dialect_shape(validator: &SpecValidator, dialect: &Dialect, answer: &Answer) {
    let context = format!("{} {}", dialect.schema, answer.status);
    validator
        .validate_component(dialect.schema, &answer.body)
        .unwrap_or_else(|error| panic!("{context}: {error}"));
    assert_eq!(answer.request_id.len(), 32, "{context}");
    let body = answer.json();
    let status = answer.status;
    match dialect.schema {
        "NativeError" => {
            assert_eq!(body["request_id"], answer.request_id.as_str(), "{context}");
            let code = match status {
                404 => "NotFound",
                405 => "MethodNotAllowed",
                413 => "PayloadTooLarge",
                _ => "InvalidRequest",
            };
            assert_eq!(body["error_code"], code, "{context}");
        }
        "LookerError" => {
            assert_eq!(
                body["documentation_url"],
                format!("{PUBLIC_URL}/docs/looker/errors#{status}"),
                "{context}"
            );
        }
        "PrefactorError" => {
            assert_eq!(body["status"], "error", "{context}");
            let code = if status == 404 {
                "not_found"
            } else {
                "bad_request"
            };
            assert_eq!(body["code"], code, "{context}");
        }
        "HuaweiError" => {
            assert_eq!(body["request_id"], answer.request_id.as_str(), "{context}");
            let code = match status {
                404 => "IIC.404",
                413 | 414 | 431 => "APIGW.0201",
                _ => "IIC.400",
            };
            assert_eq!(body["error_code"], code, "{context}");
        }
        other => panic!("no checks for {other}"),
    }
}

#[tokio::test]
async fn answers_before_any_handler_come_in_the_dialect_of_the_path() {
    let server = TestServer::start().await;
    let validator = SpecValidator::load();
    for dialect in &DIALECTS {
        let answer = send(request(&server, Method::GET, dialect.unknown)).await;
        assert_eq!(answer.status, 404, "{}", dialect.unknown);
        assert_dialect_shape(&validator, dialect, &answer);

        let (method, path, allowed) = &dialect.wrong_method;
        let answer = send(request(&server, method.clone(), path)).await;
        assert_eq!(answer.status, 405, "{method} {path}");
        assert_eq!(answer.allow.as_deref(), Some(*allowed), "{method} {path}");
        assert_dialect_shape(&validator, dialect, &answer);

        let answer = send(request(&server, Method::GET, dialect.bad_encoding)).await;
        assert_eq!(answer.status, 400, "{}", dialect.bad_encoding);
        assert_dialect_shape(&validator, dialect, &answer);
        if dialect.schema != "PrefactorError" {
            let message = if dialect.schema == "HuaweiError" {
                &answer.json()["error_msg"]
            } else {
                &answer.json()["message"]
            };
            assert_eq!(message.clone(), "invalid path encoding");
        }
    }
    // Paths outside the dialects' prefixes are native.
    let answer = send(request(&server, Method::POST, "/healthz")).await;
    assert_eq!(answer.status, 405);
    assert_dialect_shape(&validator, &DIALECTS[0], &answer);
}

#[tokio::test]
async fn request_heads_over_the_limits_are_refused_in_the_dialect_of_the_path() {
    let server = TestServer::start().await;
    let validator = SpecValidator::load();
    for dialect in &DIALECTS {
        let path = dialect.operation;
        // A 10 KB URI: over the server's 8 KiB, far under hyper's 64 KiB.
        let long_uri = format!("{path}?padding={}", "a".repeat(10 * 1024));
        let answer = send(request(&server, Method::GET, &long_uri)).await;
        assert_eq!(answer.status, 414, "{path}");
        assert_dialect_shape(&validator, dialect, &answer);

        // Header fields of 20 KB, and of 60 KB: over the server's 16 KiB;
        // hyper's own limit, some 400 KB, is never what answers.
        for size in [20 * 1024, 60 * 1024] {
            let answer =
                send(request(&server, Method::GET, path).header("X-Padding", "b".repeat(size)))
                    .await;
            assert_eq!(answer.status, 431, "{path}, {size} bytes");
            assert_dialect_shape(&validator, dialect, &answer);
        }

        // 150 header fields: over the server's 100, under what hyper is
        // told to parse.
        let mut many = request(&server, Method::GET, path);
        for index in 0..150 {
            many = many.header(format!("X-Field-{index}"), "c");
        }
        let answer = send(many).await;
        assert_eq!(answer.status, 431, "{path}, 150 fields");
        assert_dialect_shape(&validator, dialect, &answer);
    }
    // Heads within the limits reach the handlers (here, unauthenticated).
    let answer = send(
        request(&server, Method::GET, DIALECTS[0].operation).header("X-Padding", "d".repeat(8192)),
    )
    .await;
    assert_eq!(answer.status, 401);
}

/// The largest body an operation that takes none accepts (and ignores).
const BODYLESS_LIMIT: usize = 1024;

/// A raw HTTP/1.1 exchange, for what reqwest cannot send (a chunked body
/// of known content): the status and the body of the answer.
async fn send_raw(server: &TestServer, head: &str, body: &[u8]) -> (u16, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(server.server_addr())
        .await
        .unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let end_of_head = answer
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .expect("a complete head");
    let head = String::from_utf8_lossy(&answer[..end_of_head]).to_string();
    let status = head[9..12].parse().unwrap();
    (status, answer[end_of_head + 4..].to_vec())
}

/// `chunks` in HTTP/1.1's chunked encoding, with the last chunk.
fn chunked(chunks: &[&[u8]]) -> Vec<u8> {
    let mut encoded = Vec::new();
    for chunk in chunks {
        encoded.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        encoded.extend_from_slice(chunk);
        encoded.extend_from_slice(b"\r\n");
    }
    encoded.extend_from_slice(b"0\r\n\r\n");
    encoded
}

#[tokio::test]
async fn bodies_sent_to_operations_that_take_none_are_refused_past_a_kibibyte() {
    let server = TestServer::start().await;
    let validator = SpecValidator::load();
    for dialect in &DIALECTS {
        let (method, path) = &dialect.bodyless;
        let without_body = send(request(&server, method.clone(), path)).await;
        assert_ne!(without_body.status, 413, "{method} {path}");
        // `{}` (some clients send it with every request), and a body right
        // at the limit, are answered as if nothing had been sent.
        for tolerated in [b"{}".to_vec(), vec![b' '; BODYLESS_LIMIT]] {
            let answer = send(
                request(&server, method.clone(), path)
                    .header("content-type", "application/json")
                    .body(tolerated.clone()),
            )
            .await;
            assert_eq!(
                answer.status,
                without_body.status,
                "{method} {path} with {} bytes",
                tolerated.len()
            );
        }
        for size in [BODYLESS_LIMIT + 1, 4 * 1024] {
            let answer = send(
                request(&server, method.clone(), path)
                    .header("content-type", "application/json")
                    .body(vec![b' '; size]),
            )
            .await;
            assert_eq!(answer.status, 413, "{method} {path} with {size} bytes");
            assert_dialect_shape(&validator, dialect, &answer);
        }

        // A chunked body declares no length: it counts as it arrives.
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\
             Content-Type: application/json\r\nConnection: close\r\n\r\n"
        );
        let (status, _) = send_raw(&server, &head, &chunked(&[b"{", b"}"])).await;
        assert_eq!(status, without_body.status, "{method} {path}, chunked {{}}");
        let (status, body) =
            send_raw(&server, &head, &chunked(&[&[b' '; 700], &[b' '; 700]])).await;
        assert_eq!(status, 413, "{method} {path}, chunked 1400 bytes");
        validator
            .validate_component(dialect.schema, &body)
            .unwrap_or_else(|error| panic!("{method} {path}, chunked: {error}"));
    }
}

#[tokio::test]
async fn operations_that_take_a_body_still_take_more_than_a_kibibyte() {
    use login_sessions_tests::IssuedSecrets;
    let server = TestServer::start().await;
    // A valid body padded with whitespace to 4 KiB.
    let mut body = br#"{"identity_store_id": "acme"}"#.to_vec();
    body.resize(4 * 1024, b' ');
    let response = request(&server, Method::POST, "/native/v1/sessions")
        .bearer_auth(server.admin.native_token())
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
}

mod cors {
    //! Browsers on other origins: CORS allowed for Looker's paths, from one
    //! origin, and off by default.

    use super::*;
    use login_sessions_server::http::cors::CorsPolicy;
    use login_sessions_server::http::dialect::Dialect as PathDialect;
    use login_sessions_tests::{IssuedSecrets, ServerOptions, StoreKind};
    use reqwest::header::HeaderMap;

    const ALLOWED: &str = "https://app.example.com";
    const OTHER: &str = "https://evil.example.com";

    async fn looker_cors_server() -> TestServer {
        let cors = CorsPolicy::default()
            .allow(PathDialect::Looker, [ALLOWED])
            .unwrap();
        let options = ServerOptions {
            cors: Some(cors),
            ..ServerOptions::default()
        };
        TestServer::start_with_options(StoreKind::Sqlite, options).await
    }

    fn preflight(
        server: &TestServer,
        path: &str,
        origin: &str,
        method: &str,
    ) -> reqwest::RequestBuilder {
        request(server, Method::OPTIONS, path)
            .header("origin", origin)
            .header("access-control-request-method", method)
            .header("access-control-request-headers", "authorization")
    }

    fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
        headers.get(name).map(|value| value.to_str().unwrap())
    }

    /// The `Access-Control-*` headers an answer has.
    fn cors_headers(headers: &HeaderMap) -> Vec<String> {
        headers
            .keys()
            .map(|name| name.as_str().to_string())
            .filter(|name| name.starts_with("access-control-"))
            .collect()
    }

    /// What an actual response to an allowed origin carries.
    fn assert_allowed(headers: &HeaderMap, context: &str) {
        assert_eq!(
            header(headers, "access-control-allow-origin"),
            Some(ALLOWED),
            "{context}"
        );
        assert_eq!(header(headers, "vary"), Some("Origin"), "{context}");
        assert_eq!(
            header(headers, "access-control-expose-headers"),
            Some("X-Request-Id, Retry-After"),
            "{context}"
        );
    }

    #[tokio::test]
    async fn a_preflight_from_an_allowed_origin_names_the_paths_methods() {
        let server = looker_cors_server().await;
        for (path, method, methods) in [
            ("/api/4.0/users/42/sessions/s-1", "DELETE", "DELETE, GET"),
            ("/api/4.0/login", "POST", "POST"),
        ] {
            let response = preflight(&server, path, ALLOWED, method)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), 204, "{path}");
            let headers = response.headers();
            assert_eq!(
                header(headers, "access-control-allow-origin"),
                Some(ALLOWED)
            );
            assert_eq!(
                header(headers, "access-control-allow-methods"),
                Some(methods),
                "{path}"
            );
            let allowed_headers = header(headers, "access-control-allow-headers").unwrap();
            for expected in ["Authorization", "Content-Type"] {
                assert!(allowed_headers.contains(expected), "{allowed_headers}");
            }
            assert_eq!(header(headers, "access-control-max-age"), Some("600"));
            assert_eq!(header(headers, "vary"), Some("Origin"));
            assert_eq!(header(headers, "x-request-id").map(str::len), Some(32));
        }
        // A method the path does not have: no 204, the dialect's 405.
        let answer = send(preflight(&server, "/api/4.0/login", ALLOWED, "GET")).await;
        assert_eq!(answer.status, 405);
    }

    #[tokio::test]
    async fn responses_to_an_allowed_origin_carry_its_headers_errors_too() {
        let server = looker_cors_server().await;
        let admin = &server.admin;
        let login = request(&server, Method::POST, "/api/4.0/login")
            .header("origin", ALLOWED)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "client_id={}&client_secret={}",
                admin.looker_client_id(),
                admin.looker_client_secret()
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(login.status().as_u16(), 200);
        assert_allowed(login.headers(), "login");
        let token: Value = login.json().await.unwrap();
        let token = token["access_token"].as_str().unwrap();

        let listed = request(&server, Method::GET, "/api/4.0/users/42/sessions")
            .header("origin", ALLOWED)
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(listed.status().as_u16(), 200);
        assert_allowed(listed.headers(), "GET");

        // A handler's error, and one dropshot raises before any handler.
        for path in ["/api/4.0/users/42/sessions", "/api/4.0/nowhere"] {
            let failed = request(&server, Method::GET, path)
                .header("origin", ALLOWED)
                .send()
                .await
                .unwrap();
            assert!(failed.status().is_client_error(), "{path}");
            assert_allowed(failed.headers(), path);
        }
        // A body where none belongs: the 413 too.
        let refused = request(&server, Method::DELETE, "/api/4.0/logout")
            .header("origin", ALLOWED)
            .body(vec![b' '; 2048])
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status().as_u16(), 413);
        assert_allowed(refused.headers(), "413");
    }

    #[tokio::test]
    async fn other_origins_and_other_dialects_get_no_cors_headers() {
        let server = looker_cors_server().await;
        let validator = SpecValidator::load();
        let response = request(&server, Method::GET, "/api/4.0/users/42/sessions")
            .header("origin", OTHER)
            .send()
            .await
            .unwrap();
        assert_eq!(cors_headers(response.headers()), Vec::<String>::new());
        // Still `Vary: Origin`: the same URL answers the allowed origin
        // otherwise.
        assert_eq!(header(response.headers(), "vary"), Some("Origin"));

        let answer = send(preflight(&server, "/api/4.0/login", OTHER, "POST")).await;
        assert_eq!(answer.status, 405);
        assert_dialect_shape(&validator, &DIALECTS[1], &answer);
        let response = preflight(&server, "/api/4.0/login", OTHER, "POST")
            .send()
            .await
            .unwrap();
        assert_eq!(cors_headers(response.headers()), Vec::<String>::new());

        // The allowed origin, on a native path: nothing at all.
        let response = preflight(&server, "/native/v1/sessions", ALLOWED, "POST")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 405);
        assert_eq!(cors_headers(response.headers()), Vec::<String>::new());
        assert_eq!(header(response.headers(), "vary"), None);
        let answer = send(preflight(&server, "/native/v1/sessions", ALLOWED, "POST")).await;
        assert_dialect_shape(&validator, &DIALECTS[0], &answer);
    }

    #[tokio::test]
    async fn without_allowed_origins_options_is_the_dialects_405() {
        let server = TestServer::start().await;
        let validator = SpecValidator::load();
        for dialect in &DIALECTS {
            let path = dialect.operation;
            let response = preflight(&server, path, ALLOWED, "GET")
                .send()
                .await
                .unwrap();
            assert_eq!(
                cors_headers(response.headers()),
                Vec::<String>::new(),
                "{path}"
            );
            assert_eq!(header(response.headers(), "vary"), None, "{path}");
            let answer = send(preflight(&server, path, ALLOWED, "GET")).await;
            assert_eq!(answer.status, 405, "{path}");
            assert!(answer.allow.is_some(), "{path}");
            assert_dialect_shape(&validator, dialect, &answer);

            let response = request(&server, Method::GET, path)
                .header("origin", ALLOWED)
                .send()
                .await
                .unwrap();
            assert_eq!(
                cors_headers(response.headers()),
                Vec::<String>::new(),
                "{path}"
            );
        }
    }
}

mod cors_in_a_browser {
    //! The proof that counts: headless Chromium, on a page served from
    //! another origin, calls the server with an `Authorization` header
    //! (so the browser sends a preflight first) and reads `X-Request-Id`.

    use super::*;
    use login_sessions_server::http::cors::CorsPolicy;
    use login_sessions_server::http::dialect::Dialect as PathDialect;
    use login_sessions_tests::{IssuedSecrets, ServerOptions, StoreKind, browser};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// A page that calls `api` synchronously while it loads (so the calls
    /// are done when the browser reports on it): the native sessions,
    /// allowed to the page's origin, and Looker's, which are not.
    fn page(api: &str, token: &str) -> String {
        format!(
            r#"<!doctype html><html><head><title>cors</title></head><body>
<pre id="allowed"></pre><pre id="refused"></pre>
<script>
function call(id, url) {{
  const out = document.getElementById(id);
  try {{
    const xhr = new XMLHttpRequest();
    xhr.open("GET", url, false);
    xhr.setRequestHeader("Authorization", "Bearer {token}");
    xhr.send();
    const requestId = xhr.getResponseHeader("X-Request-Id") || "";
    out.textContent = id + ": " + xhr.status + " id of " + requestId.length;
  }} catch (error) {{
    out.textContent = id + ": failed " + error.name;
  }}
}}
call("allowed", "{api}/native/v1/sessions");
call("refused", "{api}/api/4.0/users/42/sessions");
</script></body></html>"#
        )
    }

    /// Serves `html` to every request on `listener`, until dropped.
    fn serve_page(listener: TcpListener, html: String) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut head = [0u8; 4096];
                let _ = socket.read(&mut head).await;
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n{html}",
                    html.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            }
        })
    }

    #[tokio::test]
    async fn a_page_on_an_allowed_origin_reads_the_answer_and_others_cannot() {
        let page_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let page_origin = format!("http://{}", page_listener.local_addr().unwrap());
        let cors = CorsPolicy::default()
            .allow(PathDialect::Native, [page_origin.as_str()])
            .unwrap();
        let options = ServerOptions {
            cors: Some(cors),
            ..ServerOptions::default()
        };
        let server = TestServer::start_with_options(StoreKind::Sqlite, options).await;
        let api = format!("http://{}", server.server_addr());
        let page_server = serve_page(page_listener, page(&api, server.admin.native_token()));

        let url = format!("{page_origin}/");
        let report = tokio::task::spawn_blocking(move || browser::load(&url, None))
            .await
            // A missing browser's message is the test's failure.
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        page_server.abort();

        assert_eq!(report.status, 200);
        assert!(
            report
                .visible_pre
                .contains(&"allowed: 200 id of 32".to_string()),
            "{:?}",
            report.visible_pre
        );
        assert!(
            report
                .visible_pre
                .contains(&"refused: failed NetworkError".to_string()),
            "{:?}",
            report.visible_pre
        );
    }
}
