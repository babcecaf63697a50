//! `weft cluster ...` and `weft template preview`: the cluster API from a terminal.

use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{Map, Value, json};
use weft_client::Client;

#[derive(Args)]
pub(crate) struct ClusterArgs {
    #[command(subcommand)]
    command: ClusterCommand,
    #[command(flatten)]
    connection: crate::connect::ServerConnection,
}

#[derive(Subcommand)]
enum ClusterCommand {
    /// Create a cluster from a template.
    Create(CreateArgs),
    /// List the clusters you can see.
    List {
        /// Only these statuses (comma separated: pending,active,incomplete,inconsistent,terminated).
        #[arg(long)]
        status: Option<String>,
    },
    /// Show a cluster: status, progress and nodes.
    Show {
        id: String,
        /// Print the API's JSON instead.
        #[arg(long)]
        json: bool,
    },
    /// Delete a cluster and its machines.
    Delete {
        id: String,
        /// Wait until the delete finished, showing progress.
        #[arg(long)]
        wait: bool,
    },
    /// Print the logs of the tasks of a cluster's latest job (or of one task).
    Logs {
        id: String,
        /// Only this task.
        #[arg(long)]
        task: Option<String>,
    },
}

#[derive(Args)]
struct CreateArgs {
    /// The cluster template.
    #[arg(long)]
    template: String,
    /// Number of nodes.
    #[arg(long)]
    size: u32,
    /// The cluster's name [default: the template's name].
    #[arg(long)]
    name: Option<String>,
    /// Services instead of the template's defaults (comma separated).
    #[arg(long, value_delimiter = ',')]
    services: Option<Vec<String>>,
    #[arg(long)]
    provider: Option<String>,
    #[arg(long)]
    hardwaretype: Option<String>,
    #[arg(long)]
    imagetype: Option<String>,
    /// Cluster config as a JSON object, merged over the template's.
    #[arg(long)]
    config: Option<String>,
    /// Provider fields as a JSON object (the provider type's user fields).
    #[arg(long)]
    provider_fields: Option<String>,
    /// Wait until the create finished, with a progress bar per stage.
    #[arg(long)]
    wait: bool,
}

#[derive(Args)]
pub(crate) struct TemplateArgs {
    #[command(subcommand)]
    command: TemplateCommand,
    #[command(flatten)]
    connection: crate::connect::ServerConnection,
}

#[derive(Subcommand)]
enum TemplateCommand {
    /// Solve and plan a create without creating anything: the layout and the tasks by stage.
    Preview {
        template: String,
        #[arg(long)]
        size: u32,
        /// Services instead of the template's defaults (comma separated).
        #[arg(long, value_delimiter = ',')]
        services: Option<Vec<String>>,
        /// Print the API's JSON instead.
        #[arg(long)]
        json: bool,
    },
}

fn json_object(flag: &str, text: &Option<String>) -> anyhow::Result<Option<Map<String, Value>>> {
    text.as_deref()
        .map(|t| serde_json::from_str(t).with_context(|| format!("{flag} must be a JSON object")))
        .transpose()
}

