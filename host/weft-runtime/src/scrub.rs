//! Removes secret values from everything a task leaves behind (log, output, results, audit),
//! in case a plugin printed or returned one it revealed.

use crate::host::LogLine;
use crate::runtime::TaskOutcome;

const REDACTED: &str = "[redacted]";

/// Values shorter than this are not scrubbed: they would match too much ordinary text.
const MIN_SECRET_LEN: usize = 4;

/// Scrubs one log line.
pub(crate) fn scrub_line<'a>(line: &mut LogLine, secrets: impl Iterator<Item = &'a String>) {
    for secret in secrets.filter(|s| s.len() >= MIN_SECRET_LEN) {
        if line.message.contains(secret.as_str()) {
            line.message = line.message.replace(secret.as_str(), REDACTED);
        }
        for (_, value) in &mut line.fields {
            if value.contains(secret.as_str()) {
                *value = value.replace(secret.as_str(), REDACTED);
            }
        }
    }
}

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
