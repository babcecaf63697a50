//! The `weft` binary: one executable with subcommands, each a thin shim over the library crates.

mod bench_cmd;
mod catalog_cmd;
mod cluster_cmd;
mod connect;
mod plugin_cmd;
mod server_cmd;
mod worker_cmd;

use clap::{Parser, Subcommand};

/// Weft: cluster provisioning with sandboxed WebAssembly plugins.
#[derive(Parser)]
#[command(name = "weft", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server: HTTP API, catalog, engine and embedded workers.
    Server(server_cmd::ServerArgs),
    /// Run a worker process that takes tasks from a server (scale-out).
    Worker(worker_cmd::WorkerArgs),
    /// Import or export a catalog through a running server.
    Catalog(catalog_cmd::CatalogArgs),
    /// Create, list, show, delete clusters and read their logs.
    Cluster(cluster_cmd::ClusterArgs),
    /// Preview what a template would create.
    Template(cluster_cmd::TemplateArgs),
    /// Run a plugin locally against the real host, for plugin authors.
    Plugin(plugin_cmd::PluginArgs),
    /// Measure Weft against a running server (orchestration overhead of a create).
    Bench(bench_cmd::BenchArgs),
    /// Print the OpenAPI document of the HTTP API.
    Openapi,
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return std::process::ExitCode::from(2);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Server(args) => server_cmd::run(args).await,
            Command::Worker(args) => worker_cmd::run(args).await,
            Command::Catalog(args) => catalog_cmd::run(args).await,
            Command::Bench(args) => bench_cmd::run(args).await,
            Command::Cluster(args) => cluster_cmd::run(args).await,
            Command::Template(args) => cluster_cmd::run_template(args).await,
            Command::Plugin(args) => plugin_cmd::run(args).await,
            Command::Openapi => {
                println!("{}", serde_json::to_string_pretty(weft_api::openapi())?);
                Ok(())
            }
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::from(1)
        }
    }
}
