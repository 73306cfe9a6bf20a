//! Which operator a number belongs to: asked of the provider (libphonenumber has no carrier
//! data), remembered per number for a while on the injected clock.

use serde::Serialize;
use topup_core::{CoreError, CountryCode, Msisdn};
use topup_recharge::ProviderId;
use utoipa::ToSchema;

use crate::service::Detected;
use crate::snapshot::{AppCountry, AppOperator, AppPlan, unknown_country};
use crate::{Catalog, CatalogError};

/// `GET /api/v1/app/catalog/detect`: the number's country and operator with what can be
/// bought for it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Detection {
    /// The number in E.164.
    #[schema(example = "+639171234567")]
    pub phone: String,
    pub country: AppCountry,
    /// Whether the operator was identified; when not, `plans` holds the whole country's.
    pub detected: bool,
    pub operator: Option<AppOperator>,
    /// The operator's airtime and data plans (same brand), or every plan of the country.
    pub plans: Vec<AppPlan>,
}

fn phone_error(error: CoreError) -> CatalogError {
    match error {
        CoreError::InvalidCountry(text) => CatalogError::UnknownCountry(text),
        other => CatalogError::InvalidPhone(other.to_string()),
    }
}

impl Catalog {
    /// Detects the operator of `phone` (`+E.164`, or national digits with `country`).
    #[tracing::instrument(skip_all)]
    pub async fn detect(
        &self,
        phone: &str,
        country: Option<&str>,
    ) -> Result<Detection, CatalogError> {
        let default_country = match country.map(str::trim).filter(|c| !c.is_empty()) {
            Some(text) => Some(CountryCode::parse(text).map_err(|_| unknown_country(text))?),
            None => None,
        };
        let number = Msisdn::parse(phone, default_country).map_err(phone_error)?;
        self.detect_number(&number).await
    }

    /// [`Self::detect`] for a number parsed already (a checkout's).
    pub async fn detect_number(&self, number: &Msisdn) -> Result<Detection, CatalogError> {
        let code = number.country();
        let snapshot = self.snapshot();
        let Some(country) = snapshot.country(code).cloned() else {
            return Err(unknown_country(code.as_str()));
        };
        let found = self.detected_operator(number).await;
        let operator = found
            .as_ref()
            .and_then(|key| snapshot.by_provider_ref.get(key))
            .and_then(|id| snapshot.operators.get(id));
        let plans: Vec<AppPlan> = match operator {
            Some(detected) => snapshot
                .country_plans(code)
                .iter()
                .filter(|p| {
                    snapshot
                        .operators
                        .get(&p.operator.id)
                        .is_some_and(|o| o.brand == detected.brand)
                })
                .cloned()
                .collect(),
            None => snapshot.country_plans(code).to_vec(),
        };
        Ok(Detection {
            phone: number.e164().to_owned(),
            country,
            detected: operator.is_some(),
            operator: operator.map(|o| o.app.clone()),
            plans,
        })
    }

    /// The provider's answer for the number, from the cache while fresh. Provider failures
    /// are logged and not cached (the user can still pick an operator).
    async fn detected_operator(&self, number: &Msisdn) -> Option<(ProviderId, String)> {
        let now = self.now();
        if let Some(hit) = self.detect_cache().get(number.e164())
            && now < hit.expires_at
        {
            return hit.operator.clone();
        }
        let serving = self.snapshot().providers_in(number.country());
        let candidates = self
            .inner
            .router
            .candidates(number.country())
            .into_iter()
            .filter(|p| serving.contains(p.id()));
        for provider in candidates {
            match provider.detect_operator(number).await {
                Ok(found) => {
                    let operator = found.map(|op| (provider.id().clone(), op.operator_id));
                    self.remember(number, operator.clone());
                    return operator;
                }
                Err(error) => {
                    tracing::warn!(provider = %provider.id(), %error, "operator detection failed");
                }
            }
        }
        None
    }

    fn remember(&self, number: &Msisdn, operator: Option<(ProviderId, String)>) {
        let now = self.now();
        let settings = &self.inner.settings;
        let mut cache = self.detect_cache();
        if cache.len() >= settings.detect_capacity {
            cache.retain(|_, d| now < d.expires_at);
            if cache.len() >= settings.detect_capacity {
                cache.clear();
            }
        }
        cache.insert(
            number.e164().to_owned(),
            Detected {
                operator,
                expires_at: now.plus(settings.detect_ttl),
            },
        );
    }

    /// Forgets every remembered detection.
    pub fn clear_detect_cache(&self) {
        self.detect_cache().clear();
    }
}
