//! Gmail push notifications: `users.watch` tells Gmail to publish an account's mailbox
//! changes to a Pub/Sub topic, for at most 7 days. `trmctl serve` renews each watch a day
//! before it lapses, for every `google-pubsub` integration with a `topic`; the notifications
//! then arrive at that integration and trigger an immediate poll of the account's `gmail`
//! integrations (the poll, not the notification, is the source of truth).

use anyhow::{Context as _, Result};
use chrono::Utc;
use serde_json::json;

use super::Poller;
use super::http::{Cost, WATCH_UNITS};
use crate::config::Kind;

/// Renew a watch when it has less than this left.
const RENEW_BEFORE: chrono::Duration = chrono::Duration::days(1);
/// Where Gmail's API lives unless the account's gmail integration says otherwise.
const GMAIL: &str = "https://gmail.googleapis.com";

/// Renews every watch that lapses within a day. Returns the integrations renewed; one that
/// fails does not keep the others from being renewed, and the error names every one that did.
pub async fn renew_due(poller: &Poller) -> Result<Vec<String>> {
    let config = poller.config();
    let (mut renewed, mut failed) = (Vec::new(), Vec::new());
    let mut store = None;
    for (name, cfg) in &config.integrations {
        let (Kind::GooglePubsub, Some(topic), Some(account)) = (cfg.kind, &cfg.topic, &cfg.account)
        else {
            continue;
        };
        let store = match store.as_mut() {
            Some(store) => store,
            None => store.insert(crate::paths::open_store(config)?),
        };
        match renew_if_due(poller, store, name, topic, account).await {
            Ok(true) => renewed.push(name.clone()),
            Ok(false) => {}
            Err(e) => failed.push(format!("{e:#}")),
        }
    }
    if failed.is_empty() {
        Ok(renewed)
    } else {
        Err(anyhow::anyhow!(failed.join("; ")))
    }
}

/// Renews one integration's watch if it lapses within a day; whether it did.
async fn renew_if_due(
    poller: &Poller,
    store: &mut crate::store::Store,
    name: &str,
    topic: &str,
    account: &str,
) -> Result<bool> {
    let config = poller.config();
    let key = format!("watch:{name}");
    let expires = store.cursor(&key)?.and_then(|c| {
        c.get("expiration")
            .and_then(|e| e.as_str().and_then(|e| e.parse::<i64>().ok()))
    });
    if expires.is_some_and(|ms| !lapses_soon(ms, Utc::now().timestamp_millis())) {
        return Ok(false);
    }
    let base = config
        .integrations
        .values()
        .find(|i| i.kind == Kind::Gmail && i.account.as_deref() == Some(account))
        .and_then(|i| i.base_url.clone())
        .unwrap_or_else(|| GMAIL.to_string());
    let http = poller.http(poller.google(account));
    let reply = http
        .post(
            &format!("{base}/gmail/v1/users/me/watch"),
            &json!({ "topicName": topic }),
            Cost::GmailUnits(WATCH_UNITS),
        )
        .await
        .with_context(|| format!("renewing the Gmail watch of {name}"))?;
    let body = reply.json.unwrap_or_default();
    store.commit_page(&key, Vec::new(), &body, &Default::default())?;
    tracing::info!(integration = %name, expiration = %body["expiration"], "Gmail watch renewed");
    Ok(true)
}

/// Whether a watch expiring at `expires_ms` lapses within [`RENEW_BEFORE`] of `now_ms`. The
/// expiration is Gmail's number, whatever it is: an extreme one must not overflow.
fn lapses_soon(expires_ms: i64, now_ms: i64) -> bool {
    expires_ms.saturating_sub(now_ms) <= RENEW_BEFORE.num_milliseconds()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_watch_is_renewed_within_a_day_of_lapsing_whatever_its_expiration() {
        let now = 1_764_000_000_000;
        let day = RENEW_BEFORE.num_milliseconds();
        assert!(!lapses_soon(now + day + 1, now));
        assert!(lapses_soon(now + day, now));
        assert!(lapses_soon(now - 1, now), "lapsed already");
        assert!(
            lapses_soon(i64::MIN, now),
            "no overflow into the far future"
        );
        assert!(!lapses_soon(i64::MAX, now));
    }
}
