//! Starting the real `topup` binary in tests: each file under `tests/` that needs it.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

/// A client for the servers these tests start. It drops a connection idle for 4 s, before the
/// server closes it (actix-web's keep-alive is 5 s): a request written on a connection the
/// server is closing fails (`IncompleteMessage`), and these tests pause that long while a
/// server stops or restarts.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_idle_timeout(Duration::from_secs(4))
        .build()
        .expect("HTTP client")
}

pub struct Running {
    pub child: Child,
    pub base: String,
    pub lines: mpsc::Receiver<String>,
    /// Log lines up to and including "listening on".
    pub startup: Vec<String>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `topup serve` on `data_dir` with JSON logs, on `listen` (default a free port), with extra
/// environment; answers once it says where it listens.
// The child is owned by `Running`, whose `Drop` kills and waits for it.
#[allow(clippy::zombie_processes)]
pub fn launch_on(data_dir: &std::path::Path, listen: &str, env: &[(&str, String)]) -> Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_topup"))
        .args([
            "serve",
            "--listen",
            listen,
            "--log-format",
            "json",
            "--data-dir",
        ])
        .arg(data_dir)
        .env_remove("RUST_LOG")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (sender, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut startup = Vec::new();
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let line = lines
            .recv_timeout(remaining)
            .expect("the server did not report its address in time");
        startup.push(line.clone());
        if let Some(rest) = line.split("listening on http://").nth(1) {
            let addr: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
            return Running {
                child,
                base: format!("http://{addr}"),
                lines,
                startup,
            };
        }
    }
}

pub fn launch(data_dir: &std::path::Path, env: &[(&str, String)]) -> Running {
    launch_on(data_dir, "127.0.0.1:0", env)
}

pub fn wait_for_line(lines: &mpsc::Receiver<String>, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let line = lines
            .recv_timeout(remaining)
            .unwrap_or_else(|_| panic!("no log line containing {needle}"));
        if line.contains(needle) {
            return line;
        }
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub async fn post(
    client: &reqwest::Client,
    url: String,
    token: Option<&str>,
    body: Value,
) -> Value {
    let mut request = client.post(&url).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{url}: {status} {body}");
    body
}

pub async fn get(client: &reqwest::Client, url: String, token: &str) -> Value {
    let response = client.get(&url).bearer_auth(token).send().await.unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert!(status.is_success(), "{url}: {status} {body}");
    body
}

/// Waits until the instance sells the plans of the test numbers' operator.
pub async fn plan_on_sale(client: &reqwest::Client, base: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let detected: Value = client
            .get(format!("{base}/api/v1/app/catalog/detect"))
            .query(&[("phone", "+639171234500")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap_or(Value::Null);
        if let Some(plan) = detected["plans"][0]["id"].as_str() {
            return plan.to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "the catalog never synced: {detected}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
