//! The sample workspace: people, their contacts, what they wrote and the
//! team's templates. Made up; the phone numbers are in the ranges set aside
//! for fiction (+1 202-555-01xx, +44 20 7946 0xxx) and the addresses on
//! example domains.

/// One sample client and the opening of their conversation.
pub struct Person {
    pub first: &'static str,
    pub last: &'static str,
    /// `(kind, value)` as `ContactInput` takes them; the first one is where
    /// their messages come from.
    pub contacts: &'static [(&'static str, &'static str)],
    pub notes: Option<&'static str>,
    /// What they wrote, and (when `Some`) the team's answer to it.
    pub exchange: &'static [(&'static str, Option<&'static str>)],
}

pub const PEOPLE: &[Person] = &[
    Person {
        first: "Maria",
        last: "Gonzalez",
        contacts: &[
            ("PHONE", "+12025550101"),
            ("EMAIL", "maria.gonzalez@example.com"),
        ],
        notes: Some("Prefers SMS. Ordered the oak dining table in March."),
        exchange: &[
            (
                "Hi! Is the oak table back in stock?",
                Some("Hi Maria, it is: we can deliver next Tuesday."),
            ),
            ("Great, Tuesday works.", None),
        ],
    },
    Person {
        first: "James",
        last: "O'Connor",
        contacts: &[("WHATSAPP", "+442079460123")],
        notes: None,
        exchange: &[("Hello, what time do you open on Saturdays?", None)],
    },
    Person {
        first: "Aiko",
        last: "Tanaka",
        contacts: &[("TELEGRAM", "aiko_t"), ("EMAIL", "aiko@example.org")],
        notes: Some("Interested in the corporate plan for 40 seats."),
        exchange: &[
            (
                "Could you send me the pricing for 40 seats?",
                Some("Of course, I'll e-mail the quote today."),
            ),
            ("Thank you!", None),
        ],
    },
    Person {
        first: "Lukas",
        last: "Becker",
        contacts: &[("EMAIL", "lukas.becker@example.net")],
        notes: None,
        exchange: &[(
            "My invoice shows the wrong VAT number. Can you fix it?",
            None,
        )],
    },
    Person {
        first: "Priya",
        last: "Raman",
        contacts: &[("PHONE", "+12025550102")],
        notes: Some("VIP. Birthday in June."),
        exchange: &[
            (
                "Is my order #4821 on its way?",
                Some("It left our warehouse this morning, Priya."),
            ),
            ("Perfect, thanks a lot", None),
        ],
    },
    Person {
        first: "Omar",
        last: "Haddad",
        contacts: &[("INSTAGRAM", "omar.haddad"), ("PHONE", "+12025550103")],
        notes: None,
        exchange: &[("Saw your post, do you ship to Canada?", None)],
    },
    Person {
        first: "Sofia",
        last: "Rossi",
        contacts: &[("WHATSAPP", "+442079460124")],
        notes: None,
        exchange: &[
            (
                "Can I change my delivery address?",
                Some("Yes: reply with the new address and we'll update it."),
            ),
            ("Via Roma 12, Milano", None),
        ],
    },
    Person {
        first: "Chen",
        last: "Wei",
        contacts: &[("PHONE", "+12025550104"), ("WHATSAPP", "+12025550104")],
        notes: Some("Returns: approved for store credit."),
        exchange: &[("The chair arrived scratched. What can I do?", None)],
    },
    Person {
        first: "Fatima",
        last: "Zahra",
        contacts: &[("EMAIL", "fatima.zahra@example.com")],
        notes: None,
        exchange: &[
            (
                "Do you offer installation?",
                Some("We do, for orders over $500 it's free."),
            ),
            ("Great, please book it for next week.", None),
        ],
    },
    Person {
        first: "Noah",
        last: "Williams",
        contacts: &[("TELEGRAM", "noahw")],
        notes: None,
        exchange: &[("Is the discount code SPRING still valid?", None)],
    },
    Person {
        first: "Elena",
        last: "Petrova",
        contacts: &[("PHONE", "+12025550105")],
        notes: Some("Speaks Russian and English."),
        exchange: &[
            (
                "Hello, I'd like to book a showroom visit.",
                Some("Happy to! Which day suits you?"),
            ),
            ("Thursday afternoon?", None),
        ],
    },
    Person {
        first: "Kwame",
        last: "Mensah",
        contacts: &[
            ("WHATSAPP", "+442079460125"),
            ("EMAIL", "kwame@example.org"),
        ],
        notes: None,
        exchange: &[("Any news on my warranty claim?", None)],
    },
    Person {
        first: "Isabelle",
        last: "Dubois",
        contacts: &[("EMAIL", "isabelle.dubois@example.fr")],
        notes: None,
        exchange: &[
            (
                "Bonjour, can I pay in three instalments?",
                Some("Yes, choose 'Pay in 3' at checkout."),
            ),
            ("Merci !", None),
        ],
    },
    Person {
        first: "Diego",
        last: "Fernandez",
        contacts: &[("PHONE", "+12025550106")],
        notes: None,
        exchange: &[("What's your return policy?", None)],
    },
    Person {
        first: "Hannah",
        last: "Schmidt",
        contacts: &[("INSTAGRAM", "hannah.s.design")],
        notes: Some("Interior designer: trade discount 15%."),
        exchange: &[
            (
                "Could I get samples of the linen fabrics?",
                Some("Sure, they'll ship tomorrow."),
            ),
            ("Lovely, thank you", None),
        ],
    },
    Person {
        first: "Arjun",
        last: "Patel",
        contacts: &[("PHONE", "+12025550107"), ("TELEGRAM", "arjun_p")],
        notes: None,
        exchange: &[("Hi, my order is missing one box.", None)],
    },
    Person {
        first: "Grace",
        last: "Kim",
        contacts: &[("EMAIL", "grace.kim@example.com")],
        notes: None,
        exchange: &[
            (
                "Can I add a second cushion to my order?",
                Some("Added! Your new total is in your inbox."),
            ),
            ("Got it, thanks", None),
        ],
    },
    Person {
        first: "Tom",
        last: "Novak",
        contacts: &[("WHATSAPP", "+442079460126")],
        notes: None,
        exchange: &[("Do you have the sofa in dark green?", None)],
    },
];

