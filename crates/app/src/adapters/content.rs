//! The recharge terms checkout asks for, from the content module's agreements.

use std::sync::Arc;

use async_trait::async_trait;
use topup_content::ContentService;
use topup_orders::{OrdersError, RechargeTerms};

pub struct AgreementTerms(pub Arc<ContentService>);

#[async_trait]
impl RechargeTerms for AgreementTerms {
    async fn awaiting(&self, user_id: &str) -> Result<Option<(u32, String)>, OrdersError> {
        self.0
            .recharge_terms_awaiting(user_id)
            .await
            .map_err(|error| OrdersError::Dependency {
                port: "recharge terms",
                cause: error.to_string(),
            })
    }
}
