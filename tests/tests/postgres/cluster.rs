//! The throwaway cluster leaves nothing behind: not when the test process
//! ends normally (the runner stops it), not when it exits without running
//! any destructor, not when it is killed.
//!
//! Each check runs this very binary again as a *probe*
//! (`LOGIN_SESSIONS_TEST_CLUSTER_PROBE=exit|kill|normal`): the probe starts
//! its own cluster, prints where it is, and then ends the way the check
//! asks; the check then waits for the cluster's processes and directory to
//! be gone.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use login_sessions_tests::postgres::{self, Availability, DATABASE_URL_VARIABLE};
use login_sessions_tests::runner::Test;

const PROBE_VARIABLE: &str = "LOGIN_SESSIONS_TEST_CLUSTER_PROBE";

/// In a probe process: starts a cluster, reports it on stdout, and ends as
/// asked. `None` in a normal test process.
pub fn probe_mode() -> Option<ExitCode> {
    let mode = std::env::var(PROBE_VARIABLE).ok()?;
    let Availability::Ready(server) = postgres::availability() else {
        println!("unavailable");
        return Some(ExitCode::FAILURE);
    };
    let (Some(pid), Some(dir)) = (server.watchdog_pid, &server.cluster_dir) else {
        println!("not a throwaway cluster");
        return Some(ExitCode::FAILURE);
    };
    println!(
        "watchdog={pid} dir={} url={}",
        dir.display(),
        server.admin_url
    );
    match mode.as_str() {
        // No destructor, no runner: what a panic=abort or an early
        // process::exit would do.
        "exit" => std::process::exit(0),
        // Wait to be killed.
        "kill" => loop {
            std::thread::sleep(Duration::from_secs(1));
        },
        // What the runner does at the end of a run.
        _ => {
            postgres::shutdown();
            println!("stopped");
            Some(ExitCode::SUCCESS)
        }
    }
}

pub fn trials() -> Vec<Test> {
    let mut trials: Vec<Test> = ["normal", "exit", "kill"]
        .into_iter()
        .map(|mode| {
            Test::postgres(
                format!("cluster::nothing_is_left_after_a_{mode}_end"),
                move || async move { nothing_is_left(mode).await },
            )
        })
        .collect();
    // Needs no PostgreSQL: it checks what happens without one.
    trials.push(Test::new(
        "cluster::without_postgresql_its_trials_are_ignored_never_passed",
        without_postgresql_its_trials_are_ignored_never_passed,
    ));
    trials
}

/// Runs this binary where no PostgreSQL can be found: its PostgreSQL
/// trials must be reported ignored, under the banner, and none passed.
async fn without_postgresql_its_trials_are_ignored_never_passed() {
    let output = tokio::task::spawn_blocking(|| {
        Command::new(std::env::current_exe().unwrap())
            .args(["store::", "--test-threads", "1"])
            .env_remove(DATABASE_URL_VARIABLE)
            .env_remove(PROBE_VARIABLE)
            .env_remove(postgres::REQUIRE_VARIABLE)
            .env("PATH", "")
            .env(postgres::LIB_DIR_VARIABLE, "/nonexistent/postgresql")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let store_trials = super::store::trials().len();
    assert!(
        stdout.contains(&format!("0 passed; 0 failed; {store_trials} ignored")),
        "{stdout}"
    );
    assert!(!stdout.contains("... ok"), "{stdout}");
    assert_eq!(
        stderr.matches("PostgreSQL tests are NOT running").count(),
        2,
        "a banner before and after the run: {stderr}"
    );
    assert!(stderr.contains("apt-get install postgresql"), "{stderr}");
    assert!(stderr.contains(DATABASE_URL_VARIABLE), "{stderr}");
}

/// Whether any process's command line mentions `needle`.
fn processes_mentioning(needle: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().parse::<u32>().is_ok())
        .filter_map(|entry| {
            let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            cmdline
                .contains(needle)
                .then(|| format!("{}: {cmdline}", entry.file_name().to_string_lossy()))
        })
        .collect()
}

async fn nothing_is_left(mode: &'static str) {
    if std::env::var_os(DATABASE_URL_VARIABLE).is_some() {
        // The environment's server is not ours to stop; there is no
        // throwaway cluster to check. Say so rather than pass silently.
        panic!(
            "{DATABASE_URL_VARIABLE} is set: this check needs the throwaway cluster; \
             run it without the variable"
        );
    }
    let probe = tokio::task::spawn_blocking(move || {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .env(PROBE_VARIABLE, mode)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        if mode == "kill" {
            child.kill().unwrap();
        } else {
            // Read to the end: a closed pipe would fail the probe's output.
            let mut rest = String::new();
            let _ = std::io::Read::read_to_string(&mut stdout, &mut rest);
        }
        let status = child.wait().unwrap();
        (line, status)
    })
    .await
    .unwrap();
    let (line, status) = probe;
    let fields: Vec<&str> = line.split_whitespace().collect();
    let field = |name: &str| {
        fields
            .iter()
            .find_map(|field| field.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("the probe said {line:?} ({status})"))
            .to_string()
    };
    let dir = PathBuf::from(field("dir"));
    let watchdog = field("watchdog");
    let url = field("url");
    if mode != "kill" {
        assert!(status.success(), "the probe ended with {status}");
    }

    let dir_text = dir.display().to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let processes = processes_mentioning(&dir_text);
        let watchdog_alive = std::path::Path::new(&format!("/proc/{watchdog}")).exists()
            && std::fs::read_to_string(format!("/proc/{watchdog}/cmdline"))
                .is_ok_and(|cmdline| cmdline.contains("login-sessions-pg-watchdog"));
        let answers = postgres::connect(&url).await.is_ok();
        if processes.is_empty() && !watchdog_alive && !dir.exists() && !answers {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "30 s after the probe ended ({mode}), the cluster is still there: \
             processes {processes:?}, watchdog alive {watchdog_alive}, directory {} exists {}, \
             answers {answers}",
            dir.display(),
            dir.exists()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
