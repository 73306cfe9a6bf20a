//! `topup`: serve the API (and, in the embedded mode, the sandbox), print the OpenAPI
//! document, back up and restore the data, reconcile, fill a demo store, rebuild figures.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use topup_app::{AppError, Config, LogFormat, Overrides, backup};
use topup_core::{Clock, Money, SystemClock, Timestamp};

mod logging;

#[derive(Debug, Parser)]
#[command(
    name = "topup",
    version,
    about = "International mobile top-up platform"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP server (embedded SQLite and sandbox by default).
    Serve {
        /// Address to listen on, e.g. 127.0.0.1:8080 (0 as port picks a free one).
        #[arg(long)]
        listen: Option<String>,
        /// Directory for the embedded database and generated secrets.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// TOML configuration file.
        #[arg(long)]
        config: Option<PathBuf>,
        /// `pretty` (default) or `json`.
        #[arg(long, value_parser = parse_log_format)]
        log_format: Option<LogFormat>,
    },
    /// Print the OpenAPI document as JSON.
    Openapi,
    /// Write a backup: a consistent copy of the embedded database (taken while serving), the
    /// secrets that make it readable and a manifest, into a new file. With MongoDB as the
    /// store it holds the secrets; dump the database with mongodump.
    Backup {
        /// The file to write (it must not exist).
        #[arg(long)]
        to: PathBuf,
        #[command(flatten)]
        location: Location,
    },
    /// Reconcile the orders of a period against WeChat Pay and the providers (their own
    /// APIs) and print the report; exits 1 when anything disagrees. The report is kept and
    /// shown in the console too.
    Reconcile {
        /// First day (YYYY-MM-DD, UTC), or an RFC 3339 time.
        #[arg(long)]
        from: String,
        /// Last day, included (YYYY-MM-DD, UTC), or an RFC 3339 time (excluded).
        #[arg(long)]
        to: String,
        #[command(flatten)]
        location: Location,
    },
    /// Fill an embedded store with demo history: app users, orders over the last days in
    /// realistic proportions, their payments and refunds, visitors, and the dashboard's
    /// figures. For trying the console and for the benchmarks; never in production.
    DemoData {
        /// How many orders to write.
        #[arg(long)]
        orders: u64,
        /// Spread over this many days before now (1 to 366).
        #[arg(long, default_value_t = 90)]
        days: u32,
        /// The same seed writes the same shop (ids and times aside).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[command(flatten)]
        location: Location,
    },
    /// Recompute the dashboard's order figures of a period from the orders (repair).
    RebuildFigures {
        /// First day (YYYY-MM-DD, in the dashboard's day offset).
        #[arg(long)]
        from: String,
        /// Last day, included.
        #[arg(long)]
        to: String,
        #[command(flatten)]
        location: Location,
    },
    /// Restore a backup into a fresh data directory (nothing existing is overwritten).
    Restore {
        /// The backup file.
        #[arg(long)]
        from: PathBuf,
        #[command(flatten)]
        location: Location,
    },
}

/// Where the data lives, as `serve` would find it.
#[derive(Debug, clap::Args)]
struct Location {
    /// Directory for the embedded database and generated secrets.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// TOML configuration file.
    #[arg(long)]
    config: Option<PathBuf>,
}

impl Location {
    fn load(self) -> Result<Config, AppError> {
        let overrides = Overrides {
            data_dir: self.data_dir,
            listen: None,
            log_format: None,
        };
        Config::load(self.config.as_deref(), &overrides)
    }
}

fn parse_log_format(text: &str) -> Result<LogFormat, String> {
    match text {
        "pretty" => Ok(LogFormat::Pretty),
        "json" => Ok(LogFormat::Json),
        other => Err(format!("unknown log format {other:?}: use pretty or json")),
    }
}

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Keeps the kernel from backing the allocator's memory with transparent huge pages.
/// mimalloc marks its arena `MADV_HUGEPAGE`, and the kernel's background collapsing then
/// fills whole 2 MiB pages around what is in use, so a long-running server's RSS crept up by
/// a fifth over a soak and freed memory was not returned (`docs/operations.md#memory`).
fn disable_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    if let Err(error) = rustix::thread::disable_transparent_huge_pages(true) {
        // Only costs memory: the server runs the same with them.
        eprintln!("transparent huge pages stay enabled: {error}");
    }
}

