//! First start: with an empty store, create a super admin with a password (for the admin
//! console) and an API token (for the API), each shown once.

use ulo_core::auth::ApiToken;
use ulo_core::clock::Clock;
use ulo_core::context::Context;
use ulo_core::error::DomainError;
use ulo_core::ids::UserId;
use ulo_core::log::catalogue as events;
use ulo_core::log::{LogEvent, Target};
use ulo_core::store::Store;
use ulo_core::user::{AdminRole, ProvisionedBy, RiskLevel, User, UserProfile, UserStatus};

/// What bootstrap created; the token secret is shown once.
#[derive(Debug)]
pub struct Bootstrapped {
    /// The super admin.
    pub admin: User,
    /// The API token secret.
    pub token: String,
    /// The admin's password, for the admin console (change it after the first sign-in).
    pub password: String,
}

/// Creates the first super admin and token when the store has no users; `None` otherwise.
/// `token` (from `ULO_BOOTSTRAP_TOKEN`) becomes the token when given.
pub async fn bootstrap(
    store: &dyn Store,
    clock: &dyn Clock,
    login: &str,
    token: Option<String>,
) -> Result<Option<Bootstrapped>, DomainError> {
    let mut tx = store.begin().await?;
    if tx.count_users().await? > 0 {
        return Ok(None);
    }
    let now = clock.now();
    let profile = UserProfile {
        login: login.to_string(),
        email: login.to_string(),
        first_name: "ulo".into(),
        last_name: "Administrator".into(),
        ..Default::default()
    };
    profile.validate()?;
    let admin = User {
        id: UserId::new(),
        status: UserStatus::Active,
        provisioned_by: ProvisionedBy::Api,
        risk_level: RiskLevel::Low,
        created: now,
        activated: Some(now),
        status_changed: Some(now),
        last_updated: now,
        password_changed: None,
        last_login: None,
        profile,
    };
    let secret = match token {
        Some(t) if t.trim().len() >= 20 => t.trim().to_string(),
        Some(_) => {
            return Err(DomainError::invalid(
                "ULO_BOOTSTRAP_TOKEN is too short",
                "it must be at least 20 characters",
            ));
        }
        None => ulo_core::auth::new_token_secret(),
    };
    let api_token = ApiToken::new(admin.id, "bootstrap", &secret, now);
    let ctx = Context::system("BOOTSTRAP");
    let password = ulo_core::auth::random_base62(20);
    let hash = crate::password::hash(password.clone())
        .await
        .map_err(|e| DomainError::Store(ulo_core::store::StoreError::Corrupt(e.summary)))?;
    let mut admin = admin;
    admin.password_changed = Some(now);
    tx.insert_user(&admin, Some(&hash)).await?;
    tx.grant_role(admin.id, AdminRole::SuperAdmin, now).await?;
    tx.insert_api_token(&api_token).await?;
    for (ty, msg) in [
        (events::user::CREATE, "Create the first super admin"),
        (
            events::user::PRIVILEGE_GRANT,
            "Grant SUPER_ADMIN to the first admin",
        ),
        (
            events::system::API_TOKEN_CREATE,
            "Create the bootstrap API token",
        ),
    ] {
        let ev = LogEvent::build(&ctx, ty, now, msg)
            .target(Target::user(&admin))
            .finish();
        tx.append_event(&ev).await?;
    }
    tx.commit().await?;
    Ok(Some(Bootstrapped {
        admin,
        token: secret,
        password,
    }))
}
