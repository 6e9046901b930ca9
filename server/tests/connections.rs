//! `login-sessions serve` under connection pressure, as an attacker would
//! apply it: thousands of idle sockets, half-sent request heads and
//! request bodies that never end, against a process whose open-file limit
//! is lowered to 1,024 (a child with its own limit, set by `sh -c 'ulimit
//! -n ...'`); the deadline for a connection's first request; the
//! keep-alive deadline; and a `--max-connections` that cannot fit.
//!
//! Bounds here are generous (10 s for a request that takes milliseconds):
//! they tell a starved server from a working one, and measure nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod support;
use support::{Stderr, admin_credential, bin, clear_environment};

/// How long a request may take before the server counts as starved.
const PROMPTLY: Duration = Duration::from_secs(10);

/// How long a deadline of a second may take to close a connection.
const DEADLINE_BOUND: Duration = Duration::from_secs(20);

/// The open-file limit the flooded server runs with.
const SERVER_OPEN_FILES: u64 = 1024;

/// The sockets the attacker holds open.
const ATTACKER_SOCKETS: usize = 1500;

/// How many of them send a complete request head and a body that never
/// ends: more than the server keeps connections by default (880 under a
/// limit of 1,024), so that a server that waited for them would be full.
const SLOW_BODIES: usize = 1000;

fn database(dir: &std::path::Path) -> String {
    format!("sqlite:{}", dir.join("connections.db").display())
}

/// A new admin credential's native token.
fn admin_token(db: &str) -> String {
    admin_credential(db)["native"]["token"]
        .as_str()
        .unwrap()
        .to_string()
}

/// `serve` on a free port, optionally with a lower open-file limit; its
/// stderr line by line. Killed when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
    stderr: Stderr,
}

impl Server {
    fn start(db: &str, args: &[&str], open_files: Option<u64>) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let mut command = match open_files {
            // `ulimit -n` lowers this shell's limit, which `exec` passes on.
            Some(limit) => {
                let mut command = Command::new("sh");
                command
                    .args(["-c", "ulimit -n \"$0\" && exec \"$@\""])
                    .arg(limit.to_string())
                    .arg(bin());
                command
            }
            None => Command::new(bin()),
        };
        command
            .args(["serve", "--bind", &addr.to_string(), "--database", db])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        clear_environment(&mut command);
        let mut child = command.spawn().unwrap();
        let stderr = Stderr::of(&mut child);
        let mut server = Server {
            child,
            addr,
            stderr,
        };
        server.wait_for("listening on");
        server
    }

    /// Waits for a stderr line not read before containing `text`;
    /// returns it.
    fn wait_for(&mut self, text: &str) -> String {
        self.stderr.wait_for(text, Duration::from_secs(30))
    }

    /// A connection with reads and writes bounded by [`PROMPTLY`].
    fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect_timeout(&self.addr, PROMPTLY).unwrap();
        stream.set_read_timeout(Some(PROMPTLY)).unwrap();
        stream.set_write_timeout(Some(PROMPTLY)).unwrap();
        stream
    }

    /// One request on a new connection, answered within [`PROMPTLY`]: the
    /// status and the JSON body.
    fn request(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
        let started = Instant::now();
        let mut stream = self.connect();
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.addr,
            body.len()
        )
        .unwrap();
        let mut response = String::new();
        if let Err(error) = stream.read_to_string(&mut response) {
            panic!(
                "{method} {path}: no answer after {:?} ({error})",
                started.elapsed()
            );
        }
        assert!(
            started.elapsed() < PROMPTLY,
            "{method} {path} took {:?}",
            started.elapsed()
        );
        let status = response[9..12].parse().unwrap();
        let (_, body) = response.split_once("\r\n\r\n").unwrap();
        (status, serde_json::from_str(body).unwrap_or(Value::Null))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Lets this test process hold the attacker's sockets (the machine's soft
/// limit may be lower than they need).
fn allow_this_process(open_files: u64) {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current.is_some_and(|current| current < open_files) {
        let raised = rustix::process::Rlimit {
            current: limit.maximum.map(|maximum| maximum.min(open_files)),
            maximum: limit.maximum,
        };
        setrlimit(Resource::Nofile, raised).unwrap();
    }
}

/// Whether the server closed the connection (end of file, or a reset)
/// before the read timed out.
fn closed_by_the_server(stream: &mut TcpStream) -> bool {
    let mut byte = [0u8; 1];
    loop {
        match stream.read(&mut byte) {
            Ok(0) => return true,
            // Whatever the server sent before closing (nothing, here).
            Ok(_) => continue,
            Err(error) if error.kind() == ErrorKind::ConnectionReset => return true,
            Err(error)
                if error.kind() == ErrorKind::WouldBlock || error.kind() == ErrorKind::TimedOut =>
            {
                return false;
            }
            Err(error) => panic!("reading: {error}"),
        }
    }
}

