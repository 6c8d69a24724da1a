//! Real-browser tests: headless Chromium driven over WebDriver by chromedriver (Debian's
//! `chromium` and `chromium-driver` packages; `.ci/run` installs them). Each [`Browser`] has
//! its own chromedriver process on a free port and a fresh profile, so tests share nothing.
//! Screenshots land in `target/screenshots/<test>/<step>.png` for a person to look at.
//!
//! ```ignore
//! let b = Browser::start("signs_in").await?;
//! b.goto(&format!("{}/login", server.url)).await?;
//! b.fill("username", "ada@example.com").await?;
//! b.fill("password", PASSWORD).await?;
//! b.click_button("Sign in").await?;
//! b.wait_for_text("You are signed in").await?;
//! b.screenshot("signed-in").await?;
//! b.close().await;
//! ```

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

/// Where chromedriver is looked for (`ULO_CHROMEDRIVER` overrides).
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Where Chromium is looked for (`ULO_CHROMIUM` overrides).
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// How long a wait of a browser step may take before the test fails: pages are local, but the
/// machine may be loaded.
pub const STEP_DEADLINE: Duration = Duration::from_secs(30);

fn configured(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from(default), PathBuf::from)
}

/// A chromedriver process; killed (with the browsers it started) when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    /// Starts chromedriver on a free loopback port and waits until it answers `/status`.
    async fn start() -> anyhow::Result<Driver> {
        let exe = configured("ULO_CHROMEDRIVER", CHROMEDRIVER);
        if !exe.exists() {
            bail!(
                "chromedriver is not installed at {} — the browser tests need Chromium and \
                 chromedriver: `apt-get update && apt-get install -y chromium chromium-driver` \
                 (Debian; .ci/run does this), or set ULO_CHROMEDRIVER and ULO_CHROMIUM",
                exe.display()
            );
        }
        // A port the OS just gave out is free; chromedriver binds it a moment later. Should
        // another process take it in between, chromedriver exits and we try another.
        let mut last_error = None;
        for _ in 0..3 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")?
                .local_addr()?
                .port();
            let mut cmd = Command::new(&exe);
            cmd.arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            // Its own process group, so dropping it can end Chromium too.
            std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
            let child = cmd
                .spawn()
                .with_context(|| format!("start {}", exe.display()))?;
            let mut driver = Driver {
                child,
                url: format!("http://127.0.0.1:{port}"),
            };
            match driver.wait_ready().await {
                Ok(()) => return Ok(driver),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| anyhow!("chromedriver did not start")))
    }

    /// Polls `/status` until chromedriver says it is ready.
    async fn wait_ready(&mut self) -> anyhow::Result<()> {
        let http = reqwest::Client::new();
        let start = Instant::now();
        let mut delay = Duration::from_millis(10);
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("chromedriver exited at start ({status})");
            }
            if let Ok(resp) = http.get(format!("{}/status", self.url)).send().await
                && let Ok(v) = resp.json::<serde_json::Value>().await
                && v["value"]["ready"] == true
            {
                return Ok(());
            }
            if start.elapsed() > STEP_DEADLINE {
                bail!("chromedriver did not answer on {} in time", self.url);
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_millis(200));
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // SAFETY: signals the process group this driver was started in (its own).
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The folder screenshots go to: `<target>/screenshots/<test>`.
fn screenshot_dir(test: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            // Test binaries run from `<target>/<profile>/deps/`.
            let exe = std::env::current_exe().ok()?;
            let deps = exe.ancestors().find(|p| p.ends_with("deps"))?;
            deps.parent()?.parent().map(Path::to_path_buf)
        })
        .unwrap_or_else(|| std::env::temp_dir().join("ulo-target"));
    let safe: String = test
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    target.join("screenshots").join(safe)
}

/// One headless Chromium with a fresh profile, driven by its own chromedriver.
pub struct Browser {
    client: Client,
    shots: PathBuf,
    step: AtomicUsize,
    // Dropped after the client: the profile directory outlives the browser using it.
    _profile: tempfile::TempDir,
    _driver: Driver,
}

