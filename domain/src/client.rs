//! The client (customer or business contact): the CRM's aggregate root.
//!
//! Fields are private. A client comes into existence only through
//! [`Client::new`] (which demands a first name) and changes only through its
//! setters, each of which validates and stamps `updated_at`.

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};

use super::error::{optional_text, required_text};
use super::ids::{ClientId, TenantId};
use super::{DomainError, DomainResult};

const NAME_MAX: usize = 100;
const FIELD_MAX: usize = 200;
const NOTES_MAX: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gender {
    Female,
    Male,
    Other,
}

impl Gender {
    pub fn as_str(self) -> &'static str {
        match self {
            Gender::Female => "female",
            Gender::Male => "male",
            Gender::Other => "other",
        }
    }
}

impl FromStr for Gender {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "female" => Ok(Gender::Female),
            "male" => Ok(Gender::Male),
            "other" => Ok(Gender::Other),
            _ => Err(DomainError::new(
                "gender",
                format!("`{s}` is not female, male or other"),
            )),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    id: ClientId,
    tenant: TenantId,
    first_name: String,
    last_name: Option<String>,
    middle_name: Option<String>,
    gender: Option<Gender>,
    date_of_birth: Option<NaiveDate>,
    address: Option<String>,
    passport_number: Option<String>,
    tax_pin: Option<String>,
    notes: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    deleted_at: Option<DateTime<Utc>>,
}

/// Everything stored about a client's profile, for rebuilding one from storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRecord {
    pub id: ClientId,
    pub tenant: TenantId,
    pub first_name: String,
    pub last_name: Option<String>,
    pub middle_name: Option<String>,
    pub gender: Option<Gender>,
    pub date_of_birth: Option<NaiveDate>,
    pub address: Option<String>,
    pub passport_number: Option<String>,
    pub tax_pin: Option<String>,
    pub notes: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

impl Client {
    /// "Client must have first name; other fields optional."
    pub fn new(tenant: TenantId, first_name: &str, now: DateTime<Utc>) -> DomainResult<Self> {
        Ok(Self {
            id: ClientId::new(),
            tenant,
            first_name: required_text("firstName", first_name, NAME_MAX)?,
            last_name: None,
            middle_name: None,
            gender: None,
            date_of_birth: None,
            address: None,
            passport_number: None,
            tax_pin: None,
            notes: None,
            created_at: now,
            updated_at: now,
            deleted_at: None,
        })
    }

    /// Rebuilds a client read back from storage, where it was stored valid.
    pub fn restore(r: ClientRecord) -> Self {
        Self {
            id: r.id,
            tenant: r.tenant,
            first_name: r.first_name,
            last_name: r.last_name,
            middle_name: r.middle_name,
            gender: r.gender,
            date_of_birth: r.date_of_birth,
            address: r.address,
            passport_number: r.passport_number,
            tax_pin: r.tax_pin,
            notes: r.notes,
            created_at: r.created_at,
            updated_at: r.updated_at,
            deleted_at: r.deleted_at,
        }
    }

    pub fn record(&self) -> ClientRecord {
        ClientRecord {
            id: self.id,
            tenant: self.tenant,
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            middle_name: self.middle_name.clone(),
            gender: self.gender,
            date_of_birth: self.date_of_birth,
            address: self.address.clone(),
            passport_number: self.passport_number.clone(),
            tax_pin: self.tax_pin.clone(),
            notes: self.notes.clone(),
            created_at: self.created_at,
            updated_at: self.updated_at,
            deleted_at: self.deleted_at,
        }
    }

