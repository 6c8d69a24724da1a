//! What every conformance file builds its data from.

use time::OffsetDateTime;
use ulo_core::app::{App, AppSecrets, AppStatus, AppType, LogoutSettings, SubjectFormat};
use ulo_core::group::{Group, GroupProfile};
use ulo_core::ids::{AppId, GroupId, UserId};
use ulo_core::store::Store;
use ulo_core::user::{ProvisionedBy, RiskLevel, User, UserProfile, UserStatus};

pub(crate) fn t0() -> OffsetDateTime {
    time::macros::datetime!(2026-11-01 12:00:00 UTC)
}

pub(crate) fn user(login: &str, first: &str) -> User {
    User {
        id: UserId::new(),
        status: UserStatus::Active,
        provisioned_by: ProvisionedBy::Api,
        risk_level: RiskLevel::Low,
        created: t0(),
        activated: Some(t0()),
        status_changed: None,
        last_updated: t0(),
        password_changed: None,
        last_login: None,
        profile: UserProfile {
            login: login.into(),
            email: login.into(),
            first_name: first.into(),
            last_name: "Tester".into(),
            ..Default::default()
        },
    }
}

pub(crate) fn group(name: &str) -> Group {
    Group {
        id: GroupId::new(),
        created: t0(),
        last_updated: t0(),
        last_membership_updated: t0(),
        profile: GroupProfile {
            name: name.into(),
            description: None,
        },
    }
}

pub(crate) fn app(label: &str) -> App {
    App {
        id: AppId::new(),
        label: label.into(),
        app_type: AppType::Oidc,
        status: AppStatus::Active,
        created: t0(),
        last_updated: t0(),
        oidc: None,
        logout: LogoutSettings {
            enabled: true,
            protocol: None,
            endpoint: Some("https://a.example.com/gtr".into()),
            subject_format: SubjectFormat::IssSub,
        },
        provisioning: None,
        secrets: AppSecrets {
            client_secret_hash: Some("h".into()),
            scim_token_sealed: Some("v1.sealed".into()),
        },
    }
}

pub(crate) async fn insert_user(store: &dyn Store, u: &User) {
    let mut tx = store.begin().await.unwrap();
    tx.insert_user(u, Some("phc")).await.unwrap();
    tx.commit().await.unwrap();
}
