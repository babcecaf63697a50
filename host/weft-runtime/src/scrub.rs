//! Removes secret values from everything a task leaves behind (log, output, results, audit),
//! in case a plugin printed or returned one it revealed.

use crate::runtime::TaskOutcome;

const REDACTED: &str = "[redacted]";

/// Values shorter than this are not scrubbed: they would match too much ordinary text.
const MIN_SECRET_LEN: usize = 4;

pub(crate) fn scrub<'a>(outcome: &mut TaskOutcome, secrets: impl Iterator<Item = &'a String>) {
    let secrets: Vec<&String> = secrets.filter(|s| s.len() >= MIN_SECRET_LEN).collect();
    if secrets.is_empty() {
        return;
    }
    let clean = |text: &mut String| {
        for secret in &secrets {
            if text.contains(secret.as_str()) {
                *text = text.replace(secret.as_str(), REDACTED);
            }
        }
    };
    clean(&mut outcome.stdout);
    clean(&mut outcome.stderr);
    for line in &mut outcome.log {
        clean(&mut line.message);
        for (_, value) in &mut line.fields {
            clean(value);
        }
    }
    for entry in &mut outcome.audit {
        clean(&mut entry.detail);
    }
    if let Ok(result) = &mut outcome.result {
        for kv in result
            .results
            .iter_mut()
            .chain(result.ip_addresses.iter_mut())
        {
            clean(&mut kv.value);
        }
        if let Some(hostname) = &mut result.hostname {
            clean(hostname);
        }
    }
}
