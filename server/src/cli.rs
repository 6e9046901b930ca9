//! The command line: `serve` (in [`serve`]), `init`, `credentials
//! create|create-temporary|list|revoke`, `seed`, `backup` and `key
//! generate|rotate`.
//!
//! Every subcommand that touches data takes the same `--database` and
//! `--key-file` (or `LOGIN_SESSIONS_DATABASE`, `LOGIN_SESSIONS_KEY_FILE`)
//! and opens the database the same way, applying migrations, so any of them
//! works on a fresh file. `serve` also opens the GeoIP databases
//! (`--geoip-db`, repeatable, or `LOGIN_SESSIONS_GEOIP_DB`) and re-reads
//! them on SIGHUP.

mod cors;
mod output;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::json;

use crate::clock::SystemClock;
use crate::config::{self, DEFAULT_DATABASE, DatabaseUrl};
use crate::domain::credential::Role;
use crate::secrets::ServerKey;
use crate::service::credentials::{
    CredentialRequest, CredentialService, TEMPORARY_DEFAULT_TTL_SECONDS,
};
use crate::service::{SessionService, SessionSettings};
use crate::store::SharedStore;
use crate::store::postgres::DEFAULT_POOL_SIZE;
use output::{Failure, credential_json, credential_line, say};
pub use output::{issued_json, issued_text, temporary_json, temporary_text};
pub use serve::{
    GEOIP_DB_ENV, ServeArgs, api_context, connection_settings, geoip_paths, janitor_settings,
    serve_args,
};

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
    Serve(Box<ServeArgs>),
    /// Manage the credentials that call the API.
    Credentials {
        #[command(subcommand)]
        command: CredentialsCommand,
    },
    /// Add many realistic sessions quickly (benchmarks, capacity tests):
    /// batches of one transaction each, progress on stderr, the rate at
    /// the end. Into a store holding fewer sessions than are coming, the
    /// session indexes are built once at the end.
    Seed(SeedArgs),
    /// Create a new, empty database (and, with SQLite and no --key-file,
    /// its server key beside it). Every other command refuses to create a
    /// SQLite database where its server key already exists: that database
    /// was moved or deleted, and a new empty one would hide it.
    Init(StoreArgs),
    /// Copy a SQLite database, live, into a new file: a consistent
    /// snapshot, mode 0600, while the server keeps serving. (PostgreSQL:
    /// use pg_dump; see docs/operations.md.) The server key is not in the
    /// copy: back the key file up beside it.
    Backup(BackupArgs),
    /// Manage the server key that encrypts stored secrets.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
}

/// What `backup` copies, and where to.
#[derive(Debug, Args)]
struct BackupArgs {
    /// The new file to write the copy to (never overwritten).
    to: PathBuf,
    /// The database to copy: sqlite:PATH.
    #[arg(long, env = "LOGIN_SESSIONS_DATABASE", default_value = DEFAULT_DATABASE)]
    database: String,
}

/// Where the data and the server key are.
#[derive(Debug, Args)]
struct StoreArgs {
    /// The database: sqlite:PATH (embedded, the default), postgres://...,
    /// or (`serve` only) `memory`: nothing on disk, gone when the process
    /// ends, with a server key generated in memory unless --key-file is
    /// given.
    #[arg(long, env = "LOGIN_SESSIONS_DATABASE", default_value = DEFAULT_DATABASE)]
    database: String,
    /// The server key file (64 hex characters). Default with SQLite:
    /// `<database file>.key`, created on first use. Required with
    /// PostgreSQL, where every replica must use the same key.
    #[arg(long, env = "LOGIN_SESSIONS_KEY_FILE")]
    key_file: Option<PathBuf>,
    /// The most connections to PostgreSQL this process keeps open (unused
    /// with SQLite).
    #[arg(
        long,
        env = "LOGIN_SESSIONS_DATABASE_POOL_SIZE",
        default_value_t = DEFAULT_POOL_SIZE,
        value_parser = clap::value_parser!(u16).range(1..=1000),
    )]
    database_pool_size: u16,
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
    /// Sessions written per transaction (the next batch is generated
    /// while one is written). Large batches amortise each commit and the
    /// index pages it rewrites when the indexes are not deferred.
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

