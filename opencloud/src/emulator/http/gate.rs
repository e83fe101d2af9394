//! The gate every request passes before its handler's body (latency, request log, injected
//! faults, API key, budgets), and what is added to the answer afterwards.

use std::time::Duration;

use axum::http::HeaderMap;
use axum::response::Response;

use super::errors::{self, Shape, add_rate_headers};
use crate::emulator::auth::AuthError;
use crate::emulator::budget::{BudgetClass, RateInfo};
use crate::emulator::experience::RequestType;
use crate::emulator::faults::{FaultKind, Operation};
use crate::emulator::server::Emulator;

/// A request that passed the gate.
pub(crate) struct Admitted {
    /// The API key's name (the writer name).
    pub key_name: String,
    rate: Option<RateInfo>,
    lost: Option<(u64, u16)>,
    shape: Shape,
}

/// What a request needs to pass.
pub(crate) struct Needs<'a> {
    pub op: Operation,
    pub shape: Shape,
    pub universe_id: Option<u64>,
    pub scopes: &'a [&'a str],
    pub budget: Option<BudgetClass>,
    /// The experience-wide request type spent (v2 data-store calls, shared with game servers).
    pub experience: Option<RequestType>,
    /// False for the legacy users endpoint, which needs no key.
    pub auth: bool,
}

impl<'a> Needs<'a> {
    /// A keyed data-store or messaging call: `shape` errors, `scopes` on `universe_id`, one
    /// request of `class`.
    pub(crate) fn keyed(
        op: Operation,
        shape: Shape,
        universe_id: Option<u64>,
        scopes: &'a [&'a str],
        class: BudgetClass,
    ) -> Self {
        Self {
            op,
            shape,
            universe_id,
            scopes,
            budget: Some(class),
            experience: None,
            auth: true,
        }
    }

    /// A keyed v2 data-store call: like [`Needs::keyed`], but spending one request of the
    /// experience budget it shares with game servers instead of an Open Cloud class.
    pub(crate) fn shared(
        op: Operation,
        shape: Shape,
        universe_id: Option<u64>,
        scopes: &'a [&'a str],
        request_type: RequestType,
    ) -> Self {
        Self {
            op,
            shape,
            universe_id,
            scopes,
            budget: None,
            experience: Some(request_type),
            auth: true,
        }
    }
}

/// Latency, request log, injected faults, API key, Open Cloud budget and experience budget, in
/// that order.
pub(crate) async fn gate(
    emulator: &Emulator,
    headers: &HeaderMap,
    needs: Needs<'_>,
) -> Result<Admitted, Response> {
    let decision = emulator.faults.decide(needs.op);
    if decision.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(decision.delay_ms)).await;
    }
    let mut lost = None;
    match decision.fault {
        Some(FaultKind::Status(status)) => return Err(errors::server_error(needs.shape, status)),
        Some(FaultKind::RateLimited {
            retry_after_s,
            reset_s,
        }) => {
            return Err(errors::throttled(
                needs.shape,
                RateInfo {
                    limit: 0,
                    remaining: 0,
                    reset_seconds: reset_s,
                },
                retry_after_s,
            ));
        }
        Some(FaultKind::ResponseLost { hang_ms, status }) => lost = Some((hang_ms, status)),
        None => {}
    }
    let key_name = if needs.auth {
        let presented = headers.get("x-api-key").and_then(|v| v.to_str().ok());
        match emulator
            .keys
            .authorize(presented, needs.universe_id, needs.scopes)
        {
            Ok(key) => key.name.clone(),
            Err(AuthError::InvalidKey) => return Err(errors::invalid_api_key()),
            Err(AuthError::Forbidden(message)) => {
                return Err(errors::forbidden(needs.shape, &message));
            }
        }
    } else {
        "anonymous".to_owned()
    };
    let mut rate = None;
    if let Some(class) = needs.budget {
        match emulator.budgets.take(
            needs.universe_id.unwrap_or(0),
            class,
            emulator.clock.now_ms(),
        ) {
            Ok(info) => rate = info,
            Err(info) => {
                return Err(errors::throttled(
                    needs.shape,
                    info,
                    Some(info.reset_seconds),
                ));
            }
        }
    }
    if let Some(t) = needs.experience {
        match emulator.experience.take_requests(
            needs.universe_id.unwrap_or(0),
            &[t],
            emulator.clock.now_ms(),
        ) {
            Ok(info) => rate = info.or(rate),
            Err(refused) => return Err(errors::experience_throttled(needs.shape, refused)),
        }
    }
    Ok(Admitted {
        key_name,
        rate,
        lost,
        shape: needs.shape,
    })
}

impl Admitted {
    /// Adds rate-limit headers, or swaps the response for a lost one (the work is already done).
    pub(crate) async fn finish(self, mut response: Response) -> Response {
        if let Some((hang_ms, status)) = self.lost {
            if hang_ms > 0 {
                tokio::time::sleep(Duration::from_millis(hang_ms)).await;
            }
            return errors::server_error(self.shape, status);
        }
        if let Some(info) = self.rate {
            add_rate_headers(response.headers_mut(), info);
        }
        response
    }
}
