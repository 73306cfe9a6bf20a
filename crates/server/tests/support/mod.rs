//! Starting the real `topup` binary in tests: each file under `tests/` that needs it.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

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