pub struct SampleTemplate {
    pub name: &'static str,
    pub text: &'static str,
}

pub const TEMPLATES: &[SampleTemplate] = &[
    SampleTemplate {
        name: "Greeting",
        text: "Hi! Thanks for getting in touch. How can we help you today?",
    },
    SampleTemplate {
        name: "Opening hours",
        text: "We're open Monday to Friday 9:00–18:00 and Saturday 10:00–16:00.",
    },
    SampleTemplate {
        name: "Order shipped",
        text: "Good news: your order has shipped. You'll get a tracking link by e-mail shortly.",
    },
    SampleTemplate {
        name: "Returns",
        text: "You can return any item within 30 days. Reply with your order number and we'll send a free return label.",
    },
    SampleTemplate {
        name: "Follow-up",
        text: "Just checking in: is there anything else we can help you with?",
    },
];

/// Team members besides the admin: name, e-mail, role.
pub const TEAM: &[(&str, &str, &str)] = &[
    ("Tara Lead", "lead@example.com", "TEAM_LEAD"),
    ("Sam Agent", "agent@example.com", "AGENT"),
    ("Rita Sales", "sales@example.com", "SALES_REP"),
];

/// The sample team's password (demo mode only: the workspace is made up).
pub const TEAM_PASSWORD: &str = "demo password 123";

/// What the simulated customer answers, by the first keyword found in the
/// team's message; the last entry is the fallback.
pub const REPLIES: &[(&[&str], &str)] = &[
    (
        &["price", "pricing", "quote", "cost", "$"],
        "That sounds reasonable. Can you hold it for me until Friday?",
    ),
    (
        &["ship", "deliver", "tracking", "order"],
        "Great, thanks for the update!",
    ),
    (
        &["open", "hours", "saturday"],
        "Perfect, I'll drop by then.",
    ),
    (
        &["return", "refund", "label"],
        "Thanks, I'll send the order number in a minute.",
    ),
    (&["?"], "Let me check and get back to you."),
    (&[], "Thank you, that helps a lot!"),
];

pub fn reply_to(text: &str) -> &'static str {
    let lower = text.to_lowercase();
    REPLIES
        .iter()
        .find(|(words, _)| words.is_empty() || words.iter().any(|w| lower.contains(w)))
        .map(|(_, reply)| *reply)
        .unwrap_or("Thank you!")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_follow_the_first_keyword_and_fall_back() {
        assert_eq!(reply_to("Your order has SHIPPED"), REPLIES[1].1);
        assert_eq!(reply_to("Anything else?"), REPLIES[4].1);
        assert_eq!(reply_to("Have a nice day"), REPLIES[5].1);
    }

    #[test]
    fn every_sample_person_can_be_reached_and_starts_a_conversation() {
        for p in PEOPLE {
            assert!(!p.contacts.is_empty(), "{}", p.first);
            assert!(!p.exchange.is_empty(), "{}", p.first);
        }
    }
}
