//! Between the contract's types and the domain's.

use super::bindings::types::{Channel, DeliveryState};
use crate::domain::message::{DeliveryStatus, Transport};

pub fn transport_of(c: Channel) -> Transport {
    match c {
        Channel::Sms => Transport::Sms,
        Channel::Whatsapp => Transport::Whatsapp,
        Channel::Telegram => Transport::Telegram,
        Channel::Email => Transport::Email,
        Channel::Instagram => Transport::Instagram,
        Channel::Website => Transport::Website,
        Channel::Other => Transport::Other,
    }
}

/// `None` for transports no plugin carries (voice calls).
pub fn channel_of(t: Transport) -> Option<Channel> {
    Some(match t {
        Transport::Sms => Channel::Sms,
        Transport::Whatsapp => Channel::Whatsapp,
        Transport::Telegram => Channel::Telegram,
        Transport::Email => Channel::Email,
        Transport::Instagram => Channel::Instagram,
        Transport::Website => Channel::Website,
        Transport::Other => Channel::Other,
        Transport::Phone => return None,
    })
}

pub fn status_of(s: DeliveryState, reason: Option<String>) -> DeliveryStatus {
    match s {
        DeliveryState::Queued => DeliveryStatus::Queued,
        DeliveryState::Sent => DeliveryStatus::Sent,
        DeliveryState::Delivered => DeliveryStatus::Delivered,
        DeliveryState::Read => DeliveryStatus::Read,
        DeliveryState::Failed => DeliveryStatus::Failed {
            reason: reason.unwrap_or_else(|| "the provider reported a failure".into()),
        },
    }
}
