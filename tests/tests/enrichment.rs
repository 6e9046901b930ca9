//! Contract tests of session enrichment through the native API: browser and
//! operating system from the user agent, city, state and country from the
//! IP address, with small MMDB city databases built here in both supported
//! layouts (GeoLite2-City, ip-location-db dbip-city). Enrichment follows
//! the session's first interaction.
//!
//! Every test runs on both stores (`sqlite::NAME`, `postgres::NAME`): see
//! the harness's documentation (`tests/src/lib.rs`) for the scheme.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use login_sessions_client::Client;
use login_sessions_client::types::{Session, UserId};
use login_sessions_server::enrich::Enricher;
use login_sessions_server::enrich::geoip::GeoIp;
use login_sessions_tests::{ServerOptions, StoreKind, TestServer};
use mmdb_writer::Writer;
use mmdb_writer::ipnet::IpNet;
use serde::Serialize;

const CHROME_MAC: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";
const FIREFOX_WINDOWS: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0";
const SAFARI_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";

#[derive(Serialize)]
struct Named {
    #[serde(skip_serializing_if = "Option::is_none")]
    iso_code: Option<&'static str>,
    names: BTreeMap<&'static str, &'static str>,
}

#[derive(Serialize)]
struct GeoLite2City {
    city: Named,
    subdivisions: Vec<Named>,
    country: Named,
}

fn named(iso_code: Option<&'static str>, en: &'static str) -> Named {
    Named {
        iso_code,
        names: BTreeMap::from([("en", en), ("fr", "?")]),
    }
}

/// GeoLite2-City layout: London (IPv4) and Berlin (IPv6).
fn geolite2_city() -> Vec<u8> {
    let mut writer = Writer::new("GeoLite2-City");
    let london = GeoLite2City {
        city: named(None, "London"),
        subdivisions: vec![named(Some("ENG"), "England")],
        country: named(Some("GB"), "United Kingdom"),
    };
    writer
        .insert("81.2.69.0/24".parse::<IpNet>().unwrap(), &london)
        .unwrap();
    let berlin = GeoLite2City {
        city: named(None, "Berlin"),
        subdivisions: vec![named(Some("BE"), "Land Berlin")],
        country: named(Some("DE"), "Germany"),
    };
    writer
        .insert("2a02:8100::/27".parse::<IpNet>().unwrap(), &berlin)
        .unwrap();
    writer.to_bytes().unwrap()
}

/// ip-location-db dbip-city layout, the IPv4 file.
fn dbip_city_ipv4() -> Vec<u8> {
    let mut writer = Writer::builder("city ipv4")
        .ip_version(mmdb_writer::IpVersion::V4)
        .build();
    let record = BTreeMap::from([
        ("country_code", "US"),
        ("state1", "California"),
        ("state2", ""),
        ("city", "Mountain View"),
        ("postcode", ""),
        ("timezone", ""),
    ]);
    writer
        .insert("8.8.8.0/24".parse::<IpNet>().unwrap(), &record)
        .unwrap();
    writer.to_bytes().unwrap()
}

/// ip-location-db dbip-city layout, the IPv6 file.
fn dbip_city_ipv6() -> Vec<u8> {
    let mut writer = Writer::new("city ipv6");
    let record = BTreeMap::from([
        ("country_code", "NL"),
        ("state1", "North Holland"),
        ("state2", ""),
        ("city", "Amsterdam"),
    ]);
    writer
        .insert("2001:67c:2e8::/48".parse::<IpNet>().unwrap(), &record)
        .unwrap();
    writer.to_bytes().unwrap()
}

async fn server_with_databases(kind: StoreKind) -> TestServer {
    let geoip = GeoIp::from_bytes(vec![
        ("dbip-city-ipv4.mmdb".into(), dbip_city_ipv4()),
        ("dbip-city-ipv6.mmdb".into(), dbip_city_ipv6()),
        ("GeoLite2-City.mmdb".into(), geolite2_city()),
    ])
    .unwrap();
    let options = ServerOptions {
        enricher: Some(Arc::new(Enricher::with_geoip(geoip).unwrap())),
        ..ServerOptions::default()
    };
    TestServer::start_with_options(kind, options).await
}

async fn create(client: &Client, ip: Option<&str>, agent: Option<&str>) -> Session {
    client
        .session_create()
        .body_map(|b| {
            b.identity_store_id("acme")
                .user_id("42".parse::<UserId>().unwrap())
                .ip_address(ip.map(|ip| ip.parse().unwrap()))
                .user_agent(agent.map(str::to_string))
        })
        .send()
        .await
        .expect("create session")
        .into_inner()
}

type Fields = [Option<String>; 5];

fn fields(session: &Session) -> Fields {
    [
        session.browser.clone(),
        session.operating_system.clone(),
        session.city.clone(),
        session.state.clone(),
        session.country.clone(),
    ]
}

fn expected(values: [Option<&str>; 5]) -> Fields {
    values.map(|v| v.map(str::to_string))
}

