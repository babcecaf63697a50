//! Group commit: concurrent calls (takes from many worker slots, finishes from many reports)
//! are gathered and handled as batches by one task, so a batch of N costs one transaction of a
//! few statements instead of N. Nothing waits on a clock to fill a batch: a call that arrives
//! while none is being handled starts a batch at once, and calls that arrive meanwhile form the
//! next one. While a batch is gathered, the task yields to the scheduler whenever the channel
//! is empty, so callers that the last batch's answers woke (on this thread or another) send
//! their next call into this batch rather than the one after; one yield that brings nothing
//! ends the gathering. Without that, a batch's callers split into two halves that alternate,
//! each batch half full.

use std::future::Future;
use std::sync::OnceLock;

use tokio::sync::mpsc;

/// The most calls one batch handles.
pub(crate) const MAX_BATCH: usize = 128;

/// The most times one batch's gathering yields to the scheduler for calls still on their way.
const MAX_GATHER_YIELDS: usize = 16;

/// Gathers calls of one kind; the handling task starts with the first call.
pub(crate) struct Coalescer<Req> {
    sender: OnceLock<mpsc::UnboundedSender<Req>>,
}

impl<Req> Default for Coalescer<Req> {
    fn default() -> Self {
        Coalescer {
            sender: OnceLock::new(),
        }
    }
}

impl<Req: Send + 'static> Coalescer<Req> {
    /// Queues `request`; the first call starts the task that hands batches to the handler that
    /// `start` makes. The task ends when the coalescer is dropped. Answers the request back if
    /// the task is gone (its runtime shut down).
    pub(crate) fn send<H, Fut>(&self, request: Req, start: impl FnOnce() -> H) -> Result<(), Req>
    where
        H: FnMut(Vec<Req>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let sender = self.sender.get_or_init(|| {
            let (sender, receiver) = mpsc::unbounded_channel();
            tokio::spawn(drive(receiver, start()));
            sender
        });
        sender.send(request).map_err(|e| e.0)
    }
}

async fn drive<Req, H, Fut>(mut receiver: mpsc::UnboundedReceiver<Req>, mut handle: H)
where
    Req: Send + 'static,
    H: FnMut(Vec<Req>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    while let Some(first) = receiver.recv().await {
        let mut batch = vec![first];
        let mut yields = 0;
        let mut idle = false;
        while batch.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(request) => {
                    batch.push(request);
                    idle = false;
                }
                // one yield brought nothing, or the gathering has yielded enough
                Err(_) if idle || yields == MAX_GATHER_YIELDS => break,
                Err(_) => {
                    idle = true;
                    yields += 1;
                    tokio::task::yield_now().await;
                }
            }
        }
        // its own task: a panic loses that batch's answers (the callers see an error), not
        // the coalescer
        if let Err(e) = tokio::spawn(handle(batch)).await {
            tracing::error!(error = %e, "a batch of engine calls failed");
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::{Arc, Mutex};

    use tokio::sync::oneshot;

    use super::*;

    #[tokio::test]
    async fn concurrent_calls_are_handled_in_batches_and_each_gets_its_answer() {
        let coalescer: Arc<Coalescer<(u32, oneshot::Sender<u32>)>> = Arc::default();
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let calls: Vec<_> = (0..50u32)
            .map(|i| {
                let (coalescer, sizes) = (coalescer.clone(), sizes.clone());
                tokio::spawn(async move {
                    let (tx, rx) = oneshot::channel();
                    coalescer
                        .send((i, tx), move || {
                            move |batch: Vec<(u32, oneshot::Sender<u32>)>| {
                                let sizes = sizes.clone();
                                async move {
                                    sizes.lock().unwrap().push(batch.len());
                                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                                    for (n, reply) in batch {
                                        let _ = reply.send(n * 2);
                                    }
                                }
                            }
                        })
                        .map_err(|_| "gone")
                        .unwrap();
                    rx.await.unwrap()
                })
            })
            .collect();
        for (i, call) in calls.into_iter().enumerate() {
            assert_eq!(call.await.unwrap(), i as u32 * 2);
        }
        let sizes = sizes.lock().unwrap().clone();
        assert_eq!(sizes.iter().sum::<usize>(), 50);
        assert!(
            sizes.len() < 50,
            "calls made while a batch ran were batched: {sizes:?}"
        );
    }

    /// Callers that the last batch's answers woke send their next calls at different times:
    /// some at once, some after work done in another task (as a plugin call is). They still
    /// land in one batch, not two.
    #[tokio::test]
    async fn callers_woken_together_send_into_one_batch() {
        const CALLERS: u32 = 9;
        const ROUNDS: usize = 4;
        let coalescer: Arc<Coalescer<oneshot::Sender<()>>> = Arc::default();
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let callers: Vec<_> = (0..CALLERS)
            .map(|i| {
                let (coalescer, sizes) = (coalescer.clone(), sizes.clone());
                tokio::spawn(async move {
                    for _ in 0..ROUNDS {
                        let (tx, rx) = oneshot::channel();
                        let sizes = sizes.clone();
                        coalescer
                            .send(tx, move || {
                                move |batch: Vec<oneshot::Sender<()>>| {
                                    sizes.lock().unwrap().push(batch.len());
                                    async move {
                                        for reply in batch {
                                            let _ = reply.send(());
                                        }
                                    }
                                }
                            })
                            .map_err(|_| "gone")
                            .unwrap();
                        rx.await.unwrap();
                        // the work between two calls
                        if i % 2 == 1 {
                            tokio::spawn(async {}).await.unwrap();
                        }
                    }
                })
            })
            .collect();
        for caller in callers {
            caller.await.unwrap();
        }
        let sizes = sizes.lock().unwrap().clone();
        assert_eq!(sizes, vec![CALLERS as usize; ROUNDS], "batch sizes");
    }

    #[tokio::test]
    async fn a_panicking_batch_loses_only_its_own_answers() {
        let coalescer: Coalescer<(bool, oneshot::Sender<()>)> = Coalescer::default();
        let start = || {
            |batch: Vec<(bool, oneshot::Sender<()>)>| async move {
                for (panic, reply) in batch {
                    assert!(!panic, "this batch panics");
                    let _ = reply.send(());
                }
            }
        };
        let (tx, rx) = oneshot::channel();
        coalescer
            .send((true, tx), start)
            .map_err(|_| "gone")
            .unwrap();
        assert!(rx.await.is_err());
        let (tx, rx) = oneshot::channel();
        coalescer
            .send((false, tx), start)
            .map_err(|_| "gone")
            .unwrap();
        assert!(rx.await.is_ok());
    }
}
