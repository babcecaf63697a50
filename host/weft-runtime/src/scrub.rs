//! Removes secret values from everything a task leaves behind (log lines as they are written;
//! output, results and audit at the end), in case a plugin printed or returned one it revealed.

use crate::host::LogLine;
use crate::runtime::TaskOutcome;

const REDACTED: &str = "[redacted]";

/// Values shorter than this are not scrubbed: they would match too much ordinary text.
const MIN_SECRET_LEN: usize = 4;

fn redact(text: &mut String, secrets: &[&String]) {
    for secret in secrets {
        if text.contains(secret.as_str()) {
            *text = text.replace(secret.as_str(), REDACTED);
        }
    }
}

fn worth_scrubbing<'a>(secrets: impl Iterator<Item = &'a String>) -> Vec<&'a String> {
    secrets.filter(|s| s.len() >= MIN_SECRET_LEN).collect()
}

/// Scrubs one log line (as it is written, so the outcome's log needs no second pass).
pub(crate) fn scrub_line<'a>(line: &mut LogLine, secrets: impl Iterator<Item = &'a String>) {
    let secrets = worth_scrubbing(secrets);
    redact(&mut line.message, &secrets);
    for (_, value) in &mut line.fields {
        redact(value, &secrets);
    }
}

/// Scrubs what a task leaves besides its log: output, audit, result.
pub(crate) fn scrub<'a>(outcome: &mut TaskOutcome, secrets: impl Iterator<Item = &'a String>) {
    let secrets = worth_scrubbing(secrets);
    if secrets.is_empty() {
        return;
    }
    redact(&mut outcome.stdout, &secrets);
    redact(&mut outcome.stderr, &secrets);
    for entry in &mut outcome.audit {
        redact(&mut entry.detail, &secrets);
    }
    if let Ok(result) = &mut outcome.result {
        for kv in result
            .results
            .iter_mut()
            .chain(result.ip_addresses.iter_mut())
        {
            redact(&mut kv.value, &secrets);
        }
        if let Some(hostname) = &mut result.hostname {
            redact(hostname, &secrets);
        }
    }
}