#[test]
fn idle_and_slow_sockets_do_not_starve_the_service() {
    allow_this_process(ATTACKER_SOCKETS as u64 + 512);
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let token = admin_token(&db);
    let mut server = Server::start(&db, &[], Some(SERVER_OPEN_FILES));
    let (status, session) = server.request(
        "POST",
        "/native/v1/sessions",
        &token,
        Some(json!({ "identity_store_id": "acme", "user_id": "42" })),
    );
    assert_eq!(status, 201, "{session}");
    let id = session["id"].as_str().unwrap().to_string();

    // The attack: more sockets than the server has files, held open. The
    // first send a request head and the start of a body that never ends;
    // of the rest, half send nothing and half send half a request head and
    // stop. Writes to sockets the server has already closed fail, which
    // the attacker ignores. A server that stops accepting fills its listen
    // backlog, and then connecting times out: the attacker stops there.
    let slow_body = "POST /native/v1/sessions HTTP/1.1\r\nHost: attacker\r\n\
                     Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{";
    let mut sockets = Vec::with_capacity(ATTACKER_SOCKETS);
    for index in 0..ATTACKER_SOCKETS {
        let Ok(mut socket) = TcpStream::connect_timeout(&server.addr, PROMPTLY) else {
            break;
        };
        if index < SLOW_BODIES {
            let _ = socket.write_all(slow_body.as_bytes());
        } else if index % 2 == 0 {
            let _ = socket.write_all(b"GET /healthz HTTP/1.1\r\nHost: attacker\r\n");
        }
        sockets.push(socket);
    }

    // The service still answers, unauthenticated and authenticated.
    let (status, _) = server.request("GET", "/healthz", "", None);
    assert_eq!(status, 200);
    let (status, found) = server.request("GET", &format!("/native/v1/sessions/{id}"), &token, None);
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["id"], id.as_str());
    // It kept accepting, made room by closing the attacker's sockets, and
    // said so.
    assert_eq!(sockets.len(), ATTACKER_SOCKETS);
    server.wait_for("connection limit reached");
    assert!(server.child.try_wait().unwrap().is_none(), "serve exited");
    drop(sockets);
}

#[test]
fn a_connection_without_a_complete_request_is_closed_at_the_first_request_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let server = Server::start(&db, &["--first-request-timeout-seconds", "1"], None);
    let mut idle = server.connect();
    let mut slow = server.connect();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: slow\r\n")
        .unwrap();
    for stream in [&mut idle, &mut slow] {
        stream.set_read_timeout(Some(DEADLINE_BOUND)).unwrap();
        assert!(closed_by_the_server(stream), "still open");
    }
    // A client that sends its request in time is answered.
    let (status, _) = server.request("GET", "/healthz", "", None);
    assert_eq!(status, 200);
}

#[test]
fn an_idle_keep_alive_connection_is_closed_at_the_keep_alive_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let server = Server::start(&db, &["--keep-alive-timeout-seconds", "1"], None);
    let mut stream = server.connect();
    // Two requests on one connection: it is kept alive between them.
    for _ in 0..2 {
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: client\r\n\r\n")
            .unwrap();
        let mut reader = BufReader::new(&stream);
        let mut status_line = String::new();
        reader.read_line(&mut status_line).unwrap();
        assert!(status_line.starts_with("HTTP/1.1 200"), "{status_line}");
        let mut content_length = 0;
        loop {
            let mut header = String::new();
            reader.read_line(&mut header).unwrap();
            if header == "\r\n" {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                content_length = value.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; content_length];
        reader.read_exact(&mut body).unwrap();
    }
    stream.set_read_timeout(Some(DEADLINE_BOUND)).unwrap();
    assert!(closed_by_the_server(&mut stream), "still open");
}

#[test]
fn max_connections_that_do_not_fit_under_the_file_limit_stop_serve() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new("sh")
        .args(["-c", "ulimit -n 512 && exec \"$@\"", "sh", bin()])
        .args(["serve", "--bind", "127.0.0.1:0", "--database"])
        .arg(database(dir.path()))
        .args(["--max-connections", "1000"])
        .env_remove("LOGIN_SESSIONS_GEOIP_DB")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--max-connections 1000 does not fit under the open-file limit of 512"),
        "{stderr}"
    );
    assert!(stderr.contains("ulimit -n"), "{stderr}");
}
