//! Sockets an attacker holds open without finishing a request: the load
//! beside which the harness measures a server's light-load latency.
//!
//! [`IdleSockets::hold`] keeps a number of connections to the server open
//! for as long as it lives: a third send nothing, a third send half a
//! request head, a third send a complete head announcing a body that never
//! comes. The server closes them (deadlines, and room made for real
//! clients when its connection bound is reached); a background task
//! reopens every closed one every [`REOPEN_EVERY`], as an attacker that
//! wants to keep the server full would. `server/tests/connections.rs`
//! asserts that the server stays reachable under such an attack; the
//! benchmark reports what it costs the requests of real clients.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

/// How often closed sockets are noticed and reopened.
const REOPEN_EVERY: Duration = Duration::from_millis(100);

/// How long one connect may take before the slot is tried again later.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// What an attacking socket sends once connected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Behaviour {
    /// Nothing at all.
    Silent,
    /// The start of a request head, never finished.
    HalfHead,
    /// A complete head announcing a body, then nothing.
    StalledBody,
}

impl Behaviour {
    fn for_slot(slot: usize) -> Behaviour {
        match slot % 3 {
            0 => Behaviour::Silent,
            1 => Behaviour::HalfHead,
            _ => Behaviour::StalledBody,
        }
    }

    fn opening(self) -> &'static [u8] {
        match self {
            Behaviour::Silent => b"",
            Behaviour::HalfHead => b"GET /healthz HTTP/1.1\r\nHost: attacker\r\n",
            Behaviour::StalledBody => {
                b"POST /native/v1/sessions HTTP/1.1\r\nHost: attacker\r\n\
                  Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
            }
        }
    }
}

/// Sockets held open against a server until dropped.
pub struct IdleSockets {
    stop: Arc<AtomicBool>,
    reopened: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl IdleSockets {
    /// Opens `count` sockets to `addr` and keeps them open.
    pub fn hold(addr: SocketAddr, count: usize) -> IdleSockets {
        let stop = Arc::new(AtomicBool::new(false));
        let reopened = Arc::new(AtomicU64::new(0));
        let task = tokio::spawn(keep_open(addr, count, stop.clone(), reopened.clone()));
        IdleSockets {
            stop,
            reopened,
            task,
        }
    }

    /// How many times a socket the server closed was opened again.
    pub fn reopened(&self) -> u64 {
        self.reopened.load(Ordering::Relaxed)
    }
}

impl Drop for IdleSockets {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.task.abort();
    }
}

async fn keep_open(
    addr: SocketAddr,
    count: usize,
    stop: Arc<AtomicBool>,
    reopened: Arc<AtomicU64>,
) {
    let mut slots: Vec<Option<TcpStream>> = (0..count).map(|_| None).collect();
    let mut first_round = true;
    while !stop.load(Ordering::Relaxed) {
        for (index, slot) in slots.iter_mut().enumerate() {
            if slot.as_ref().is_some_and(is_open) {
                continue;
            }
            if !first_round && slot.is_some() {
                reopened.fetch_add(1, Ordering::Relaxed);
            }
            *slot = open(addr, Behaviour::for_slot(index)).await;
        }
        first_round = false;
        tokio::time::sleep(REOPEN_EVERY).await;
    }
}

/// Whether the server has not closed `stream` (a read would block).
fn is_open(stream: &TcpStream) -> bool {
    let mut byte = [0u8; 1];
    match stream.try_read(&mut byte) {
        Err(error) => error.kind() == std::io::ErrorKind::WouldBlock,
        // End of stream: closed. Bytes: the server answered (a timeout's
        // 408, say) and will close.
        Ok(_) => false,
    }
}

async fn open(addr: SocketAddr, behaviour: Behaviour) -> Option<TcpStream> {
    let mut stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
        .await
        .ok()?
        .ok()?;
    let opening = behaviour.opening();
    if !opening.is_empty() {
        stream.write_all(opening).await.ok()?;
    }
    Some(stream)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_slots_share_the_three_behaviours() {
        let behaviours: Vec<Behaviour> = (0..6).map(Behaviour::for_slot).collect();
        assert_eq!(
            behaviours,
            [
                Behaviour::Silent,
                Behaviour::HalfHead,
                Behaviour::StalledBody,
                Behaviour::Silent,
                Behaviour::HalfHead,
                Behaviour::StalledBody
            ]
        );
        // A half head never ends its head; a stalled body ends it and
        // promises more than it sends.
        assert!(!Behaviour::HalfHead.opening().ends_with(b"\r\n\r\n"));
        let stalled = std::str::from_utf8(Behaviour::StalledBody.opening()).unwrap();
        let (_, body) = stalled.split_once("\r\n\r\n").unwrap();
        assert!(body.len() < 1000);
    }

    #[tokio::test]
    async fn closed_sockets_are_reopened() {
        // A server that accepts and closes every connection at once.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                drop(stream);
            }
        });
        let held = IdleSockets::hold(addr, 3);
        let mut waited = Duration::ZERO;
        while held.reopened() < 3 && waited < Duration::from_secs(10) {
            tokio::time::sleep(REOPEN_EVERY).await;
            waited += REOPEN_EVERY;
        }
        assert!(held.reopened() >= 3, "reopened {}", held.reopened());
    }
}
