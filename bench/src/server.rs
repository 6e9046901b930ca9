//! The processes the benchmark runs: the release `login-sessions` binary
//! to issue a credential, seed, and serve on 127.0.0.1; the server's peak
//! resident set from `/proc`; the database's size on disk.

use std::fs::File;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::fixture::Credentials;
use crate::load;
use crate::operations::Request;
use crate::report::{DatabaseSize, SeedFigures};

/// How long a server may take to answer `/healthz` after it starts.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Cargo's target directory: `CARGO_TARGET_DIR` or `<root>/target`.
pub fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                std::env::current_dir().map_or(dir.clone(), |cwd| cwd.join(dir))
            }
        }
        None => root.join("target"),
    }
}

/// Builds the release server and returns the binary's path.
pub fn build_release(root: &Path) -> anyhow::Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!("building the release server (cargo build --release --bin login-sessions)");
    let status = Command::new(cargo)
        .current_dir(root)
        .args(["build", "--release", "--locked", "--bin", "login-sessions"])
        .status()
        .context("running cargo build")?;
    if !status.success() {
        bail!("cargo build --release failed ({status})");
    }
    let binary = target_dir(root).join("release").join("login-sessions");
    if !binary.is_file() {
        bail!("the release binary is not at {}", binary.display());
    }
    Ok(binary)
}

/// Where the data is: a `--database` value and an optional key file.
#[derive(Clone, Debug)]
pub struct Database {
    pub url: String,
    pub key_file: Option<PathBuf>,
    /// The SQLite file, to measure its size.
    pub sqlite_file: Option<PathBuf>,
}

impl Database {
    fn args(&self) -> Vec<String> {
        let mut args = vec!["--database".to_string(), self.url.clone()];
        if let Some(key) = &self.key_file {
            args.push("--key-file".into());
            args.push(key.display().to_string());
        }
        args
    }

    /// The SQLite file's and its WAL's size, per session; `None` for
    /// other stores.
    pub fn size(&self, sessions: u64) -> Option<DatabaseSize> {
        let file = self.sqlite_file.as_ref()?;
        let file_bytes = std::fs::metadata(file).ok()?.len();
        let mut wal = file.as_os_str().to_owned();
        wal.push("-wal");
        let wal_bytes = std::fs::metadata(PathBuf::from(wal)).map_or(0, |m| m.len());
        Some(DatabaseSize {
            file_bytes,
            wal_bytes,
            bytes_per_session: (file_bytes + wal_bytes) as f64 / sessions.max(1) as f64,
        })
    }
}

/// The `login-sessions` binary.
#[derive(Clone, Debug)]
pub struct Binary {
    pub path: PathBuf,
}

impl Binary {
    /// Runs a subcommand to completion and returns its stdout. Its stderr
    /// goes to the terminal when `show_stderr` (seeding's progress bar);
    /// otherwise it is kept for the error message.
    fn output(&self, args: &[String], show_stderr: bool) -> anyhow::Result<String> {
        let output = Command::new(&self.path)
            .args(args)
            .stdin(Stdio::null())
            .stderr(if show_stderr {
                Stdio::inherit()
            } else {
                Stdio::piped()
            })
            .output()
            .with_context(|| format!("running {}", self.path.display()))?;
        if !output.status.success() {
            bail!(
                "`login-sessions {}` failed ({}){}",
                args.first().map_or("", String::as_str),
                output.status,
                String::from_utf8_lossy(&output.stderr)
                    .lines()
                    .last()
                    .map_or(String::new(), |line| format!(": {line}"))
            );
        }
        String::from_utf8(output.stdout).context("the output is not UTF-8")
    }

    /// Writes a new server key to `path`.
    pub fn generate_key(&self, path: &Path) -> anyhow::Result<()> {
        let key = self.output(&["key".into(), "generate".into()], false)?;
        std::fs::write(path, key.trim())
            .with_context(|| format!("writing the server key {}", path.display()))
    }

    /// Creates the database (every other command refuses to create one
    /// beside an existing key file).
    pub fn init(&self, database: &Database) -> anyhow::Result<()> {
        let mut args = vec!["init".to_string()];
        args.extend(database.args());
        self.output(&args, false).map(drop)
    }

