use std::process::ExitCode;

use clap::Parser;
use hsl_dashboard::cli::{self, Cli};
use hsl_dashboard::config::Config;
use hsl_dashboard::telemetry;

fn main() -> ExitCode {
    hsl_dashboard::secrets::return_big_buffers_to_the_os();
    match dotenvy::dotenv() {
        Ok(_) => {}
        Err(err) if err.not_found() => {}
        // The offending line may hold a secret: report only its position.
        Err(dotenvy::Error::LineParse(_, position)) => {
            eprintln!("error: .env has a syntax error at position {position}");
            return ExitCode::from(2);
        }
        Err(err) => {
            eprintln!("error: could not read .env: {err}");
            return ExitCode::from(2);
        }
    }
    let cli = Cli::parse();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(config.log_format);

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: starting the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(cli, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
