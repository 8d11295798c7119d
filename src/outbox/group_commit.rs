//! Group commit: concurrent writers share one synced transaction.
//!
//! Every accepted call log must be on disk before `accept` returns, and a
//! synced commit costs an `fsync` (milliseconds on a disk). Committing each
//! log on its own would cap a client at a few hundred logs per second and
//! make every caller wait behind all the others' syncs. Instead, callers
//! queue their record; one of them (the leader) takes everything queued,
//! writes it in one transaction and syncs once, then hands every caller its
//! own result. Callers that arrive while a commit is in flight queue for the
//! next one, so a busy store batches by itself and an idle one commits at
//! once: there is no timer and no sleep, and a single caller pays exactly one
//! sync.
//!
//! The leader is simply the first waiting caller that finds no commit in
//! flight; followers wait on a condition variable. A batch succeeds or fails
//! as a whole (one transaction), and every caller in it gets that outcome.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard};

use super::error::{OutboxError, OutboxErrorKind};

/// Batches submissions of `R` into commits returning one `T` each.
pub(crate) struct GroupCommit<R, T> {
    inner: Mutex<Inner<R, T>>,
    done: Condvar,
}

struct Inner<R, T> {
    next_ticket: u64,
    /// Submitted and not yet taken by a leader, in arrival order.
    queue: Vec<(u64, R)>,
    /// A leader is committing a batch (with the store's lock released).
    committing: bool,
    /// Outcomes not yet collected by their caller, by ticket.
    results: HashMap<u64, Result<T, OutboxError>>,
    /// Commits made (successful or not): fewer than submissions under
    /// concurrency, which is the point.
    batches: u64,
}

impl<R, T> GroupCommit<R, T> {
    pub(crate) fn new() -> GroupCommit<R, T> {
        GroupCommit {
            inner: Mutex::new(Inner {
                next_ticket: 0,
                queue: Vec::new(),
                committing: false,
                results: HashMap::new(),
                batches: 0,
            }),
            done: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<R, T>> {
        // The state is only changed in small steps that cannot panic halfway,
        // so a poisoned lock still guards consistent data.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Commits the batch that took them so far (successful or not).
    pub(crate) fn batches(&self) -> u64 {
        self.lock().batches
    }

    /// Submits `request` and returns its result once the batch holding it is
    /// committed. `commit` is called (by at most one caller at a time, and at
    /// most once by this caller) with a batch in submission order and must
    /// return one result per request, in the same order, or one error for
    /// the whole batch.
    pub(crate) fn submit<F>(&self, request: R, commit: F) -> Result<T, OutboxError>
    where
        F: FnOnce(Vec<R>) -> Result<Vec<T>, OutboxError>,
    {
        let mut inner = self.lock();
        let ticket = inner.next_ticket;
        inner.next_ticket += 1;
        inner.queue.push((ticket, request));
        let mut commit = Some(commit);
        loop {
            if let Some(result) = inner.results.remove(&ticket) {
                return result;
            }
            if !inner.committing {
                // Our request is still queued (a taken one is committed before
                // `committing` drops), so we lead the next batch, ours included.
                let batch = std::mem::take(&mut inner.queue);
                inner.committing = true;
                inner.batches += 1;
                drop(inner);
                let (tickets, requests): (Vec<u64>, Vec<R>) = batch.into_iter().unzip();
                let mut guard = LeaderGuard {
                    group: self,
                    tickets: Some(tickets),
                };
                let commit = commit.take().expect("a caller leads at most once");
                let outcome = commit(requests);
                inner = self.lock();
                let tickets = guard.tickets.take().unwrap_or_default();
                publish(&mut inner, tickets, outcome);
                self.done.notify_all();
                continue;
            }
            inner = self.done.wait(inner).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// Hands each ticket its result (or the batch's error) and ends the commit.
fn publish<R, T>(inner: &mut Inner<R, T>, tickets: Vec<u64>, outcome: Result<Vec<T>, OutboxError>) {
    inner.committing = false;
    match outcome {
        Ok(values) if values.len() == tickets.len() => {
            for (ticket, value) in tickets.into_iter().zip(values) {
                inner.results.insert(ticket, Ok(value));
            }
        }
        Ok(values) => {
            let err = OutboxError::new(
                OutboxErrorKind::Io,
                std::path::Path::new("(group commit)"),
                format!(
                    "internal error: {} results for {} records",
                    values.len(),
                    tickets.len()
                ),
            );
            for ticket in tickets {
                inner.results.insert(ticket, Err(err.clone()));
            }
        }
        Err(err) => {
            for ticket in tickets {
                inner.results.insert(ticket, Err(err.clone()));
            }
        }
    }
}

/// If the leader's commit panics (a bug), its followers must not wait
/// forever: they get an error and the next caller can lead.
struct LeaderGuard<'a, R, T> {
    group: &'a GroupCommit<R, T>,
    tickets: Option<Vec<u64>>,
}

impl<R, T> Drop for LeaderGuard<'_, R, T> {
    fn drop(&mut self) {
        if let Some(tickets) = self.tickets.take() {
            let mut inner = self.group.lock();
            let err = OutboxError::new(
                OutboxErrorKind::Io,
                std::path::Path::new("(group commit)"),
                "internal error: the commit panicked",
            );
            publish(&mut inner, tickets, Err(err));
            self.group.done.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Barrier};

    #[test]
    fn a_lone_caller_commits_at_once() {
        let g: GroupCommit<u32, u32> = GroupCommit::new();
        assert_eq!(
            g.submit(7, |b| Ok(b.iter().map(|x| x * 2).collect())),
            Ok(14)
        );
        assert_eq!(g.batches(), 1);
    }

    #[test]
    fn a_failed_batch_fails_every_caller_in_it() {
        let g: GroupCommit<u32, u32> = GroupCommit::new();
        let e = g
            .submit(1, |_| {
                Err(OutboxError::new(
                    OutboxErrorKind::Full,
                    std::path::Path::new("x"),
                    "full",
                ))
            })
            .unwrap_err();
        assert_eq!(e.kind(), OutboxErrorKind::Full);
        // The next caller leads a fresh batch.
        assert_eq!(g.submit(2, Ok), Ok(2));
    }

    #[test]
    fn a_panicking_leader_does_not_block_later_callers() {
        let g: Arc<GroupCommit<u32, u32>> = Arc::new(GroupCommit::new());
        let g2 = g.clone();
        let r = std::thread::spawn(move || g2.submit(1, |_| panic!("bug"))).join();
        assert!(r.is_err());
        assert_eq!(g.submit(2, Ok), Ok(2));
    }

    #[test]
    fn concurrent_callers_share_commits_and_get_their_own_results() {
        let g: Arc<GroupCommit<u32, u32>> = Arc::new(GroupCommit::new());
        let threads = 8;
        let per = 50;
        let barrier = Arc::new(Barrier::new(threads));
        let handles: Vec<_> = (0..threads as u32)
            .map(|t| {
                let g = g.clone();
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    barrier.wait();
                    for i in 0..per {
                        let x = t * 1000 + i;
                        let got = g.submit(x, |b| {
                            // Long enough for others to queue behind us.
                            std::thread::yield_now();
                            Ok(b.into_iter().map(|v| v + 1).collect())
                        });
                        assert_eq!(got, Ok(x + 1));
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert!(g.batches() <= (threads as u64) * (per as u64));
    }
}
