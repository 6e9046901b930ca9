//! `serve`'s CORS flags: which browser origins may call each dialect.
//!
//! One flag per dialect, each taking origins separated by commas or
//! repeated, each with its environment variable; none given, CORS is off
//! and nothing about responses changes. What an allowed origin gets is
//! [`crate::http::cors`]'s to say.

use clap::Args;

use crate::http::cors::CorsPolicy;
use crate::http::dialect::Dialect;

/// The origins whose pages may call each dialect from a browser.
#[derive(Debug, Args)]
pub struct CorsArgs {
    /// Origins (scheme://host[:port], separated by commas or repeated)
    /// whose browser pages may call the native API (/native/v1, /healthz,
    /// and every path outside the other dialects). Default: none.
    #[arg(
        long,
        env = "LOGIN_SESSIONS_CORS_ORIGINS_NATIVE",
        value_name = "ORIGIN",
        value_delimiter = ','
    )]
    cors_origins_native: Vec<String>,
    /// Origins whose browser pages may call the Looker dialect (/api/4.0,
    /// /api/logout). Default: none.
    #[arg(
        long,
        env = "LOGIN_SESSIONS_CORS_ORIGINS_LOOKER",
        value_name = "ORIGIN",
        value_delimiter = ','
    )]
    cors_origins_looker: Vec<String>,
    /// Origins whose browser pages may call the Prefactor dialect
    /// (/api/v1). Default: none.
    #[arg(
        long,
        env = "LOGIN_SESSIONS_CORS_ORIGINS_PREFACTOR",
        value_name = "ORIGIN",
        value_delimiter = ','
    )]
    cors_origins_prefactor: Vec<String>,
    /// Origins whose browser pages may call the Huawei dialect (/v1).
    /// Default: none.
    #[arg(
        long,
        env = "LOGIN_SESSIONS_CORS_ORIGINS_HUAWEI",
        value_name = "ORIGIN",
        value_delimiter = ','
    )]
    cors_origins_huawei: Vec<String>,
}

impl CorsArgs {
    /// The policy these flags describe; an error naming a value that is
    /// not an origin.
    pub fn policy(&self) -> Result<CorsPolicy, String> {
        let per_dialect = [
            (Dialect::Native, &self.cors_origins_native),
            (Dialect::Looker, &self.cors_origins_looker),
            (Dialect::Prefactor, &self.cors_origins_prefactor),
            (Dialect::Huawei, &self.cors_origins_huawei),
        ];
        per_dialect
            .into_iter()
            .try_fold(CorsPolicy::default(), |policy, (dialect, origins)| {
                let origins = origins
                    .iter()
                    .map(String::as_str)
                    .filter(|o| !o.trim().is_empty());
                policy
                    .allow(dialect, origins)
                    .map_err(|error| format!("--cors-origins-{}: {error}", dialect.name()))
            })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Serve {
        #[command(flatten)]
        cors: CorsArgs,
    }

    fn policy(args: &[&str]) -> Result<CorsPolicy, String> {
        let command_line = std::iter::once("serve").chain(args.iter().copied());
        Serve::try_parse_from(command_line).unwrap().cors.policy()
    }

    #[test]
    fn origins_come_per_dialect_separated_by_commas_or_repeated() {
        let given = policy(&[
            "--cors-origins-looker",
            "https://a.example.com,https://b.example.com/",
            "--cors-origins-looker",
            "http://localhost:3000",
        ])
        .unwrap();
        let expected = CorsPolicy::default()
            .allow(
                Dialect::Looker,
                [
                    "https://a.example.com",
                    "https://b.example.com",
                    "http://localhost:3000",
                ],
            )
            .unwrap();
        assert_eq!(given, expected);
    }

    #[test]
    fn no_flag_is_cors_off_and_a_bad_origin_names_its_flag() {
        assert!(policy(&[]).unwrap().is_off());
        let error = policy(&["--cors-origins-huawei", "*"]).unwrap_err();
        assert!(error.starts_with("--cors-origins-huawei: "), "{error}");
    }
}
