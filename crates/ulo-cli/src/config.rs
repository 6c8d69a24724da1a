//! Configuration, layered: defaults → TOML file (`--config`/`ULO_CONFIG`) → `ULO_*` environment
//! → command-line flags. Secrets may come from files (`ULO_MASTER_KEY_FILE`, `ULO_BOOTSTRAP_TOKEN_FILE`).

use std::path::PathBuf;

use anyhow::{Context, Result};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// Every setting `ulo serve` reads.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    /// Address to listen on.
    pub listen: String,
    /// Where SQLite data and the generated master key live.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; default: `sqlite://<data_dir>/ulo.db`.
    pub database_url: Option<String>,
    /// Public base URL; default `http://<listen>`.
    pub issuer: Option<String>,
    /// Base64 master key (32 bytes).
    pub master_key: Option<String>,
    /// File holding the master key; default `<data_dir>/master.key`, created on first start.
    pub master_key_file: Option<PathBuf>,
    /// The first admin's API token, for scripts and tests.
    pub bootstrap_token: Option<String>,
    /// File holding the bootstrap token.
    pub bootstrap_token_file: Option<PathBuf>,
    /// The first admin's login.
    pub bootstrap_admin: String,
    /// Allow plain http to loopback addresses for outbound calls (development only).
    #[serde(deserialize_with = "flag")]
    pub outbound_allow_http_loopback: bool,
    /// Concurrent outbound jobs per process.
    pub worker_concurrency: usize,
    /// Seconds a claimed job stays leased before another node may take it over.
    pub worker_lease_seconds: u64,
    /// Seconds one delivery attempt to an app may take before it counts as failed and is retried.
    pub delivery_timeout_seconds: u64,
    /// A session's end also notifies the person's other logout-enabled apps (each by its own
    /// logout protocol), not only the back-channel apps the session signed in to.
    #[serde(deserialize_with = "flag")]
    pub single_logout_all_apps: bool,
    /// Seconds between sweeps that end sessions past their absolute end or idle timeout.
    pub session_sweep_seconds: u64,
    /// Seconds a Universal Logout delivery is retried before it is FAILED.
    pub logout_deadline_seconds: u64,
    /// Device agents older than this version are refused (e.g. `0.1.0`); none by default.
    pub device_min_agent_version: Option<String>,
    /// Seconds a *Log Out All Devices* command waits for the device's acknowledgement.
    pub device_command_ttl_seconds: u64,
    /// Let SCIM clients see admin accounts in lists and reads (they can never change them).
    #[serde(deserialize_with = "flag")]
    pub scim_show_admins: bool,
    /// Seconds a risk detection counts toward the user's entity risk level (default 7 days).
    pub risk_detection_ttl: u64,
    /// CIDR ranges of proxies whose `X-Forwarded-For` is believed (comma-separated; none by default).
    #[serde(deserialize_with = "text")]
    pub trusted_proxies: String,
    /// Session influence: `off`, `monitor` or `on`.
    #[serde(deserialize_with = "text")]
    pub session_influence: String,
    /// CIDR ranges whose addresses never count as a change of network (comma-separated).
    #[serde(deserialize_with = "text")]
    pub session_influence_exempt: String,
    /// A file of CIDR ranges (one a line, `#` comments): a sign-in or an admin API call from a
    /// listed address is a threat-list detection. Reloaded when it changes; none by default.
    pub threat_list_file: Option<PathBuf>,
    /// The SET intake refuses a SET issued longer ago than this (its `jti` is remembered as long).
    pub security_events_max_age_seconds: u64,
    /// The SET intake refuses a SET issued later than now plus this.
    pub security_events_future_skew_seconds: u64,
    /// Refused SETs per address and minute before the address gets 429.
    pub security_events_refusal_limit: u64,
    /// A provider's keys are fetched again (for an unknown `kid`) at most once per this.
    pub security_events_jwks_min_refetch_seconds: u64,
    /// How long fetching a provider's keys or SSF configuration may take.
    pub security_events_fetch_timeout_seconds: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./ulo-data"),
            database_url: None,
            issuer: None,
            master_key: None,
            master_key_file: None,
            bootstrap_token: None,
            bootstrap_token_file: None,
            bootstrap_admin: "admin@ulo.example.com".into(),
            outbound_allow_http_loopback: false,
            worker_concurrency: 1024,
            worker_lease_seconds: 30,
            delivery_timeout_seconds: 10,
            single_logout_all_apps: false,
            session_sweep_seconds: 30,
            logout_deadline_seconds: 86_400,
            device_min_agent_version: None,
            device_command_ttl_seconds: 86_400,
            scim_show_admins: false,
            risk_detection_ttl: 7 * 86_400,
            trusted_proxies: String::new(),
            session_influence: "on".into(),
            session_influence_exempt: String::new(),
            threat_list_file: None,
            security_events_max_age_seconds: 30 * 60,
            security_events_future_skew_seconds: 60,
            security_events_refusal_limit: 10,
            security_events_jwks_min_refetch_seconds: 60,
            security_events_fetch_timeout_seconds: 5,
        }
    }
}

