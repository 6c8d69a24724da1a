//! `ulo`: the Universal LogOut control plane, one binary with subcommands.

mod config;
mod vault;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use config::{Config, Overrides};
use ulo_core::app::OutboundPolicy;
use ulo_core::context::Context as ActionContext;
use ulo_jose::{KeyAlg, MasterKey};
use ulo_server::app::{Options, start};
use ulo_server::clock::SystemClock;
use ulo_server::sealer::MasterKeySealer;

/// ulo (Universal LogOut): end a person's access everywhere, now, and prove it.
#[derive(Parser)]
#[command(name = "ulo", version, about, long_about = None)]
struct Cli {
    /// ulo's flags given before the subcommand (`ulo --data-dir D keys list`), still accepted.
    #[command(flatten)]
    before: FlagsBeforeCommand,
    #[command(subcommand)]
    command: Command,
}

/// ulo's settings on the command line (`ulo serve`, `ulo keys`, `ulo tokens`); each overrides
/// its `ULO_*` variable and the file. `ulo vault` has its own flags and defaults.
#[derive(Args, Clone, Default)]
struct UloFlags {
    /// TOML configuration file (also ULO_CONFIG).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Address to listen on (ULO_LISTEN) [default: 127.0.0.1:8080].
    #[arg(long, global = true)]
    listen: Option<String>,
    /// Data directory for SQLite and the generated master key (ULO_DATA_DIR) [default: ./ulo-data].
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// sqlite://PATH or postgres://USER@HOST/DB (ULO_DATABASE_URL) [default: SQLite in the data dir].
    #[arg(long, global = true)]
    database_url: Option<String>,
    /// Public base URL (ULO_ISSUER) [default: http://LISTEN].
    #[arg(long, global = true)]
    issuer: Option<String>,
}

/// [`UloFlags`] in their old place, before the subcommand: hidden, and not global, so that
/// `ulo vault serve --listen` is the vault's own flag.
#[derive(Args, Default)]
struct FlagsBeforeCommand {
    #[arg(long = "config", id = "before_config", hide = true)]
    config: Option<PathBuf>,
    #[arg(long = "listen", id = "before_listen", hide = true)]
    listen: Option<String>,
    #[arg(long = "data-dir", id = "before_data_dir", hide = true)]
    data_dir: Option<PathBuf>,
    #[arg(long = "database-url", id = "before_database_url", hide = true)]
    database_url: Option<String>,
    #[arg(long = "issuer", id = "before_issuer", hide = true)]
    issuer: Option<String>,
}

impl FlagsBeforeCommand {
    /// The names of the flags given.
    fn given(&self) -> Vec<&'static str> {
        [
            ("--config", self.config.is_some()),
            ("--listen", self.listen.is_some()),
            ("--data-dir", self.data_dir.is_some()),
            ("--database-url", self.database_url.is_some()),
            ("--issuer", self.issuer.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, given)| given.then_some(name))
        .collect()
    }
}

impl UloFlags {
    /// These flags, each falling back to the one given before the subcommand.
    fn or(self, before: FlagsBeforeCommand) -> UloFlags {
        UloFlags {
            config: self.config.or(before.config),
            listen: self.listen.or(before.listen),
            data_dir: self.data_dir.or(before.data_dir),
            database_url: self.database_url.or(before.database_url),
            issuer: self.issuer.or(before.issuer),
        }
    }

