//! The command line: `serve`, `credentials create|list|revoke`, `seed`
//! and `key generate`.
//!
//! Every subcommand that touches data takes the same `--database` and
//! `--key-file` (or `LOGIN_SESSIONS_DATABASE`, `LOGIN_SESSIONS_KEY_FILE`)
//! and opens the database the same way, applying migrations, so any of them
//! works on a fresh file.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use chrono::TimeDelta;
use clap::{Args, Parser, Subcommand, ValueEnum};
use dropshot::{ConfigLogging, ConfigLoggingLevel};
use serde_json::json;

use crate::clock::{Clock, SystemClock};
use crate::config::{self, DEFAULT_DATABASE, DatabaseUrl};
use crate::domain::credential::{Credential, Role};
use crate::http::{self, ApiContext};
use crate::secrets::ServerKey;
use crate::service::credentials::{CredentialRequest, CredentialService, IssuedCredential};
use crate::service::{SessionService, SessionSettings};
use crate::store::SharedStore;

#[derive(Debug, Parser)]
#[command(
    name = "login-sessions",
    version,
    about = "Records login sessions and serves them through the native, Looker, Prefactor and Huawei APIs."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP server.
    Serve(ServeArgs),
    /// Manage the credentials that call the API.
    Credentials {
        #[command(subcommand)]
        command: CredentialsCommand,
    },
    /// Add many realistic sessions quickly (benchmarks, capacity tests):
    /// batches of one transaction each, progress on stderr, the rate at
    /// the end.
    Seed(SeedArgs),
    /// Manage the server key that encrypts stored secrets.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
}

/// Where the data and the server key are.
#[derive(Debug, Args)]
struct StoreArgs {
    /// The database: sqlite:PATH (embedded, the default) or postgres://...
    #[arg(long, env = "LOGIN_SESSIONS_DATABASE", default_value = DEFAULT_DATABASE)]
    database: String,
    /// The server key file (64 hex characters). Default with SQLite:
    /// `<database file>.key`, created on first use.
    #[arg(long, env = "LOGIN_SESSIONS_KEY_FILE")]
    key_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ServeArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// The address to listen on.
    #[arg(long, env = "LOGIN_SESSIONS_BIND", default_value = "127.0.0.1:8080")]
    bind: SocketAddr,
    /// The URL clients reach this server at (for links in responses).
    /// Default: http://<bind address>.
    #[arg(long, env = "LOGIN_SESSIONS_PUBLIC_URL")]
    public_url: Option<String>,
    /// The lifetime, in seconds, of a session recorded without one.
    #[arg(
        long,
        env = "LOGIN_SESSIONS_DEFAULT_SESSION_TTL",
        default_value_t = 86_400
    )]
    default_session_ttl: u32,
    /// Log level: trace, debug, info, warn, error, critical.
    #[arg(long, env = "LOGIN_SESSIONS_LOG_LEVEL", default_value = "info")]
    log_level: LogLevel,
    /// Seed demo data (users, two identity stores, browser and API
    /// sessions, some expired, some revoked) and print an admin credential
    /// with examples.
    #[arg(long)]
    demo: bool,
    /// Answer the benchmark's baseline endpoint (`GET /bench/baseline`, a
    /// constant body, no authentication); off by default. For `cargo
    /// xtask bench`.
    #[arg(long, env = "LOGIN_SESSIONS_BENCH_ENDPOINTS")]
    bench_endpoints: bool,
}

#[derive(Debug, Args)]
struct SeedArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// How many sessions to add.
    #[arg(long, default_value_t = 1_000_000)]
    sessions: u64,
    /// How many users they belong to. Default: one per ten sessions.
    #[arg(long)]
    users: Option<u64>,
    /// How many identity stores the users are spread over.
    #[arg(long, default_value_t = 8)]
    stores: u32,
    /// Sessions written per transaction. Large batches amortise the
    /// index pages every batch rewrites (with SQLite, 100,000 seeded about
    /// twice as fast as 10,000).
    #[arg(long, default_value_t = 100_000)]
    batch: usize,
    /// Write a uniform sample of the added sessions (id, identity store,
    /// user, whether live) and the designated user as JSON to this file,
    /// for load generators.
    #[arg(long)]
    sample: Option<PathBuf>,
    /// How many sessions the sample describes.
    #[arg(long, default_value_t = 10_000)]
    sample_size: usize,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Critical,
}