    pub fn id(&self) -> ClientId {
        self.id
    }
    pub fn tenant(&self) -> TenantId {
        self.tenant
    }
    pub fn first_name(&self) -> &str {
        &self.first_name
    }
    pub fn last_name(&self) -> Option<&str> {
        self.last_name.as_deref()
    }
    pub fn middle_name(&self) -> Option<&str> {
        self.middle_name.as_deref()
    }
    pub fn gender(&self) -> Option<Gender> {
        self.gender
    }
    pub fn date_of_birth(&self) -> Option<NaiveDate> {
        self.date_of_birth
    }
    pub fn address(&self) -> Option<&str> {
        self.address.as_deref()
    }
    pub fn passport_number(&self) -> Option<&str> {
        self.passport_number.as_deref()
    }
    pub fn tax_pin(&self) -> Option<&str> {
        self.tax_pin.as_deref()
    }
    pub fn notes(&self) -> Option<&str> {
        self.notes.as_deref()
    }
    pub fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }
    pub fn updated_at(&self) -> DateTime<Utc> {
        self.updated_at
    }
    pub fn deleted_at(&self) -> Option<DateTime<Utc>> {
        self.deleted_at
    }
    pub fn is_deleted(&self) -> bool {
        self.deleted_at.is_some()
    }

    /// "First Middle Last", as people read it.
    pub fn display_name(&self) -> String {
        [
            Some(self.first_name.as_str()),
            self.middle_name(),
            self.last_name(),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ")
    }

    fn touch(&mut self, now: DateTime<Utc>) -> DomainResult<()> {
        if self.is_deleted() {
            return Err(DomainError::new(
                "clientId",
                "this client is deleted; restore it before changing it",
            ));
        }
        self.updated_at = now.max(self.updated_at);
        Ok(())
    }

    pub fn set_first_name(&mut self, value: &str, now: DateTime<Utc>) -> DomainResult<()> {
        let v = required_text("firstName", value, NAME_MAX)?;
        self.touch(now)?;
        self.first_name = v;
        Ok(())
    }
    pub fn set_last_name(&mut self, value: Option<&str>, now: DateTime<Utc>) -> DomainResult<()> {
        let v = optional_text("lastName", value, NAME_MAX)?;
        self.touch(now)?;
        self.last_name = v;
        Ok(())
    }
    pub fn set_middle_name(&mut self, value: Option<&str>, now: DateTime<Utc>) -> DomainResult<()> {
        let v = optional_text("middleName", value, NAME_MAX)?;
        self.touch(now)?;
        self.middle_name = v;
        Ok(())
    }
    pub fn set_gender(&mut self, value: Option<Gender>, now: DateTime<Utc>) -> DomainResult<()> {
        self.touch(now)?;
        self.gender = value;
        Ok(())
    }
    pub fn set_date_of_birth(
        &mut self,
        value: Option<NaiveDate>,
        now: DateTime<Utc>,
    ) -> DomainResult<()> {
        if let Some(d) = value {
            if d > now.date_naive() {
                return Err(DomainError::new("dateOfBirth", "must not be in the future"));
            }
            if d < NaiveDate::from_ymd_opt(1900, 1, 1).expect("valid date") {
                return Err(DomainError::new(
                    "dateOfBirth",
                    "must be on or after 1900-01-01",
                ));
            }
        }
        self.touch(now)?;
        self.date_of_birth = value;
        Ok(())
    }
    pub fn set_address(&mut self, value: Option<&str>, now: DateTime<Utc>) -> DomainResult<()> {
        let v = optional_text("address", value, 500)?;
        self.touch(now)?;
        self.address = v;
        Ok(())
    }
    pub fn set_passport_number(
        &mut self,
        value: Option<&str>,
        now: DateTime<Utc>,
    ) -> DomainResult<()> {
        let v = optional_text("passportNumber", value, FIELD_MAX)?;
        self.touch(now)?;
        self.passport_number = v;
        Ok(())
    }
    pub fn set_tax_pin(&mut self, value: Option<&str>, now: DateTime<Utc>) -> DomainResult<()> {
        let v = optional_text("taxPin", value, FIELD_MAX)?;
        self.touch(now)?;
        self.tax_pin = v;
        Ok(())
    }
    pub fn set_notes(&mut self, value: Option<&str>, now: DateTime<Utc>) -> DomainResult<()> {
        let v = optional_text("notes", value, NOTES_MAX)?;
        self.touch(now)?;
        self.notes = v;
        Ok(())
    }

    /// "Soft delete pattern": the profile is marked inactive, not removed.
    pub fn delete(&mut self, now: DateTime<Utc>) -> DomainResult<()> {
        if self.is_deleted() {
            return Err(DomainError::new(
                "clientId",
                "this client is already deleted",
            ));
        }
        self.deleted_at = Some(now);
        self.updated_at = now.max(self.updated_at);
        Ok(())
    }

    pub fn restore_deleted(&mut self, now: DateTime<Utc>) -> DomainResult<()> {
        if !self.is_deleted() {
            return Err(DomainError::new("clientId", "this client is not deleted"));
        }
        self.deleted_at = None;
        self.updated_at = now.max(self.updated_at);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ann() -> Client {
        Client::new(TenantId::new(), "Ann", Utc::now()).unwrap()
    }

    #[test]
    fn client_must_have_a_first_name() {
        let err = Client::new(TenantId::new(), "  ", Utc::now()).unwrap_err();
        assert_eq!(err.field, "firstName");
        let mut c = ann();
        assert_eq!(
            c.set_first_name("", Utc::now()).unwrap_err().field,
            "firstName"
        );
        assert_eq!(
            c.first_name(),
            "Ann",
            "a refused change leaves the client as it was"
        );
    }

    #[test]
    fn other_fields_are_optional() {
        let c = ann();
        assert_eq!(c.last_name(), None);
        assert_eq!(c.date_of_birth(), None);
        assert_eq!(c.display_name(), "Ann");
    }

    #[test]
    fn client_changes_only_through_setters_which_stamp_updated_at() {
        let mut c = ann();
        let later = c.created_at() + chrono::Duration::seconds(5);
        c.set_last_name(Some("Lee"), later).unwrap();
        c.set_middle_name(Some("Marie"), later).unwrap();
        assert_eq!(c.display_name(), "Ann Marie Lee");
        assert_eq!(c.updated_at(), later);
        assert_eq!(c.created_at() + chrono::Duration::seconds(5), later);
        c.set_last_name(Some(""), later).unwrap();
        assert_eq!(c.last_name(), None, "a blank value clears the field");
    }

    #[test]
    fn date_of_birth_is_plausible() {
        let mut c = ann();
        let now = Utc::now();
        let tomorrow = now.date_naive().succ_opt().unwrap();
        assert_eq!(
            c.set_date_of_birth(Some(tomorrow), now).unwrap_err().field,
            "dateOfBirth"
        );
        let old = NaiveDate::from_ymd_opt(1850, 1, 1);
        assert!(c.set_date_of_birth(old, now).is_err());
        let ok = NaiveDate::from_ymd_opt(1990, 5, 17);
        c.set_date_of_birth(ok, now).unwrap();
        assert_eq!(c.date_of_birth(), ok);
    }

    #[test]
    fn deletion_is_soft_and_blocks_changes_until_restored() {
        let mut c = ann();
        let now = Utc::now();
        c.delete(now).unwrap();
        assert!(c.is_deleted());
        assert!(c.delete(now).is_err());
        assert!(c.set_notes(Some("x"), now).is_err());
        c.restore_deleted(now).unwrap();
        c.set_notes(Some("VIP"), now).unwrap();
        assert_eq!(c.notes(), Some("VIP"));
    }

    #[test]
    fn record_round_trips() {
        let mut c = ann();
        c.set_tax_pin(Some("123"), Utc::now()).unwrap();
        assert_eq!(Client::restore(c.record()), c);
    }
}
