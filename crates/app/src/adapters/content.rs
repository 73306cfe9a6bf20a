//! The recharge terms checkout asks for, from the content module's agreements.

use std::sync::Arc;

use async_trait::async_trait;
use topup_content::{AgreementKind, ContentService};
use topup_orders::{OrdersError, RechargeTerms};

pub struct AgreementTerms(pub Arc<ContentService>);

#[async_trait]
impl RechargeTerms for AgreementTerms {
    async fn awaiting(&self, user_id: &str) -> Result<Option<(u32, String)>, OrdersError> {
        let awaiting = self
            .0
            .awaiting_acceptance(user_id, AgreementKind::RechargeTerms)
            .await
            .map_err(|error| OrdersError::Dependency {
                port: "recharge terms",
                cause: error.to_string(),
            })?;
        Ok(awaiting.map(|version| (version.number, version.title)))
    }
}
