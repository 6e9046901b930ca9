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
//! where a parse costs several microseconds. A miss is parsed on one
//! dedicated thread that owns the compiled rules: the regex engines keep a
//! matching cache per calling thread (up to nine per rule), which grow as
//! rules are used, so parsing on every server thread would multiply the
//! rule set's memory by the number of cores; on one thread it stays at its
//! measured ~9 MB compiled, ~22 MB after parsing uap-core's whole corpus
//! (`cargo xtask enrich-bench` reports it).
//!
//! `cargo xtask ua-accuracy` measures this parser, through
//! [`UserAgentParser::browser_family`] and [`UserAgentParser::os_family`],
//! on uap-core's test corpus.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, OnceLock, mpsc};

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
    #[error("could not start the user agent parsing thread: {0}")]
    Thread(String),
}

struct Rules {
    browsers: ua_parser::user_agent::Extractor<'static>,
    systems: ua_parser::os::Extractor<'static>,
}

/// What the parsing thread answers: the stored result and uap-core's raw
/// families.
struct Analysis {
    parsed: ParsedAgent,
    browser_family: String,
    os_family: String,
}

struct Job {
    agent: String,
    reply: mpsc::SyncSender<Analysis>,
}

/// The compiled rules (on their own thread) and the cache of recent
/// results.
pub struct UserAgentParser {
    jobs: Mutex<mpsc::Sender<Job>>,
    cache: Option<Mutex<LruCache<Box<str>, ParsedAgent>>>,
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

    /// Compiles the rules in `yaml` (a uap-core `regexes.yaml`) and starts
    /// the thread that runs them; it ends when the parser is dropped.
    pub fn from_yaml(yaml: &str, cache_entries: usize) -> Result<UserAgentParser, RulesError> {
        fn compile(error: impl std::fmt::Display) -> RulesError {
            RulesError::Compile(error.to_string())
        }
        let regexes: ua_parser::Regexes<'static> = serde_yaml::from_str(yaml)?;
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
        let rules = Rules { browsers, systems };
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("user-agent-parser".into())
            .spawn(move || {
                for job in queue {
                    // The caller may have given up waiting; nothing to do.
                    let _ = job.reply.send(rules.analyse(&job.agent));
                }
            })
            .map_err(|e| RulesError::Thread(e.to_string()))?;
        Ok(UserAgentParser {
            jobs: Mutex::new(jobs),
            cache: NonZeroUsize::new(cache_entries).map(|n| Mutex::new(LruCache::new(n))),
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
    /// was seen recently. Never fails: should the parsing thread be gone,
    /// both are `None`.
    pub fn parse(&self, user_agent: &str) -> ParsedAgent {
        if let Some(cache) = &self.cache
            && let Some(found) = lock(cache).get(user_agent)
        {
            return found.clone();
        }
        let Some(analysis) = self.analyse(user_agent) else {
            return ParsedAgent::default();
        };
        if let Some(cache) = &self.cache {
            lock(cache).put(user_agent.into(), analysis.parsed.clone());
        }
        analysis.parsed
    }

    /// The browser family as uap-core defines it (`Other` when no rule
    /// matches), uncached: what the accuracy measurement compares.
    pub fn browser_family(&self, user_agent: &str) -> String {
        self.analyse(user_agent)
            .map_or_else(|| OTHER.to_string(), |a| a.browser_family)
    }

    /// The OS family as uap-core defines it (`Other` when no rule matches),
    /// uncached.
    pub fn os_family(&self, user_agent: &str) -> String {
        self.analyse(user_agent)
            .map_or_else(|| OTHER.to_string(), |a| a.os_family)
    }

    /// Asks the parsing thread; `None` if it is gone.
    fn analyse(&self, user_agent: &str) -> Option<Analysis> {
        let (reply, answer) = mpsc::sync_channel(1);
        let job = Job {
            agent: user_agent.to_string(),
            reply,
        };
        lock(&self.jobs).send(job).ok()?;
        answer.recv().ok()
    }
}

/// Locks a mutex whose data stays consistent whatever a panicking holder
/// did (a sender; a cache of complete entries).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Rules {
    /// Runs each rule set once: uap-core's families (`Other` when no rule
    /// matches) and what is stored (`None` for `Other`).
    fn analyse(&self, user_agent: &str) -> Analysis {
        let browser = self.browsers.extract(user_agent);
        let system = self.systems.extract(user_agent);
        let browser_family = browser
            .as_ref()
            .map_or_else(|| OTHER.to_string(), |v| v.family.to_string());
        let os_family = system
            .as_ref()
            .map_or_else(|| OTHER.to_string(), |v| v.os.to_string());
        let known = |family: &str| {
            let family = family.trim();
            (family != OTHER && !family.is_empty()).then(|| family.to_string())
        };
        let operating_system = system.as_ref().and_then(|v| {
            known(&v.os).map(|family| {
                with_version(
                    &family,
                    [&v.major, &v.minor, &v.patch, &v.patch_minor]
                        .into_iter()
                        .map(|part| part.as_deref()),
                )
            })
        });
        Analysis {
            parsed: ParsedAgent {
                browser: known(&browser_family),
                operating_system,
            },
            browser_family,
            os_family,
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
    fn many_threads_share_the_one_parsing_thread() {
        let parser = Arc::new(UserAgentParser::new(0).unwrap());
        let agents = [
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
            "curl/8.5.0",
            "nothing known",
        ];
        let expected: Vec<_> = agents.iter().map(|a| parser.parse(a)).collect();
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let parser = parser.clone();
                std::thread::spawn(move || {
                    (0..50)
                        .map(|i| parser.parse(agents[i % agents.len()]))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for thread in threads {
            for (i, parsed) in thread.join().unwrap().into_iter().enumerate() {
                assert_eq!(parsed, expected[i % agents.len()]);
            }
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
