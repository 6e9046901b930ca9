//! Session enrichment: what the server derives from a session's first
//! interaction — browser and operating system from the user agent
//! ([`user_agent`]), city, state and country from the IP address
//! ([`geoip`]).
//!
//! The session service holds one [`Enricher`] (as an `Arc`) and calls
//! [`Enricher::enrich`] once per session, when its first interaction is
//! recorded (at creation, or by the first `interactions` call): the result
//! is stored with the session and never recomputed, so reading sessions
//! costs nothing and a later GeoIP database update does not rewrite
//! history. This module does I/O (reading databases); the domain stays
//! pure and only receives the [`Enrichment`] values.

pub mod geoip;
pub mod user_agent;

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use crate::domain::session::Enrichment;
use geoip::GeoIp;
use user_agent::UserAgentParser;

/// Derives a session's [`Enrichment`].
#[derive(Debug)]
pub struct Enricher {
    user_agents: Option<Arc<UserAgentParser>>,
    geoip: GeoIp,
}

impl Enricher {
    /// An enricher with this user agent parser (none: browser and OS stay
    /// null) and these GeoIP databases.
    pub fn new(user_agents: Option<Arc<UserAgentParser>>, geoip: GeoIp) -> Enricher {
        Enricher { user_agents, geoip }
    }

    /// The default: the vendored uap-core rules (compiled once per
    /// process), no GeoIP database.
    pub fn builtin() -> Arc<Enricher> {
        static BUILTIN: OnceLock<Arc<Enricher>> = OnceLock::new();
        BUILTIN
            .get_or_init(|| {
                let parser = UserAgentParser::shared()
                    .map_err(|e| eprintln!("warning: user agents will not be parsed: {e}"))
                    .ok();
                Arc::new(Enricher::new(parser, GeoIp::none()))
            })
            .clone()
    }

    /// The vendored uap-core rules with these GeoIP databases.
    pub fn with_geoip(geoip: GeoIp) -> Result<Enricher, String> {
        Ok(Enricher::new(Some(UserAgentParser::shared()?), geoip))
    }

    /// The GeoIP databases, to report on or reload.
    pub fn geoip(&self) -> &GeoIp {
        &self.geoip
    }

    /// What the server derives from an interaction's address and agent.
    /// Never fails: what cannot be derived is `None`.
    pub fn enrich(&self, ip: Option<IpAddr>, user_agent: Option<&str>) -> Enrichment {
        let agent = match (&self.user_agents, user_agent) {
            (Some(parser), Some(agent)) => parser.parse(agent),
            _ => Default::default(),
        };
        let location = ip.map(|ip| self.geoip.lookup(ip)).unwrap_or_default();
        Enrichment {
            browser: agent.browser,
            operating_system: agent.operating_system,
            city: location.city,
            state: location.state,
            country: location.country,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enriches_from_agent_and_address() {
        let geoip = GeoIp::from_bytes(vec![("t".into(), geoip::tests::geolite2_city())]).unwrap();
        let enricher = Enricher::with_geoip(geoip).unwrap();
        let enrichment = enricher.enrich(
            "81.2.69.142".parse().ok(),
            Some(
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
            ),
        );
        assert_eq!(
            enrichment,
            Enrichment {
                browser: Some("Firefox".into()),
                operating_system: Some("Windows 10".into()),
                city: Some("London".into()),
                state: Some("ENG".into()),
                country: Some("GB".into()),
            }
        );
        assert_eq!(enricher.enrich(None, None), Enrichment::default());
        let builtin = Enricher::builtin().enrich("81.2.69.142".parse().ok(), Some("curl/8.5.0"));
        assert_eq!(builtin.browser.as_deref(), Some("curl"));
        assert_eq!(builtin.city, None);
        let none = Enricher::new(None, GeoIp::none()).enrich(None, Some("curl/8.5.0"));
        assert_eq!(none, Enrichment::default());
    }
}
