//! Upstream Universal Logout: an identity provider or tool asks ulo to log a user out by calling
//! ulo's own Global Token Revocation endpoint, with an API token holding
//! [`MANAGE_SCOPE`] or a JWT signed by a registered upstream identity provider.

use crate::log::catalogue as events;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use super::{Logout, LogoutRequest, reason};
use crate::clock::{Clock, serde_rfc3339};
use crate::context::{Context, require_read, require_write};
use crate::error::DomainError;
use crate::ids::UserId;
use crate::log::{Actor, Client, LogEvent, Target};
use crate::store::{Store, StoreTx, UserQuery};
use crate::user::{AdminRole, User};

/// The API token scope that allows calling the Global Token Revocation endpoint.
pub const MANAGE_SCOPE: &str = "ulo.universalLogout.manage";

/// Scopes an API token may be limited to.
pub const KNOWN_SCOPES: [&str; 1] = [MANAGE_SCOPE];

/// An identity provider whose signed JWTs may ask ulo to log users out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpstreamIdp {
    /// Id.
    pub id: String,
    /// Name to show.
    pub name: String,
    /// Its `iss`.
    pub issuer: String,
    /// Its public keys (a JWKS document).
    pub jwks: Value,
    /// Created.
    #[serde(with = "serde_rfc3339")]
    pub created: OffsetDateTime,
}

/// What an admin sends to register an upstream identity provider.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUpstreamIdp {
    /// Name.
    pub name: String,
    /// Its `iss`.
    pub issuer: String,
    /// Its JWKS (`{"keys": [...]}`), asymmetric keys only.
    pub jwks: Value,
}

/// The System Log actor of an upstream identity provider.
pub fn idp_actor(idp: &UpstreamIdp) -> Actor {
    Actor {
        id: idp.id.clone(),
        actor_type: "IdentityProvider".into(),
        alternate_id: idp.issuer.clone(),
        display_name: idp.name.clone(),
    }
}

/// The context an upstream identity provider acts in: allowed to log users out, nothing else.
pub fn idp_context(idp: &UpstreamIdp, client: Client) -> Context {
    let mut ctx = Context::system("WEB");
    ctx.actor = idp_actor(idp);
    ctx.client = client;
    ctx.roles = vec![AdminRole::SuperAdmin];
    ctx.authority = crate::context::Authority::LogoutOnly;
    ctx
}

/// Registers an upstream identity provider. Needs SUPER_ADMIN.
pub async fn register_idp(
    store: &dyn Store,
    clock: &dyn Clock,
    ctx: &Context,
    new: NewUpstreamIdp,
) -> Result<UpstreamIdp, DomainError> {
    require_write(ctx)?;
    let mut p = crate::error::Problems::default();
    let name = new.name.trim().to_string();
    p.check(
        name.is_empty() || name.chars().count() > 255,
        "name: must be 1 to 255 characters",
    );
    p.check(
        url::Url::parse(&new.issuer).is_err(),
        "issuer: must be a URL (the iss of the provider's tokens)",
    );
    let keys = new.jwks.get("keys").and_then(Value::as_array);
    match keys {
        None => p.add("jwks: must be a JWKS document {\"keys\": [...]}"),
        Some(k) => {
            p.check(k.is_empty(), "jwks: needs at least one key");
            for key in k {
                let kty = key.get("kty").and_then(Value::as_str).unwrap_or("");
                p.check(
                    !matches!(kty, "RSA" | "EC" | "OKP"),
                    format!("jwks: key type {kty:?} is not an asymmetric public key"),
                );
                p.check(
                    key.get("d").is_some(),
                    "jwks: must hold public keys only (a key has a private part \"d\")",
                );
            }
        }
    }
    p.finish("The identity provider is not valid")?;
    let now = clock.now();
    let idp = UpstreamIdp {
        id: uuid::Uuid::now_v7().to_string(),
        name,
        issuer: new.issuer,
        jwks: new.jwks,
        created: now,
    };
    let mut tx = store.begin().await?;
    tx.insert_upstream_idp(&idp).await.map_err(|e| match e {
        crate::store::StoreError::Unique(_) => DomainError::Conflict(format!(
            "An identity provider with issuer {} is already registered",
            idp.issuer
        )),
        other => other.into(),
    })?;
    let ev = LogEvent::build(
        ctx,
        events::system::IDP_CREATE,
        now,
        format!("Register upstream identity provider {}", idp.name),
    )
    .target(Target::new(
        "IdentityProvider",
        &idp.id,
        idp.name.clone(),
        idp.issuer.clone(),
    ))
    .finish();
    tx.append_event(&ev).await?;
    tx.commit().await?;
    Ok(idp)
}

/// Registered upstream identity providers. Needs an admin role.
pub async fn list_idps(store: &dyn Store, ctx: &Context) -> Result<Vec<UpstreamIdp>, DomainError> {
    require_read(ctx)?;
    Ok(store.read().await?.list_upstream_idps().await?)
}

