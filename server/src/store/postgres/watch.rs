//! Hearing of what other replicas commit: `LISTEN`/`NOTIFY`.
//!
//! Every revoking statement notifies [`REVOCATIONS`] from its own
//! transaction, and every write to a session notifies [`SESSIONS`] (a
//! trigger: see the migration `0005_session_notifications`), so a
//! notification leaves exactly when its write is committed, and every
//! replica listening hears of it. A task of each replica listens on a
//! connection of its own and tells the caches (through [`Coherence`]) to
//! forget what they hold: every credential on a revocation, the session
//! and user named on a session write.
//!
//! The task also checks that it hears in time: every [`HEARTBEAT_INTERVAL`] it
//! notifies itself on a channel of its own, and a heartbeat not heard by
//! the next one makes the caches stop trusting themselves until it is.
//! A lost connection does the same until the task has connected and is
//! listening again (retrying with a growing pause). The task ends once
//! nothing holds the [`Coherence`] any longer.

use std::sync::{Arc, Weak};
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, Config, NoTls};

use crate::pfid::Pfid;
use crate::store::coherence::Coherence;

/// The channel revoking statements notify.
pub const REVOCATIONS: &str = "login_sessions_revocations";

/// The channel every write to a session notifies, naming it: its id, or
/// its id and user id separated by a line feed.
pub const SESSIONS: &str = "login_sessions_sessions";

/// What a bulk load notifies [`SESSIONS`] with: every session may have
/// changed.
pub const EVERY_SESSION: &str = "*";

/// How often the task checks that it hears in time: a heartbeat not heard
/// by the next one makes the caches unsure. Two intervals stay inside the
/// 50 ms the coherence rule allows.
const HEARTBEAT_INTERVAL: Duration = Duration::from_millis(20);

/// The longest pause between two attempts to listen again.
const MAX_RECONNECT_PAUSE: Duration = Duration::from_secs(2);

/// A notification, as the connection's task passes it on.
struct Heard {
    channel: String,
    payload: String,
}

/// Starts listening with `config`; returns the coherence the task feeds.
/// Outside a Tokio runtime nothing can listen: the caches stay unsure and
/// ask the database every time.
pub(super) fn start(config: Config) -> Arc<Coherence> {
    let coherence = Arc::new(Coherence::unsure());
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(watch(config, Arc::downgrade(&coherence)));
    }
    coherence
}

async fn watch(config: Config, coherence: Weak<Coherence>) {
    let mut pause = Duration::from_millis(50);
    loop {
        let listened = listen(&config, &coherence).await;
        let Some(strong) = coherence.upgrade() else {
            return;
        };
        strong.unsure_now();
        drop(strong);
        if listened {
            pause = Duration::from_millis(50);
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(MAX_RECONNECT_PAUSE);
    }
}

/// Listens until the connection fails or nothing holds the coherence;
/// whether it got as far as listening.
async fn listen(config: &Config, coherence: &Weak<Coherence>) -> bool {
    let Ok((client, mut connection)) = config.connect(NoTls).await else {
        return false;
    };
    let (notifications, mut heard) = mpsc::unbounded_channel::<Heard>();
    let driver = tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(Ok(message)) = messages.next().await {
            if let AsyncMessage::Notification(notification) = message
                && notifications
                    .send(Heard {
                        channel: notification.channel().to_string(),
                        payload: notification.payload().to_string(),
                    })
                    .is_err()
            {
                return;
            }
        }
    });
    // A channel only this task listens on, for its heartbeats.
    let heartbeat_channel = format!("login_sessions_heartbeat_{}", rand::random::<u64>());
    let listening = client
        .batch_execute(&format!(
            "LISTEN {REVOCATIONS}; LISTEN {SESSIONS}; LISTEN {heartbeat_channel}"
        ))
        .await
        .is_ok();
    if listening {
        if let Some(strong) = coherence.upgrade() {
            strong.sure();
        }
        heartbeats(&client, &heartbeat_channel, &mut heard, coherence).await;
    }
    driver.abort();
    listening
}

/// Hears notifications and sends heartbeats until the connection fails or
/// nothing holds the coherence.
async fn heartbeats(
    client: &tokio_postgres::Client,
    channel: &str,
    heard: &mut mpsc::UnboundedReceiver<Heard>,
    coherence: &Weak<Coherence>,
) {
    let mut tick = tokio::time::interval(HEARTBEAT_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut sent: u64 = 0;
    let mut answered: u64 = 0;
    loop {
        tokio::select! {
            heard = heard.recv() => {
                let Some(heard) = heard else { return };
                let Some(strong) = coherence.upgrade() else { return };
                if heard.channel == SESSIONS {
                    session_written(&strong, &heard.payload);
                } else if heard.channel != channel {
                    strong.revoked();
                } else if let Ok(beat) = heard.payload.parse::<u64>() {
                    answered = answered.max(beat);
                    if answered == sent && !strong.is_sure() {
                        strong.sure();
                    }
                }
            }
            _ = tick.tick() => {
                let Some(strong) = coherence.upgrade() else { return };
                if answered < sent && strong.is_sure() {
                    // The last heartbeat is late: so may a revocation be.
                    strong.unsure_now();
                }
                drop(strong);
                sent += 1;
                let beat = format!("SELECT pg_notify('{channel}', '{sent}')");
                if client.batch_execute(&beat).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Tells the session cache what a [`SESSIONS`] notification names.
fn session_written(coherence: &Coherence, payload: &str) {
    let (id, user_id) = match payload.split_once('\n') {
        Some((id, user_id)) => (id, Some(user_id)),
        None => (payload, None),
    };
    match id.parse::<Pfid>() {
        Ok(id) => coherence.session_changed(&id, user_id),
        // `*`, or anything this version does not understand.
        Err(_) => coherence.sessions_changed(),
    }
}