    /// Loads ulo's configuration with these flags on top.
    fn load(self) -> Result<Config> {
        let overrides = Overrides {
            listen: self.listen,
            data_dir: self.data_dir,
            database_url: self.database_url,
            issuer: self.issuer,
        };
        Config::load(self.config, overrides)
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run the control plane: admin API, sign-in and OIDC provider, SCIM, Universal Logout and Shared Signals, System Log, job worker.
    #[command(
        after_help = "More settings come from ULO_* variables or the --config file (README, Configuration), among them:\n  \
ULO_SINGLE_LOGOUT_ALL_APPS=true  when a ulo session ends (sign-out, RP-initiated logout, expiry, idle timeout, an admin ending it), also notify the person's other logout-enabled apps by their own logout protocol; otherwise only the back-channel apps that session signed in to get a logout token [default: false]\n  \
ULO_SESSION_SWEEP_SECONDS=N  how often sessions past their end or idle timeout are ended, with their single logout [default: 30]\n  \
ULO_TRUSTED_PROXIES=CIDR,…  proxies whose X-Forwarded-For is believed; the client is the right-most address not itself trusted [default: none]\n  \
ULO_SESSION_INFLUENCE=off|monitor|on  a session or refresh-token family used from another network or client is a MEDIUM detection (monitor: logged only) [default: on]\n  \
ULO_SESSION_INFLUENCE_EXEMPT=CIDR,…  addresses that never count as a change of network [default: none]\n  \
ULO_THREAT_LIST_FILE=PATH  CIDR ranges, one a line (# comments): a sign-in or admin API call from a listed address is an ENTITY_CRITICAL_ACTION_FROM_HIGH_THREAT_IP detection (HIGH); checked for changes every 5 s, a bad line keeps the previous list [default: none]\n  \
ULO_SECURITY_EVENTS_MAX_AGE_SECONDS=N  the SET intake refuses a SET whose iat is older [default: 1800]\n  \
ULO_SECURITY_EVENTS_FUTURE_SKEW_SECONDS=N  the SET intake refuses a SET whose iat is later than now plus N [default: 60]\n  \
ULO_SECURITY_EVENTS_REFUSAL_LIMIT=N  refused SETs per address and minute before 429 [default: 10]\n  \
ULO_SECURITY_EVENTS_JWKS_MIN_REFETCH_SECONDS=N  a provider's keys are fetched again for an unknown kid at most once per N [default: 60]\n  \
ULO_SECURITY_EVENTS_FETCH_TIMEOUT_SECONDS=N  how long fetching a provider's keys or SSF configuration may take [default: 5]"
    )]
    Serve {
        #[command(flatten)]
        flags: UloFlags,
    },
    /// Manage signing keys.
    Keys {
        #[command(flatten)]
        flags: UloFlags,
        #[command(subcommand)]
        action: KeysAction,
    },
    /// Manage admin API tokens (operator access to the store; use when no admin token is at hand).
    Tokens {
        #[command(flatten)]
        flags: UloFlags,
        #[command(subcommand)]
        action: TokensAction,
    },
    /// The reference logout-enabled credential vault (a separate service talking to ulo by SCIM,
    /// OIDC and Universal Logout), and its demo managed app.
    Vault {
        #[command(subcommand)]
        action: vault::VaultAction,
    },
    /// The device agent: enroll this computer, then run (poll for sign-out commands).
    Agent {
        #[command(subcommand)]
        action: AgentAction,
    },
}

#[derive(Subcommand)]
enum AgentAction {
    /// Enroll this computer with ulo's device CA using a one-time enrollment token.
    Enroll {
        /// ulo's base URL, e.g. https://ulo.example.com.
        #[arg(long)]
        server: String,
        /// The enrollment token (POST /api/v1/device-enrollment-tokens).
        #[arg(long, env = "ULO_AGENT_ENROLLMENT_TOKEN")]
        token: String,
        /// Where the agent keeps its key and state.
        #[arg(long)]
        state_dir: PathBuf,
    },
    /// Poll ulo for commands and sign people out of this computer when told to.
    ///
    /// After a restart, acknowledgements saved but not yet delivered are sent first, and their
    /// sign-outs are not run again; a sign-out the restart interrupted while it ran is run again.
    Run {
        /// Where `enroll` put the agent's key and state (kept across restarts: the sign-out
        /// being run, acknowledgements not yet delivered, agent.log).
        #[arg(long)]
        state_dir: PathBuf,
        /// Seconds between periodic polls (with jitter) when the long-poll is off.
        #[arg(long, default_value_t = 900)]
        poll_interval: u64,
        /// Poll periodically only (no long-poll held open).
        #[arg(long)]
        no_long_poll: bool,
        /// Poll once, run what came, exit (non-zero when the server refused the device).
        #[arg(long)]
        once: bool,
        /// Sign-out command line; the account name is its argument [default: loginctl
        /// terminate-user on Linux, the console user's logout on macOS].
        #[arg(long)]
        signout_command: Option<String>,
        /// Report this console user instead of detecting one.
        #[arg(long)]
        console_user: Option<String>,
    },
}

#[derive(Subcommand)]
enum KeysAction {
    /// List signing keys and their states.
    List,
    /// Add a new active key; the previous one stays published until retired.
    Rotate {
        /// ES256 or RS256.
        #[arg(long, default_value = "ES256")]
        alg: String,
    },
    /// Remove a replaced key from the JWKS.
    Retire {
        /// The key id. A key id is a base64url thumbprint and may begin with
        /// `-`; it is still read as the key id, not as an option.
        #[arg(allow_hyphen_values = true)]
        kid: String,
    },
}