/// Flags that override everything else (only those given).
#[derive(Debug, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
}

const KNOWN_ENV: &[&str] = &[
    "ULO_LISTEN",
    "ULO_DATA_DIR",
    "ULO_DATABASE_URL",
    "ULO_ISSUER",
    "ULO_MASTER_KEY",
    "ULO_MASTER_KEY_FILE",
    "ULO_BOOTSTRAP_TOKEN",
    "ULO_BOOTSTRAP_TOKEN_FILE",
    "ULO_BOOTSTRAP_ADMIN",
    "ULO_OUTBOUND_ALLOW_HTTP_LOOPBACK",
    "ULO_WORKER_CONCURRENCY",
    "ULO_WORKER_LEASE_SECONDS",
    "ULO_DELIVERY_TIMEOUT_SECONDS",
    "ULO_SINGLE_LOGOUT_ALL_APPS",
    "ULO_SESSION_SWEEP_SECONDS",
    "ULO_LOGOUT_DEADLINE_SECONDS",
    "ULO_DEVICE_MIN_AGENT_VERSION",
    "ULO_DEVICE_COMMAND_TTL_SECONDS",
    "ULO_SCIM_SHOW_ADMINS",
    "ULO_RISK_DETECTION_TTL",
    "ULO_TRUSTED_PROXIES",
    "ULO_SESSION_INFLUENCE",
    "ULO_SESSION_INFLUENCE_EXEMPT",
    "ULO_THREAT_LIST_FILE",
    "ULO_SECURITY_EVENTS_MAX_AGE_SECONDS",
    "ULO_SECURITY_EVENTS_FUTURE_SKEW_SECONDS",
    "ULO_SECURITY_EVENTS_REFUSAL_LIMIT",
    "ULO_SECURITY_EVENTS_JWKS_MIN_REFETCH_SECONDS",
    "ULO_SECURITY_EVENTS_FETCH_TIMEOUT_SECONDS",
    "ULO_CONFIG",
    "ULO_LOG",
];

/// A boolean as operators write it in the environment: 1/0, true/false, yes/no, on/off.
fn flag<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Bool(bool),
        Int(i64),
        Text(String),
    }
    match Raw::deserialize(d)? {
        Raw::Bool(b) => Ok(b),
        Raw::Int(0) => Ok(false),
        Raw::Int(1) => Ok(true),
        Raw::Text(t) => match t.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" | "" => Ok(false),
            other => Err(serde::de::Error::custom(format!(
                "expected 1/0, true/false, yes/no or on/off, found {other:?}"
            ))),
        },
        Raw::Int(n) => Err(serde::de::Error::custom(format!(
            "expected 1 or 0, found {n}"
        ))),
    }
}

/// A setting read as text whatever the layer made of it (the environment turns `off` or `1`
/// into other types; a TOML file may hold a list of ranges).
fn text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Bool(bool),
        Int(i64),
        Text(String),
        List(Vec<String>),
    }
    Ok(match Raw::deserialize(d)? {
        Raw::Bool(b) => if b { "on" } else { "off" }.to_string(),
        Raw::Int(n) => n.to_string(),
        Raw::Text(t) => t,
        Raw::List(l) => l.join(","),
    })
}