#[derive(Debug, Subcommand)]
enum CredentialsCommand {
    /// Issue a credential and print its secrets (shown only this once).
    Create(CreateArgs),
    /// Issue temporary Huawei credentials for a credential: an AK/SK and a
    /// security token with its role and scope, valid for --ttl-seconds (or
    /// until the credential is revoked). Shown only this once.
    CreateTemporary {
        #[command(flatten)]
        store: StoreArgs,
        /// The credential (id) whose role the temporary credentials carry.
        id: String,
        /// Lifetime in seconds, 900 to 86400.
        #[arg(long, default_value_t = TEMPORARY_DEFAULT_TTL_SECONDS)]
        ttl_seconds: u32,
        /// Print JSON for scripts.
        #[arg(long)]
        json: bool,
    },
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
    /// Re-seal every stored secret with the key file's first key. The key
    /// file must hold the new key on its first line and the old one after
    /// it (every server accepts both meanwhile); afterwards remove the old
    /// line everywhere. See docs/operations.md.
    Rotate(StoreArgs),
}

/// Runs the command line; the exit code says whether it worked.
pub async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) | Err(Failure::OutputClosed) => ExitCode::SUCCESS,
        Err(Failure::Message(message)) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Serve(args) => Ok(serve::serve(*args).await?),
        Command::Credentials { command } => credentials(command).await,
        Command::Seed(args) => seed(args).await,
        Command::Init(args) => init(&args).await,
        Command::Backup(args) => backup(&args),
        Command::Key {
            command: KeyCommand::Generate,
        } => say(ServerKey::generate().to_hex()),
        Command::Key {
            command: KeyCommand::Rotate(args),
        } => rotate_key(&args).await,
    }
}

/// Whether a command may create a SQLite database whose server key
/// exists already.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Creating {
    /// Only `init` does: a key without its database means the database
    /// was moved or deleted.
    Refused,
    Allowed,
}

/// The store and server key the arguments name, opened.
async fn open(args: &StoreArgs) -> Result<(SharedStore, Arc<ServerKey>), String> {
    open_creating(args, Creating::Refused).await
}

async fn open_creating(
    args: &StoreArgs,
    creating: Creating,
) -> Result<(SharedStore, Arc<ServerKey>), String> {
    let database = DatabaseUrl::parse(&args.database).map_err(|e| e.to_string())?;
    let key_source =
        config::key_source(args.key_file.as_deref(), &database).map_err(|e| e.to_string())?;
    let creates = match &database {
        DatabaseUrl::Sqlite(path) => (!path.exists()).then(|| path.clone()),
        DatabaseUrl::Postgres(_) | DatabaseUrl::Memory => None,
    };
    if let Some(path) = &creates {
        let key = match &key_source {
            config::KeySource::File(key) | config::KeySource::BesideDatabase(key) => Some(key),
            config::KeySource::Ephemeral => None,
        };
        if let Some(key) = key
            && creating == Creating::Refused
            && key.exists()
        {
            return Err(format!(
                "the database {} does not exist, but its server key {} does: the database \
                 was moved or deleted, or --database names the wrong file. Point --database \
                 at it, or run `login-sessions init` with the same --database and --key-file \
                 to start a new, empty database",
                path.display(),
                key.display()
            ));
        }
    }
    let store = config::open_store(&database, usize::from(args.database_pool_size))
        .await
        .map_err(|e| e.to_string())?;
    if let Some(path) = creates {
        eprintln!("created a new database: {}", path.display());
    }
    let key = config::load_key(&key_source).map_err(|e| e.to_string())?;
    Ok((store, Arc::new(key)))
}

/// `backup`: a consistent copy of a live SQLite database.
fn backup(args: &BackupArgs) -> Result<(), Failure> {
    let database = DatabaseUrl::parse(&args.database).map_err(|e| e.to_string())?;
    let DatabaseUrl::Sqlite(path) = &database else {
        return Err(Failure::Message(
            "backup copies SQLite databases; back PostgreSQL up with its own tools \
             (pg_dump, or a base backup with WAL archiving): see docs/operations.md"
                .into(),
        ));
    };
    crate::store::sqlite::backup::backup(path, &args.to).map_err(|e| e.to_string())?;
    eprintln!(
        "backed up {} to {} (the server key is not in it: keep a copy of the key file too)",
        path.display(),
        args.to.display()
    );
    Ok(())
}