#[derive(Subcommand)]
enum TokensAction {
    /// Create an API token for an admin user and print it once.
    Create {
        /// The admin's login.
        #[arg(long)]
        login: String,
        /// A name for the token.
        #[arg(long, default_value = "cli")]
        name: String,
    },
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ULO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    // Colours only on a terminal: log files and collectors get plain text.
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

fn master_key(c: &Config) -> Result<MasterKey> {
    if let Some(k) = &c.master_key {
        return MasterKey::from_base64(k).context("ULO_MASTER_KEY");
    }
    let path = c
        .master_key_file
        .clone()
        .unwrap_or_else(|| c.data_dir.join("master.key"));
    MasterKey::load_or_create_file(&path)
        .with_context(|| format!("master key file {}", path.display()))
}

fn prepare_data_dir(c: &Config) -> Result<()> {
    std::fs::create_dir_all(&c.data_dir)
        .with_context(|| format!("creating data directory {}", c.data_dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&c.data_dir, std::fs::Permissions::from_mode(0o700));
    }
    Ok(())
}

fn options(c: &Config, key: MasterKey) -> Result<Options> {
    let (trusted_proxies, session_influence) = c.network_settings()?;
    Ok(Options {
        database_url: c.database_url(),
        issuer: c.issuer.clone(),
        master_key_fingerprint: key.fingerprint(),
        sealer: Arc::new(MasterKeySealer(key)),
        outbound: OutboundPolicy {
            allow_http_loopback: c.outbound_allow_http_loopback,
        },
        bootstrap_admin: c.bootstrap_admin.clone(),
        bootstrap_token: c.bootstrap_token.clone(),
        worker_concurrency: c.worker_concurrency,
        worker_lease: std::time::Duration::from_secs(c.worker_lease_seconds.max(1)),
        single_logout_all_apps: c.single_logout_all_apps,
        session_sweep_interval: std::time::Duration::from_secs(c.session_sweep_seconds.max(1)),
        delivery_timeout: std::time::Duration::from_secs(c.delivery_timeout_seconds.max(1)),
        logout_deadline: std::time::Duration::from_secs(c.logout_deadline_seconds.max(1)),
        risk_detection_ttl: std::time::Duration::from_secs(c.risk_detection_ttl.max(1)),
        device: c.device_settings()?,
        scim_shows_admins: c.scim_show_admins,
        trusted_proxies,
        session_influence,
        security_events: c.security_events_settings()?,
        threat_list_file: c.threat_list_file(),
        threat_list_check_interval: std::time::Duration::from_secs(5),
        clock: Arc::new(SystemClock),
    })
}

pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

async fn serve(c: Config) -> Result<()> {
    prepare_data_dir(&c)?;
    let key = master_key(&c)?;
    let listener = ulo_server::bind(&c.listen)
        .await
        .with_context(|| format!("listening on {}", c.listen))?;
    if c.outbound_allow_http_loopback {
        eprintln!(
            "warning: ULO_OUTBOUND_ALLOW_HTTP_LOOPBACK=1: outbound calls may use plain http to loopback addresses. Development and tests only."
        );
    }
    let running = start(options(&c, key)?, listener).await?;
    let issuer = running.issuer.clone();
    println!(
        "ulo {} is listening on http://{}",
        env!("CARGO_PKG_VERSION"),
        running.addr
    );
    println!("  issuer:     {issuer}");
    println!(
        "  store:      {} ({})",
        running.state.store.backend(),
        ulo_store::redact(&c.database_url())
    );
    println!(
        "  console:    {issuer}/admin (sign in as an admin: username and password, then TOTP when enrolled)"
    );
    println!("  admin API:  {issuer}/api/v1 (Authorization: SSWS <API token>)");
    println!("  health:     {issuer}/health");
    if let Some(b) = &running.bootstrapped {
        println!();
        println!(
            "First start: created super admin {}.",
            b.admin.profile.login
        );
        println!("Its password and API token are shown this once; keep them safe:");
        println!();
        println!("    console:   {issuer}/admin");
        println!("    username:  {}", b.admin.profile.login);
        println!("    password:  {}", b.password);
        println!("    API token: {}", b.token);
        println!();
        println!(
            "Try:  curl -H 'Authorization: SSWS {}' {issuer}/api/v1/users",
            b.token
        );
    }
    println!();
    println!("Ready. Stop with Ctrl-C (or SIGTERM): in-flight requests and jobs finish first.");
    shutdown_signal().await;
    eprintln!("shutting down: finishing in-flight requests and jobs");
    running.stop().await;
    Ok(())
}

async fn open_for_admin(c: &Config) -> Result<(Arc<dyn ulo_core::store::Store>, MasterKeySealer)> {
    let key = master_key(c)?;
    let store = ulo_store::open(&c.database_url())
        .await
        .context("opening the store")?;
    Ok((store, MasterKeySealer(key)))
}

async fn keys(c: Config, action: KeysAction) -> Result<()> {
    let (store, sealer) = open_for_admin(&c).await?;
    let clock = SystemClock;
    let ctx = ActionContext::system("CLI");
    match action {
        KeysAction::List => {
            for k in ulo_server::keys::list(store.as_ref()).await? {
                println!(
                    "{}  {}  {:<9}  created {}",
                    k.kid,
                    k.alg,
                    k.state.as_str(),
                    ulo_core::clock::rfc3339(k.created)
                );
            }
        }
        KeysAction::Rotate { alg } => {
            let alg: KeyAlg = alg.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
            let rec = ulo_server::keys::rotate(store.as_ref(), &sealer, &clock, &ctx, alg).await?;
            println!(
                "new active {} key {}; the previous key stays published until `ulo keys retire <kid>`",
                rec.alg, rec.kid
            );
            println!("running servers pick it up within 30 s");
        }
        KeysAction::Retire { kid } => {
            ulo_server::keys::retire(store.as_ref(), &clock, &ctx, &kid).await?;
            println!("retired {kid}: it leaves the JWKS within 30 s");
        }
    }
    Ok(())
}

async fn tokens(c: Config, action: TokensAction) -> Result<()> {
    let (store, sealer) = open_for_admin(&c).await?;
    let clock = SystemClock;
    let ctx = ActionContext::system("CLI");
    match action {
        TokensAction::Create { login, name } => {
            let dir = ulo_core::directory::Directory {
                store: store.as_ref(),
                clock: &clock,
                outbound: OutboundPolicy::default(),
                sealer: &sealer,
                logout_deadlines: ulo_core::logout::Deadlines {
                    delivery: time::Duration::seconds(c.logout_deadline_seconds.max(1) as i64),
                    device_command: time::Duration::seconds(
                        c.device_command_ttl_seconds.max(1) as i64
                    ),
                },
            };
            let user = dir.get_user(&ctx, &login).await?;
            let t = dir
                .create_api_token(&ctx, user.id, &name, None, None)
                .await?;
            println!("{}", t.secret);
        }
    }
    Ok(())
}

async fn agent(action: AgentAction) -> Result<()> {
    match action {
        AgentAction::Enroll {
            server,
            token,
            state_dir,
        } => {
            let e = ulo_agent::enroll::enroll(&ulo_agent::enroll::EnrollOptions {
                server,
                token,
                state_dir: state_dir.clone(),
                agent_version: ulo_agent::VERSION.to_string(),
            })
            .await?;
            println!(
                "enrolled: device {} with {} (state in {})",
                e.device_id,
                e.server,
                state_dir.display()
            );
            Ok(())
        }
        AgentAction::Run {
            state_dir,
            poll_interval,
            no_long_poll,
            once,
            signout_command,
            console_user,
        } => {
            let opts = ulo_agent::run::RunOptions {
                state_dir,
                poll_interval,
                long_poll: !no_long_poll,
                once,
                signout_command: signout_command
                    .unwrap_or_else(|| ulo_agent::signout::default_command().to_string()),
                console_user,
            };
            ulo_agent::run::run(opts, shutdown_signal()).await?;
            Ok(())
        }
    }
}

/// mimalloc instead of the system allocator: a server allocating and freeing small buffers per
/// request from many threads (glibc's malloc was an eighth of `ulo serve`'s CPU time under a
/// fleet of polling agents).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    init_tracing();
    let before = cli.before;
    match cli.command {
        Command::Serve { flags } => serve(flags.or(before).load()?).await,
        Command::Keys { flags, action } => keys(flags.or(before).load()?, action).await,
        Command::Tokens { flags, action } => tokens(flags.or(before).load()?, action).await,
        Command::Vault { action } => {
            // The vault is its own service with its own settings; ulo's do not apply to it.
            let given = before.given();
            if !given.is_empty() {
                anyhow::bail!(
                    "{} before `vault` would be ulo's setting, not the vault's: put the vault's flags after the subcommand, e.g. `ulo vault serve --listen ADDR --data-dir DIR` (see `ulo vault serve --help`)",
                    given.join(", ")
                );
            }
            vault::run(action).await
        }
        Command::Agent { action } => {
            // The agent runs on people's computers: no server setting applies to it.
            let given = before.given();
            if !given.is_empty() {
                anyhow::bail!(
                    "{} before `agent` would be a server setting, not the agent's: see `ulo agent run --help`",
                    given.join(", ")
                );
            }
            agent(action).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_id_that_begins_with_a_hyphen_is_a_key_id() {
        let cli = Cli::try_parse_from(["ulo", "keys", "retire", "-bQx9_k"]).expect("parsed");
        let Command::Keys {
            action: KeysAction::Retire { kid },
            ..
        } = cli.command
        else {
            panic!("not keys retire");
        };
        assert_eq!(kid, "-bQx9_k");
    }
}