impl Config {
    /// Trusted proxies and session influence; a range or mode that does not parse is refused,
    /// naming the setting.
    pub fn network_settings(
        &self,
    ) -> Result<(
        ulo_core::network::IpRanges,
        ulo_core::session_influence::Settings,
    )> {
        let trusted = self
            .trusted_proxies
            .parse()
            .map_err(|e: String| anyhow::anyhow!("ULO_TRUSTED_PROXIES: {e}"))?;
        let mode = self
            .session_influence
            .parse()
            .map_err(|e: String| anyhow::anyhow!("ULO_SESSION_INFLUENCE: {e}"))?;
        let exempt = self
            .session_influence_exempt
            .parse()
            .map_err(|e: String| anyhow::anyhow!("ULO_SESSION_INFLUENCE_EXEMPT: {e}"))?;
        Ok((
            trusted,
            ulo_core::session_influence::Settings { mode, exempt },
        ))
    }

    /// Loads the layers.
    pub fn load(file: Option<PathBuf>, overrides: Overrides) -> Result<Config> {
        for (k, _) in std::env::vars() {
            if k.starts_with("ULO_")
                && !KNOWN_ENV.contains(&k.as_str())
                && !k.starts_with("ULO_TEST_")
                && !k.starts_with("ULO_VAULT_")
            {
                eprintln!("warning: unknown environment variable {k} is ignored");
            }
        }
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        let file = file.or_else(|| std::env::var_os("ULO_CONFIG").map(PathBuf::from));
        if let Some(f) = &file {
            if !f.exists() {
                anyhow::bail!("config file {} does not exist", f.display());
            }
            fig = fig.merge(Toml::file(f));
        }
        let env = Env::prefixed("ULO_")
            .ignore(&["CONFIG", "LOG"])
            .filter(|k| !k.as_str().starts_with("test_") && !k.as_str().starts_with("vault_"));
        fig = fig.merge(env).merge(Serialized::globals(overrides));
        let mut c: Config = fig.extract().context("reading configuration")?;
        if c.bootstrap_token.is_none()
            && let Some(path) = &c.bootstrap_token_file
        {
            let t = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            c.bootstrap_token = Some(t.trim().to_string());
        }
        Ok(c)
    }

    /// The device settings in effect; a minimum agent version that is not a version is refused.
    pub fn device_settings(&self) -> Result<ulo_core::device::DeviceSettings> {
        let min = match self.device_min_agent_version.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(v) => Some(
                v.parse()
                    .map_err(|e: String| anyhow::anyhow!("ULO_DEVICE_MIN_AGENT_VERSION: {e}"))?,
            ),
        };
        Ok(ulo_core::device::DeviceSettings {
            min_agent_version: min,
            command_ttl: time::Duration::seconds(self.device_command_ttl_seconds.max(1) as i64),
        })
    }

    /// The threat list file, if one is set (an empty setting is none).
    pub fn threat_list_file(&self) -> Option<PathBuf> {
        self.threat_list_file
            .clone()
            .filter(|p| !p.as_os_str().is_empty())
    }

    /// The security events intake's settings; each must be within its bounds (0 never is).
    pub fn security_events_settings(
        &self,
    ) -> Result<ulo_server::security_events::SecurityEventsSettings> {
        let within = |name: &str, value: u64, max: u64, unit: &str| {
            if (1..=max).contains(&value) {
                Ok(value)
            } else {
                Err(anyhow::anyhow!(
                    "ULO_SECURITY_EVENTS_{name}: must be 1 to {max}{unit}, found {value}"
                ))
            }
        };
        let secs = |name: &str, value: u64, max: u64| within(name, value, max, " seconds");
        let max_age = secs(
            "MAX_AGE_SECONDS",
            self.security_events_max_age_seconds,
            7 * 86_400,
        )?;
        let skew = secs(
            "FUTURE_SKEW_SECONDS",
            self.security_events_future_skew_seconds,
            3_600,
        )?;
        let refusals = within(
            "REFUSAL_LIMIT",
            self.security_events_refusal_limit,
            1_000_000,
            "",
        )?;
        let refetch = secs(
            "JWKS_MIN_REFETCH_SECONDS",
            self.security_events_jwks_min_refetch_seconds,
            86_400,
        )?;
        let timeout = secs(
            "FETCH_TIMEOUT_SECONDS",
            self.security_events_fetch_timeout_seconds,
            60,
        )?;
        let duration = |s: u64| time::Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX));
        Ok(ulo_server::security_events::SecurityEventsSettings {
            jwks_min_refetch: std::time::Duration::from_secs(refetch),
            fetch_timeout: std::time::Duration::from_secs(timeout),
            intake: ulo_core::security_events::IntakeSettings {
                max_age: duration(max_age),
                future_skew: duration(skew),
            },
            refusal_limit: u32::try_from(refusals).unwrap_or(u32::MAX),
        })
    }

    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("ulo.db").display()
            )
        })
    }
}

