//! A provider says a recipient unsubscribed (Twilio's 21610, a Telegram user
//! who blocked the bot): the contact is marked opted out, so routing never
//! picks it again until the client opts back in. (A `STOP` the client sends
//! is recorded with its message, in `inbound`.)

use chrono::Utc;

use crate::domain::contact::{Consent, ConsentStatus, ContactKind, ContactValue};
use crate::domain::events::Actor;
use crate::domain::message::Transport;
use crate::store::TenantStore;

/// Records the opt-out of `recipient` on `transport`, as `plugin` reported it.
/// A recipient no client has (deleted since) is left alone.
pub async fn record(store: &TenantStore, transport: Transport, recipient: &str, plugin: &str) {
    let kind = ContactKind::for_transport(transport);
    let value = ContactValue::from_stored(kind, recipient.to_owned());
    let view = match store.client_by_contact(&value).await {
        Ok(Some(view)) => view,
        Ok(None) => return,
        Err(e) => {
            tracing::error!(plugin, "cannot look up an opted-out contact: {e}");
            return;
        }
    };
    let Some(contact) = view.contacts.iter().find(|c| c.value == value) else {
        return;
    };
    let Ok(consent) = Consent::set(
        ConsentStatus::OptedOut,
        &format!("provider:{plugin}"),
        Utc::now(),
    ) else {
        return;
    };
    if let Err(e) = store
        .set_consent(contact.id, &consent, &Actor::Provider(plugin.to_owned()))
        .await
    {
        tracing::error!(plugin, "cannot record an opt-out: {e}");
    }
}
