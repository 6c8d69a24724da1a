//! The entry to Universal Logout for admins and API callers: start one, preview it (dry run),
//! read receipts. Checks the caller's role once here; the work is in [`super::start`].

use super::api_tokens;
use super::start::{plan, start_in};
use super::{Deadlines, Logout, LogoutRequest, LogoutStatus, TargetStatus, TargetType};
use crate::clock::Clock;
use crate::context::{Context, require_read, require_write};
use crate::directory::load_user;
use crate::error::DomainError;
use crate::ids::{LogoutId, SessionId};
use crate::store::{Page, Store};

/// Universal Logouts, as an admin starts and reads them.
pub struct Logouts<'a> {
    /// Where everything is kept.
    pub store: &'a dyn Store,
    /// What time it is.
    pub clock: &'a dyn Clock,
    /// How long each kind of target is waited on.
    pub deadlines: Deadlines,
}

impl Logouts<'_> {
    /// Starts a Universal Logout of the user named by `key` (id or login). Needs SUPER_ADMIN.
    pub async fn start(
        &self,
        ctx: &Context,
        key: &str,
        request: &LogoutRequest,
    ) -> Result<Logout, DomainError> {
        require_write(ctx)?;
        let mut tx = self.store.begin().await?;
        let user = load_user(tx.as_mut(), key).await?;
        let now = self.clock.now();
        let logout = start_in(tx.as_mut(), ctx, &user, request, self.deadlines, now).await?;
        // An admin's Universal Logout resets the entity risk level (SPEC §3).
        crate::risk::reset_if_risky_in(
            tx.as_mut(),
            ctx,
            &user,
            "an admin started a Universal Logout",
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(logout)
    }

    /// The receipt a logout would produce, changing nothing (dry run). Needs SUPER_ADMIN, like the
    /// logout itself: it reveals which apps the user reaches and under which ids.
    pub async fn preview(
        &self,
        ctx: &Context,
        key: &str,
        request: &LogoutRequest,
    ) -> Result<Logout, DomainError> {
        require_write(ctx)?;
        let mut tx = self.store.read().await?;
        let user = load_user(tx.as_mut(), key).await?;
        let now = self.clock.now();
        let sessions: Vec<SessionId> = tx
            .list_open_sessions(user.id)
            .await?
            .into_iter()
            .map(|s| s.id)
            .collect();
        let (mut logout, _, _) = plan(tx.as_mut(), ctx, &user, request, &sessions, now).await?;
        let live_grants = tx.list_grants(user.id, now).await?;
        let api_token_plan = api_tokens::plan(tx.as_mut(), &user).await?;
        for t in &mut logout.targets {
            t.count = match t.target_type {
                TargetType::UloSessions => Some(sessions.len() as i64),
                TargetType::OauthTokens => Some(
                    live_grants
                        .iter()
                        .map(|g| g.refresh_tokens + g.access_tokens)
                        .sum(),
                ),
                TargetType::ApiTokens if t.status == TargetStatus::Skipped => None,
                TargetType::ApiTokens => {
                    // What it would answer: the break-glass token stays.
                    if let Some(kept) = api_token_plan.kept_message() {
                        t.last_http_status = Some(api_tokens::KEPT_STATUS);
                        t.last_error = Some(kept);
                    }
                    Some(api_token_plan.revoke.len() as i64)
                }
                TargetType::App | TargetType::Device => None,
            };
        }
        Ok(logout)
    }

    /// A receipt. Needs an admin role.
    pub async fn get(&self, ctx: &Context, id: &str) -> Result<Logout, DomainError> {
        require_read(ctx)?;
        let lid: LogoutId = id
            .parse()
            .map_err(|_| DomainError::not_found("logout", id))?;
        let mut tx = self.store.read().await?;
        tx.get_logout(lid)
            .await?
            .ok_or_else(|| DomainError::not_found("logout", id))
    }

    /// Receipts, newest first, optionally of one user (by id or login) and in one status. Needs an
    /// admin role.
    pub async fn list(
        &self,
        ctx: &Context,
        user: Option<&str>,
        status: Option<LogoutStatus>,
        page: &Page,
    ) -> Result<Vec<Logout>, DomainError> {
        require_read(ctx)?;
        let mut tx = self.store.read().await?;
        let user_id = match user {
            None => None,
            Some(key) => match key.parse() {
                Ok(id) => Some(id),
                // A login: the user must still exist to be named that way.
                Err(_) => Some(load_user(tx.as_mut(), key).await?.id),
            },
        };
        if let Some(after) = &page.after {
            after
                .parse::<LogoutId>()
                .map_err(|_| DomainError::invalid("after", "after: not a logout id"))?;
        }
        Ok(tx.list_logouts(user_id, status, page).await?)
    }
}
