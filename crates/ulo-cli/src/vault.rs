//! `ulo vault serve` and `ulo vault demo-app`: the reference logout-enabled vault and the
//! demo managed app whose passwords it rotates.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use ulo_jose::MasterKey;
use ulo_vault::clock::SystemClock;
use ulo_vault::demo_app::{DemoApp, DemoServer};

/// What `ulo vault` does.
#[derive(Subcommand)]
pub enum VaultAction {
    /// Run the vault: SCIM, sign-in through ulo, admin and person API, Universal Logout, rotation.
    ///
    /// SCIM at /scim/v2, sign-in through ulo at /login, admin and person API at /api,
    /// Universal Logout at POST /global-token-revocation, and the rotation worker. The master
    /// key comes from ULO_VAULT_MASTER_KEY (base64) or <data dir>/vault-master.key (created,
    /// mode 0600).
    Serve(ServeArgs),
    /// Run the demo managed app whose passwords the vault rotates.
    ///
    /// A password sign-in (POST /login, GET /me) and the vault's connector at POST /connector.
    DemoApp(DemoArgs),
}

/// `ulo vault serve`.
#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "ULO_VAULT_LISTEN", default_value = "127.0.0.1:8300")]
    listen: String,
    /// Data directory for SQLite and the generated master key.
    #[arg(long, env = "ULO_VAULT_DATA_DIR", default_value = "./ulo-vault-data")]
    data_dir: PathBuf,
    /// sqlite://PATH or postgres://USER@HOST/DB [default: sqlite://<data dir>/vault.db].
    #[arg(long, env = "ULO_VAULT_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// ulo's issuer URL.
    #[arg(long, env = "ULO_VAULT_IDP_ISSUER")]
    idp_issuer: String,
    /// The vault's OIDC client id at ulo.
    #[arg(long, env = "ULO_VAULT_CLIENT_ID")]
    client_id: String,
    /// The vault's OIDC client secret at ulo.
    #[arg(long, env = "ULO_VAULT_CLIENT_SECRET", hide_env_values = true)]
    client_secret: String,
    /// The vault's public base URL [default: http://LISTEN].
    #[arg(long, env = "ULO_VAULT_PUBLIC_URL")]
    public_url: Option<String>,
    /// ulo's JWKS URL [default: <issuer>/oauth2/v1/keys].
    #[arg(long, env = "ULO_VAULT_IDP_JWKS_URI")]
    idp_jwks_uri: Option<String>,
    /// Bearer token of the admin API (at least 20 characters).
    #[arg(long, env = "ULO_VAULT_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: String,
    /// Bearer token ulo's SCIM provisioning uses (at least 20 characters).
    #[arg(long, env = "ULO_VAULT_SCIM_TOKEN", hide_env_values = true)]
    scim_token: String,
    /// Allow connector URLs with plain http to loopback addresses (development and the demo
    /// only; the same switch as ulo's). Link-local, metadata and unspecified addresses are
    /// never called.
    #[arg(
        long,
        env = "ULO_OUTBOUND_ALLOW_HTTP_LOOPBACK",
        value_name = "BOOL",
        num_args = 0..=1,
        default_value = "false",
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    outbound_allow_http_loopback: bool,
}

