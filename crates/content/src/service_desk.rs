//! Customer service content (客服): frequently asked questions by category, the ways to reach
//! a person, and working hours. One document, replaced whole by compare-and-set.

use serde::{Deserialize, Serialize};
use topup_core::Timestamp;
use topup_store::Document;
use utoipa::ToSchema;

use crate::error::{Checks, ContentError, text};
use crate::rich_text::checked_html;

/// A question and its answer, under a category.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Faq {
    /// 1–20 characters; questions are grouped by it, in first-appearance order.
    pub category: String,
    /// 1–100 characters.
    pub question: String,
    /// HTML, cleaned when saved (up to 5000 characters).
    pub answer_html: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContactKind {
    Phone,
    Wechat,
    Email,
    /// WeChat's in-app customer service (`open-type="contact"`); `value` is shown as is.
    Online,
}

/// One way to reach a person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    pub kind: ContactKind,
    /// 1–20 characters, e.g. "客服热线".
    pub label: String,
    /// 1–100 characters: the number, WeChat id, address or a line of text.
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceDesk {
    pub id: String,
    pub version: i64,
    pub faqs: Vec<Faq>,
    pub contacts: Vec<Contact>,
    /// Up to 100 characters, e.g. "每天 9:00–21:00 (UTC+8)".
    pub working_hours: String,
    pub updated_at: Timestamp,
    pub updated_by: Option<String>,
}

impl Document for ServiceDesk {
    const COLLECTION: &'static str = "service_desk";
}

impl ServiceDesk {
    pub(crate) const ID: &'static str = "service";
}

/// The service content as staff write it.
#[derive(Debug, Clone)]
pub struct ServiceDeskDraft {
    pub faqs: Vec<Faq>,
    pub contacts: Vec<Contact>,
    pub working_hours: String,
}

impl ServiceDeskDraft {
    pub(crate) fn checked(self) -> Result<ServiceDeskDraft, ContentError> {
        if self.faqs.len() > 100 {
            return Err(ContentError::invalid("faqs", "at most 100 questions"));
        }
        if self.contacts.len() > 10 {
            return Err(ContentError::invalid("contacts", "at most 10 contacts"));
        }
        let mut checks = Checks::default();
        let mut faqs = Vec::with_capacity(self.faqs.len());
        for (i, faq) in self.faqs.into_iter().enumerate() {
            let field = |name: &str| format!("faqs[{i}].{name}");
            faqs.push(Faq {
                category: checks.take(text(&field("category"), &faq.category, 1, 20)),
                question: checks.take(text(&field("question"), &faq.question, 1, 100)),
                answer_html: checks.take(checked_html(
                    &field("answer_html"),
                    &faq.answer_html,
                    5000,
                )),
            });
        }
        let mut contacts = Vec::with_capacity(self.contacts.len());
        for (i, contact) in self.contacts.into_iter().enumerate() {
            let field = |name: &str| format!("contacts[{i}].{name}");
            contacts.push(Contact {
                kind: contact.kind,
                label: checks.take(text(&field("label"), &contact.label, 1, 20)),
                value: checks.take(text(&field("value"), &contact.value, 1, 100)),
            });
        }
        let working_hours = checks.take(text("working_hours", &self.working_hours, 0, 100));
        checks.finish()?;
        Ok(ServiceDeskDraft {
            faqs,
            contacts,
            working_hours,
        })
    }
}
