//! `salesloft-sandbox`: serve an offline SalesLoft API v2 until interrupted.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;
use salesloft_sandbox::{FaultConfig, Sandbox, SandboxConfig, SimulatorConfig, TeamSize};

/// An offline SalesLoft REST API v2 that behaves like the real one: paging, filters, cost-based
/// 429s, OAuth, signed webhooks, a live simulator and injectable faults. Point any client at
/// the printed URL with the printed API key. The control API lives under /__sandbox/ (state,
/// counters, counts, requests, deliveries, reset, seed, mutate, faults, faults/schedule,
/// simulator, rate_limit, oauth/code, oauth/expire, naive_cost).
#[derive(Debug, Parser)]
#[command(name = "salesloft-sandbox", version)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:4810")]
    bind: SocketAddr,
    /// Seed of the data generator: the same seed gives the same team.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Team size as a number of people; accounts, users, cadences, memberships and activities
    /// are scaled to it (about 1/5 accounts, 2 memberships and 10 activities per person).
    #[arg(long, default_value_t = 1_000)]
    people: usize,
    /// The team's UTC offset in minutes; timestamps are written in it.
    #[arg(long, default_value_t = -300, allow_hyphen_values = true)]
    utc_offset_minutes: i32,
    /// The team's cost budget per calendar minute. A client of a smaller budget should be
    /// told the same (`SALESLOFT_BUDGET__PER_MINUTE`, `BudgetConfig::per_minute`): it spends
    /// all but its reserve (10%) of it.
    #[arg(long, default_value_t = 600)]
    rate_limit: u32,
    /// Turn rate limiting off (no 429s; headers still sent).
    #[arg(long)]
    no_rate_limit: bool,
    /// Send Retry-After with 429s (SalesLoft documents none).
    #[arg(long)]
    retry_after: bool,
    /// An accepted API key (repeatable); default: the built-in sandbox key.
    #[arg(long = "api-key")]
    api_keys: Vec<String>,
    /// OAuth access-token lifetime in seconds.
    #[arg(long, default_value_t = 7_200)]
    token_ttl_secs: u64,
    /// Pause between webhook delivery attempts, in milliseconds.
    #[arg(long, default_value_t = 15_000)]
    webhook_retry_interval_ms: u64,
    /// Fraction of API requests answered 429.
    #[arg(long, default_value_t = 0.0)]
    fault_429: f64,
    /// Fraction of API requests answered 500.
    #[arg(long, default_value_t = 0.0)]
    fault_500: f64,
    /// Fraction of API requests answered 502.
    #[arg(long, default_value_t = 0.0)]
    fault_502: f64,
    /// Fraction of API requests answered 503.
    #[arg(long, default_value_t = 0.0)]
    fault_503: f64,
    /// Fraction of API requests answered slowly.
    #[arg(long, default_value_t = 0.0)]
    fault_slow: f64,
    /// Delay of slow answers, in milliseconds.
    #[arg(long, default_value_t = 2_000)]
    fault_slow_ms: u64,
    /// Fraction of API requests whose connection drops after the server acted.
    #[arg(long, default_value_t = 0.0)]
    fault_drop: f64,
    /// Fraction of API requests whose body is cut in half after the server acted.
    #[arg(long, default_value_t = 0.0)]
    fault_truncate: f64,
    /// Seed of the fault dice.
    #[arg(long, default_value_t = 0)]
    fault_seed: u64,
    /// Run the live simulator at this many changes per second.
    #[arg(long)]
    simulate: Option<f64>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let defaults = SandboxConfig::default();
    let config = SandboxConfig {
        bind: args.bind,
        seed: args.seed,
        team: TeamSize::scaled(args.people),
        utc_offset_minutes: args.utc_offset_minutes,
        rate_limit_per_minute: (!args.no_rate_limit).then_some(args.rate_limit),
        send_retry_after: args.retry_after,
        api_keys: if args.api_keys.is_empty() {
            defaults.api_keys
        } else {
            args.api_keys
        },
        token_ttl_secs: args.token_ttl_secs,
        webhook_retry_interval_ms: args.webhook_retry_interval_ms,
        faults: FaultConfig {
            rate_limited: args.fault_429,
            error_500: args.fault_500,
            error_502: args.fault_502,
            error_503: args.fault_503,
            slow: args.fault_slow,
            slow_ms: args.fault_slow_ms,
            drop: args.fault_drop,
            truncate: args.fault_truncate,
            seed: args.fault_seed,
        },
        simulator: args.simulate.map(|eps| SimulatorConfig {
            events_per_second: eps,
            ..SimulatorConfig::default()
        }),
        ..defaults
    };
    let sandbox = match Sandbox::start(config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("SalesLoft sandbox listening on {}", sandbox.url());
    println!("API key:        {}", sandbox.api_key());
    println!(
        "OAuth:          client_id {} / client_secret {}; token URL {}",
        salesloft_sandbox::DEFAULT_CLIENT_ID,
        salesloft_sandbox::DEFAULT_CLIENT_SECRET,
        sandbox.token_url()
    );
    println!("records:        {:?}", sandbox.counts());
    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("error: waiting for Ctrl-C: {e}");
    }
    match sandbox.shutdown().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