async fn sessions_are_enriched_from_agent_and_address_in_both_layouts(kind: StoreKind) {
    let server = server_with_databases(kind).await;
    let client = server.admin_client();
    let cases = [
        (
            "81.2.69.142",
            CHROME_MAC,
            [
                Some("Chrome"),
                Some("Mac OS X 10.15.7"),
                Some("London"),
                Some("ENG"),
                Some("GB"),
            ],
        ),
        (
            "8.8.8.8",
            FIREFOX_WINDOWS,
            [
                Some("Firefox"),
                Some("Windows 10"),
                Some("Mountain View"),
                Some("California"),
                Some("US"),
            ],
        ),
        (
            "2001:67c:2e8:22::c100:68b",
            SAFARI_IPHONE,
            [
                Some("Mobile Safari"),
                Some("iOS 17.5"),
                Some("Amsterdam"),
                Some("North Holland"),
                Some("NL"),
            ],
        ),
        (
            "2a02:8100::1",
            "curl/8.5.0",
            [Some("curl"), None, Some("Berlin"), Some("BE"), Some("DE")],
        ),
        (
            "::ffff:81.2.69.1",
            "an agent no rule knows",
            [None, None, Some("London"), Some("ENG"), Some("GB")],
        ),
    ];
    for (ip, agent, want) in cases {
        let created = create(&client, Some(ip), Some(agent)).await;
        assert_eq!(fields(&created), expected(want), "{ip} {agent}");
        let viewed = client
            .session_view()
            .session_id(created.id.clone())
            .send()
            .await
            .unwrap()
            .into_inner();
        assert_eq!(fields(&viewed), expected(want), "stored: {ip} {agent}");
    }
    let listed = client
        .session_list()
        .user_id("42".parse::<UserId>().unwrap())
        .send()
        .await
        .unwrap()
        .into_inner()
        .items;
    assert_eq!(listed.len(), 5);
    assert!(listed.iter().all(|s| s.country.is_some()));
    server.finish().await;
}

async fn private_loopback_and_unknown_addresses_give_nulls_not_errors(kind: StoreKind) {
    let server = server_with_databases(kind).await;
    let client = server.admin_client();
    for ip in [
        "10.0.0.7",
        "192.168.1.20",
        "127.0.0.1",
        "::1",
        "fe80::1",
        "fd12:3456::1",
        "203.0.113.9",
        "100.64.1.1",
        "5.6.7.8",
        "2a03::1",
    ] {
        let session = create(&client, Some(ip), Some(CHROME_MAC)).await;
        assert_eq!(
            fields(&session),
            expected([Some("Chrome"), Some("Mac OS X 10.15.7"), None, None, None]),
            "{ip}"
        );
    }
    server.finish().await;
}

async fn enrichment_follows_the_first_interaction(kind: StoreKind) {
    let server = server_with_databases(kind).await;
    let client = server.admin_client();

    // Recorded before the client was seen: nothing to derive yet.
    let session = create(&client, None, None).await;
    assert_eq!(fields(&session), expected([None; 5]));

    // The first interaction is enriched.
    let first = client
        .session_interaction_create()
        .session_id(session.id.clone())
        .body_map(|b| {
            b.ip_address(Some("81.2.69.142".parse().unwrap()))
                .user_agent(Some(CHROME_MAC.to_string()))
        })
        .send()
        .await
        .unwrap()
        .into_inner();
    let london_chrome = expected([
        Some("Chrome"),
        Some("Mac OS X 10.15.7"),
        Some("London"),
        Some("ENG"),
        Some("GB"),
    ]);
    assert_eq!(fields(&first), london_chrome);

    // A later interaction from elsewhere, with another agent, moves
    // last_seen only.
    let later = client
        .session_interaction_create()
        .session_id(session.id.clone())
        .body_map(|b| {
            b.ip_address(Some("8.8.8.8".parse().unwrap()))
                .user_agent(Some(FIREFOX_WINDOWS.to_string()))
        })
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(fields(&later), london_chrome);
    let last = later.last_seen.unwrap();
    assert_eq!(last.user_agent.as_deref(), Some(FIREFOX_WINDOWS));
    assert_eq!(last.ip_address.unwrap().to_string(), "8.8.8.8");

    // A session created with its first interaction keeps that one too.
    let created = create(&client, Some("8.8.8.8"), Some(FIREFOX_WINDOWS)).await;
    let moved = client
        .session_interaction_create()
        .session_id(created.id.clone())
        .body_map(|b| {
            b.ip_address(Some("81.2.69.142".parse().unwrap()))
                .user_agent(Some(CHROME_MAC.to_string()))
        })
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(moved.city.as_deref(), Some("Mountain View"));
    assert_eq!(moved.browser.as_deref(), Some("Firefox"));
    server.finish().await;
}

async fn without_a_geoip_database_places_are_null_and_agents_still_parsed(kind: StoreKind) {
    let server = TestServer::start_with(kind).await;
    let client = server.admin_client();
    let session = create(&client, Some("81.2.69.142"), Some(CHROME_MAC)).await;
    assert_eq!(
        fields(&session),
        expected([Some("Chrome"), Some("Mac OS X 10.15.7"), None, None, None])
    );
    server.finish().await;
}

login_sessions_tests::contract_tests![
    sessions_are_enriched_from_agent_and_address_in_both_layouts,
    private_loopback_and_unknown_addresses_give_nulls_not_errors,
    enrichment_follows_the_first_interaction,
    without_a_geoip_database_places_are_null_and_agents_still_parsed,
];
