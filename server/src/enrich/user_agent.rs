//! Browser and operating system from a user agent string, by uap-core's
//! rule set compiled with the `ua-parser` crate (the uap maintainers' Rust
//! implementation, the one behind uap-python's accelerator).
//!
//! The rules are `server/data/uap-core/regexes.yaml`, vendored (see the
//! README there for the uap-core commit) and embedded in the binary, so
//! neither builds nor the server need a network. Only the user agent and OS
//! rules are compiled; device rules are not used.
//!
//! Results are cached by agent string in a bounded LRU: a login service sees
//! the same few hundred agents over and over, and a hit costs a hash lookup
//! where a parse costs several microseconds. The compiled rules and the
//! cache sit behind one mutex: parsing is serialised, which also bounds
//! memory, since each thread that runs the rules concurrently would grow its
//! own set of regex caches (measured: about 6 MB per extra thread).
//!
//! `cargo xtask ua-accuracy` measures this parser, through
//! [`UserAgentParser::browser_family`] and [`UserAgentParser::os_family`],
//! on uap-core's test corpus.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, OnceLock};

use lru::LruCache;

/// uap-core's rules, vendored.
pub const RULES_YAML: &str = include_str!("../../data/uap-core/regexes.yaml");

/// The uap-core commit the vendored rules come from.
pub const RULES_REVISION: &str = "73e7340c3ed8055051607b296bf46ead7aa5f19e";

/// How many distinct agents the cache keeps by default.
pub const DEFAULT_CACHE_ENTRIES: usize = 4096;

/// The family uap-core reports when no rule matches.
pub const OTHER: &str = "Other";

/// What a user agent says about the client, as stored on a session: both
/// `None` when uap-core does not recognise it (its family `Other`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParsedAgent {
    /// The browser family: "Chrome", "Firefox", "Mobile Safari", ...
    pub browser: Option<String>,
    /// The OS family and its version where known: "Mac OS X 10.15.7",
    /// "Windows 10", "iOS 17.5", "Linux".
    pub operating_system: Option<String>,
}

/// Why the rules could not be compiled.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("the uap-core rules are not valid YAML: {0}")]
    Yaml(#[from] serde_yaml::Error),
    #[error("a uap-core rule does not compile: {0}")]
    Compile(String),
}

struct Rules {
    browsers: ua_parser::user_agent::Extractor<'static>,
    systems: ua_parser::os::Extractor<'static>,
}

struct Inner {
    rules: Rules,
    cache: Option<LruCache<Box<str>, ParsedAgent>>,
}

/// The compiled rules and the cache of recent results.
pub struct UserAgentParser {
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for UserAgentParser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserAgentParser").finish_non_exhaustive()
    }
}

impl UserAgentParser {
    /// Compiles the vendored rules, with a cache of `cache_entries` agents
    /// (0: no cache).
    pub fn new(cache_entries: usize) -> Result<UserAgentParser, RulesError> {
        UserAgentParser::from_yaml(RULES_YAML, cache_entries)
    }

    /// Compiles the rules in `yaml` (a uap-core `regexes.yaml`).
    pub fn from_yaml(yaml: &str, cache_entries: usize) -> Result<UserAgentParser, RulesError> {
        let regexes: ua_parser::Regexes<'static> = serde_yaml::from_str(yaml)?;
        fn compile(error: impl std::fmt::Display) -> RulesError {
            RulesError::Compile(error.to_string())
        }
        let browsers = regexes
            .user_agent_parsers
            .into_iter()
            .try_fold(ua_parser::user_agent::Builder::new(), |b, p| b.push(p))
            .map_err(compile)?
            .build()
            .map_err(compile)?;
        let systems = regexes
            .os_parsers
            .into_iter()
            .try_fold(ua_parser::os::Builder::new(), |b, p| b.push(p))
            .map_err(compile)?
            .build()
            .map_err(compile)?;
        Ok(UserAgentParser {
            inner: Mutex::new(Inner {
                rules: Rules { browsers, systems },
                cache: NonZeroUsize::new(cache_entries).map(LruCache::new),
            }),
        })
    }

    /// The parser over the vendored rules, compiled once per process and
    /// shared (compiling takes tens of milliseconds).
    pub fn shared() -> Result<Arc<UserAgentParser>, String> {
        static SHARED: OnceLock<Result<Arc<UserAgentParser>, String>> = OnceLock::new();
        SHARED
            .get_or_init(|| {
                UserAgentParser::new(DEFAULT_CACHE_ENTRIES)
                    .map(Arc::new)
                    .map_err(|e| e.to_string())
            })
            .clone()
    }

    /// Browser and operating system of `user_agent`, from the cache when it
    /// was seen recently.
    pub fn parse(&self, user_agent: &str) -> ParsedAgent {
        let mut inner = self.lock();
        if let Some(found) = inner.cache.as_mut().and_then(|c| c.get(user_agent)) {
            return found.clone();
        }
        let parsed = inner.rules.parse(user_agent);
        if let Some(cache) = inner.cache.as_mut() {
            cache.put(user_agent.into(), parsed.clone());
        }
        parsed
    }

