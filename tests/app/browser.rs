//! A real headless Chromium, driven over WebDriver by chromedriver: for tests
//! that need what only a browser does (forms, redirects, scripts, layout).
//!
//! Each [`Browser`] has its own chromedriver on a free port and its own empty
//! profile; dropping it ends the session (chromedriver stops Chromium) and
//! kills chromedriver, also when the test panics.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hsl_dashboard::domain::role::Role;
use hyper_util::client::legacy::connect::HttpConnector;
use nix::sys::signal::Signal;
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::helpers::{TestApp, spawn_app};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
/// How long chromedriver may take to listen on its port.
const DRIVER_STARTUP: Duration = Duration::from_secs(20);
/// How long [`Browser::wait_for`] and [`Browser::login`] wait.
const WAIT: Duration = Duration::from_secs(10);
/// Flags Chromium needs to run headless as root on a machine without
/// internet; without the background-networking ones it hangs on refused
/// connections.
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--no-proxy-server",
    "--window-size=1280,900",
];

pub struct Browser {
    client: Client,
    driver: Child,
    port: u16,
    /// The WebDriver session, ended in `Drop`.
    session: Option<String>,
    _profile: TempDir,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session. Panics (never
    /// skips) when they are not installed.
    pub async fn start() -> Browser {
        for binary in [CHROMEDRIVER, CHROMIUM] {
            assert!(
                Path::new(binary).exists(),
                "{binary} is missing: the browser tests need Debian's Chromium; \
                 run `apt-get install chromium chromium-driver` (or `.ci/run` as root)"
            );
        }
        let (driver, port) = start_driver();
        let profile = tempfile::Builder::new()
            .prefix("hsl-chromium-")
            .tempdir()
            .expect("creating a Chromium profile directory");
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|f| f.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let Value::Object(capabilities) = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
        }) else {
            unreachable!()
        };
        // Build the guard before connecting so a failed connect still kills
        // chromedriver.
        let mut connecting = DriverGuard(Some(driver));
        // chromedriver is plain HTTP on localhost: no TLS connector (the
        // rustls one would also need a process-wide crypto provider, as both
        // ring and aws-lc-rs are in the dependency graph).
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .unwrap_or_else(|e| panic!("starting Chromium through chromedriver: {e}"));
        let session = client.session_id().await.ok().flatten();
        Browser {
            client,
            driver: connecting.0.take().unwrap(),
            port,
            session,
            _profile: profile,
        }
    }

    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("opening {url}: {e}"));
    }

    /// The path of the current page's URL, e.g. `/login`.
    pub async fn current_path(&self) -> String {
        self.client
            .current_url()
            .await
            .expect("reading the current URL")
            .path()
            .to_owned()
    }

    /// Waits (at most [`WAIT`]) for an element matching `css`.
    pub async fn wait_for(&self, css: &str) -> Element {
        match self
            .client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => element,
            Err(e) => panic!("waiting for `{css}` on {}: {e}", self.current_path().await),
        }
    }

    /// The rendered text of every element matching `css`, in document order.
    pub async fn find_all_text(&self, css: &str) -> Vec<String> {
        let elements = self
            .client
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("finding `{css}`: {e}"));
        let mut texts = Vec::with_capacity(elements.len());
        for element in elements {
            texts.push(element.text().await.expect("reading an element's text"));
        }
        texts
    }

    /// Clicks the first element matching `css`, waiting for it to appear.
    pub async fn click(&self, css: &str) {
        self.wait_for(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("clicking `{css}`: {e}"));
    }

    /// Types `text` into the first element matching `css`.
    pub async fn type_into(&self, css: &str, text: &str) {
        self.wait_for(css)
            .await
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("typing into `{css}`: {e}"));
    }

    /// Runs `script` (a function body) in the page and returns its value.
    pub async fn eval(&self, script: &str) -> Value {
        self.client
            .execute(script, Vec::new())
            .await
            .unwrap_or_else(|e| panic!("running `{script}`: {e}"))
    }

    /// Resizes the window, e.g. to a phone's width.
    pub async fn resize(&self, width: u32, height: u32) {
        self.client
            .set_window_size(width, height)
            .await
            .unwrap_or_else(|e| panic!("resizing the window to {width}×{height}: {e}"));
    }

    /// Saves a PNG of the viewport to `path`, creating its directory.
    pub async fn screenshot(&self, path: impl AsRef<Path>) {
        let path = path.as_ref();
        let png = self.client.screenshot().await.expect("taking a screenshot");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(path, png).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    }

    /// Signs in through the `/login` form and waits to be sent elsewhere.
    pub async fn login(&self, app: &TestApp, login: &str, password: &str) {
        self.goto(&app.url("/login")).await;
        self.type_into("input[name=login]", login).await;
        self.type_into("input[name=password]", password).await;
        self.click("button[type=submit]").await;
        let deadline = Instant::now() + WAIT;
        while self.current_path().await == "/login" {
            assert!(
                Instant::now() < deadline,
                "still on /login {WAIT:?} after signing in as {login}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Synchronous on purpose: `Drop` also runs while a test panics, and
        // the runtime may be gone by the time an async close would run.
        // Ending the session makes chromedriver stop Chromium and its helpers.
        if let Some(session) = self.session.take() {
            end_session(self.port, &session);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Kills chromedriver unless defused (between spawning it and owning it in a
/// `Browser`).
struct DriverGuard(Option<Child>);

impl Drop for DriverGuard {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts chromedriver on a free port and waits until it accepts connections.
fn start_driver() -> (Child, u16) {
    let mut last_error = String::new();
    // A port found free can be taken before chromedriver binds it; retry then.
    for _ in 0..3 {
        let port = free_port();
        let mut command = Command::new(CHROMEDRIVER);
        command
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // `.ci/run` also runs the suite under libfaketime (a date years
            // ahead); Chromium does not start with that preload, and the
            // browser's own clock plays no part: pages get dates from the
            // server.
            .env_remove("LD_PRELOAD");
        // SAFETY: prctl is async-signal-safe; the closure allocates nothing.
        // If the test process dies without dropping the `Browser`,
        // chromedriver is killed instead of outliving it.
        unsafe {
            command.pre_exec(|| {
                nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(std::io::Error::from)
            });
        }
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("starting {CHROMEDRIVER}: {e}"));
        let mut guard = DriverGuard(Some(child));
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let deadline = Instant::now() + DRIVER_STARTUP;
        loop {
            if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
                return (guard.0.take().unwrap(), port);
            }
            let child = guard.0.as_mut().unwrap();
            if let Ok(Some(status)) = child.try_wait() {
                last_error = format!("chromedriver exited with {status}");
                break;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen on port {port} within {DRIVER_STARTUP:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    panic!("could not start chromedriver: {last_error}")
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .expect("finding a free port")
        .port()
}

/// `DELETE /session/{id}`, by hand over a blocking socket; errors are
/// ignored (chromedriver is killed right after anyway).
fn end_session(port: u16, session: &str) {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_secs(1)) else {
        return;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
    let request = format!(
        "DELETE /session/{session} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
         Content-Length: 0\r\nConnection: close\r\n\r\n"
    );
    if stream.write_all(request.as_bytes()).is_ok() {
        // chromedriver answers once Chromium has quit. It keeps the
        // connection open despite `Connection: close`, so read just the one
        // response rather than to EOF.
        read_response(&mut stream);
    }
}

/// Reads one HTTP response with a `Content-Length` body, or until EOF.
fn read_response(stream: &mut TcpStream) {
    let mut response = Vec::new();
    let mut buf = [0; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => response.extend_from_slice(&buf[..n]),
        }
        let Some(header_end) = response.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let headers = String::from_utf8_lossy(&response[..header_end]).to_ascii_lowercase();
        let length = headers
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .and_then(|value| value.trim().parse::<usize>().ok());
        if let Some(length) = length
            && response.len() >= header_end + 4 + length
        {
            return;
        }
    }
}

#[tokio::test]
async fn a_browser_signs_in_and_sees_the_home_page() {
    let app = spawn_app().await;
    let (login, password) = app.add_staff(Role::Admin).await;
    let browser = Browser::start().await;

    browser.login(&app, &login, &password).await;

    assert_eq!(browser.current_path().await, "/");
    browser.wait_for("h1").await;
    assert_eq!(browser.find_all_text("h1").await, ["Главная"]);
    assert_eq!(browser.find_all_text(".whoami").await, [login.as_str()]);

    let shot = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots/home.png");
    let _ = std::fs::remove_file(&shot);
    browser.screenshot(&shot).await;
    let size = std::fs::metadata(&shot)
        .expect("the screenshot exists")
        .len();
    assert!(size > 0, "{} is empty", shot.display());
}