fn main() -> ExitCode {
    disable_transparent_huge_pages();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Openapi => print_openapi(),
        Command::Backup { to, location } => location.load().and_then(|c| backup(&c, &to)),
        Command::Restore { from, location } => location.load().and_then(|c| restore(&c, &from)),
        Command::Reconcile { from, to, location } => {
            match period(&from, &to).and_then(|(from, to)| Ok((location.load()?, from, to))) {
                Ok((config, from, to)) => return reconcile(config, from, to),
                Err(error) => Err(error),
            }
        }
        Command::DemoData {
            orders,
            days,
            seed,
            location,
        } => location
            .load()
            .and_then(|c| demo_data(c, orders, days, seed)),
        Command::RebuildFigures { from, to, location } => {
            days(&from, &to).and_then(|(from, to)| rebuild_figures(location.load()?, from, to))
        }
        Command::Serve {
            listen,
            data_dir,
            config,
            log_format,
        } => {
            let overrides = Overrides {
                data_dir,
                listen,
                log_format,
            };
            Config::load(config.as_deref(), &overrides).and_then(run)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("topup: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(config: Config) -> Result<(), AppError> {
    logging::init(&config);
    arm_crash_points()?;
    actix_web::rt::System::new().block_on(topup_app::serve(config))
}

/// `TOPUP_CRASH_POINTS=recharge.sent,…`: crash tests make this process die at those points
/// (`docs/operations.md#crash-points`). A name that is no crash point stops the start.
fn arm_crash_points() -> Result<(), AppError> {
    let Ok(spec) = std::env::var("TOPUP_CRASH_POINTS") else {
        return Ok(());
    };
    let armed = topup_core::crash::arm_crash_points(&spec).map_err(|name| {
        AppError::Config(format!(
            "TOPUP_CRASH_POINTS: {name:?} is not a crash point (known: {})",
            topup_core::crash::CRASH_POINTS.join(", ")
        ))
    })?;
    if !armed.is_empty() {
        eprintln!(
            "topup: crash points armed ({}): this process aborts when it reaches one",
            armed.join(", ")
        );
    }
    Ok(())
}

fn demo_data(config: Config, orders: u64, days: u32, seed: u64) -> Result<(), AppError> {
    logging::init(&config);
    let data_dir = config.data_dir.clone();
    let report = actix_web::rt::System::new()
        .block_on(topup_app::demo::demo_data(config, orders, days, seed))?;
    let per_second = report.orders as f64 / report.write_seconds.max(1e-9);
    println!(
        "wrote {} orders ({} payments, {} refunds) and {} app users over {} days into {}",
        report.orders,
        report.payments,
        report.refunds,
        report.users,
        report.days,
        data_dir.display()
    );
    println!(
        "  {:.1} s ({per_second:.0} orders/s, of which {:.1} s building indexes); dashboard \
         figures written in {:.1} s",
        report.write_seconds, report.index_seconds, report.figures_seconds
    );
    Ok(())
}

fn rebuild_figures(
    config: Config,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> Result<(), AppError> {
    logging::init(&config);
    let buckets =
        actix_web::rt::System::new().block_on(topup_app::rebuild_figures(config, from, to))?;
    println!("rebuilt the figures of {from} to {to}: {buckets} ten-minute spans held orders");
    Ok(())
}

/// `--from` and `--to` as days, `from` not after `to`.
fn days(from: &str, to: &str) -> Result<(chrono::NaiveDate, chrono::NaiveDate), AppError> {
    let parse = |text: &str, flag: &str| {
        chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map_err(|_| AppError::Config(format!("--{flag}: {text:?} is not YYYY-MM-DD")))
    };
    let (from, to) = (parse(from, "from")?, parse(to, "to")?);
    if to < from {
        return Err(AppError::Config("--to: must not be before --from".into()));
    }
    Ok((from, to))
}

/// `--from` and `--to` as `[from, to)`: a day is its UTC midnight, and `--to`'s day is included.
fn period(from: &str, to: &str) -> Result<(Timestamp, Timestamp), AppError> {
    fn parse(text: &str, flag: &str, next_day: bool) -> Result<Timestamp, AppError> {
        if let Ok(day) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            let day = if next_day { day.succ_opt() } else { Some(day) };
            if let Some(midnight) = day.and_then(|d| d.and_hms_opt(0, 0, 0)) {
                return Ok(Timestamp::from(midnight.and_utc()));
            }
        }
        Timestamp::parse(text).map_err(|_| {
            AppError::Config(format!(
                "--{flag}: {text:?} is neither YYYY-MM-DD nor an RFC 3339 time"
            ))
        })
    }
    let (from, to) = (parse(from, "from", false)?, parse(to, "to", true)?);
    if to <= from {
        return Err(AppError::Config("--to: must not be before --from".into()));
    }
    Ok((from, to))
}

fn reconcile(config: Config, from: Timestamp, to: Timestamp) -> ExitCode {
    logging::init(&config);
    let outcome = actix_web::rt::System::new().block_on(topup_app::reconcile(config, from, to));
    let report = match outcome {
        Ok(report) => report,
        Err(error) => {
            eprintln!("topup: {error}");
            return ExitCode::FAILURE;
        }
    };
    let totals = &report.totals;
    let yuan = |fen: i64| Money::cny(fen).to_string();
    println!(
        "reconciliation {} of {} to {}",
        report.id, report.from, report.to
    );
    println!(
        "  {} orders: paid {} = delivered {} + refunded {} + in flight {} + unaccounted {}",
        totals.orders,
        yuan(totals.paid),
        yuan(totals.delivered),
        yuan(totals.refunded),
        yuan(totals.in_flight),
        yuan(totals.unaccounted)
    );
    for (currency, cost) in &totals.provider_cost {
        println!("  provider cost: {cost} {currency}");
    }
    println!(
        "  {} provider transactions matched to the orders that sent them",
        totals.provider_transactions
    );
    if let Some(error) = &report.error {
        println!("  stopped: {error}");
        return ExitCode::FAILURE;
    }
    if report.discrepancy_count == 0 {
        println!("  no discrepancies");
        return ExitCode::SUCCESS;
    }
    println!("  {} discrepancies:", report.discrepancy_count);
    for discrepancy in &report.discrepancies {
        println!(
            "  {} {} ({}): {}",
            discrepancy.order_no.as_deref().unwrap_or("-"),
            discrepancy.kind.as_str(),
            discrepancy.order_state.map_or("no order", |s| s.as_str()),
            discrepancy.detail
        );
    }
    ExitCode::FAILURE
}

fn backup(config: &Config, to: &Path) -> Result<(), AppError> {
    let manifest = backup::create(&backup::Locations::of(config)?, to, SystemClock.now())?;
    println!("backup written to {}", to.display());
    describe(&manifest);
    if !manifest.holds_database() {
        println!(
            "the store is MongoDB: this file holds the secrets only; dump the database with mongodump (README, Backups)"
        );
    }
    Ok(())
}

fn restore(config: &Config, from: &Path) -> Result<(), AppError> {
    let manifest = backup::restore(from, &backup::Locations::of(config)?)?;
    println!(
        "restored {} (written {}) into {}",
        from.display(),
        manifest.created_at,
        config.data_dir.display()
    );
    describe(&manifest);
    Ok(())
}

fn describe(manifest: &backup::Manifest) {
    if manifest.holds_database() {
        let documents: u64 = manifest.collections.values().sum();
        println!(
            "  database: {} collections, {documents} documents (orders: {})",
            manifest.collections.len(),
            manifest.collections.get("orders").copied().unwrap_or(0)
        );
    }
    println!("  secrets: {}", manifest.secrets.join(", "));
}

fn print_openapi() -> Result<(), AppError> {
    let json = topup_api::openapi_document()
        .to_pretty_json()
        .map_err(|e| AppError::Config(format!("OpenAPI document: {e}")))?;
    println!("{json}");
    Ok(())
}
