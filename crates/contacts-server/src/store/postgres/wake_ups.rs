//! Wake-ups between the instances that share a database: `NOTIFY` after an
//! instance's saves commit, `LISTEN` for the others', on one connection of
//! its own outside the pool. Payload-free and coalesced (the saves that
//! commit while a `NOTIFY` is on its way are told by one more); a lost one
//! costs only the relays' poll, which stays the backstop.

use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio_postgres::{AsyncMessage, Config};

use super::tls::Tls;

/// The channel of the notifications.
const CHANNEL: &str = "contacts_outbox";

/// How long to wait before connecting again after the connection failed.
const RECONNECT: Duration = Duration::from_secs(2);

/// Carries wake-ups until `stop`: see [`crate::store::Store::exchange_wake_ups`].
pub(super) async fn exchange(
    config: &Config,
    tls: &Tls,
    mut saved: watch::Receiver<()>,
    heard: &watch::Sender<()>,
    mut stop: watch::Receiver<bool>,
) {
    while !*stop.borrow() {
        if let Err(error) = session(config, tls, &mut saved, heard, &mut stop).await {
            tracing::warn!(%error, "no wake-ups between instances for now; the relays poll");
        }
        tokio::select! {
            () = tokio::time::sleep(RECONNECT) => {}
            _ = stop.changed() => {}
        }
    }
}

/// One connection's exchange: returns when stopped, or with the error that
/// ended it.
async fn session(
    config: &Config,
    tls: &Tls,
    saved: &mut watch::Receiver<()>,
    heard: &watch::Sender<()>,
    stop: &mut watch::Receiver<bool>,
) -> Result<(), String> {
    let (client, mut connection) = config
        .connect(tls.connector()?)
        .await
        .map_err(|e| format!("cannot connect: {e}"))?;
    // The connection's messages: the notifications go to `notified` by the
    // process id of the session that sent them.
    let (notify, mut notified) = mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        loop {
            match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                Some(Ok(AsyncMessage::Notification(note))) => {
                    let _ = notify.send(note.process_id());
                }
                Some(Ok(_)) => {}
                Some(Err(error)) => return format!("the connection failed: {error}"),
                None => return "the connection closed".to_owned(),
            }
        }
    });
    let result = async {
        let own: i32 = client
            .query_one("SELECT pg_backend_pid()", &[])
            .await
            .map_err(|e| e.to_string())?
            .get(0);
        client
            .batch_execute(&format!("LISTEN {CHANNEL}"))
            .await
            .map_err(|e| e.to_string())?;
        loop {
            tokio::select! {
                Ok(()) = saved.changed() => {
                    client
                        .batch_execute(&format!("NOTIFY {CHANNEL}"))
                        .await
                        .map_err(|e| e.to_string())?;
                }
                sender = notified.recv() => match sender {
                    // This instance's own saves woke its relays already.
                    Some(sender) if sender == own => {}
                    Some(_) => {
                        heard.send_replace(());
                    }
                    None => return Err("the connection closed".to_owned()),
                },
                _ = stop.changed() => return Ok(()),
            }
        }
    }
    .await;
    drop(client);
    match driver.await {
        Ok(error) if result.is_err() => Err(error),
        _ => result,
    }
}
