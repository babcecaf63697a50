//! An automator that misbehaves on request, for the host's limit tests. Its `install` reads the
//! service action field `mode`.

use weft_plugin_sdk::{
    Automator, CapabilityRequest, PluginError, PluginSpec, Task, TaskResult, export_automator, log,
    ssh,
};

struct Misbehave;

impl Automator for Misbehave {
    fn describe() -> PluginSpec {
        PluginSpec {
            needs: CapabilityRequest {
                http_hosts: vec![],
                unix_sockets: vec![],
                ssh: true,
            },
            ..PluginSpec::new("test-misbehave", "misbehaves on request")
        }
    }

    fn install(task: Task) -> Result<TaskResult, PluginError> {
        let mode = task
            .service
            .as_ref()
            .and_then(|s| s.fields.iter().find(|f| f.key == "mode"))
            .map(|f| f.value.clone())
            .unwrap_or_default();
        match mode.as_str() {
            "panic" => panic!("the plugin gave up on purpose"),
            "loop" => {
                let mut x: u64 = 0;
                loop {
                    x = std::hint::black_box(x.wrapping_add(1));
                }
            }
            "memory" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 1 << 20]);
                }
            }
            "output" => {
                let big = "x".repeat(8 << 20);
                for _ in 0..4 {
                    log::info(&big);
                }
                println!("{big}");
                Ok(TaskResult {
                    results: vec![],
                    hostname: None,
                    ip_addresses: vec![],
                })
            }
            "huge-result" => Ok(TaskResult {
                results: vec![weft_plugin_sdk::KeyValue {
                    key: "big".into(),
                    value: "y".repeat(16 << 20),
                }],
                hostname: None,
                ip_addresses: vec![],
            }),
            "error" => Err(PluginError::Failed("the plugin reports a failure".into())),
            // a task that outlives the engine's task timeout without using CPU
            "sleep" => {
                std::thread::sleep(std::time::Duration::from_secs(5));
                Ok(TaskResult::empty())
            }
            "ssh" => match ssh::open("some-other-node") {
                Ok(_) => Ok(TaskResult {
                    results: vec![],
                    hostname: None,
                    ip_addresses: vec![],
                }),
                Err(e) => Err(PluginError::Failed(format!("{e:?}"))),
            },
            // outside the host's interfaces: WASI files and sockets reach nothing
            "file" => match std::fs::read_to_string("/etc/hostname") {
                Ok(text) => Ok(TaskResult::empty().with("read", &text)),
                Err(e) => Err(PluginError::Failed(format!("file: {e}"))),
            },
            "socket" => {
                let address = task
                    .service
                    .as_ref()
                    .and_then(|s| s.fields.iter().find(|f| f.key == "address"))
                    .map(|f| f.value.clone())
                    .unwrap_or_default();
                match std::net::TcpStream::connect(address.as_str()) {
                    Ok(_) => Ok(TaskResult::empty().with("connected", &address)),
                    Err(e) => Err(PluginError::Failed(format!("socket: {e}"))),
                }
            }
            other => Err(PluginError::Unsupported(format!("unknown mode '{other}'"))),
        }
    }
}

export_automator!(Misbehave);
