//! A well-behaved provider for host tests: it logs, echoes its input and names addresses. With
//! the provider field `flaky_confirm` its first machine of every node fails CONFIRM (a rollback
//! test). Its inventory lists the machine CREATE names for each node of the task.

use weft_plugin_sdk::{
    KeyValue, Machine, PluginError, PluginSpec, Provider, Task, TaskResult, export_provider, log,
};

struct TestProvider;

fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: value.into(),
    }
}

impl Provider for TestProvider {
    fn describe() -> PluginSpec {
        PluginSpec::new("test-provider", "creates nothing; echoes its task")
    }

    fn create(task: Task) -> Result<TaskResult, PluginError> {
        log::with_fields(log::Level::Info, "creating", &[("node", &task.node.id)]);
        let mut results = vec![
            kv("providerid", &format!("test-{}", task.node.nodenum)),
            kv("task", &task.id),
        ];
        // a create after a rollback (DELETE) of this node
        if task.prior_result("deleted").is_some() {
            results.push(kv("recreated", "true"));
        }
        Ok(TaskResult {
            results,
            hostname: Some(format!("node-{}.test", task.node.nodenum)),
            ip_addresses: vec![],
        })
    }

    fn confirm(task: Task) -> Result<TaskResult, PluginError> {
        let id = task
            .prior_results
            .iter()
            .find(|kv| kv.key == "providerid")
            .map(|kv| kv.value.clone());
        let Some(id) = id else {
            return Err(PluginError::Failed(
                "confirm needs the providerid that create returned".into(),
            ));
        };
        // `flaky_confirm`: the first machine of each node never comes up, its replacement does
        if task.provider_field("flaky_confirm") == Some("true")
            && task.prior_result("recreated").is_none()
        {
            return Err(PluginError::Failed(format!("machine {id} did not come up")));
        }
        Ok(TaskResult {
            results: vec![kv("confirmed", &id)],
            hostname: None,
            ip_addresses: vec![kv(
                "bind_v4",
                &format!("10.0.0.{}", task.node.nodenum % 250),
            )],
        })
    }

    fn delete(_task: Task) -> Result<TaskResult, PluginError> {
        Ok(TaskResult::empty().with("deleted", "true"))
    }

    fn list(task: Task) -> Result<Vec<Machine>, PluginError> {
        let tag = |name: &str| task.provider_field(name).unwrap_or_default().to_string();
        let (tenant, cluster) = (tag("weft-tenant"), tag("weft-cluster"));
        Ok(task
            .nodes
            .iter()
            .map(|node| {
                Machine::new(
                    &format!("test-{}", node.nodenum),
                    &[
                        ("weft-tenant", &tenant),
                        ("weft-cluster", &cluster),
                        ("weft-node", &node.id),
                        ("weft-attempt", "1"),
                    ],
                )
            })
            .collect())
    }
}

export_provider!(TestProvider);
