//! Content (`docs/content.md`): what staff put in front of mini-program users besides the
//! catalog — banners (with their click counts), announcements (with each user's read marks),
//! the customer service page (questions, contacts, hours), the agreements users accept
//! (numbered versions, acceptance per user and version) and the home page, a document of components staff edit as a draft, publish as numbered
//! versions and roll back to any earlier one.
//!
//! Every write that changes what the home page shows moves one stamp, so each process's
//! cached home page (held by the API) notices the change on its next request.

mod agreements;
mod announcements;
mod banners;
mod error;
mod home;
mod rich_text;
mod service;
mod service_desk;

pub use agreements::{Acceptance, AgreementDraft, AgreementKind, AgreementVersion};
pub use announcements::{Announcement, AnnouncementDraft, Audience};
pub use banners::{Banner, BannerDraft, BannerLink};
pub use error::ContentError;
pub use home::{Component, HomeDraft, HomeVersion, HomeVersionSummary, MAX_COMPONENTS};
pub use rich_text::clean_html;
pub use service::ContentService;
pub use service_desk::{Contact, ContactKind, Faq, ServiceDesk, ServiceDeskDraft};
