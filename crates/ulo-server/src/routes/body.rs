//! Typed response bodies of the directory endpoints: ulo's models as the API shows them (with
//! their `_links`), and the shapes built around them. Each serializes to the JSON the endpoint
//! answered when it was built with `json!`.

use serde::Serialize;
use ulo_core::app::{App, AppStatus, AppType, LogoutSettings, OidcClient, Provisioning};
use ulo_core::device::Device;
use ulo_core::group::Group;
use ulo_core::ids::{AppId, GroupId, LogoutId, UserId};
use ulo_core::log::Actor;
use ulo_core::logout::{Logout, LogoutScope, LogoutStatus, LogoutTarget};
use ulo_core::provisioning::{AppUserLink, Desired, LinkState};
use ulo_core::user::{AdminRole, User, UserStatus};

/// A link.
#[derive(Serialize)]
pub struct Href {
    /// Where it points.
    pub href: String,
}

impl Href {
    fn new(href: impl Into<String>) -> Self {
        Href { href: href.into() }
    }
}

/// A model with its `_links` beside its own fields.
#[derive(Serialize)]
pub struct Linked<T, L> {
    /// The model.
    #[serde(flatten)]
    pub item: T,
    /// Where to go from it.
    #[serde(rename = "_links")]
    pub links: L,
}

/// A user as the API shows it.
pub type UserBody = Linked<User, UserLinks>;

/// A user's links.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserLinks {
    #[serde(rename = "self")]
    this: Href,
    groups: Href,
    app_links: Href,
}

/// A user as the API shows it.
pub fn user(issuer: &str, u: User) -> UserBody {
    let base = format!("{issuer}/api/v1/users/{}", u.id);
    Linked {
        item: u,
        links: UserLinks {
            groups: Href::new(format!("{base}/groups")),
            app_links: Href::new(format!("{base}/appLinks")),
            this: Href::new(base),
        },
    }
}

/// A user, with the Universal Logout a password reset started.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserWithLogout {
    /// The user.
    #[serde(flatten)]
    pub user: UserBody,
    /// The logout's receipt id.
    pub logout_id: LogoutId,
}

/// A group as the API shows it.
#[derive(Serialize)]
pub struct GroupBody {
    #[serde(flatten)]
    group: Group,
    /// Always `OKTA_GROUP` (Okta's type of groups kept in its directory).
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(rename = "_links")]
    links: GroupLinks,
}

/// A group's links.
#[derive(Serialize)]
struct GroupLinks {
    #[serde(rename = "self")]
    this: Href,
    users: Href,
}

/// A group as the API shows it.
pub fn group(issuer: &str, g: Group) -> GroupBody {
    let base = format!("{issuer}/api/v1/groups/{}", g.id);
    GroupBody {
        group: g,
        kind: "OKTA_GROUP",
        links: GroupLinks {
            users: Href::new(format!("{base}/users")),
            this: Href::new(base),
        },
    }
}

/// An app as the API shows it (never its secrets).
pub type AppBody = Linked<App, AppLinks>;

/// An app's links.
#[derive(Serialize)]
pub struct AppLinks {
    #[serde(rename = "self")]
    this: Href,
    users: Href,
    groups: Href,
}

impl AppLinks {
    fn new(issuer: &str, app: AppId) -> Self {
        let base = format!("{issuer}/api/v1/apps/{app}");
        AppLinks {
            users: Href::new(format!("{base}/users")),
            groups: Href::new(format!("{base}/groups")),
            this: Href::new(base),
        }
    }
}

/// An app as the API shows it (never its secrets).
pub fn app(issuer: &str, a: App) -> AppBody {
    Linked {
        links: AppLinks::new(issuer, a.id),
        item: a,
    }
}

/// An app just created or replaced, with the client secret that generated, if any.
pub type CreatedAppBody = Linked<AppWithSecret, AppLinks>;

/// An app with the client secret just generated inside `oidc` (which the app's own type never
/// carries: only the secret's hash is kept).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppWithSecret {
    id: AppId,
    label: String,
    #[serde(rename = "type")]
    app_type: AppType,
    status: AppStatus,
    #[serde(with = "ulo_core::clock::serde_rfc3339")]
    created: time::OffsetDateTime,
    #[serde(with = "ulo_core::clock::serde_rfc3339")]
    last_updated: time::OffsetDateTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    oidc: Option<OidcWithSecret>,
    logout: LogoutSettings,
    #[serde(skip_serializing_if = "Option::is_none")]
    provisioning: Option<Provisioning>,
}

