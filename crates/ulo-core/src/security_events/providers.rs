//! The admin registry of security events providers: create, list, read, replace, delete,
//! activate and deactivate. Reads need an admin role; changes a SUPER_ADMIN with an
//! unrestricted credential (a logout-only token cannot change where risk signals come from).

use crate::log::catalogue as events;

use super::{Discovery, NewProvider, PROVIDER_TYPE, Provider, ProviderStatus};
use crate::clock::Clock;
use crate::context::{Authority, Context, require_read, require_write};
use crate::error::{DomainError, Problems};
use crate::log::{LogEvent, Target};
use crate::outbound::OutboundPolicy;
use crate::store::{Store, StoreError, StoreTx};

/// The registry over a store.
pub struct Providers<'a> {
    /// Storage.
    pub store: &'a dyn Store,
    /// Time.
    pub clock: &'a dyn Clock,
    /// Which URLs ulo may fetch keys and configurations from.
    pub outbound: OutboundPolicy,
    /// Reads SSF configurations (`wellKnownUrl`).
    pub discovery: &'a dyn Discovery,
}

fn require_config(ctx: &Context) -> Result<(), DomainError> {
    require_write(ctx)?;
    if ctx.authority != Authority::Full {
        return Err(DomainError::Forbidden(
            "This credential may only log users out; it cannot change security events providers"
                .into(),
        ));
    }
    Ok(())
}

/// The System Log target of a provider.
pub(super) fn provider_target(p: &Provider) -> Target {
    Target::new(
        "SecurityEventsProvider",
        &p.id,
        p.issuer.clone(),
        p.name.clone(),
    )
}

fn issuer_taken(issuer: &str) -> DomainError {
    DomainError::invalid(
        "The security events provider is not valid",
        format!("settings.issuer: a provider with issuer {issuer:?} is already registered"),
    )
}

/// Name, issuer, JWKS URL and SSF configuration URL once checked (and discovered).
struct Checked {
    name: String,
    issuer: String,
    jwks_url: String,
    well_known_url: Option<String>,
}