#[cfg(test)]
// figment's Jail dictates the closure's error type, a large one.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn trusted_proxies_and_session_influence_come_from_env_or_file() {
        figment::Jail::expect_with(|jail| {
            let c = Config::load(None, Overrides::default()).map_err(|e| e.to_string())?;
            let (trusted, influence) = c.network_settings().map_err(|e| e.to_string())?;
            assert!(trusted.is_empty(), "no proxy is trusted by default");
            assert_eq!(influence.mode, ulo_core::session_influence::Mode::On);
            assert!(influence.exempt.is_empty());
            jail.create_file(
                "ulo.toml",
                "trusted_proxies = [\"10.0.0.0/8\", \"::1\"]\nsession_influence_exempt = \"100.64.0.0/10\"",
            )?;
            jail.set_env("ULO_SESSION_INFLUENCE", "off");
            let c = Config::load(Some("ulo.toml".into()), Overrides::default())
                .map_err(|e| e.to_string())?;
            let (trusted, influence) = c.network_settings().map_err(|e| e.to_string())?;
            assert!(trusted.contains("10.9.8.7".parse().unwrap()));
            assert!(trusted.contains("::1".parse().unwrap()));
            assert_eq!(influence.mode, ulo_core::session_influence::Mode::Off);
            assert!(influence.exempt.contains("100.100.0.1".parse().unwrap()));
            jail.set_env("ULO_SESSION_INFLUENCE", "monitor");
            jail.set_env("ULO_TRUSTED_PROXIES", "10.0.0.0/8,proxy.internal");
            let c = Config::load(None, Overrides::default()).map_err(|e| e.to_string())?;
            let e = c.network_settings().unwrap_err().to_string();
            assert!(
                e.contains("ULO_TRUSTED_PROXIES") && e.contains("proxy.internal"),
                "{e}"
            );
            assert_eq!(c.session_influence, "monitor");
            Ok(())
        });
    }

    #[test]
    fn layers_apply_in_order_defaults_file_env_flags() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("ulo.toml", "listen = \"127.0.0.1:9000\"\nissuer = \"https://file.example.com\"\ndata_dir = \"/var/lib/ulo\"")?;
            jail.set_env("ULO_ISSUER", "https://env.example.com");
            jail.set_env("ULO_OUTBOUND_ALLOW_HTTP_LOOPBACK", "1");
            let c = Config::load(
                Some("ulo.toml".into()),
                Overrides {
                    data_dir: Some("/flag".into()),
                    ..Default::default()
                },
            )
            .map_err(|e| e.to_string())?;
            assert_eq!(c.listen, "127.0.0.1:9000", "file over default");
            assert_eq!(
                c.issuer.as_deref(),
                Some("https://env.example.com"),
                "env over file"
            );
            assert_eq!(c.data_dir, PathBuf::from("/flag"), "flag over file");
            assert!(c.outbound_allow_http_loopback);
            assert_eq!(c.database_url(), "sqlite:///flag/ulo.db?mode=rwc");
            Ok(())
        });
    }

    #[test]
    fn defaults_secret_files_and_bad_values() {
        figment::Jail::expect_with(|jail| {
            let c = Config::load(None, Overrides::default()).map_err(|e| e.to_string())?;
            assert_eq!(c.listen, "127.0.0.1:8080");
            assert!(!c.outbound_allow_http_loopback);
            jail.create_file("token", "ulo_from_a_file_0123456789abc\n")?;
            jail.set_env("ULO_BOOTSTRAP_TOKEN_FILE", "token");
            let c = Config::load(None, Overrides::default()).map_err(|e| e.to_string())?;
            assert_eq!(
                c.bootstrap_token.as_deref(),
                Some("ulo_from_a_file_0123456789abc")
            );
            jail.set_env("ULO_OUTBOUND_ALLOW_HTTP_LOOPBACK", "maybe");
            let err = Config::load(None, Overrides::default()).unwrap_err();
            assert!(format!("{err:#}").contains("maybe"), "{err:#}");
            let missing = Config::load(Some("nope.toml".into()), Overrides::default()).unwrap_err();
            assert!(missing.to_string().contains("does not exist"));
            Ok(())
        });
    }

    #[test]
    fn intake_settings_and_the_threat_list_come_from_the_environment_and_are_checked() {
        figment::Jail::expect_with(|jail| {
            let c = Config::load(None, Overrides::default()).map_err(|e| e.to_string())?;
            assert_eq!(
                c.security_events_settings().map_err(|e| e.to_string())?,
                ulo_server::security_events::SecurityEventsSettings::default(),
                "the defaults are the intake's own"
            );
            assert_eq!(c.threat_list_file(), None);
            jail.set_env("ULO_SECURITY_EVENTS_MAX_AGE_SECONDS", "120");
            jail.set_env("ULO_SECURITY_EVENTS_FUTURE_SKEW_SECONDS", "5");
            jail.set_env("ULO_SECURITY_EVENTS_REFUSAL_LIMIT", "3");
            jail.set_env("ULO_SECURITY_EVENTS_JWKS_MIN_REFETCH_SECONDS", "600");
            jail.set_env("ULO_SECURITY_EVENTS_FETCH_TIMEOUT_SECONDS", "2");
            jail.set_env("ULO_THREAT_LIST_FILE", "/etc/ulo/threats.txt");
            let c = Config::load(None, Overrides::default()).map_err(|e| e.to_string())?;
            let se = c.security_events_settings().map_err(|e| e.to_string())?;
            assert_eq!(se.intake.max_age, time::Duration::minutes(2));
            assert_eq!(se.intake.future_skew, time::Duration::seconds(5));
            assert_eq!(se.refusal_limit, 3);
            assert_eq!(se.jwks_min_refetch, std::time::Duration::from_secs(600));
            assert_eq!(se.fetch_timeout, std::time::Duration::from_secs(2));
            assert_eq!(
                c.threat_list_file(),
                Some(PathBuf::from("/etc/ulo/threats.txt"))
            );
            for (name, bad) in [
                ("ULO_SECURITY_EVENTS_MAX_AGE_SECONDS", "0"),
                ("ULO_SECURITY_EVENTS_FUTURE_SKEW_SECONDS", "86400"),
                ("ULO_SECURITY_EVENTS_REFUSAL_LIMIT", "0"),
                ("ULO_SECURITY_EVENTS_JWKS_MIN_REFETCH_SECONDS", "0"),
                ("ULO_SECURITY_EVENTS_FETCH_TIMEOUT_SECONDS", "3600"),
            ] {
                jail.set_env(name, bad);
                let c = Config::load(None, Overrides::default()).map_err(|e| e.to_string())?;
                let err = c.security_events_settings().unwrap_err().to_string();
                assert!(err.starts_with(name) && err.contains(bad), "{name}: {err}");
                jail.set_env(name, "7");
            }
            jail.set_env("ULO_SECURITY_EVENTS_MAX_AGE_SECONDS", "half an hour");
            let err = Config::load(None, Overrides::default()).unwrap_err();
            assert!(
                format!("{err:#}").contains("SECURITY_EVENTS_MAX_AGE_SECONDS"),
                "{err:#}"
            );
            Ok(())
        });
    }

    #[test]
    fn single_logout_settings_default_off_and_come_from_the_environment() {
        figment::Jail::expect_with(|jail| {
            let c = Config::load(None, Overrides::default()).map_err(|e| e.to_string())?;
            assert!(!c.single_logout_all_apps, "off unless asked for");
            assert_eq!(c.session_sweep_seconds, 30);
            jail.set_env("ULO_SINGLE_LOGOUT_ALL_APPS", "true");
            jail.set_env("ULO_SESSION_SWEEP_SECONDS", "5");
            let c = Config::load(None, Overrides::default()).map_err(|e| e.to_string())?;
            assert!(c.single_logout_all_apps);
            assert_eq!(c.session_sweep_seconds, 5);
            jail.set_env("ULO_SINGLE_LOGOUT_ALL_APPS", "sometimes");
            let err = Config::load(None, Overrides::default()).unwrap_err();
            assert!(format!("{err:#}").contains("sometimes"), "{err:#}");
            Ok(())
        });
    }
}
