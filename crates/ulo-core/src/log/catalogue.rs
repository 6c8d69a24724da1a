//! Every System Log event type ulo writes, by domain. Okta's names where Okta has one (SPEC §5),
//! so filters and SIEM rules written for Okta carry over; ulo's own types otherwise.
//!
//! [`crate::log::LogEvent::build`] takes an [`EventType`], and only this module makes them: an
//! event type cannot be misspelled at a call site, and this file is the list a SIEM team reads.

use std::fmt;

/// A System Log event type (`eventType`), e.g. `user.session.clear`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventType(&'static str);

impl EventType {
    /// The dotted name.
    pub const fn as_str(self) -> &'static str {
        self.0
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl PartialEq<&str> for EventType {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// Defines the catalogue: one module per domain with its constants, and [`ALL`] listing every one.
macro_rules! catalogue {
    ($($(#[$mdoc:meta])* $module:ident { $($(#[$doc:meta])* $name:ident = $value:literal;)* })*) => {
        $(
            $(#[$mdoc])*
            pub mod $module {
                use super::EventType;
                $($(#[$doc])* pub const $name: EventType = EventType($value);)*
            }
        )*
        /// Every event type of the catalogue, for lists (the console's filter, the docs) and tests.
        pub const ALL: &[EventType] = &[$($($module::$name,)*)*];
    };
}

catalogue! {
    /// People: lifecycle, profile, privileges, factors.
    user {
        /// A person was created.
        CREATE = "user.lifecycle.create";
        /// A person was activated.
        ACTIVATE = "user.lifecycle.activate";
        /// A person was suspended.
        SUSPEND = "user.lifecycle.suspend";
        /// A person was unsuspended.
        UNSUSPEND = "user.lifecycle.unsuspend";
        /// A person was deactivated (deprovisioned).
        DEACTIVATE = "user.lifecycle.deactivate";
        /// A deactivated person was deleted.
        DELETE = "user.lifecycle.delete.completed";
        /// A person's profile changed.
        UPDATE_PROFILE = "user.account.update_profile";
        /// A person's password was set by an admin.
        RESET_PASSWORD = "user.account.reset_password";
        /// A person's account was locked (too many failed sign-ins).
        LOCK = "user.account.lock";
        /// An admin role was granted.
        PRIVILEGE_GRANT = "user.account.privilege.grant";
        /// An admin role was revoked.
        PRIVILEGE_REVOKE = "user.account.privilege.revoke";
        /// A sign-in factor (TOTP) was enrolled.
        FACTOR_ACTIVATE = "user.mfa.factor.activate";
        /// A sign-in factor was removed.
        FACTOR_DEACTIVATE = "user.mfa.factor.deactivate";
        /// A sign-in factor was used or changed (e.g. a verification).
        FACTOR_UPDATE = "user.mfa.factor.update";
    }
    /// ulo's own sign-in sessions.
    session {
        /// A sign-in (success or failure).
        START = "user.session.start";
        /// One session ended (sign-out, end-session request, admin).
        END = "user.session.end";
        /// All of a person's sessions were cleared (Clear User Sessions).
        CLEAR = "user.session.clear";
        /// An admin opened the admin console (Okta's type): a console session of its own began.
        ACCESS_ADMIN_APP = "user.session.access_admin_app";
    }
    /// Universal Logout: the logout, its ulo-side work and each delivery.
    logout {
        /// A Universal Logout of a person began (admin, API, policy, lifecycle).
        UNIVERSAL_LOGOUT = "user.authentication.universal_logout";
        /// A person's sessions and tokens were ended by a Universal Logout (ulo-side or upstream).
        SESSION_UNIVERSAL_LOGOUT = "user.session.universal_logout";
        /// One target's answer to a logout delivery (ulo's own type).
        DELIVERY = "app.universal_logout.delivery";
    }
    /// Identity Threat Protection: risk detections and the Entity Risk Policy.
    risk {
        /// A risk signal about a person was recorded (debugData: previousLevel, level,
        /// detection, reasons, issuer).
        DETECT = "user.risk.detect";
        /// A person's entity risk level was reset (an admin set LOW, or cleared their sessions).
        RESET = "user.risk.reset";
        /// The Entity Risk Policy was evaluated for a detection (debugData: policy, rule).
        POLICY_EVALUATE = "policy.entity_risk.evaluate";
        /// The matching rule's action was taken, monitored or coalesced (debugData: rule,
        /// action, logoutId).
        POLICY_ACTION = "policy.entity_risk.action";
        /// An Entity Risk Policy rule was created, changed, (de)activated or deleted.
        POLICY_RULE_UPDATE = "policy.rule.update";
        /// A session or refresh-token family was used from a network or client unlike the one
        /// it began in (debugData: mode, subject, previous and current network and client).
        SESSION_INFLUENCE = "user.session.context_change";
        /// A person said "this wasn't me" about one of their sign-ins (Okta's type).
        USER_REPORT = "user.account.report_suspicious_activity_by_enduser";
    }
    /// Apps, their assignments and provisioning.
    app {
        /// An app was created.
        CREATE = "application.lifecycle.create";
        /// An app was changed.
        UPDATE = "application.lifecycle.update";
        /// An app was activated.
        ACTIVATE = "application.lifecycle.activate";
        /// An app was deactivated.
        DEACTIVATE = "application.lifecycle.deactivate";
        /// An app was deleted.
        DELETE = "application.lifecycle.delete";
        /// A person was assigned to an app.
        ASSIGN_USER = "application.user_membership.add";
        /// A person's assignment to an app was removed.
        UNASSIGN_USER = "application.user_membership.remove";
        /// A person was pushed to an app by SCIM (created or updated there).
        PROVISION_PUSH = "application.provision.user.push";
        /// A person's account in an app was re-synced on request.
        PROVISION_SYNC = "application.provision.user.sync";
        /// A person's account in an app was deactivated by SCIM.
        PROVISION_DEACTIVATE = "application.provision.user.deactivate";
    }
    /// Groups and their members.
    group {
        /// A group was created.
        CREATE = "group.lifecycle.create";
        /// A group was deleted.
        DELETE = "group.lifecycle.delete";
        /// A group's profile changed.
        UPDATE = "group.profile.update";
        /// A person joined a group.
        ADD_MEMBER = "group.user_membership.add";
        /// A person left a group.
        REMOVE_MEMBER = "group.user_membership.remove";
        /// A group was assigned to an app.
        ASSIGN_APP = "group.application_assignment.add";
        /// A group's assignment to an app was removed.
        UNASSIGN_APP = "group.application_assignment.remove";
    }
    /// OAuth 2.0 / OpenID Connect, as an app sees it.
    oauth {
        /// An authorization request was answered.
        AUTHORIZE = "app.oauth2.authorize";
        /// Tokens were issued.
        TOKEN_GRANT = "app.oauth2.token.grant";
        /// Tokens were revoked (RFC 7009, or a logout).
        TOKEN_REVOKE = "app.oauth2.token.revoke";
        /// A used refresh token was presented again: the whole family was revoked.
        TOKEN_REUSE = "app.oauth2.token.detect_reuse";
    }
    /// Enrolled computers and their commands.
    device {
        /// An enrollment token was issued.
        ENROLLMENT_TOKEN_CREATE = "device.enrollment_token.create";
        /// A computer enrolled.
        ENROLL = "device.enrollment.create";
        /// A computer's enrollment was revoked.
        REVOKE = "device.lifecycle.revoke";
        /// Device Logout began (commands issued).
        LOGOUT_STARTED = "device.desktop_mfa.device_logout.started";
        /// A device command finished (completed, failed or expired).
        LOGOUT_COMPLETED = "device.desktop_mfa.device_logout.completed";
    }
    /// Workflows: signed webhooks ulo calls when a rule asks.
    workflow {
        /// A workflow was registered.
        CREATE = "workflow.lifecycle.create";
        /// A workflow's name or URL changed.
        UPDATE = "workflow.lifecycle.update";
        /// A workflow was activated.
        ACTIVATE = "workflow.lifecycle.activate";
        /// A workflow was deactivated.
        DEACTIVATE = "workflow.lifecycle.deactivate";
        /// A workflow was deleted.
        DELETE = "workflow.lifecycle.delete";
        /// A workflow's signing secret was replaced.
        SECRET_ROTATE = "workflow.secret.rotate";
        /// One attempt to call a workflow (outcome SUCCESS or FAILURE, with the HTTP status).
        RUN_DELIVERY = "workflow.run.delivery";
    }
    /// Shared Signals streams (ulo as a transmitter).
    ssf {
        /// An app's SSF credential was created.
        CREDENTIAL_CREATE = "security.events.credential.create";
        /// A stream was created.
        STREAM_CREATE = "security.events.stream.create";
        /// A stream was changed.
        STREAM_UPDATE = "security.events.stream.update";
        /// A stream was deleted.
        STREAM_DELETE = "security.events.stream.delete";
        /// A stream's status changed.
        STREAM_STATUS = "security.events.stream.status";
    }
    /// Security events providers (ulo as a Shared Signals receiver).
    security_events {
        /// A provider was registered.
        PROVIDER_CREATE = "security.events.provider.create";
        /// A provider's name or settings changed.
        PROVIDER_UPDATE = "security.events.provider.update";
        /// A provider was removed.
        PROVIDER_DELETE = "security.events.provider.delete";
        /// A provider was activated.
        PROVIDER_ACTIVATE = "security.events.provider.activate";
        /// A provider was deactivated.
        PROVIDER_DEACTIVATE = "security.events.provider.deactivate";
        /// A SET from a provider was accepted (debugData: issuer, jti, eventTypes, subject,
        /// detections).
        RECEIVE_EVENT = "security.events.provider.receive_event";
    }
    /// ulo itself: credentials, keys, features, identity providers, refused requests.
    system {
        /// An API token was created.
        API_TOKEN_CREATE = "system.api_token.create";
        /// An API token was revoked (or kept, as the last super admin's: outcome FAILURE).
        API_TOKEN_REVOKE = "system.api_token.revoke";
        /// A SCIM credential was created.
        SCIM_CREDENTIAL_CREATE = "system.scim_credential.create";
        /// A SCIM credential was revoked.
        SCIM_CREDENTIAL_REVOKE = "system.scim_credential.revoke";
        /// A signing key was rotated in.
        SIGNING_KEY_ROTATE = "system.signing_key.rotate";
        /// A signing key was retired.
        SIGNING_KEY_RETIRE = "system.signing_key.retire";
        /// A feature was turned on.
        FEATURE_ENABLE = "system.feature.enable";
        /// A feature was turned off.
        FEATURE_DISABLE = "system.feature.disable";
        /// An upstream identity provider was added.
        IDP_CREATE = "system.idp.lifecycle.create";
        /// An upstream identity provider was removed.
        IDP_DELETE = "system.idp.lifecycle.delete";
        /// The threat list file (`ULO_THREAT_LIST_FILE`) was loaded (debugData: file, ranges) or
        /// could not be (outcome FAILURE, severity ERROR, debugData: line, text, reason; the
        /// previous list stays in force).
        THREAT_LIST_RELOAD = "system.threat_list.reload";
        /// Requests were refused by an intake limit or a guard (first refusal, then summaries).
        REQUEST_BLOCKED = "security.request.blocked";
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_dotted_lowercase_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for t in ALL {
            let s = t.as_str();
            assert!(
                s.split('.').count() >= 3
                    && s.split('.').all(|p| !p.is_empty()
                        && p.chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')),
                "{s}"
            );
            assert!(seen.insert(s), "{s} listed twice");
        }
    }

    #[test]
    fn the_spec_s_okta_names_are_used() {
        for name in [
            "user.session.clear",
            "user.session.end",
            "user.authentication.universal_logout",
            "user.session.universal_logout",
            "device.desktop_mfa.device_logout.started",
            "device.desktop_mfa.device_logout.completed",
            "app.universal_logout.delivery",
        ] {
            assert!(ALL.iter().any(|t| *t == name), "{name}");
        }
    }
}
