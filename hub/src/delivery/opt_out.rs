//! Consent the recipient gave through a provider: the provider says they
//! unsubscribed (Twilio's 21610, a Telegram user who blocked the bot), or
//! they sent a keyword (`STOP`, `START`). An opted-out contact is never
//! picked by routing until the client opts back in.

use chrono::Utc;

use crate::domain::contact::{Consent, ConsentStatus, ContactKind, ContactValue};
use crate::domain::events::Actor;
use crate::domain::message::Transport;
use crate::store::TenantStore;

/// Records the opt-out of `recipient` on `transport`, as `plugin` reported it.
pub async fn record(store: &TenantStore, transport: Transport, recipient: &str, plugin: &str) {
    let kind = ContactKind::for_transport(transport);
    let value = ContactValue::from_stored(kind, recipient.to_owned());
    set(
        store,
        &value,
        ConsentStatus::OptedOut,
        &format!("provider:{plugin}"),
        plugin,
    )
    .await;
}

/// Sets the consent of the contact `value`, as `plugin` brought it in. A
/// contact no client has (deleted since) is left alone; a failure is logged,
/// never passed on: the message that carried it is already kept.
pub async fn set(
    store: &TenantStore,
    value: &ContactValue,
    status: ConsentStatus,
    source: &str,
    plugin: &str,
) {
    let view = match store.client_by_contact(value).await {
        Ok(Some(view)) => view,
        Ok(None) => return,
        Err(e) => {
            tracing::error!(plugin, "cannot look up a contact to set its consent: {e}");
            return;
        }
    };
    let Some(contact) = view.contacts.iter().find(|c| &c.value == value) else {
        return;
    };
    let Ok(consent) = Consent::set(status, source, Utc::now()) else {
        return;
    };
    if let Err(e) = store
        .set_consent(contact.id, &consent, &Actor::Provider(plugin.to_owned()))
        .await
    {
        tracing::error!(plugin, "cannot record consent: {e}");
    }
}
