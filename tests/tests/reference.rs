//! The server serves its contract: `GET /openapi.json` is the published
//! document but for `servers`, and `GET /docs/` is a reference of every
//! published operation that a real headless browser renders without errors
//! and without fetching anything from elsewhere.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use login_sessions_tests::IssuedSecrets;
use login_sessions_tests::python::workspace_root;
use login_sessions_tests::{PUBLIC_URL, StoreKind, TestServer, browser};
use serde_json::{Value, json};

/// The published document, read from the repository.
fn published() -> Value {
    let path = workspace_root().join("openapi/login-sessions.json");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// Every published operation id with its method and path.
fn published_operations(document: &Value) -> Vec<(String, String, String)> {
    let mut operations = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let id = operation["operationId"].as_str().unwrap();
            operations.push((id.to_string(), method.clone(), path.clone()));
        }
    }
    assert!(
        operations.len() >= 20,
        "the published operations: {operations:?}"
    );
    operations
}

/// A client that shows redirects instead of following them.
fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn the_served_document_is_the_published_one_but_for_servers(kind: StoreKind) {
    let server = TestServer::start_with(kind).await;
    let response = server
        .http()
        .get(format!("{}/openapi.json", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let mut served: Value = response.json().await.unwrap();
    assert_eq!(served["servers"], json!([{ "url": PUBLIC_URL }]));

    let mut published = published();
    served.as_object_mut().unwrap().remove("servers");
    published.as_object_mut().unwrap().remove("servers");
    assert_eq!(served, published);

    // The served document describes this server: the listing it declares
    // answers where it says.
    let (_, _, list_path) = published_operations(&published)
        .into_iter()
        .find(|(id, _, _)| id == "session_list")
        .unwrap();
    let listing = server
        .http()
        .get(format!("{}{list_path}", server.url()))
        .bearer_auth(server.admin.native_token())
        .send()
        .await
        .unwrap();
    assert_eq!(listing.status(), 200);
    server.finish().await;
}

async fn the_reference_lists_every_published_operation(kind: StoreKind) {
    let server = TestServer::start_with(kind).await;
    // The default documentation URL is this page.
    assert_eq!(server.context().docs_url, format!("{PUBLIC_URL}/docs/"));
    let redirect = no_redirects()
        .get(format!("{}/docs", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(redirect.status(), 301);
    assert_eq!(redirect.headers()["location"], "docs/");

    let response = no_redirects()
        .get(format!("{}/docs/", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=utf-8"
    );
    let html = response.text().await.unwrap();
    for (id, method, path) in published_operations(&published()) {
        assert!(
            html.contains(&format!("<section class=\"operation\" id=\"{id}\">")),
            "no section for {id}"
        );
        let title = format!(
            "<span class=\"method {method}\">{}</span> <code class=\"path\">{path}</code>",
            method.to_uppercase()
        );
        assert!(html.contains(&title), "{id}: {title}");
    }
    assert!(html.contains(&format!("<code>{PUBLIC_URL}</code>")));
    assert!(html.contains("<a href=\"../openapi.json\">"));

    // The Looker section links the error page that Looker errors'
    // documentation_url points into, and that page is served.
    assert!(html.contains("<a href=\"looker/errors\">"));
    let error = server
        .http()
        .get(format!("{}/api/4.0/users/42/sessions", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(error.status(), 401);
    let error: Value = error.json().await.unwrap();
    let documentation = error["documentation_url"].as_str().unwrap();
    assert_eq!(
        documentation,
        format!("{PUBLIC_URL}/docs/looker/errors#401")
    );
    let page = "/docs/looker/errors";
    server.proxy().allow_unmatched(&[page]);
    let errors_page = server
        .http()
        .get(format!("{}{page}", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(errors_page.status(), 200);
    server.finish().await;
}

async fn the_reference_renders_in_a_headless_browser(kind: StoreKind) {
    let server = TestServer::start_with(kind).await;
    let url = format!("{}/docs", server.url());
    let screenshot = workspace_root()
        .join("target")
        .join(format!("reference-docs-{}.png", kind.name()));
    let report = {
        let screenshot = screenshot.clone();
        tokio::task::spawn_blocking(move || browser::load(&url, Some(&screenshot)))
            .await
            // A missing browser's message is the test's failure.
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    };
    eprintln!("a screenshot of the reference: {}", screenshot.display());

    assert_eq!(report.status, 200);
    assert_eq!(report.url, format!("{}/docs/", server.url()));
    assert!(report.title.contains("API reference"), "{}", report.title);
    for (id, _, _) in published_operations(&published()) {
        assert!(report.ids.contains(&id), "no element with the id {id}");
        assert!(report.text.contains(&id), "{id} is not visible");
    }
    let json_examples = report
        .visible_pre
        .iter()
        .filter(|text| {
            serde_json::from_str::<Value>(text).is_ok_and(|v| v.is_object() || v.is_array())
        })
        .count();
    assert!(
        json_examples > 0,
        "no visible <pre> holds a JSON example: {:?}",
        report.visible_pre
    );
    assert!(
        report.console_errors.is_empty() && report.page_errors.is_empty(),
        "the page logged errors: console {:?}, page {:?}",
        report.console_errors,
        report.page_errors
    );
    assert!(
        report.failed_requests.is_empty(),
        "{:?}",
        report.failed_requests
    );
    // Nothing from elsewhere: no CDN, no fonts, no scripts.
    let foreign: Vec<&String> = report
        .requests
        .iter()
        .filter(|request| !request.starts_with(&server.url()))
        .collect();
    assert!(foreign.is_empty(), "the page fetched {foreign:?}");
    let fetched: Vec<String> = server
        .proxy()
        .exchanges()
        .iter()
        .map(|exchange| exchange.path.clone())
        .collect();
    assert_eq!(fetched, ["/docs", "/docs/"]);
    // Every exchange was on a path the proxy knows to be unpublished.
    server.proxy().assert_all_valid();
}

login_sessions_tests::contract_tests![
    the_served_document_is_the_published_one_but_for_servers,
    the_reference_lists_every_published_operation,
    the_reference_renders_in_a_headless_browser,
];
