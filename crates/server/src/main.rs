//! `topup`: serve the API (and, in the embedded mode, the sandbox), or print the OpenAPI
//! document.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use topup_app::{AppError, Config, LogFormat, Overrides};

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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Openapi => print_openapi(),
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
    actix_web::rt::System::new().block_on(topup_app::serve(config))
}

fn print_openapi() -> Result<(), AppError> {
    let json = topup_api::openapi_document()
        .to_pretty_json()
        .map_err(|e| AppError::Config(format!("OpenAPI document: {e}")))?;
    println!("{json}");
    Ok(())
}
