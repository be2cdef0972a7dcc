//! `salesloft`: the operator's command line for the SalesLoft integration toolkit.
//!
//! It loads the shared configuration (salesloft-config), installs logging and the terminal
//! display, and runs the subcommand (`commands.rs`), which calls the libraries; it holds no
//! logic of its own beyond printing.

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod args;
mod cadences;
mod commands;
mod display;
mod error;
mod local;
mod meter;
mod people;
mod remote;
mod report;
mod teams;
mod up;
mod webhooks;

use std::process::ExitCode;

use clap::Parser;

use crate::display::Display;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = args::Cli::parse();
    let settings = match salesloft_config::load_for_binary(cli.config.as_deref()) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let display = Display::new();
    init_logging(&settings.log.filter, &display);
    let target = commands::Target {
        config: cli.config.as_deref(),
        team: cli.team.as_ref(),
    };
    let result = commands::run(cli.command, target, &settings, &display).await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", salesloft_config::error_chain(&e));
            e.exit_code()
        }
    }
}

fn init_logging(default_filter: &str, display: &Display) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(display.is_terminal())
        .log_internal_errors(false)
        .with_writer(display.log_writer())
        .init();
}
