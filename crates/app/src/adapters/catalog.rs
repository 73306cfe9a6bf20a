//! The catalog as the orders module sees it ([`topup_orders::PlanCatalog`]): plans on sale
//! from the in-memory snapshot, operators from detection.

use async_trait::async_trait;
use topup_catalog::{Catalog, PlanType};
use topup_core::Msisdn;
use topup_orders::{CheckoutPlan, OrdersError, PlanCatalog, PlanKind, PlanSnapshot};

/// Hand it to `OrdersService` as its `Arc<dyn PlanCatalog>`.
#[derive(Clone, Debug)]
pub struct CatalogPlans(pub Catalog);

#[async_trait]
impl PlanCatalog for CatalogPlans {
    /// Only plans on sale are found: disabled, withdrawn or unpriced ones are `None`.
    async fn checkout_plan(&self, plan_id: &str) -> Result<Option<CheckoutPlan>, OrdersError> {
        let Ok(id) = Catalog::plan_id(plan_id) else {
            return Ok(None);
        };
        let snapshot = self.0.snapshot();
        let Some(offer) = snapshot.offer(&id) else {
            return Ok(None);
        };
        let plan = &offer.plan;
        Ok(Some(CheckoutPlan {
            snapshot: PlanSnapshot {
                plan_id: plan.id.to_string(),
                kind: match plan.plan_type {
                    PlanType::Airtime => PlanKind::Airtime,
                    PlanType::Data => PlanKind::Data,
                },
                country: plan.country,
                operator_id: plan.operator.id.to_string(),
                operator_name: plan.operator.name.clone(),
                title: plan.title_zh.clone(),
                provider_id: offer.provider.to_string(),
                provider_operator_id: offer.provider_operator_id.clone(),
                provider_amount: offer.cost,
                use_local_amount: false,
            },
            retail: Some(plan.price),
            enabled: true,
        }))
    }

    async fn detect_operators(&self, phone: &Msisdn) -> Option<Vec<String>> {
        match self.0.detect_number(phone).await {
            Ok(detection) if detection.detected => {
                // A brand's airtime and data are separate operators: any of them matches.
                let mut ids: Vec<String> = detection
                    .plans
                    .iter()
                    .map(|p| p.operator.id.to_string())
                    .chain(detection.operator.map(|o| o.id.to_string()))
                    .collect();
                ids.sort();
                ids.dedup();
                Some(ids)
            }
            Ok(_) => None,
            Err(error) => {
                tracing::debug!(%error, "no operator detected for checkout");
                None
            }
        }
    }
}