/// An app's sign-on part, with the client secret shown once.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OidcWithSecret {
    #[serde(flatten)]
    client: OidcClient,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<String>,
}

/// An app as the API shows it, with `client_secret` (just generated) inside `oidc`; an app
/// without `oidc` shows no secret.
pub fn created_app(issuer: &str, a: App, client_secret: Option<String>) -> CreatedAppBody {
    // Every field named, so a new one is shown or left out here on purpose.
    let App {
        id,
        label,
        app_type,
        status,
        created,
        last_updated,
        oidc,
        logout,
        provisioning,
        secrets: _,
    } = a;
    Linked {
        links: AppLinks::new(issuer, id),
        item: AppWithSecret {
            id,
            label,
            app_type,
            status,
            created,
            last_updated,
            oidc: oidc.map(|client| OidcWithSecret {
                client,
                client_secret,
            }),
            logout,
            provisioning,
        },
    }
}

/// A user assigned to an app directly.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AssignedUser {
    /// The user's id.
    pub id: UserId,
    /// Always `USER`: a direct assignment.
    pub scope: &'static str,
    /// The user's status.
    pub status: UserStatus,
    /// The app (answers to an assignment only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_id: Option<AppId>,
    /// The user.
    pub user: UserBody,
}

/// A group assigned to an app.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AssignedGroup {
    /// The group's id.
    pub id: GroupId,
    /// The app (answers to an assignment only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_id: Option<AppId>,
    /// The group.
    pub group: GroupBody,
}

/// A user as an app sees them: the assignment and the provisioning link.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppUserBody {
    /// The user's id.
    pub id: UserId,
    /// The app's id.
    pub app_id: AppId,
    /// `USER` (assigned directly), `GROUP` (through groups only) or `NONE`.
    pub scope: &'static str,
    /// Whether the user is assigned at all.
    pub assigned: bool,
    /// The groups the user is assigned through.
    pub groups: Vec<String>,
    /// The user's status.
    pub status: UserStatus,
    /// The user.
    pub user: UserBody,
    /// The provisioning link, when the user was ever pushed to the app.
    pub provisioning: Option<ProvisioningBody>,
    /// This assignment, and how to push the user again.
    #[serde(rename = "_links")]
    pub links: AppUserLinks,
}

/// A provisioning link as the API shows it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvisioningBody {
    remote_id: Option<String>,
    state: LinkState,
    desired: Desired,
    last_status: Option<i64>,
    last_error: Option<String>,
    last_synced: Option<String>,
}

impl From<AppUserLink> for ProvisioningBody {
    fn from(l: AppUserLink) -> Self {
        ProvisioningBody {
            remote_id: l.remote_id,
            state: l.state,
            desired: l.desired,
            last_status: l.last_status,
            last_error: l.last_error,
            last_synced: l.last_synced.map(ulo_core::clock::rfc3339),
        }
    }
}

/// An app user's links.
#[derive(Serialize)]
pub struct AppUserLinks {
    #[serde(rename = "self")]
    this: Href,
    resync: Href,
}

impl AppUserLinks {
    /// The links of `user`'s assignment to `app`.
    pub fn new(issuer: &str, app: AppId, user: UserId) -> Self {
        let base = format!("{issuer}/api/v1/apps/{app}/users/{user}");
        AppUserLinks {
            resync: Href::new(format!("{base}/resync")),
            this: Href::new(base),
        }
    }
}

/// An app a user reaches, and how.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppLinkBody {
    /// The app's id.
    pub id: AppId,
    /// The app's id again (Okta's name).
    pub app_instance_id: AppId,
    /// The app's label.
    pub label: String,
    /// The app's type.
    pub app_name: AppType,
    /// The app's status.
    pub status: AppStatus,
    /// Whether the app takes Universal Logout.
    pub logout_enabled: bool,
    /// How the user is assigned: directly and through which groups.
    pub assigned_by: Vec<AssignedBy>,
    /// The app.
    #[serde(rename = "_links")]
    pub links: AppLinkLinks,
}

/// How a user is assigned to an app.
#[derive(Serialize)]
#[serde(tag = "type")]
pub enum AssignedBy {
    /// Directly.
    #[serde(rename = "USER")]
    User,
    /// Through a group.
    #[serde(rename = "GROUP")]
    Group {
        /// The group.
        #[serde(rename = "groupId")]
        group_id: GroupId,
    },
}

/// An app link's links.
#[derive(Serialize)]
pub struct AppLinkLinks {
    app: Href,
}