impl Browser {
    /// Starts a browser for test `test` (names its screenshot folder, emptied first).
    pub async fn start(test: &str) -> anyhow::Result<Browser> {
        let driver = Driver::start().await?;
        let chromium = configured("ULO_CHROMIUM", CHROMIUM);
        if !chromium.exists() {
            bail!(
                "Chromium is not installed at {} — `apt-get install -y chromium chromium-driver`",
                chromium.display()
            );
        }
        let profile = tempfile::tempdir()?;
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium,
                "args": [
                    "--headless=new",
                    // Tests run as root in CI, where Chromium's sandbox cannot start.
                    "--no-sandbox",
                    "--disable-dev-shm-usage",
                    "--disable-gpu",
                    "--no-first-run",
                    "--no-default-browser-check",
                    "--disable-extensions",
                    "--disable-background-networking",
                    "--disable-sync",
                    "--password-store=basic",
                    "--window-size=1024,768",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }),
        );
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&driver.url)
            .await
            .context("open a Chromium session through chromedriver")?;
        let shots = screenshot_dir(test);
        let _ = std::fs::remove_dir_all(&shots);
        std::fs::create_dir_all(&shots).with_context(|| format!("create {}", shots.display()))?;
        Ok(Browser {
            client,
            shots,
            step: AtomicUsize::new(0),
            _profile: profile,
            _driver: driver,
        })
    }

    /// The WebDriver client, for what the helpers here do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Opens `url` and waits for it to load.
    pub async fn goto(&self, url: &str) -> anyhow::Result<()> {
        self.client
            .goto(url)
            .await
            .with_context(|| format!("open {url}"))
    }

    /// The URL the browser is at.
    pub async fn url(&self) -> anyhow::Result<url::Url> {
        Ok(self.client.current_url().await?)
    }

    /// The page's visible text.
    pub async fn text(&self) -> anyhow::Result<String> {
        Ok(self.client.find(Locator::Css("body")).await?.text().await?)
    }

    /// The page's HTML as the browser holds it.
    pub async fn source(&self) -> anyhow::Result<String> {
        Ok(self.client.source().await?)
    }

    /// The input with id or name `field`, waiting for it to appear.
    pub async fn field(&self, field: &str) -> anyhow::Result<Element> {
        let css = format!("[id=\"{field}\"], [name=\"{field}\"]");
        self.wait_for_element(&css).await
    }

    /// Types `value` into the field with id or name `field` (cleared first).
    pub async fn fill(&self, field: &str, value: &str) -> anyhow::Result<()> {
        let el = self.field(field).await?;
        el.clear().await?;
        el.send_keys(value)
            .await
            .with_context(|| format!("type into {field}"))
    }

    /// Clicks the button (or submit input) labelled `label`.
    pub async fn click_button(&self, label: &str) -> anyhow::Result<()> {
        let xpath = format!(
            "//button[normalize-space()='{label}'] | //input[@type='submit' and @value='{label}']"
        );
        let el = self
            .wait_for(&format!("a button labelled {label:?}"), || async {
                self.client.find(Locator::XPath(&xpath)).await.ok()
            })
            .await?;
        el.click().await.with_context(|| format!("click {label:?}"))
    }

    /// Clicks the element matching CSS `selector`.
    pub async fn click(&self, selector: &str) -> anyhow::Result<()> {
        self.wait_for_element(selector).await?.click().await?;
        Ok(())
    }

    /// Waits for an element matching CSS `selector`.
    pub async fn wait_for_element(&self, selector: &str) -> anyhow::Result<Element> {
        self.wait_for(&format!("an element {selector:?}"), || async {
            self.client.find(Locator::Css(selector)).await.ok()
        })
        .await
    }

    /// Waits until the page's text contains `text`; answers the text.
    pub async fn wait_for_text(&self, text: &str) -> anyhow::Result<String> {
        self.wait_for(&format!("the text {text:?}"), || async {
            self.text().await.ok().filter(|t| t.contains(text))
        })
        .await
    }

    /// Waits until the browser is at a URL `accept` takes; answers it.
    pub async fn wait_for_url(
        &self,
        what: &str,
        accept: impl Fn(&url::Url) -> bool,
    ) -> anyhow::Result<url::Url> {
        self.wait_for(what, || async {
            self.client.current_url().await.ok().filter(|u| accept(u))
        })
        .await
    }

    /// Polls `check` until it yields `Some`, for at most [`STEP_DEADLINE`]; the error says what
    /// was awaited, where the browser was and what it showed, and a screenshot is kept.
    pub async fn wait_for<T, F, Fut>(&self, what: &str, mut check: F) -> anyhow::Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Option<T>>,
    {
        let start = Instant::now();
        let mut delay = Duration::from_millis(10);
        loop {
            if let Some(v) = check().await {
                return Ok(v);
            }
            if start.elapsed() > STEP_DEADLINE {
                let at = self
                    .client
                    .current_url()
                    .await
                    .map(|u| u.to_string())
                    .unwrap_or_default();
                let text = self.text().await.unwrap_or_default();
                let shot = self.screenshot("timed-out").await.ok();
                bail!(
                    "timed out after {STEP_DEADLINE:?} waiting for {what}; the browser is at {at} \
                     showing {text:?} (screenshot: {shot:?})"
                );
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_millis(200));
        }
    }

    /// Saves a screenshot as `<target>/screenshots/<test>/<NN>-<step>.png`; answers its path.
    pub async fn screenshot(&self, step: &str) -> anyhow::Result<PathBuf> {
        let png = self.client.screenshot().await?;
        let n = self.step.fetch_add(1, Ordering::Relaxed) + 1;
        let path = self.shots.join(format!("{n:02}-{step}.png"));
        std::fs::write(&path, png).with_context(|| format!("write {}", path.display()))?;
        Ok(path)
    }

    /// The names and values of the cookies the browser holds for the current page's site.
    pub async fn cookies(&self) -> anyhow::Result<Vec<(String, String)>> {
        Ok(self
            .client
            .get_all_cookies()
            .await?
            .into_iter()
            .map(|c| (c.name().to_string(), c.value().to_string()))
            .collect())
    }

    /// Ends the browser session (Chromium quits); chromedriver stops when this is dropped.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

/// A tiny web site on its own loopback port (another origin than the server under test):
/// fixed HTML pages by path, answering 404 elsewhere. For an app's redirect URI, or another
/// site's page that posts a form to ulo.
pub struct Site {
    /// Base URL, e.g. `http://127.0.0.1:40123`.
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Site {
    /// Serves `pages` (path → HTML).
    pub async fn start(pages: Vec<(&str, String)>) -> anyhow::Result<Site> {
        use axum::response::Html;
        let mut router = axum::Router::new();
        for (path, html) in pages {
            router = router.route(path, axum::routing::get(move || async move { Html(html) }));
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(Site { url, task })
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        self.task.abort();
    }
}