/// `key rotate`: every stored secret sealed anew with the first key.
async fn rotate_key(args: &StoreArgs) -> Result<(), Failure> {
    let (store, key) = open(args).await?;
    if key.key_count() < 2 {
        return Err(Failure::Message(
            "the key file holds one key: put the new key (`key generate`) on its first line \
             and the current one after it, on every server, then rotate"
                .into(),
        ));
    }
    let outcome = CredentialService::new(store, Arc::new(SystemClock), key)
        .reseal_all()
        .await
        .map_err(|e| e.to_string())?;
    say(format!(
        "re-sealed {} secrets with the first key ({} were already, {} changed meanwhile)",
        outcome.resealed, outcome.already, outcome.changed
    ))?;
    if !outcome.unopened.is_empty() {
        return Err(Failure::Message(format!(
            "{} stored secrets open with none of the key file's keys and were left as they \
             are: keep the old key until they are reissued",
            outcome.unopened.len()
        )));
    }
    say(
        "every stored secret opens with the first key now: remove the other lines from every server's key file",
    )
}

/// Refuses `--database memory` for a command other than `serve`: the
/// database it would open is its own, empty, and gone when it exits, so
/// whatever it did would be lost and the server it was meant for would
/// never see it.
fn refuse_memory(args: &StoreArgs, command: &str) -> Result<(), String> {
    match DatabaseUrl::parse(&args.database) {
        Ok(DatabaseUrl::Memory) => Err(format!(
            "`{command}` cannot use --database memory: an in-memory database belongs to \
             the one `serve` process that holds it, and this command's own would be \
             gone when it exits. Declare credentials and sessions for such a server \
             with `serve --database memory --fixtures FILE`"
        )),
        _ => Ok(()),
    }
}

/// `init`: a new, empty database, ready to serve.
async fn init(args: &StoreArgs) -> Result<(), Failure> {
    refuse_memory(args, "init")?;
    let database = DatabaseUrl::parse(&args.database).map_err(|e| e.to_string())?;
    if let DatabaseUrl::Sqlite(path) = &database
        && path.exists()
    {
        return Err(Failure::Message(format!(
            "the database {} exists already: nothing to do",
            path.display()
        )));
    }
    open_creating(args, Creating::Allowed).await?;
    // With SQLite `open` said on stderr that it created the file; with
    // PostgreSQL the schema is now in place.
    if let DatabaseUrl::Postgres(_) = database {
        eprintln!("the database {} is ready", database.redacted());
    }
    Ok(())
}

async fn credential_service(args: &StoreArgs) -> Result<CredentialService, String> {
    refuse_memory(args, "credentials")?;
    let (store, key) = open(args).await?;
    Ok(CredentialService::new(store, Arc::new(SystemClock), key))
}

async fn seed(args: SeedArgs) -> Result<(), Failure> {
    use std::io::{IsTerminal, Write};

    refuse_memory(&args.store, "seed")?;
    let (store, _key) = open(&args.store).await?;
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
        say(json!({
            "inserted": report.inserted,
            "seconds": report.seconds,
            "sessions_per_second": report.sessions_per_second,
            "cpu_seconds": report.cpu_seconds,
        }))
    } else {
        say(format_args!(
            "seeded {} sessions in {:.1} s: {:.0} sessions/s",
            report.inserted, report.seconds, report.sessions_per_second
        ))
    }
}

async fn credentials(command: CredentialsCommand) -> Result<(), Failure> {
    match command {
        CredentialsCommand::Create(args) => {
            let service = credential_service(&args.store).await?;
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
                say(issued_json(&issued))
            } else {
                say(issued_text(&issued))
            }
        }
        CredentialsCommand::CreateTemporary {
            store,
            id,
            ttl_seconds,
            json,
        } => {
            let issued = credential_service(&store)
                .await?
                .issue_temporary_huawei(&id, Some(ttl_seconds))
                .await
                .map_err(|e| e.to_string())?;
            if json {
                say(temporary_json(&issued))
            } else {
                say(temporary_text(&issued))
            }
        }
        CredentialsCommand::List { store, json } => {
            let credentials = credential_service(&store)
                .await?
                .list()
                .await
                .map_err(|e| e.to_string())?;
            if json {
                let list: Vec<_> = credentials.iter().map(credential_json).collect();
                say(serde_json::Value::Array(list))
            } else {
                credentials
                    .iter()
                    .try_for_each(|credential| say(credential_line(credential)))
            }
        }
        CredentialsCommand::Revoke { store, id } => {
            let revoked = credential_service(&store)
                .await?
                .revoke(&id)
                .await
                .map_err(|e| e.to_string())?;
            say(format_args!("revoked {}", revoked.id))
        }
    }
}
