//! Agreements (协议): the user agreement, privacy policy, membership terms and recharge terms,
//! each a series of immutable numbered versions (the highest is current), and each user's
//! acceptance of a version. Checkout asks again when the recharge terms get a new version.

use serde::{Deserialize, Serialize};
use topup_core::Timestamp;
use topup_store::Document;
use utoipa::ToSchema;

use crate::error::{Checks, ContentError, text};
use crate::rich_text::checked_html;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AgreementKind {
    UserAgreement,
    PrivacyPolicy,
    MembershipTerms,
    /// Checked at checkout: a user who has not accepted the current version is asked to.
    RechargeTerms,
}

impl AgreementKind {
    pub const ALL: [AgreementKind; 4] = [
        AgreementKind::UserAgreement,
        AgreementKind::PrivacyPolicy,
        AgreementKind::MembershipTerms,
        AgreementKind::RechargeTerms,
    ];

    /// The kind its name (`recharge_terms`) names.
    pub fn parse(name: &str) -> Option<AgreementKind> {
        AgreementKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AgreementKind::UserAgreement => "user_agreement",
            AgreementKind::PrivacyPolicy => "privacy_policy",
            AgreementKind::MembershipTerms => "membership_terms",
            AgreementKind::RechargeTerms => "recharge_terms",
        }
    }
}

/// One published version of an agreement; never changed once written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgreementVersion {
    /// `{kind}:{number:04}`: two staff publishing at once cannot take the same number.
    pub id: String,
    pub kind: AgreementKind,
    /// 1, 2, 3… per kind; the highest is current.
    pub number: u32,
    pub title: String,
    /// Cleaned HTML.
    pub body_html: String,
    /// What changed, for staff and for users asked to accept again (may be empty).
    pub summary: String,
    pub published_at: Timestamp,
    pub published_by: String,
}

impl Document for AgreementVersion {
    const COLLECTION: &'static str = "agreement_versions";
}

impl AgreementVersion {
    pub(crate) fn id_for(kind: AgreementKind, number: u32) -> String {
        format!("{}:{number:04}", kind.as_str())
    }
}

/// A user accepted one version of one agreement (the id is all three: accepting twice is one
/// acceptance).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Acceptance {
    pub id: String,
    pub user_id: String,
    pub kind: AgreementKind,
    pub number: u32,
    pub accepted_at: Timestamp,
}

impl Document for Acceptance {
    const COLLECTION: &'static str = "agreement_acceptances";
}

impl Acceptance {
    pub(crate) fn id_for(user_id: &str, kind: AgreementKind, number: u32) -> String {
        format!("{user_id}:{}:{number}", kind.as_str())
    }
}

/// A new version as staff write it.
#[derive(Debug, Clone)]
pub struct AgreementDraft {
    pub title: String,
    pub body_html: String,
    pub summary: String,
}

impl AgreementDraft {
    pub(crate) fn checked(self) -> Result<AgreementDraft, ContentError> {
        let mut checks = Checks::default();
        let draft = AgreementDraft {
            title: checks.take(text("title", &self.title, 1, 60)),
            body_html: checks.take(checked_html("body_html", &self.body_html, 100_000)),
            summary: checks.take(text("summary", &self.summary, 0, 200)),
        };
        checks.finish()?;
        Ok(draft)
    }
}
