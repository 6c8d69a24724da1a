//! Managed apps, shared accounts and shares: what admins set up and people reveal.
//! Passwords are sealed before they reach the store and leave it only through [`Vault::reveal`].

use serde::Deserialize;

use crate::audit::{self, account_target, app_target, person_target};
use crate::error::{StoreError, VaultError};
use crate::jobs;
use crate::model::*;
use crate::password::Policy;
use crate::people::group_target;
use crate::seal::Purpose;
use crate::vault::Vault;

/// `POST /api/apps`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewApp {
    /// Its name.
    pub name: String,
    /// Where people sign in to it.
    pub sign_in_url: String,
    /// How the vault reaches it.
    pub connector: ConnectorSpec,
}

/// A managed app's connector.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectorSpec {
    /// `http`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The connector endpoint.
    pub url: String,
    /// The shared secret that signs requests.
    pub secret: String,
}

impl std::fmt::Debug for ConnectorSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectorSpec")
            .field("kind", &self.kind)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// `POST /api/accounts`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewAccount {
    /// The managed app.
    pub app_id: String,
    /// The username at the app.
    pub username: String,
    /// Its current password.
    pub password: String,
    /// How rotation makes new passwords.
    #[serde(default)]
    pub policy: Policy,
}

/// Minimum length of a connector secret.
pub const MIN_CONNECTOR_SECRET: usize = 16;

fn http_url(field: &str, s: &str) -> Result<(), VaultError> {
    match url::Url::parse(s) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(()),
        _ => Err(VaultError::invalid(format!(
            "{field} must be an absolute http(s) URL, not {s:?}"
        ))),
    }
}

impl Vault {
    /// Registers a managed app.
    pub async fn create_app(&self, new: NewApp) -> Result<ManagedApp, VaultError> {
        let name = new.name.trim().to_string();
        if name.is_empty() {
            return Err(VaultError::invalid("name is required"));
        }
        http_url("signInUrl", &new.sign_in_url)?;
        if new.connector.kind != "http" {
            return Err(VaultError::invalid(format!(
                "connector.type must be \"http\", not {:?}",
                new.connector.kind
            )));
        }
        // The vault POSTs new passwords there: the same address guard as every outbound call.
        self.settings
            .outbound
            .check_url("connector.url", &new.connector.url)
            .map_err(VaultError::invalid)?;
        if new.connector.secret.len() < MIN_CONNECTOR_SECRET {
            return Err(VaultError::invalid(format!(
                "connector.secret must be at least {MIN_CONNECTOR_SECRET} characters"
            )));
        }
        let now = self.clock.now();
        let id = new_id();
        let app = ManagedApp {
            connector_secret_sealed: self
                .sealer
                .seal(&new.connector.secret, Purpose::ConnectorSecret(&id))?,
            id,
            name,
            sign_in_url: new.sign_in_url,
            connector_type: new.connector.kind,
            connector_url: new.connector.url,
            created: now,
            updated: now,
        };
        let mut tx = self.begin().await?;
        tx.insert_app(&app).await.map_err(|e| match e {
            StoreError::Conflict(_) => {
                VaultError::Conflict(format!("an app named {:?} exists", app.name))
            }
            e => e.into(),
        })?;
        tx.append_event(
            &audit::event("app.create", &Actor::admin(), now)
                .target(app_target(&app))
                .detail("connectorUrl", app.connector_url.clone()),
        )
        .await?;
        tx.commit().await?;
        Ok(app)
    }

    /// Adds a shared account.
    pub async fn create_account(&self, new: NewAccount) -> Result<Account, VaultError> {
        let username = new.username.trim().to_string();
        if username.is_empty() {
            return Err(VaultError::invalid("username is required"));
        }
        if new.password.is_empty() {
            return Err(VaultError::invalid("password is required"));
        }
        new.policy.validate()?;
        let now = self.clock.now();
        let mut tx = self.begin().await?;
        let app = tx.app(&new.app_id).await?.ok_or_else(|| {
            VaultError::invalid(format!("appId {:?} is not a managed app", new.app_id))
        })?;
        let id = new_id();
        let account = Account {
            password_sealed: self.sealer.seal(&new.password, Purpose::Password(&id))?,
            id,
            app_id: app.id.clone(),
            username,
            candidate_sealed: None,
            policy: new.policy,
            status: AccountStatus::Ok,
            rotated_at: None,
            rotation_error: None,
            created: now,
            updated: now,
        };
        tx.insert_account(&account).await.map_err(|e| match e {
            StoreError::Conflict(_) => VaultError::Conflict(format!(
                "{} already has an account {:?}",
                app.name, account.username
            )),
            e => e.into(),
        })?;
        tx.append_event(
            &audit::event("account.create", &Actor::admin(), now)
                .target(account_target(&account, Some(&app)))
                .detail("policyLength", account.policy.length),
        )
        .await?;
        tx.commit().await?;
        Ok(account)
    }