async fn call(
    client: &Client,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> anyhow::Result<Value> {
    Ok(client.request(method, path, body.as_ref()).await?)
}

async fn get(client: &Client, path: &str) -> anyhow::Result<Value> {
    call(client, Method::GET, path, None).await
}

pub(crate) async fn run(args: ClusterArgs) -> anyhow::Result<()> {
    let client = args.connection.client()?;
    match args.command {
        ClusterCommand::Create(create) => {
            let mut body = json!({
                "name": create.name.clone().unwrap_or_else(|| create.template.clone()),
                "clusterTemplate": create.template,
                "numMachines": create.size,
            });
            let fields = [
                ("services", create.services.map(|s| json!(s))),
                ("provider", create.provider.map(Value::from)),
                ("hardwaretype", create.hardwaretype.map(Value::from)),
                ("imagetype", create.imagetype.map(Value::from)),
                (
                    "config",
                    json_object("--config", &create.config)?.map(Value::Object),
                ),
                (
                    "providerFields",
                    json_object("--provider-fields", &create.provider_fields)?.map(Value::Object),
                ),
            ];
            for (key, value) in fields {
                if let Some(value) = value {
                    body[key] = value;
                }
            }
            let created = call(&client, Method::POST, "/v2/clusters", Some(body)).await?;
            let id = created["id"].as_str().unwrap_or_default().to_string();
            println!("{id}");
            if create.wait {
                let job = created["jobId"].as_str().unwrap_or_default();
                follow(&client, &id, job).await?;
            }
        }
        ClusterCommand::List { status } => {
            let path = match status {
                Some(s) => format!("/v2/clusters?status={s}"),
                None => "/v2/clusters".to_string(),
            };
            let clusters = get(&client, &path).await?;
            println!(
                "{:<12} {:<20} {:<20} {:<12} {:>5}",
                "ID", "NAME", "TEMPLATE", "STATUS", "NODES"
            );
            for c in clusters.as_array().into_iter().flatten() {
                println!(
                    "{:<12} {:<20} {:<20} {:<12} {:>5}",
                    text(&c["id"]),
                    text(&c["name"]),
                    text(&c["clusterTemplate"]["name"]),
                    text(&c["status"]),
                    c["numNodes"]
                );
            }
        }
        ClusterCommand::Show { id, json } => {
            let details = get(&client, &format!("/v2/clusters/{id}")).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&details)?);
            } else {
                show(&client, &id, &details).await?;
            }
        }
        ClusterCommand::Delete { id, wait } => {
            call(&client, Method::DELETE, &format!("/v2/clusters/{id}"), None).await?;
            println!("deleting {id}");
            if wait {
                let job = latest_job(&client, &id).await?;
                follow(&client, &id, &job).await?;
            }
        }
        ClusterCommand::Logs { id, task } => {
            let tasks: Vec<(String, String)> = match task {
                Some(task) => vec![(task.clone(), task)],
                None => {
                    let job = latest_job(&client, &id).await?;
                    let plan = get(&client, &format!("/v2/clusters/{id}/plans/{job}")).await?;
                    stage_tasks(&plan)
                        .flatten()
                        .map(|t| {
                            let service = text(&t["service"]);
                            let what = if service.is_empty() {
                                format!("{} {}", text(&t["taskName"]), text(&t["nodeId"]))
                            } else {
                                format!(
                                    "{} {} {}",
                                    text(&t["taskName"]),
                                    service,
                                    text(&t["nodeId"])
                                )
                            };
                            (text(&t["id"]).to_string(), what)
                        })
                        .collect()
                }
            };
            for (task, what) in tasks {
                let lines = get(&client, &format!("/v2/clusters/{id}/tasks/{task}/log")).await?;
                println!("== {what}");
                for line in lines.as_array().into_iter().flatten() {
                    println!(
                        "[{}] {:<5} {}",
                        line["attempt"],
                        text(&line["level"]),
                        text(&line["line"])
                    );
                }
            }
        }
    }
    Ok(())
}

pub(crate) async fn run_template(args: TemplateArgs) -> anyhow::Result<()> {
    let client = args.connection.client()?;
    match args.command {
        TemplateCommand::Preview {
            template,
            size,
            services,
            json,
        } => {
            let mut body =
                json!({"name": template, "clusterTemplate": template, "numMachines": size});
            if let Some(services) = services {
                body["services"] = json!(services);
            }
            let preview = call(&client, Method::POST, "/v2/clusters/preview", Some(body)).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&preview)?);
                return Ok(());
            }
            println!("layout:");
            for group in preview["layout"].as_array().into_iter().flatten() {
                let services: Vec<&str> = group["services"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(text)
                    .collect();
                println!(
                    "  {} x {} / {}: {}",
                    group["count"],
                    text(&group["hardwaretype"]),
                    text(&group["imagetype"]),
                    services.join(", ")
                );
            }
            println!("stages:");
            for (i, stage) in preview["stages"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
            {
                println!(
                    "  {}: {}",
                    i + 1,
                    summary(stage.as_array().map(Vec::as_slice).unwrap_or_default())
                );
            }
            println!("token: {}", text(&preview["token"]));
        }
    }
    Ok(())
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or_default()
}