impl AppLinkLinks {
    /// The link to `app`.
    pub fn new(issuer: &str, app: AppId) -> Self {
        AppLinkLinks {
            app: Href::new(format!("{issuer}/api/v1/apps/{app}")),
        }
    }
}

/// An admin role a user holds.
#[derive(Serialize)]
pub struct RoleBody {
    id: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    label: &'static str,
    status: &'static str,
}

impl From<AdminRole> for RoleBody {
    fn from(r: AdminRole) -> Self {
        RoleBody {
            id: r.as_str(),
            kind: r.as_str(),
            label: match r {
                AdminRole::SuperAdmin => "Super Administrator",
                AdminRole::ReadOnlyAdmin => "Read Only Administrator",
            },
            status: "ACTIVE",
        }
    }
}

/// A credential just created, with its secret shown once.
#[derive(Serialize)]
pub struct WithToken<T> {
    /// The credential.
    #[serde(flatten)]
    pub item: T,
    /// Its secret.
    pub token: String,
}

/// A device as the API shows it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceBody {
    #[serde(flatten)]
    device: Device,
    /// The people seen on it (a single device's answer only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub users: Option<Vec<DeviceUserBody>>,
    /// The person's account on it (a person's devices only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_login: Option<String>,
    /// When the person was last seen on it (a person's devices only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_last_seen: Option<String>,
    #[serde(rename = "_links")]
    links: DeviceLinks,
}

/// A device's links.
#[derive(Serialize)]
struct DeviceLinks {
    #[serde(rename = "self")]
    this: Href,
    revoke: Action,
}

/// A link to an action, with the method it takes.
#[derive(Serialize)]
struct Action {
    href: String,
    hints: Hints,
}

/// The methods an action takes.
#[derive(Serialize)]
struct Hints {
    allow: [&'static str; 1],
}

/// A device as the API shows it.
pub fn device(issuer: &str, d: Device) -> DeviceBody {
    let base = format!("{issuer}/api/v1/devices/{}", d.id);
    DeviceBody {
        device: d,
        users: None,
        os_login: None,
        user_last_seen: None,
        links: DeviceLinks {
            revoke: Action {
                href: format!("{base}/lifecycle/revoke"),
                hints: Hints { allow: ["POST"] },
            },
            this: Href::new(base),
        },
    }
}

/// A person seen on a device.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceUserBody {
    /// The person's id.
    pub id: UserId,
    /// Their login, unless the account is gone.
    pub login: Option<String>,
    /// Their account on the device.
    pub os_login: String,
    /// When they were first seen on it (RFC 3339).
    pub first_seen: String,
    /// When they were last seen on it (RFC 3339).
    pub last_seen: String,
}

/// A Universal Logout receipt as the API shows it.
pub type ReceiptBody = Linked<Logout, ReceiptLinks>;

/// A receipt's links.
#[derive(Serialize)]
pub struct ReceiptLinks {
    #[serde(rename = "self")]
    this: Href,
    stream: Href,
    user: Href,
}

/// A Universal Logout receipt as the API shows it.
pub fn receipt(issuer: &str, l: Logout) -> ReceiptBody {
    let base = format!("{issuer}/api/v1/logouts/{}", l.id);
    Linked {
        links: ReceiptLinks {
            stream: Href::new(format!("{base}/stream")),
            user: Href::new(format!("{issuer}/api/v1/users/{}", l.user_id)),
            this: Href::new(base),
        },
        item: l,
    }
}

/// A dry run's answer: the receipt the logout would start with. Nothing was started, so there is
/// no id, transactionId or `_links`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogoutPreviewBody {
    user_id: UserId,
    user_login: String,
    reason: String,
    scope: LogoutScope,
    status: LogoutStatus,
    #[serde(with = "ulo_core::clock::serde_rfc3339")]
    created: time::OffsetDateTime,
    #[serde(with = "ulo_core::clock::serde_rfc3339::option")]
    completed: Option<time::OffsetDateTime>,
    initiated_by: Actor,
    targets: Vec<LogoutTarget>,
    /// Always true.
    dry_run: bool,
}

impl From<Logout> for LogoutPreviewBody {
    fn from(l: Logout) -> Self {
        // Every field named, so a new one is shown or left out here on purpose.
        let Logout {
            id: _,
            transaction_id: _,
            user_id,
            user_login,
            reason,
            scope,
            status,
            created,
            completed,
            initiated_by,
            targets,
        } = l;
        LogoutPreviewBody {
            user_id,
            user_login,
            reason,
            scope,
            status,
            created,
            completed,
            initiated_by,
            targets,
            dry_run: true,
        }
    }
}
