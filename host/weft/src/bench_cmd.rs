//! `weft bench create`: how much of a cluster create is Weft's own time. Creates a cluster on a
//! running server, waits for it, and sets the wall time beside the plugin time on the critical
//! path (per stage, the longest plugin call; stages run one after the other). The difference
//! is orchestration: queueing, claims, assignments, reports, stage barriers, API and polling.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{Value, json};
use weft_client::Client;

#[derive(Args)]
pub(crate) struct BenchArgs {
    #[command(subcommand)]
    command: BenchCommand,
    #[command(flatten)]
    connection: crate::connect::ServerConnection,
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Create (and delete) a cluster RUNS times; print wall time, critical-path plugin time and
    /// the orchestration overhead of each run as a Markdown table.
    Create {
        #[arg(long)]
        template: String,
        #[arg(long)]
        size: u32,
        #[arg(long, default_value_t = 3)]
        runs: u32,
    },
}

/// One measured create.
struct Run {
    wall: Duration,
    critical: Duration,
    plugin_total: Duration,
    tasks: usize,
    stages: usize,
    delete: Duration,
}

pub(crate) async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let client = args.connection.client()?;
    let BenchCommand::Create {
        template,
        size,
        runs,
    } = args.command;
    println!(
        "| run | nodes | stages | tasks | wall (s) | plugin time on the critical path (s) | plugin time, all tasks (s) | overhead | delete (s) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut overheads = Vec::new();
    for n in 1..=runs {
        let run = create_once(&client, &template, size, n).await?;
        let overhead = 1.0 - run.critical.as_secs_f64() / run.wall.as_secs_f64();
        overheads.push(overhead);
        println!(
            "| {n} | {size} | {} | {} | {:.2} | {:.2} | {:.2} | {:.1} % | {:.2} |",
            run.stages,
            run.tasks,
            run.wall.as_secs_f64(),
            run.critical.as_secs_f64(),
            run.plugin_total.as_secs_f64(),
            overhead * 100.0,
            run.delete.as_secs_f64()
        );
    }
    overheads.sort_by(f64::total_cmp);
    if let Some(median) = overheads.get(overheads.len() / 2) {
        println!("\nmedian overhead: {:.1} %", median * 100.0);
    }
    Ok(())
}

async fn get(client: &Client, path: &str) -> anyhow::Result<Value> {
    Ok(client.request(Method::GET, path, None).await?)
}

/// Polls the cluster's status every 10 ms until it is `want`; fails on a failure status.
async fn wait(client: &Client, id: &str, want: &str) -> anyhow::Result<()> {
    loop {
        let status = get(client, &format!("/v2/clusters/{id}/status")).await?;
        match status["status"].as_str().unwrap_or_default() {
            s if s == want => return Ok(()),
            "incomplete" | "inconsistent" => {
                bail!("cluster {id} failed: {}", status["message"])
            }
            _ => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

/// The plugin time of a task's last attempt, from the worker's `plugin ran` log lines.
async fn plugin_time(client: &Client, id: &str, task: &str) -> anyhow::Result<Duration> {
    let lines = get(client, &format!("/v2/clusters/{id}/tasks/{task}/log")).await?;
    let lines = lines.as_array().cloned().unwrap_or_default();
    let last = lines.iter().filter_map(|l| l["attempt"].as_i64()).max();
    let mut total = 0u64;
    for line in &lines {
        let text = line["line"].as_str().unwrap_or_default();
        if line["attempt"].as_i64() != last || !text.starts_with(weft_model::PLUGIN_RAN_LOG) {
            continue;
        }
        total += text
            .split_whitespace()
            .find_map(|field| field.strip_prefix("elapsed_ms="))
            .and_then(|ms| ms.parse::<u64>().ok())
            .unwrap_or(0);
    }
    Ok(Duration::from_millis(total))
}

async fn create_once(client: &Client, template: &str, size: u32, n: u32) -> anyhow::Result<Run> {
    let started = Instant::now();
    let created: Value = client
        .request(
            Method::POST,
            "/v2/clusters",
            Some(&json!({"name": format!("bench-{n}"), "clusterTemplate": template, "numMachines": size})),
        )
        .await
        .context("creating the cluster")?;
    let id = created["id"].as_str().unwrap_or_default().to_string();
    let job = created["jobId"].as_str().unwrap_or_default().to_string();
    wait(client, &id, "active").await?;
    let wall = started.elapsed();

    let plan = get(client, &format!("/v2/clusters/{id}/plans/{job}")).await?;
    let stages = plan["stages"].as_array().cloned().unwrap_or_default();
    let mut critical = Duration::ZERO;
    let mut plugin_total = Duration::ZERO;
    let mut tasks = 0;
    for stage in &stages {
        let mut longest = Duration::ZERO;
        for task in stage.as_array().into_iter().flatten() {
            let time = plugin_time(client, &id, task["id"].as_str().unwrap_or_default()).await?;
            longest = longest.max(time);
            plugin_total += time;
            tasks += 1;
        }
        critical += longest;
    }

    let deleting = Instant::now();
    let _: Value = client
        .request(Method::DELETE, &format!("/v2/clusters/{id}"), None)
        .await
        .context("deleting the cluster")?;
    wait(client, &id, "terminated").await?;
    Ok(Run {
        wall,
        critical,
        plugin_total,
        tasks,
        stages: stages.len(),
        delete: deleting.elapsed(),
    })
}