#[derive(Debug, Subcommand)]
enum CredentialsCommand {
    /// Issue a credential and print its secrets (shown only this once).
    Create(CreateArgs),
    /// List credentials (no secrets).
    List {
        #[command(flatten)]
        store: StoreArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a credential: none of its secrets work any more.
    Revoke {
        #[command(flatten)]
        store: StoreArgs,
        /// The credential id.
        id: String,
    },
}

#[derive(Debug, Args)]
struct CreateArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// admin (everything), store-admin (one identity store) or user (one
    /// user's own sessions).
    #[arg(long)]
    role: RoleArg,
    /// The identity store a store-admin manages (or a user belongs to).
    #[arg(long)]
    identity_store: Option<String>,
    /// The user a user credential is.
    #[arg(long)]
    user_id: Option<String>,
    /// A name to recognise the credential by.
    #[arg(long)]
    name: Option<String>,
    /// Requests per second allowed (burst of twice that). No limit by
    /// default.
    #[arg(long)]
    rate_limit: Option<u32>,
    /// Print JSON for scripts.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum RoleArg {
    Admin,
    StoreAdmin,
    User,
}

#[derive(Debug, Subcommand)]
enum KeyCommand {
    /// Print a new server key (64 hex characters) for a --key-file.
    Generate,
}

/// Runs the command line; the exit code says whether it worked.
pub async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::Credentials { command } => credentials(command).await,
        Command::Seed(args) => seed(args).await,
        Command::Key {
            command: KeyCommand::Generate,
        } => {
            println!("{}", ServerKey::generate().to_hex());
            Ok(())
        }
    }
}

/// The store and server key the arguments name, opened.
fn open(args: &StoreArgs) -> Result<(SharedStore, Arc<ServerKey>), String> {
    let database = DatabaseUrl::parse(&args.database).map_err(|e| e.to_string())?;
    let key_source =
        config::key_source(args.key_file.as_deref(), &database).map_err(|e| e.to_string())?;
    let store = config::open_store(&database).map_err(|e| e.to_string())?;
    let key = config::load_key(&key_source).map_err(|e| e.to_string())?;
    Ok((store, Arc::new(key)))
}

fn credential_service(args: &StoreArgs) -> Result<CredentialService, String> {
    let (store, key) = open(args)?;
    Ok(CredentialService::new(store, Arc::new(SystemClock), key))
}

async fn serve(args: ServeArgs) -> Result<(), String> {
    let (store, key) = open(&args.store)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let settings = SessionSettings {
        default_ttl: TimeDelta::seconds(i64::from(args.default_session_ttl)),
        ..SessionSettings::default()
    };
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", args.bind));
    let context = ApiContext::new(
        store.clone(),
        clock.clone(),
        key,
        settings,
        public_url.clone(),
    )
    .with_bench_endpoints(args.bench_endpoints);

    if args.demo {
        let seeded = crate::demo::seed(&context.sessions)
            .await
            .map_err(|e| e.to_string())?;
        let admin = context
            .credentials
            .issue(CredentialRequest {
                role: Role::Admin,
                identity_store_id: None,
                user_id: None,
                name: Some("demo admin".into()),
                rate_limit: None,
            })
            .await
            .map_err(|e| e.to_string())?;
        println!("{}", crate::demo::banner(&public_url, seeded, &admin));
    }

    let log = logger(args.log_level)?;
    let server = http::start(context, args.bind, log)?;
    eprintln!(
        "login-sessions listening on http://{} (database {})",
        server.local_addr(),
        DatabaseUrl::parse(&args.store.database)
            .map(|d| d.redacted())
            .unwrap_or_default()
    );
    server.await
}

async fn seed(args: SeedArgs) -> Result<(), String> {
    use std::io::{IsTerminal, Write};

    let (store, _key) = open(&args.store)?;
    let sessions = SessionService::new(store, Arc::new(SystemClock), SessionSettings::default());
    let plan = crate::seed::SeedPlan {
        sessions: args.sessions,
        users: args.users.unwrap_or((args.sessions / 10).max(1)),
        stores: args.stores,
        batch: args.batch,
        sample_size: if args.sample.is_some() {
            args.sample_size
        } else {
            0
        },
    };
    let terminal = std::io::stderr().is_terminal();
    let mut last_line = std::time::Instant::now();
    let mut next_decile = 1u64;
    let report = crate::seed::seed(&sessions, &plan, |progress| {
        let line = crate::seed::progress_line(progress);
        if terminal {
            if last_line.elapsed().as_millis() >= 200 || progress.done == progress.total {
                eprint!("\r{line}");
                let _ = std::io::stderr().flush();
                last_line = std::time::Instant::now();
            }
        } else if progress.done * 10 >= next_decile * progress.total.max(1) {
            eprintln!("{line}");
            next_decile = progress.done * 10 / progress.total.max(1) + 1;
        }
    })
    .await
    .map_err(|e| e.to_string())?;
    if terminal {
        eprintln!();
    }
    if let Some(path) = &args.sample {
        let sample = json!({
            "designated_user": report.designated_user,
            "sample": report.sample,
        });
        std::fs::write(path, sample.to_string())
            .map_err(|e| format!("could not write the sample to {}: {e}", path.display()))?;
    }
    if args.json {
        println!(
            "{}",
            json!({
                "inserted": report.inserted,
                "seconds": report.seconds,
                "sessions_per_second": report.sessions_per_second,
                "cpu_seconds": report.cpu_seconds,
            })
        );
    } else {
        println!(
            "seeded {} sessions in {:.1} s: {:.0} sessions/s",
            report.inserted, report.seconds, report.sessions_per_second
        );
    }
    Ok(())
}