impl Providers<'_> {
    async fn check(&self, new: NewProvider) -> Result<Checked, DomainError> {
        const SUMMARY: &str = "The security events provider is not valid";
        let mut p = Problems::default();
        let name = new.name.trim().to_string();
        p.check(
            name.is_empty() || name.chars().count() > 255,
            "name: must be 1 to 255 characters",
        );
        if let Some(t) = &new.provider_type {
            p.check(
                t != PROVIDER_TYPE,
                format!("type: must be {PROVIDER_TYPE:?}"),
            );
        }
        let s = new.settings;
        let nonempty = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let (issuer, jwks_url, well_known) = (
            nonempty(&s.issuer),
            nonempty(&s.jwks_url),
            nonempty(&s.well_known_url),
        );
        match (&issuer, &jwks_url, &well_known) {
            (_, _, Some(w)) => {
                p.check(
                    issuer.is_some() || jwks_url.is_some(),
                    "settings: give either issuer and jwks_url, or wellKnownUrl, not both",
                );
                if let Err(e) = self.outbound.check_url("settings.wellKnownUrl", w) {
                    p.add(e);
                }
            }
            (i, j, None) => {
                p.check(
                    i.is_none(),
                    "settings.issuer: required (the iss of the provider's SETs), unless wellKnownUrl is given",
                );
                p.check(
                    i.as_ref().is_some_and(|i| i.chars().count() > 1000),
                    "settings.issuer: at most 1000 characters",
                );
                match j {
                    None => p.add("settings.jwks_url: required (where the provider's public keys are), unless wellKnownUrl is given"),
                    Some(j) => {
                        if let Err(e) = self.outbound.check_url("settings.jwks_url", j) {
                            p.add(e);
                        }
                    }
                }
            }
        }
        p.finish(SUMMARY)?;
        if let Some(w) = well_known {
            let conf = self.discovery.ssf_configuration(&w).await.map_err(|e| {
                DomainError::invalid(
                    SUMMARY,
                    format!("settings.wellKnownUrl: could not read the SSF configuration: {e}"),
                )
            })?;
            self.outbound
                .check_url("settings.wellKnownUrl (its jwks_uri)", &conf.jwks_uri)
                .map_err(|e| DomainError::invalid(SUMMARY, e))?;
            return Ok(Checked {
                name,
                issuer: conf.issuer,
                jwks_url: conf.jwks_uri,
                well_known_url: Some(w),
            });
        }
        match (issuer, jwks_url) {
            (Some(issuer), Some(jwks_url)) => Ok(Checked {
                name,
                issuer,
                jwks_url,
                well_known_url: None,
            }),
            _ => Err(DomainError::invalid(SUMMARY, "settings: incomplete")),
        }
    }

    /// Registers a provider (ACTIVE). With `wellKnownUrl`, its SSF configuration is read now
    /// for the issuer and `jwks_uri`. Needs SUPER_ADMIN with an unrestricted credential.
    pub async fn create(&self, ctx: &Context, new: NewProvider) -> Result<Provider, DomainError> {
        require_config(ctx)?;
        let c = self.check(new).await?;
        let now = self.clock.now();
        let provider = Provider {
            id: uuid::Uuid::now_v7().to_string(),
            name: c.name,
            status: ProviderStatus::Active,
            issuer: c.issuer,
            jwks_url: c.jwks_url,
            well_known_url: c.well_known_url,
            created: now,
            last_updated: now,
        };
        let mut tx = self.store.begin().await?;
        if tx
            .find_security_events_provider(&provider.issuer)
            .await?
            .is_some()
        {
            return Err(issuer_taken(&provider.issuer));
        }
        tx.insert_security_events_provider(&provider)
            .await
            .map_err(|e| match e {
                StoreError::Unique(_) => issuer_taken(&provider.issuer),
                other => other.into(),
            })?;
        log(
            tx.as_mut(),
            ctx,
            events::security_events::PROVIDER_CREATE,
            &provider,
            "Register security events provider",
            self.clock.now(),
        )
        .await?;
        tx.commit().await?;
        Ok(provider)
    }

    /// Every provider (not paged). Any admin role.
    pub async fn list(&self, ctx: &Context) -> Result<Vec<Provider>, DomainError> {
        require_read(ctx)?;
        Ok(self
            .store
            .read()
            .await?
            .list_security_events_providers()
            .await?)
    }

    /// One provider. Any admin role.
    pub async fn get(&self, ctx: &Context, id: &str) -> Result<Provider, DomainError> {
        require_read(ctx)?;
        self.store
            .read()
            .await?
            .get_security_events_provider(id)
            .await?
            .ok_or_else(|| DomainError::not_found("security events provider", id))
    }

    /// Replaces a provider's name and settings (its status stays).
    pub async fn update(
        &self,
        ctx: &Context,
        id: &str,
        new: NewProvider,
    ) -> Result<Provider, DomainError> {
        require_config(ctx)?;
        let c = self.check(new).await?;
        let mut tx = self.store.begin().await?;
        let mut provider = existing(tx.as_mut(), id).await?;
        if let Some(other) = tx.find_security_events_provider(&c.issuer).await?
            && other.id != provider.id
        {
            return Err(issuer_taken(&c.issuer));
        }
        provider.name = c.name;
        provider.issuer = c.issuer;
        provider.jwks_url = c.jwks_url;
        provider.well_known_url = c.well_known_url;
        provider.last_updated = self.clock.now();
        tx.update_security_events_provider(&provider)
            .await
            .map_err(|e| match e {
                StoreError::Unique(_) => issuer_taken(&provider.issuer),
                other => other.into(),
            })?;
        log(
            tx.as_mut(),
            ctx,
            events::security_events::PROVIDER_UPDATE,
            &provider,
            "Update security events provider",
            self.clock.now(),
        )
        .await?;
        tx.commit().await?;
        Ok(provider)
    }

    /// Activates or deactivates a provider (an inactive provider's SETs are refused).
    pub async fn set_status(
        &self,
        ctx: &Context,
        id: &str,
        status: ProviderStatus,
    ) -> Result<Provider, DomainError> {
        require_config(ctx)?;
        let mut tx = self.store.begin().await?;
        let mut provider = existing(tx.as_mut(), id).await?;
        if provider.status == status {
            return Ok(provider);
        }
        provider.status = status;
        provider.last_updated = self.clock.now();
        tx.update_security_events_provider(&provider).await?;
        let (event, what) = match status {
            ProviderStatus::Active => (
                events::security_events::PROVIDER_ACTIVATE,
                "Activate security events provider",
            ),
            ProviderStatus::Inactive => (
                events::security_events::PROVIDER_DEACTIVATE,
                "Deactivate security events provider",
            ),
        };
        log(tx.as_mut(), ctx, event, &provider, what, self.clock.now()).await?;
        tx.commit().await?;
        Ok(provider)
    }

    /// Removes a provider; its SETs are refused from then on.
    pub async fn delete(&self, ctx: &Context, id: &str) -> Result<(), DomainError> {
        require_config(ctx)?;
        let mut tx = self.store.begin().await?;
        let provider = existing(tx.as_mut(), id).await?;
        tx.delete_security_events_provider(id).await?;
        log(
            tx.as_mut(),
            ctx,
            events::security_events::PROVIDER_DELETE,
            &provider,
            "Remove security events provider",
            self.clock.now(),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

async fn existing(tx: &mut dyn StoreTx, id: &str) -> Result<Provider, DomainError> {
    tx.get_security_events_provider(id)
        .await?
        .ok_or_else(|| DomainError::not_found("security events provider", id))
}

async fn log(
    tx: &mut dyn StoreTx,
    ctx: &Context,
    event: events::EventType,
    p: &Provider,
    what: &str,
    now: time::OffsetDateTime,
) -> Result<(), DomainError> {
    let ev = LogEvent::build(ctx, event, now, format!("{what} {}", p.name))
        .target(provider_target(p))
        .debug("issuer", p.issuer.clone())
        .debug("jwksUrl", p.jwks_url.clone())
        .debug("status", p.status.as_str())
        .finish();
    tx.append_event(&ev).await?;
    Ok(())
}
