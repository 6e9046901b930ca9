//! The benchmark harness end to end, at a toy size, with the debug server:
//! every step a real run takes (init, credential, seeding twice, the
//! passes, writes, the idle-socket attack, the revocation window, the
//! access log's cost) runs, and the report holds a figure for each. What
//! is measured here means nothing; that the harness still works does.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

/// The debug `login-sessions` binary `cargo test --workspace` built beside
/// this test.
fn server_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/debug/deps/harness-<hash> -> target/debug/login-sessions
    let binary = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|debug| debug.join("login-sessions"))
        .unwrap();
    assert!(
        binary.is_file(),
        "no server binary at {} (build it with `cargo build -p login-sessions-server`)",
        binary.display()
    );
    binary
}

#[test]
fn a_toy_run_reports_every_measurement() {
    let target = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_login-sessions-bench"))
        .args(["bench", "--server-binary"])
        .arg(server_binary())
        .args([
            "--sessions",
            "400",
            "--small-sessions",
            "100",
            "--connections",
            "2",
            "--light-connections",
            "1",
            "--client-threads",
            "1",
            "--duration",
            "0.3",
            "--warmup",
            "0.1",
            "--rounds",
            "2",
            "--revocation-rounds",
            "3",
            "--access-log-rounds",
            "1",
            "--idle-sockets",
            "30",
        ])
        .env("CARGO_TARGET_DIR", target.path())
        .env_remove("LOGIN_SESSIONS_BENCH_DATABASE_URL")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");

    let reports: Vec<PathBuf> = std::fs::read_dir(target.path().join("bench"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    assert_eq!(reports.len(), 1, "{reports:?}");
    let report: Value = serde_json::from_slice(&std::fs::read(&reports[0]).unwrap()).unwrap();
    let store = &report["stores"][0];
    assert_eq!(store["store"], "sqlite");
    assert!(store["error"].is_null(), "{}", store["error"]);
    let phases = store["phases"].as_array().unwrap();
    assert_eq!(
        phases
            .iter()
            .map(|p| p["sessions"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [100, 400]
    );
    let full = &phases[1];
    let names: Vec<&str> = full["operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|op| {
            assert!(!op["stats"].is_null(), "{op}");
            assert_eq!(op["stats"]["errors"], 0, "{op}");
            op["name"].as_str().unwrap()
        })
        .collect();
    for expected in [
        "baseline (constant body)",
        "looker user_session",
        "huawei ListSessions",
        "native session_create",
        "native session_revoke",
        "native session_view [1 conn]",
        "baseline (constant body) [1 conn, 30 idle sockets]",
        "native session_view [1 conn, 30 idle sockets]",
    ] {
        assert!(names.contains(&expected), "{expected} not in {names:?}");
    }
    // A lookup alternates with the baseline; its ratio is its rounds'
    // median. A write, and the comparison under idle sockets, are
    // measured in one piece.
    for op in full["operations"].as_array().unwrap() {
        let rounds = op["round_ratios"].as_array().unwrap();
        let in_pieces = !op["name"].as_str().unwrap().contains("idle sockets");
        match op["kind"].as_str().unwrap() {
            "lookup" if in_pieces => {
                assert_eq!(rounds.len(), 2, "{op}");
                assert!(rounds.iter().all(|r| r.as_f64().unwrap() > 0.0), "{op}");
                for ratio in ["throughput", "p50", "p99"] {
                    assert!(op["vs_baseline"][ratio].as_f64().unwrap() > 0.0, "{op}");
                }
            }
            _ => assert!(rounds.is_empty(), "{op}"),
        }
    }
    let window = &full["revocation_window"];
    assert_eq!(window["rounds"], 3, "{window}");
    assert_eq!(window["never_refused"], 0, "{window}");
    assert!(window["max_ms"].as_f64().unwrap() >= 0.0, "{window}");
    let cost = &full["access_log_cost"];
    assert_eq!(cost["log_level"], "info", "{cost}");
    assert!(cost["baseline_rps"].as_f64().unwrap() > 0.0, "{cost}");
    assert!(
        cost["baseline_rps_at_warn"].as_f64().unwrap() > 0.0,
        "{cost}"
    );
    assert!(phases[0]["revocation_window"].is_null());
}