    /// The browser family as uap-core defines it (`Other` when no rule
    /// matches), uncached: what the accuracy measurement compares.
    pub fn browser_family(&self, user_agent: &str) -> String {
        let inner = self.lock();
        inner
            .rules
            .browsers
            .extract(user_agent)
            .map_or_else(|| OTHER.to_string(), |v| v.family.into_owned())
    }

    /// The OS family as uap-core defines it (`Other` when no rule matches),
    /// uncached.
    pub fn os_family(&self, user_agent: &str) -> String {
        let inner = self.lock();
        inner
            .rules
            .systems
            .extract(user_agent)
            .map_or_else(|| OTHER.to_string(), |v| v.os.into_owned())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the rules or the
        // cache inconsistent in a way that matters (the cache holds only
        // complete entries), so a poisoned lock is used as it is.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Rules {
    fn parse(&self, user_agent: &str) -> ParsedAgent {
        let browser = self
            .browsers
            .extract(user_agent)
            .map(|v| v.family)
            .filter(|family| family != OTHER && !family.trim().is_empty())
            .map(|family| family.trim().to_string());
        let operating_system = self.systems.extract(user_agent).and_then(|v| {
            let family = v.os.trim();
            if family == OTHER || family.is_empty() {
                return None;
            }
            Some(with_version(
                family,
                [v.major, v.minor, v.patch, v.patch_minor]
                    .iter()
                    .map(|part| part.as_deref()),
            ))
        });
        ParsedAgent {
            browser,
            operating_system,
        }
    }
}

/// "Mac OS X" and 10, 15, 7 → "Mac OS X 10.15.7": the version parts up to
/// the first missing one, joined by dots.
fn with_version<'a>(family: &str, parts: impl Iterator<Item = Option<&'a str>>) -> String {
    let version: Vec<&str> = parts
        .map_while(|part| part.map(str::trim).filter(|p| !p.is_empty()))
        .collect();
    if version.is_empty() {
        family.to_string()
    } else {
        format!("{family} {}", version.join("."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parser() -> Arc<UserAgentParser> {
        UserAgentParser::shared().expect("the vendored rules compile")
    }

    fn parsed(browser: Option<&str>, os: Option<&str>) -> ParsedAgent {
        ParsedAgent {
            browser: browser.map(str::to_string),
            operating_system: os.map(str::to_string),
        }
    }

    #[test]
    fn common_agents() {
        let p = parser();
        let cases = [
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
                parsed(Some("Chrome"), Some("Mac OS X 10.15.7")),
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
                parsed(Some("Firefox"), Some("Windows 10")),
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
                parsed(Some("Mobile Safari"), Some("iOS 17.5")),
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36",
                parsed(Some("Chrome"), Some("Linux")),
            ),
            ("curl/8.5.0", parsed(Some("curl"), None)),
            ("", parsed(None, None)),
            ("definitely not a browser", parsed(None, None)),
        ];
        for (agent, expected) in cases {
            assert_eq!(p.parse(agent), expected, "{agent}");
        }
    }

    #[test]
    fn cached_and_uncached_results_agree() {
        let cached = UserAgentParser::new(2).unwrap();
        let uncached = UserAgentParser::new(0).unwrap();
        let agents = [
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
            "curl/8.5.0",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
            "Wget/1.21",
            "curl/8.5.0",
        ];
        for agent in agents {
            assert_eq!(cached.parse(agent), uncached.parse(agent), "{agent}");
        }
    }

    #[test]
    fn families_follow_uap_core_including_other() {
        let p = parser();
        assert_eq!(p.browser_family("nothing known"), "Other");
        assert_eq!(p.os_family("nothing known"), "Other");
        assert_eq!(
            p.os_family("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36"),
            "Mac OS X"
        );
    }

    #[test]
    fn versions_stop_at_the_first_missing_part() {
        let v = |parts: [Option<&'static str>; 4]| with_version("X", parts.into_iter());
        assert_eq!(v([None, Some("1"), None, None]), "X");
        assert_eq!(v([Some("10"), Some("15"), None, Some("3")]), "X 10.15");
        assert_eq!(v([Some("1"), Some("2"), Some("3"), Some("4")]), "X 1.2.3.4");
    }

    #[test]
    fn bad_rules_are_an_error_not_a_panic() {
        assert!(matches!(
            UserAgentParser::from_yaml("user_agent_parsers: [", 0),
            Err(RulesError::Yaml(_))
        ));
        let bad = "user_agent_parsers:\n  - regex: '('\nos_parsers: []\ndevice_parsers: []\n";
        assert!(matches!(
            UserAgentParser::from_yaml(bad, 0),
            Err(RulesError::Compile(_))
        ));
    }
}
