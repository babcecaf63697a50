//! A guest's stdout and stderr: everything written is accepted, the first `capacity` bytes are
//! kept, and the rest is counted as cut, so a chatty plugin is truncated, not failed.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

#[derive(Clone, Debug)]
pub(crate) struct CappedOutput {
    capacity: usize,
    inner: Arc<Mutex<Captured>>,
}

#[derive(Debug, Default)]
struct Captured {
    kept: Vec<u8>,
    cut: u64,
}

impl CappedOutput {
    pub(crate) fn new(capacity: usize) -> CappedOutput {
        CappedOutput {
            capacity,
            inner: Arc::new(Mutex::new(Captured::default())),
        }
    }

    /// The kept text and whether anything was cut.
    pub(crate) fn contents(&self) -> (String, bool) {
        match self.inner.lock() {
            Ok(captured) => (
                String::from_utf8_lossy(&captured.kept).into_owned(),
                captured.cut > 0,
            ),
            Err(_) => (String::new(), true),
        }
    }
}

impl IsTerminal for CappedOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CappedOutput {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl AsyncWrite for CappedOutput {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if let Ok(mut captured) = self.inner.lock() {
            let room = self.capacity.saturating_sub(captured.kept.len());
            let keep = room.min(buf.len());
            captured.kept.extend_from_slice(&buf[..keep]);
            captured.cut += (buf.len() - keep) as u64;
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