fn logger(level: LogLevel) -> Result<slog::Logger, String> {
    let level = match level {
        LogLevel::Trace => ConfigLoggingLevel::Trace,
        LogLevel::Debug => ConfigLoggingLevel::Debug,
        LogLevel::Info => ConfigLoggingLevel::Info,
        LogLevel::Warn => ConfigLoggingLevel::Warn,
        LogLevel::Error => ConfigLoggingLevel::Error,
        LogLevel::Critical => ConfigLoggingLevel::Critical,
    };
    ConfigLogging::StderrTerminal { level }
        .to_logger("login-sessions")
        .map_err(|e| format!("could not set up logging: {e}"))
}

async fn credentials(command: CredentialsCommand) -> Result<(), String> {
    match command {
        CredentialsCommand::Create(args) => {
            let service = credential_service(&args.store)?;
            let role = match args.role {
                RoleArg::Admin => Role::Admin,
                RoleArg::StoreAdmin => Role::StoreAdmin,
                RoleArg::User => Role::User,
            };
            let issued = service
                .issue(CredentialRequest {
                    role,
                    identity_store_id: args.identity_store,
                    user_id: args.user_id,
                    name: args.name,
                    rate_limit: args.rate_limit,
                })
                .await
                .map_err(|e| e.to_string())?;
            if args.json {
                println!("{}", issued_json(&issued));
            } else {
                println!("{}", issued_text(&issued));
            }
            Ok(())
        }
        CredentialsCommand::List { store, json } => {
            let credentials = credential_service(&store)?
                .list()
                .await
                .map_err(|e| e.to_string())?;
            if json {
                let list: Vec<_> = credentials.iter().map(credential_json).collect();
                println!("{}", serde_json::Value::Array(list));
            } else {
                for credential in &credentials {
                    println!("{}", credential_line(credential));
                }
            }
            Ok(())
        }
        CredentialsCommand::Revoke { store, id } => {
            let revoked = credential_service(&store)?
                .revoke(&id)
                .await
                .map_err(|e| e.to_string())?;
            println!("revoked {}", revoked.id);
            Ok(())
        }
    }
}

/// The `--json` output of `credentials create`.
pub fn issued_json(issued: &IssuedCredential) -> serde_json::Value {
    json!({
        "id": issued.credential.id.as_str(),
        "role": issued.credential.role.as_str(),
        "native": { "token": issued.native_token },
        "looker": {
            "client_id": issued.looker_client_id,
            "client_secret": issued.looker_client_secret,
        },
        "prefactor": { "api_token": issued.prefactor_api_token },
        "huawei": {
            "access_key": issued.huawei_access_key,
            "secret_key": issued.huawei_secret_key,
        },
    })
}

/// The human output of `credentials create`.
pub fn issued_text(issued: &IssuedCredential) -> String {
    format!(
        "{}\n\nThese secrets are shown only now:\n  native API token:        {}\n  Looker client_id:        {}\n  Looker client_secret:    {}\n  Prefactor API token:     {}\n  Huawei access key (AK):  {}\n  Huawei secret key (SK):  {}",
        credential_line(&issued.credential),
        issued.native_token,
        issued.looker_client_id,
        issued.looker_client_secret,
        issued.prefactor_api_token,
        issued.huawei_access_key,
        issued.huawei_secret_key,
    )
}

fn credential_line(credential: &Credential) -> String {
    let mut line = format!("{}  {}", credential.id, credential.role.as_str());
    if let Some(store) = &credential.identity_store_id {
        line += &format!("  identity-store={store}");
    }
    if let Some(user) = &credential.user_id {
        line += &format!("  user-id={user}");
    }
    if let Some(limit) = credential.rate_limit {
        line += &format!("  rate-limit={limit}/s");
    }
    if let Some(name) = &credential.name {
        line += &format!("  name={name:?}");
    }
    if let Some(at) = credential.revoked_at {
        line += &format!("  REVOKED {}", at.to_rfc3339());
    }
    line
}

fn credential_json(credential: &Credential) -> serde_json::Value {
    json!({
        "id": credential.id.as_str(),
        "role": credential.role.as_str(),
        "name": credential.name,
        "identity_store_id": credential.identity_store_id,
        "user_id": credential.user_id,
        "rate_limit": credential.rate_limit,
        "created_at": credential.created_at.to_rfc3339(),
        "revoked_at": credential.revoked_at.map(|at| at.to_rfc3339()),
    })
}
