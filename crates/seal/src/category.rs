//! A thread's category: what the payload encodes as one byte (crypto.md
//! §6). Its own module, outside the `open` feature, because the relay's API
//! types name categories too and the relay builds without `open`.

/// What a thread is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// Booking, moving or cancelling a visit.
    Appointment,
    /// A prescription refill.
    Refill,
    /// A question for the care team.
    Question,
    /// Bills and insurance.
    Billing,
    /// Anything else (and any category a newer client added).
    Other,
    /// Something the patient keeps to themselves (sexual or mental health,
    /// for example): in the categories a relay treats as sensitive, such a
    /// thread is "Only me" by rule and is never shared with a caregiver.
    Confidential,
}

impl Category {
    /// Every category, in the order a patient is offered them. The relay
    /// API's names for them live in `ward-proto` (which re-exports this
    /// type), so this crate needs no serde.
    pub const ALL: [Self; 6] = [
        Self::Appointment,
        Self::Refill,
        Self::Question,
        Self::Billing,
        Self::Confidential,
        Self::Other,
    ];

    /// Its byte in the payload (crypto.md §6).
    pub fn code(self) -> u8 {
        match self {
            Self::Appointment => 1,
            Self::Refill => 2,
            Self::Question => 3,
            Self::Billing => 4,
            Self::Other => 5,
            Self::Confidential => 6,
        }
    }

    /// The category a payload byte names; an unknown byte (a newer
    /// client's category) reads as [`Self::Other`].
    pub fn from_code(code: u8) -> Self {
        match code {
            1 => Self::Appointment,
            2 => Self::Refill,
            3 => Self::Question,
            4 => Self::Billing,
            6 => Self::Confidential,
            _ => Self::Other,
        }
    }
}