    /// Shares an account with a person (by userName) or a group (by id or displayName).
    pub async fn share(&self, account_id: &str, with: ShareWith<'_>) -> Result<(), VaultError> {
        self.change_share(account_id, with, true).await
    }

    /// Stops sharing an account.
    pub async fn unshare(&self, account_id: &str, with: ShareWith<'_>) -> Result<(), VaultError> {
        self.change_share(account_id, with, false).await
    }

    async fn change_share(
        &self,
        account_id: &str,
        with: ShareWith<'_>,
        share: bool,
    ) -> Result<(), VaultError> {
        let now = self.clock.now();
        let mut tx = self.begin().await?;
        let account = tx
            .account(account_id)
            .await?
            .ok_or_else(|| VaultError::not_found(format!("no account with id {account_id:?}")))?;
        let (principal, target) = match with {
            ShareWith::Person(name) => {
                let p = tx.person_by_user_name(name).await?.ok_or_else(|| {
                    VaultError::not_found(format!("no person with userName {name:?}"))
                })?;
                (Principal::Person(p.id.clone()), person_target(&p))
            }
            ShareWith::Group(key) => {
                let g = match tx.group(key).await? {
                    Some(g) => Some(g),
                    None => tx.group_by_name(key).await?,
                }
                .ok_or_else(|| {
                    VaultError::not_found(format!("no group with id or displayName {key:?}"))
                })?;
                (Principal::Group(g.id.clone()), group_target(&g))
            }
        };
        let changed = if share {
            tx.put_share(account_id, &principal, now).await?
        } else {
            let gone = tx.delete_share(account_id, &principal).await?;
            if !gone {
                return Err(VaultError::not_found(format!(
                    "the account is not shared with {} {:?}",
                    target.kind, target.display_name
                )));
            }
            gone
        };
        if changed {
            let app = tx.app(&account.app_id).await?;
            tx.append_event(
                &audit::event(
                    if share {
                        "account.share"
                    } else {
                        "account.unshare"
                    },
                    &Actor::admin(),
                    now,
                )
                .target(account_target(&account, app.as_ref()))
                .detail("with", target.kind.clone())
                .detail("withId", target.id.clone())
                .detail("withName", target.display_name.clone()),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The accounts shared with `person`, each with its app.
    pub async fn accounts_of(
        &self,
        person: &Person,
    ) -> Result<Vec<(Account, ManagedApp)>, VaultError> {
        let mut tx = self.read().await?;
        let mut out = Vec::new();
        for a in tx.accounts_for_person(&person.id).await? {
            let app = tx.app(&a.app_id).await?.ok_or_else(|| {
                VaultError::Store(StoreError::Corrupt(format!("account {} has no app", a.id)))
            })?;
            out.push((a, app));
        }
        Ok(out)
    }

    /// Reveals an account's password to `person`, if it is shared with them; the reveal is
    /// audited in the same transaction (no audit event, no password).
    pub async fn reveal(&self, person: &Person, account_id: &str) -> Result<String, VaultError> {
        let now = self.clock.now();
        let mut tx = self.begin().await?;
        let shared = tx
            .accounts_for_person(&person.id)
            .await?
            .into_iter()
            .find(|a| a.id == account_id);
        let Some(account) = shared else {
            return Err(VaultError::not_found(format!(
                "no account {account_id:?} is shared with you"
            )));
        };
        let app = tx.app(&account.app_id).await?;
        let password = self
            .sealer
            .open(&account.password_sealed, Purpose::Password(&account.id))?;
        tx.append_event(
            &audit::event("account.password.reveal", &Actor::person(person), now)
                .target(account_target(&account, app.as_ref()))
                .detail("accountStatus", account.status.as_str()),
        )
        .await?;
        tx.commit().await?;
        Ok(password)
    }

    /// An admin asks for a rotation now (e.g. after a rotation was given up).
    pub async fn request_rotation(&self, account_id: &str) -> Result<Account, VaultError> {
        let now = self.clock.now();
        let mut tx = self.begin().await?;
        let mut account = tx
            .account(account_id)
            .await?
            .ok_or_else(|| VaultError::not_found(format!("no account with id {account_id:?}")))?;
        jobs::queue_rotation(tx.as_mut(), self, &mut account, None, &Actor::admin(), now).await?;
        tx.commit().await?;
        Ok(account)
    }
}

/// Who a share names.
#[derive(Debug, Clone, Copy)]
pub enum ShareWith<'a> {
    /// A person, by userName.
    Person(&'a str),
    /// A group, by id or displayName.
    Group(&'a str),
}