/// Removes an upstream identity provider. Needs SUPER_ADMIN.
pub async fn delete_idp(
    store: &dyn Store,
    clock: &dyn Clock,
    ctx: &Context,
    id: &str,
) -> Result<(), DomainError> {
    require_write(ctx)?;
    let mut tx = store.begin().await?;
    let Some(idp) = tx
        .list_upstream_idps()
        .await?
        .into_iter()
        .find(|i| i.id == id)
    else {
        return Err(DomainError::not_found("identity provider", id));
    };
    tx.delete_upstream_idp(id).await?;
    let ev = LogEvent::build(
        ctx,
        events::system::IDP_DELETE,
        clock.now(),
        format!("Remove upstream identity provider {}", idp.name),
    )
    .target(Target::new(
        "IdentityProvider",
        &idp.id,
        idp.name.clone(),
        idp.issuer.clone(),
    ))
    .finish();
    tx.append_event(&ev).await?;
    tx.commit().await?;
    Ok(())
}

/// The identity provider with `issuer`, if registered.
pub async fn idp_by_issuer(
    store: &dyn Store,
    issuer: &str,
) -> Result<Option<UpstreamIdp>, DomainError> {
    Ok(store
        .read()
        .await?
        .list_upstream_idps()
        .await?
        .into_iter()
        .find(|i| i.issuer == issuer))
}

/// Records a JWT's `jti` from `idp` until `expires`; false when it was already used.
pub async fn remember_idp_jti(
    store: &dyn Store,
    idp: &UpstreamIdp,
    jti: &str,
    expires: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<bool, DomainError> {
    let mut tx = store.begin().await?;
    let fresh = tx
        .remember_jti(&format!("gtr-upstream:{}", idp.id), jti, expires, now)
        .await?;
    tx.commit().await?;
    Ok(fresh)
}

/// Why a subject could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubjectError {
    /// Malformed or an unsupported format (400).
    Invalid(String),
    /// No such user (404).
    Unknown,
}

pub(crate) async fn resolve(
    tx: &mut dyn StoreTx,
    issuer: &str,
    sub_id: &Value,
) -> Result<Result<User, SubjectError>, DomainError> {
    let invalid = |m: &str| Ok(Err(SubjectError::Invalid(m.to_string())));
    let Some(format) = sub_id.get("format").and_then(Value::as_str) else {
        return invalid("sub_id: needs a format");
    };
    let field = |k: &str| {
        sub_id
            .get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let found = match format {
        "email" => {
            let Some(email) = field("email") else {
                return invalid("sub_id: format email needs email");
            };
            match tx.get_user_by_login(email).await? {
                Some(u) => Some(u),
                None => {
                    let filter = crate::filter::parse(&format!(
                        "profile.email eq \"{}\"",
                        email.replace('\\', "\\\\").replace('"', "\\\"")
                    ))
                    .map_err(|e| DomainError::invalid("sub_id", e.to_string()))?;
                    let q = UserQuery {
                        filter: Some(filter),
                        page: crate::store::Page {
                            after: None,
                            limit: 2,
                        },
                        ..UserQuery::default()
                    };
                    let mut users = tx.list_users(&q).await?;
                    // An email two users share names nobody in particular.
                    if users.len() == 1 { users.pop() } else { None }
                }
            }
        }
        "iss_sub" => {
            let (Some(iss), Some(sub)) = (field("iss"), field("sub")) else {
                return invalid("sub_id: format iss_sub needs iss and sub");
            };
            if iss.trim_end_matches('/') == issuer.trim_end_matches('/') {
                match sub.parse::<UserId>() {
                    Ok(id) => tx.get_user(id).await?,
                    Err(_) => None,
                }
            } else {
                // Another issuer's id: the externalId its SCIM provisioning gave the user.
                let ids = tx.list_scim_external_ids("User").await?;
                match ids.iter().find(|(_, ext)| ext == sub) {
                    Some((id, _)) => match id.parse::<UserId>() {
                        Ok(id) => tx.get_user(id).await?,
                        Err(_) => None,
                    },
                    None => None,
                }
            }
        }
        "opaque" => {
            let Some(id) = field("id") else {
                return invalid("sub_id: format opaque needs id");
            };
            match id.parse::<UserId>() {
                Ok(id) => tx.get_user(id).await?,
                Err(_) => None,
            }
        }
        other => {
            return Ok(Err(SubjectError::Invalid(format!(
                "sub_id: format {other:?} is not supported (use email, iss_sub or opaque)"
            ))));
        }
    };
    Ok(found.ok_or(SubjectError::Unknown))
}

/// Logs out the user `sub_id` names (reason UPSTREAM, everything: ulo, tokens, every app).
/// `Ok(Err(_))` when the subject is malformed or names nobody.
pub async fn revoke(
    store: &dyn Store,
    clock: &dyn Clock,
    ctx: &Context,
    issuer: &str,
    sub_id: &Value,
    deadlines: super::Deadlines,
) -> Result<Result<Logout, SubjectError>, DomainError> {
    require_write(ctx)?;
    let mut tx = store.begin().await?;
    let user = match resolve(tx.as_mut(), issuer, sub_id).await? {
        Ok(u) => u,
        Err(e) => return Ok(Err(e)),
    };
    let request = LogoutRequest::everything(reason::UPSTREAM);
    let logout = super::start_in(tx.as_mut(), ctx, &user, &request, deadlines, clock.now()).await?;
    tx.commit().await?;
    Ok(Ok(logout))
}