/// `ulo vault demo-app`.
#[derive(Args)]
pub struct DemoArgs {
    /// Address to listen on.
    #[arg(long, env = "ULO_VAULT_DEMO_LISTEN", default_value = "127.0.0.1:8400")]
    listen: String,
    /// The secret the vault signs connector requests with (at least 16 characters).
    #[arg(long, env = "ULO_VAULT_DEMO_CONNECTOR_SECRET", hide_env_values = true)]
    connector_secret: String,
    /// An account it starts with, USERNAME:PASSWORD (repeat for more).
    #[arg(long = "account", value_name = "USERNAME:PASSWORD")]
    accounts: Vec<String>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Runs `ulo vault …`.
pub async fn run(action: VaultAction) -> Result<()> {
    match action {
        VaultAction::Serve(a) => serve(a).await,
        VaultAction::DemoApp(a) => demo_app(a).await,
    }
}

async fn serve(a: ServeArgs) -> Result<()> {
    let (listen, data_dir) = (a.listen, a.data_dir);
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("creating data directory {}", data_dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&data_dir, std::fs::Permissions::from_mode(0o700));
    }
    let database_url = a
        .database_url
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", data_dir.join("vault.db").display()));
    let key = match env("ULO_VAULT_MASTER_KEY") {
        Some(k) => MasterKey::from_base64(&k).context("ULO_VAULT_MASTER_KEY")?,
        None => {
            let path = data_dir.join("vault-master.key");
            MasterKey::load_or_create_file(&path)
                .with_context(|| format!("master key file {}", path.display()))?
        }
    };
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    let mut opts = ulo_vault::Options::new(
        database_url.clone(),
        a.idp_issuer,
        a.client_id,
        a.client_secret,
        a.admin_token,
        a.scim_token,
        key,
        Arc::new(SystemClock),
    );
    opts.public_url = a.public_url;
    opts.idp_jwks_uri = a.idp_jwks_uri;
    opts.outbound = ulo_core::outbound::OutboundPolicy {
        allow_http_loopback: a.outbound_allow_http_loopback,
    };
    if a.outbound_allow_http_loopback {
        eprintln!(
            "warning: ULO_OUTBOUND_ALLOW_HTTP_LOOPBACK=1: connector URLs may use plain http to loopback addresses. Development and tests only."
        );
    }
    let running = ulo_vault::start(opts, listener).await?;
    let url = running.url.clone();
    println!(
        "ulo vault {} is listening on http://{}",
        env!("CARGO_PKG_VERSION"),
        running.addr
    );
    println!("  public URL:        {url}");
    println!(
        "  store:             {} ({})",
        running.vault.store.backend(),
        ulo_vault::store::redact(&database_url)
    );
    println!("  sign in:           {url}/login  (redirect URI {url}/oidc/callback)");
    println!("  SCIM:              {url}/scim/v2");
    println!("  Universal Logout:  {url}/global-token-revocation");
    println!("  identity provider: {}", running.vault.settings.idp_issuer);
    println!();
    println!("Ready. Stop with Ctrl-C (or SIGTERM).");
    crate::shutdown_signal().await;
    eprintln!("shutting down: finishing in-flight requests and jobs");
    running.stop().await;
    Ok(())
}

async fn demo_app(a: DemoArgs) -> Result<()> {
    if a.connector_secret.len() < ulo_vault::accounts::MIN_CONNECTOR_SECRET {
        bail!(
            "--connector-secret must be at least {} characters",
            ulo_vault::accounts::MIN_CONNECTOR_SECRET
        );
    }
    let mut accounts = Vec::new();
    for spec in &a.accounts {
        let Some((user, password)) = spec
            .split_once(':')
            .filter(|(u, p)| !u.is_empty() && !p.is_empty())
        else {
            bail!("--account {spec:?}: expected USERNAME:PASSWORD");
        };
        accounts.push((user.to_string(), password.to_string()));
    }
    let listen = a.listen;
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    let names: Vec<String> = accounts.iter().map(|(u, _)| u.clone()).collect();
    let app = DemoApp::new(a.connector_secret, accounts, Arc::new(SystemClock));
    let server = DemoServer::start(app, listener)?;
    println!("ulo vault demo app is listening on {}", server.url);
    println!("  sign in:   {}/  (POST /login, GET /me)", server.url);
    println!("  connector: {}/connector", server.url);
    println!(
        "  accounts:  {}",
        if names.is_empty() {
            "none".into()
        } else {
            names.join(", ")
        }
    );
    println!();
    println!("Ready. Stop with Ctrl-C (or SIGTERM).");
    crate::shutdown_signal().await;
    server.stop().await;
    Ok(())
}