/// "CREATE x3, INSTALL redis x2": the kinds of task in a stage.
fn summary(tasks: &[Value]) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for t in tasks {
        let service = text(&t["service"]);
        let name = if service.is_empty() {
            text(&t["taskName"]).to_string()
        } else {
            format!("{} {service}", text(&t["taskName"]))
        };
        match counts.iter_mut().find(|(n, _)| *n == name) {
            Some((_, count)) => *count += 1,
            None => counts.push((name, 1)),
        }
    }
    counts
        .iter()
        .map(|(name, count)| format!("{name} x{count}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn stage_tasks(plan: &Value) -> impl Iterator<Item = std::slice::Iter<'_, Value>> {
    plan["stages"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| s.as_array().map(|a| a.iter()).unwrap_or_default())
}

async fn latest_job(client: &Client, id: &str) -> anyhow::Result<String> {
    let cluster = get(client, &format!("/v2/clusters/{id}")).await?;
    match cluster["latestJobId"].as_str() {
        Some(job) => Ok(job.to_string()),
        None => bail!("cluster {id} has no job"),
    }
}

/// Follows a job until it ends, with a progress bar per stage (plain lines when stderr is not a
/// terminal); fails when the job fails.
async fn follow(client: &Client, id: &str, job: &str) -> anyhow::Result<()> {
    let terminal = std::io::stderr().is_terminal();
    let bars = indicatif::MultiProgress::new();
    let style = indicatif::ProgressStyle::with_template("{prefix:>9} [{bar:30}] {pos}/{len} {msg}")
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> ");
    let mut stage_bars: Vec<indicatif::ProgressBar> = Vec::new();
    let mut printed: Vec<(u64, String)> = Vec::new();
    loop {
        let plan = get(client, &format!("/v2/clusters/{id}/plans/{job}")).await?;
        let stages: Vec<&[Value]> = plan["stages"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| s.as_array().map(Vec::as_slice).unwrap_or_default())
            .collect();
        let count = stages.len();
        for (i, tasks) in stages.iter().enumerate() {
            let done = tasks.iter().filter(|t| t["status"] == "complete").count() as u64;
            let failed: BTreeSet<&str> = tasks
                .iter()
                .filter(|t| t["status"] == "failed" || t["failures"].as_i64().unwrap_or(0) > 0)
                .map(|t| text(&t["taskName"]))
                .collect();
            let mut message = summary(tasks);
            if !failed.is_empty() {
                message.push_str(&format!(
                    " (failures in {})",
                    failed.into_iter().collect::<Vec<_>>().join(", ")
                ));
            }
            if terminal {
                if stage_bars.len() <= i {
                    let bar = bars.add(indicatif::ProgressBar::new(tasks.len() as u64));
                    bar.set_style(style.clone());
                    bar.set_prefix(format!("stage {}/{count}", i + 1));
                    stage_bars.push(bar);
                }
                let bar = &stage_bars[i];
                bar.set_length(tasks.len() as u64);
                bar.set_position(done);
                bar.set_message(message);
            } else {
                if printed.len() <= i {
                    printed.push((u64::MAX, String::new()));
                }
                if printed[i] != (done, message.clone()) {
                    eprintln!("stage {}/{count}: {done}/{} {message}", i + 1, tasks.len());
                    printed[i] = (done, message);
                }
            }
        }
        match text(&plan["status"]) {
            "complete" => {
                for bar in &stage_bars {
                    bar.finish();
                }
                let status = get(client, &format!("/v2/clusters/{id}/status")).await?;
                eprintln!(
                    "{} {id}: {}",
                    text(&plan["action"]),
                    text(&status["status"])
                );
                return Ok(());
            }
            "failed" => {
                for bar in &stage_bars {
                    bar.abandon();
                }
                bail!(
                    "{} of {id} failed: {} (see `weft cluster logs {id}`)",
                    text(&plan["action"]),
                    plan["message"].as_str().unwrap_or("a task failed")
                );
            }
            _ => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}

async fn show(client: &Client, id: &str, details: &Value) -> anyhow::Result<()> {
    let status = get(client, &format!("/v2/clusters/{id}/status")).await?;
    println!(
        "cluster   {} ({})",
        text(&details["name"]),
        text(&details["id"])
    );
    println!("template  {}", text(&details["clusterTemplate"]["name"]));
    println!("status    {}", text(&status["status"]));
    if let Some(action) = status["action"].as_str() {
        println!(
            "job       {action} {} ({}/{} tasks)",
            text(&status["actionstatus"]),
            status["stepscompleted"],
            status["stepstotal"]
        );
    }
    if let Some(message) = status["message"].as_str() {
        println!("message   {message}");
    }
    println!("nodes:");
    for node in details["nodes"].as_array().into_iter().flatten() {
        let props = &node["properties"];
        let services: Vec<&str> = props["services"]
            .as_array()
            .into_iter()
            .flatten()
            .map(text)
            .collect();
        let address = props["ipaddresses"]
            .as_object()
            .and_then(|a| a.values().next())
            .and_then(Value::as_str)
            .unwrap_or("-");
        println!(
            "  {:<28} {:<15} {}",
            text(&props["hostname"]),
            address,
            services.join(", ")
        );
    }
    Ok(())
}