    /// Issues an admin credential and returns its secrets.
    pub fn admin_credential(&self, database: &Database) -> anyhow::Result<Credentials> {
        let mut args = vec![
            "credentials".to_string(),
            "create".into(),
            "--role".into(),
            "admin".into(),
            "--name".into(),
            "benchmark".into(),
            "--json".into(),
        ];
        args.extend(database.args());
        let output = self.output(&args, false)?;
        serde_json::from_str(&output).context("reading the credential `credentials create` printed")
    }

    /// Seeds `sessions` more sessions and writes a sample of them to
    /// `sample`. The rate and CPU time are what the seed command measured
    /// itself and printed as JSON.
    pub fn seed(
        &self,
        database: &Database,
        sessions: u64,
        users: u64,
        sample: &Path,
        sample_size: usize,
    ) -> anyhow::Result<SeedFigures> {
        let mut args = vec![
            "seed".to_string(),
            "--sessions".into(),
            sessions.to_string(),
            "--users".into(),
            users.to_string(),
            "--sample".into(),
            sample.display().to_string(),
            "--sample-size".into(),
            sample_size.to_string(),
            "--json".into(),
        ];
        args.extend(database.args());
        let output = self.output(&args, true)?;
        let value: serde_json::Value =
            serde_json::from_str(&output).context("reading what `seed --json` printed")?;
        Ok(SeedFigures {
            inserted: value["inserted"].as_u64().unwrap_or(0),
            seconds: value["seconds"].as_f64().unwrap_or(0.0),
            sessions_per_second: value["sessions_per_second"].as_f64().unwrap_or(0.0),
            cpu_seconds: value["cpu_seconds"].as_f64(),
        })
    }

    /// Starts the server on a free port of 127.0.0.1 with the benchmark
    /// endpoints on, its output going to `log`, and waits until it answers.
    pub async fn serve(
        &self,
        database: &Database,
        log_level: &str,
        log: &Path,
    ) -> anyhow::Result<Server> {
        self.serve_with(database, log_level, log, &[]).await
    }

    /// [`Binary::serve`] with more `serve` flags.
    pub async fn serve_with(
        &self,
        database: &Database,
        log_level: &str,
        log: &Path,
        flags: &[&str],
    ) -> anyhow::Result<Server> {
        let port = free_port()?;
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let mut args = vec![
            "serve".to_string(),
            "--bind".into(),
            addr.to_string(),
            "--bench-endpoints".into(),
            "--log-level".into(),
            log_level.into(),
        ];
        args.extend(database.args());
        args.extend(flags.iter().map(|flag| flag.to_string()));
        let log_file = File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let child = Command::new(&self.path)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()
            .context("starting the server")?;
        let mut server = Server {
            child,
            addr,
            log: log.to_path_buf(),
        };
        server.wait_ready().await?;
        Ok(server)
    }
}

fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// A running server; killed when dropped.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    log: PathBuf,
}

impl Server {
    async fn wait_ready(&mut self) -> anyhow::Result<()> {
        let started = Instant::now();
        let probe = Request {
            method: http::Method::GET,
            path: "/healthz".into(),
            headers: Vec::new(),
            content_type: None,
            body: bytes::Bytes::new(),
        };
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "the server exited ({status}) before answering:\n{}",
                    self.log_tail()
                );
            }
            if let Ok((200, _)) = load::once(self.addr, &probe).await {
                return Ok(());
            }
            if started.elapsed() > START_TIMEOUT {
                bail!(
                    "the server did not answer /healthz within {START_TIMEOUT:?}:\n{}",
                    self.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The last lines the server wrote.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// The server's peak resident set so far (VmHWM), in bytes.
    pub fn peak_rss(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        parse_kib_field(&status, "VmHWM:")
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops the server and waits for it.
    pub fn stop(mut self) -> anyhow::Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A `Name:   123 kB` field of a /proc status file, in bytes.
pub fn parse_kib_field(status: &str, field: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: u64 = line[field.len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_status_fields() {
        let status =
            "Name:\tlogin-sessions\nVmPeak:\t  300 kB\nVmHWM:\t   51200 kB\nVmRSS:\t 40000 kB\n";
        assert_eq!(parse_kib_field(status, "VmHWM:"), Some(51_200 * 1024));
        assert_eq!(parse_kib_field(status, "VmSwap:"), None);
    }
}
