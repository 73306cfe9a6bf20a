//! Reloadly's answers mapped to outcome classes (`docs/protocols.md#outcome-classification`).

use crate::TopupOutcome;

/// What to do with an error answer to `POST /topups`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ErrorClass {
    Outcome(TopupOutcome),
    /// The key was used before: the original transaction decides.
    LookUpOriginal,
}

/// The class of an error answer (`errorCode` plus HTTP status) to a top-up request.
pub(crate) fn classify_error(code: Option<&str>, http_status: u16) -> ErrorClass {
    use TopupOutcome::*;
    let outcome = match code.map(str::trim) {
        Some("CUSTOM_IDENTIFIER_ALREADY_USED") => return ErrorClass::LookUpOriginal,
        // Our wallet or our credentials: hold the order, alert staff.
        Some("INSUFFICIENT_BALANCE")
        | Some("TOKEN_EXPIRED")
        | Some("INVALID_TOKEN")
        | Some("INVALID_CREDENTIALS")
        | Some("ACCESS_DENIED")
        | Some("FORBIDDEN") => Precondition,
        // Temporary on the provider's or operator's side: try again (or elsewhere).
        Some("TRANSACTION_CANNOT_BE_PROCESSED_AT_THE_MOMENT")
        | Some("OPERATOR_UNAVAILABLE_OR_CURRENTLY_INACTIVE")
        | Some("RECIPIENT_HAS_PENDING_TRANSACTION")
        | Some("PHONE_RECENTLY_RECHARGED")
        | Some("TOO_MANY_REQUESTS")
        | Some("SERVICE_UNAVAILABLE") => FailedRetryable,
        // The request can never succeed as asked: refund the user.
        Some("INVALID_RECIPIENT_PHONE")
        | Some("COULD_NOT_AUTO_DETECT_OPERATOR")
        | Some("INVALID_AMOUNT_FOR_OPERATOR")
        | Some("OPERATOR_NOT_FOUND")
        | Some("INVALID_COUNTRY_CODE")
        | Some("LOCAL_AMOUNTS_NOT_SUPPORTED") => FailedFinal,
        _ => match http_status {
            401 | 403 => Precondition,
            // A wrong base URL or a refused `Accept` header: our configuration.
            404 | 405 | 406 | 415 => Precondition,
            408 | 429 => FailedRetryable,
            // Anything else the provider refused outright was not processed.
            _ => FailedFinal,
        },
    };
    ErrorClass::Outcome(outcome)
}

/// The class of a transaction status (`SUCCESSFUL`, `PROCESSING`, `REFUNDED`, `FAILED`).
/// `None` for a status we do not know.
pub(crate) fn classify_status(status: &str, provider_ref: Option<&str>) -> Option<TopupOutcome> {
    match status {
        "SUCCESSFUL" => Some(TopupOutcome::Succeeded),
        "PROCESSING" | "PENDING" => provider_ref.map(|r| TopupOutcome::Pending {
            provider_ref: r.to_owned(),
        }),
        // REFUNDED: the operator failed and the money came back. FAILED: nothing debited.
        "REFUNDED" | "FAILED" => Some(TopupOutcome::FailedFinal),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_code_has_a_class() {
        use TopupOutcome::*;
        let table = [
            ("INSUFFICIENT_BALANCE", Precondition),
            (
                "TRANSACTION_CANNOT_BE_PROCESSED_AT_THE_MOMENT",
                FailedRetryable,
            ),
            ("PHONE_RECENTLY_RECHARGED", FailedRetryable),
            (
                "OPERATOR_UNAVAILABLE_OR_CURRENTLY_INACTIVE",
                FailedRetryable,
            ),
            ("COULD_NOT_AUTO_DETECT_OPERATOR", FailedFinal),
            ("INVALID_RECIPIENT_PHONE", FailedFinal),
            ("INVALID_AMOUNT_FOR_OPERATOR", FailedFinal),
            ("RECIPIENT_HAS_PENDING_TRANSACTION", FailedRetryable),
            ("TOKEN_EXPIRED", Precondition),
        ];
        for (code, expected) in table {
            assert_eq!(
                classify_error(Some(code), 400),
                ErrorClass::Outcome(expected),
                "{code}"
            );
        }
        assert_eq!(
            classify_error(Some("CUSTOM_IDENTIFIER_ALREADY_USED"), 400),
            ErrorClass::LookUpOriginal
        );
    }

    #[test]
    fn unknown_codes_fall_back_on_the_http_status() {
        use TopupOutcome::*;
        assert_eq!(classify_error(None, 401), ErrorClass::Outcome(Precondition));
        assert_eq!(classify_error(None, 406), ErrorClass::Outcome(Precondition));
        assert_eq!(
            classify_error(Some("SOMETHING_NEW"), 429),
            ErrorClass::Outcome(FailedRetryable)
        );
        assert_eq!(
            classify_error(Some("SOMETHING_NEW"), 400),
            ErrorClass::Outcome(FailedFinal)
        );
    }

    #[test]
    fn statuses() {
        assert_eq!(
            classify_status("SUCCESSFUL", None),
            Some(TopupOutcome::Succeeded)
        );
        assert_eq!(
            classify_status("PROCESSING", Some("42")),
            Some(TopupOutcome::Pending {
                provider_ref: "42".into()
            })
        );
        assert_eq!(classify_status("PROCESSING", None), None);
        assert_eq!(
            classify_status("REFUNDED", Some("42")),
            Some(TopupOutcome::FailedFinal)
        );
        assert_eq!(
            classify_status("FAILED", Some("42")),
            Some(TopupOutcome::FailedFinal)
        );
        assert_eq!(classify_status("WEIRD", Some("42")), None);
    }
}
