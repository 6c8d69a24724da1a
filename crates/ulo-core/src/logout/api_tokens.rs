//! The API-token part of a logout: who may revoke a user's API tokens, and the break-glass rule
//! that never revokes the last working SUPER_ADMIN token (without it nobody could use the admin
//! API again short of reaching into the data directory).

use crate::log::catalogue as events;
use time::OffsetDateTime;

use crate::auth::ApiToken;
use crate::context::{Authority, Context};
use crate::error::DomainError;
use crate::log::{LogEvent, Outcome, Severity, Target};
use crate::store::{StoreRead, StoreTx};
use crate::user::{AdminRole, User, UserStatus};

/// Why the API_TOKENS target of a logout started by a logout-only credential is skipped.
pub(crate) const NOT_BY_LOGOUT_ONLY: &str = "not revoked: API tokens are revoked only by a SUPER_ADMIN acting with an unrestricted token, never by an upstream identity provider or a token limited to ulo.universalLogout.manage";

/// The HTTP-style status the API_TOKENS target shows when it kept the break-glass token.
pub(crate) const KEPT_STATUS: u16 = 409;

/// Whether `ctx` may revoke API tokens in a logout at all.
pub(crate) fn may_revoke(ctx: &Context) -> bool {
    ctx.authority != Authority::LogoutOnly
}

/// What revoking `user`'s API tokens does: the live tokens to revoke, and the one kept because
/// it is the last working SUPER_ADMIN token.
#[derive(Debug, Default)]
pub(crate) struct ApiTokenPlan {
    /// Live tokens to revoke.
    pub revoke: Vec<ApiToken>,
    /// The break-glass token left alone.
    pub keep: Option<ApiToken>,
}

impl ApiTokenPlan {
    /// What the receipt says about the kept token.
    pub fn kept_message(&self) -> Option<String> {
        self.keep.as_ref().map(|t| {
            format!(
                "Kept API token {:?} ({}…): it is the last working SUPER_ADMIN API token, and revoking it would lock every admin out of the API. Create another SUPER_ADMIN token (or grant SUPER_ADMIN to someone with one), then revoke this one with DELETE /api/v1/api-tokens/{}",
                t.name, t.token_prefix, t.id
            )
        })
    }
}

/// Plans the revocation of `user`'s live API tokens.
pub(crate) async fn plan(tx: &mut dyn StoreRead, user: &User) -> Result<ApiTokenPlan, DomainError> {
    let mut revoke: Vec<ApiToken> = tx
        .list_api_tokens(user.id)
        .await?
        .into_iter()
        .filter(|t| t.revoked.is_none())
        .collect();
    // A token works only for an ACTIVE owner: a user leaving ACTIVE (deactivation) takes theirs
    // with them, and the lifecycle rules already keep another active SUPER_ADMIN.
    let keeps_last = user.status == UserStatus::Active
        && revoke.iter().any(|t| t.scopes.is_none())
        && tx
            .list_roles(user.id)
            .await?
            .contains(&AdminRole::SuperAdmin)
        && !other_working_super_admin_token(tx, user).await?;
    let mut keep = None;
    if keeps_last {
        // The one most recently used (most likely the one in the operator's hands), else the
        // newest.
        if let Some(i) = revoke
            .iter()
            .enumerate()
            .filter(|(_, t)| t.scopes.is_none())
            .max_by_key(|(_, t)| (t.last_used.is_some(), t.last_used, t.created))
            .map(|(i, _)| i)
        {
            keep = Some(revoke.remove(i));
        }
    }
    Ok(ApiTokenPlan { revoke, keep })
}

/// Whether an ACTIVE SUPER_ADMIN other than `user` holds a live unrestricted API token.
async fn other_working_super_admin_token(
    tx: &mut dyn StoreRead,
    user: &User,
) -> Result<bool, DomainError> {
    for holder in tx.role_holders(AdminRole::SuperAdmin).await? {
        if holder.id == user.id || holder.status != UserStatus::Active {
            continue;
        }
        if tx
            .list_api_tokens(holder.id)
            .await?
            .iter()
            .any(|t| t.revoked.is_none() && t.scopes.is_none())
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Revokes `user`'s API tokens as [`plan`] decides, with an event per token and one for a kept
/// break-glass token.
pub(crate) async fn revoke(
    tx: &mut dyn StoreTx,
    ctx: &Context,
    user: &User,
    now: OffsetDateTime,
) -> Result<(i64, ApiTokenPlan), DomainError> {
    let planned = plan(tx, user).await?;
    let mut n = 0;
    for token in &planned.revoke {
        if !tx.revoke_api_token(token.id, now).await? {
            continue;
        }
        n += 1;
        let ev = LogEvent::build(
            ctx,
            events::system::API_TOKEN_REVOKE,
            now,
            format!("Revoke API token {}", token.name),
        )
        .target(token_target(token))
        .target(Target::user(user))
        .debug("reason", "UNIVERSAL_LOGOUT")
        .finish();
        tx.append_event(&ev).await?;
    }
    if let (Some(token), Some(why)) = (&planned.keep, planned.kept_message()) {
        let ev = LogEvent::build(
            ctx,
            events::system::API_TOKEN_REVOKE,
            now,
            format!(
                "Keep API token {}: the last working SUPER_ADMIN token",
                token.name
            ),
        )
        .target(token_target(token))
        .target(Target::user(user))
        .outcome(Outcome::failure("LAST_SUPER_ADMIN_TOKEN"))
        .severity(Severity::Warn)
        .debug("reason", "UNIVERSAL_LOGOUT")
        .debug("detail", why)
        .finish();
        tx.append_event(&ev).await?;
    }
    Ok((n, planned))
}

fn token_target(token: &ApiToken) -> Target {
    Target::new(
        "Token",
        token.id,
        token.name.clone(),
        token.token_prefix.clone(),
    )
}
