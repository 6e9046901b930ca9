//! `cargo xtask ua-accuracy --corpus DIR`: how often the server's user
//! agent parser agrees with uap-core's test corpus.
//!
//! The corpus is uap-core's `tests/test_ua.yaml` and `tests/test_os.yaml`
//! (any copy of them: the command takes the directory). Each case has a
//! `user_agent_string` and the expected `family`; agreement is the share of
//! cases whose parsed family equals it exactly — the browser family for
//! `test_ua.yaml`, the OS family for `test_os.yaml` — with uap-core's
//! `Other` when no rule matches, as the corpus itself expects. The parser
//! is the server's own (`login_sessions_server::enrich::user_agent`), over
//! the vendored rules the server embeds.
//!
//! Prints exactly
//!
//! ```text
//! browser family agreement: P% (n/N)
//! os family agreement: P% (n/N)
//! ```
//!
//! and fails when either is below `--min-agreement` (95 by default).

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use login_sessions_server::enrich::user_agent::UserAgentParser;
use serde::Deserialize;

#[derive(Deserialize)]
struct Corpus {
    test_cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    user_agent_string: String,
    family: String,
}

/// Agreement on one corpus file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Agreement {
    pub agreed: usize,
    pub total: usize,
}

impl Agreement {
    /// The percentage, rounded down to two decimals (so a figure printed
    /// as 95.00% is never below 95%).
    pub fn percent(self) -> String {
        if self.total == 0 {
            return "0.00".into();
        }
        let hundredths = (self.agreed as u128 * 10_000) / self.total as u128;
        format!("{}.{:02}", hundredths / 100, hundredths % 100)
    }

    /// Whether at least `min` percent agreed.
    pub fn at_least(self, min: f64) -> bool {
        self.total > 0 && (self.agreed as f64) * 100.0 >= min * (self.total as f64)
    }
}

fn load(path: &Path) -> anyhow::Result<Vec<Case>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the corpus file {}", path.display()))?;
    let corpus: Corpus = serde_yaml::from_str(&text)
        .with_context(|| format!("{} is not a uap-core test file", path.display()))?;
    Ok(corpus.test_cases)
}

fn agreement(cases: &[Case], parse: impl Fn(&str) -> String) -> Agreement {
    Agreement {
        agreed: cases
            .iter()
            .filter(|case| parse(&case.user_agent_string) == case.family)
            .count(),
        total: cases.len(),
    }
}

/// Measures both figures on the corpus in `dir`.
pub fn measure(dir: &Path) -> anyhow::Result<(Agreement, Agreement)> {
    let browsers = load(&dir.join("test_ua.yaml"))?;
    let systems = load(&dir.join("test_os.yaml"))?;
    let parser = UserAgentParser::new(0).context("the vendored uap-core rules do not compile")?;
    Ok((
        agreement(&browsers, |ua| parser.browser_family(ua)),
        agreement(&systems, |ua| parser.os_family(ua)),
    ))
}

/// Runs the command.
pub fn run(corpus: &Path, min_agreement: f64) -> anyhow::Result<ExitCode> {
    let (browser, os) = measure(corpus)?;
    println!(
        "browser family agreement: {}% ({}/{})",
        browser.percent(),
        browser.agreed,
        browser.total
    );
    println!(
        "os family agreement: {}% ({}/{})",
        os.percent(),
        os.agreed,
        os.total
    );
    if browser.at_least(min_agreement) && os.at_least(min_agreement) {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("error: agreement below the required {min_agreement}%");
        Ok(ExitCode::FAILURE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_round_down() {
        let a = |agreed, total| Agreement { agreed, total };
        assert_eq!(a(1601, 1601).percent(), "100.00");
        assert_eq!(a(1519, 1600).percent(), "94.93");
        assert_eq!(a(2, 3).percent(), "66.66");
        assert!(a(95, 100).at_least(95.0));
        assert!(!a(949, 1000).at_least(95.0));
        assert!(!a(0, 0).at_least(0.0));
    }

    #[test]
    fn measures_a_small_corpus() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("test_ua.yaml"),
            "test_cases:\n  - user_agent_string: 'curl/8.5.0'\n    family: 'curl'\n    major: '8'\n  - user_agent_string: 'nothing known'\n    family: 'Other'\n  - user_agent_string: 'Mozilla/5.0 (Windows NT 10.0; rv:128.0) Gecko/20100101 Firefox/128.0'\n    family: 'Chrome'\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("test_os.yaml"),
            "test_cases:\n  - user_agent_string: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36'\n    family: 'Mac OS X'\n    major: '10'\n",
        )
        .unwrap();
        let (browser, os) = measure(dir.path()).unwrap();
        assert_eq!(
            browser,
            Agreement {
                agreed: 2,
                total: 3
            }
        );
        assert_eq!(
            os,
            Agreement {
                agreed: 1,
                total: 1
            }
        );
        assert!(measure(&dir.path().join("missing")).is_err());
    }
}
