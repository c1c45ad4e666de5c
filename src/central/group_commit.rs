//! Group commit for the central's one writer: many pushes, one transaction.
//!
//! With hundreds of tables pushing at once, a disk sync per push would bound the central
//! to the disk's sync rate, so every push that queued while a commit ran is stored by
//! the next commit, together. One push at a time leads: it takes the whole queue, runs
//! the commit, hands each push its results, then hands the lead to the first push that
//! queued meanwhile. The others sleep on their own slot until their results come.
//! They used to queue for the writer's lock instead, and each took it in turn only to
//! find its push already stored: with thousands of tables on connections of their own
//! that convoy of lock hand-overs took more of the writer's time than the commits
//! (issue 14).
//!
//! A leader whose commit panics still answers every push it took (with the `lost`
//! result) and still hands the lead on (a drop guard): otherwise those pushes, and every
//! push after them, would wait for ever and the central would stop taking events.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The queue of pushes waiting for the writer, and whether one of them leads.
pub struct GroupCommit<T, R> {
    queue: Mutex<Queue<T, R>>,
}

struct Queue<T, R> {
    pending: Vec<Pending<T, R>>,
    leading: bool,
}

/// A push waiting: its items, and where its results go.
struct Pending<T, R> {
    items: Vec<T>,
    done: Done<R>,
}

/// Where a push's results go, and how it is woken.
type Done<R> = Arc<(Mutex<Slot<R>>, Condvar)>;

/// What a waiting push is told: its results, or that it is to lead next.
struct Slot<R> {
    results: Option<Vec<R>>,
    lead: bool,
}

fn answer<R>(done: &(Mutex<Slot<R>>, Condvar), results: Vec<R>) {
    lock(&done.0).results = Some(results);
    done.1.notify_all();
}

impl<T, R> Default for GroupCommit<T, R> {
    fn default() -> Self {
        GroupCommit {
            queue: Mutex::new(Queue {
                pending: Vec::new(),
                leading: false,
            }),
        }
    }
}

/// The leader's turn: the pushes it took. Dropped after the commit, or while a panic in
/// it unwinds: each push not yet answered is told `lost`, and the lead passes on.
struct Turn<'a, T, R, L: Fn() -> R> {
    group: &'a GroupCommit<T, R>,
    /// Each push taken: how many items it gave, where its results go.
    taken: Vec<(usize, Done<R>)>,
    lost: &'a L,
}

impl<T, R, L: Fn() -> R> Drop for Turn<'_, T, R, L> {
    fn drop(&mut self) {
        for (n, done) in self.taken.drain(..) {
            answer(&done, (0..n).map(|_| (self.lost)()).collect());
        }
        let mut q = lock(&self.group.queue);
        match q.pending.first() {
            None => q.leading = false,
            Some(next) => {
                lock(&next.done.0).lead = true;
                next.done.1.notify_all();
            }
        }
    }
}

impl<T, R> GroupCommit<T, R> {
    /// Runs `items` through a commit, together with every other push queued meanwhile,
    /// and returns their results (one per item, in order). `commit` takes the items of
    /// all pushes of a batch and returns one result per item; it runs only if this push
    /// leads. `lost` is the result of an item whose commit panicked or gave too few
    /// results.
    pub fn submit(
        &self,
        items: Vec<T>,
        commit: impl FnOnce(Vec<T>) -> Vec<R>,
        lost: impl Fn() -> R,
    ) -> Vec<R> {
        let n = items.len();
        let slot = Arc::new((
            Mutex::new(Slot {
                results: None,
                lead: false,
            }),
            Condvar::new(),
        ));
        let lead_now = {
            let mut q = lock(&self.queue);
            q.pending.push(Pending {
                items,
                done: slot.clone(),
            });
            !std::mem::replace(&mut q.leading, true)
        };
        if !lead_now {
            let mut s = lock(&slot.0);
            loop {
                if let Some(r) = s.results.take() {
                    return r;
                }
                if s.lead {
                    break;
                }
                s = slot.1.wait(s).unwrap_or_else(|e| e.into_inner());
            }
        }
        // Leading: this push is still in the queue, so the batch holds it.
        self.lead(commit, &lost);
        lock(&slot.0)
            .results
            .take()
            .unwrap_or_else(|| (0..n).map(|_| lost()).collect())
    }

    /// Everything queued committed at once, each push told its results, the lead handed
    /// on (by the turn's drop, also when `commit` panics).
    fn lead<L: Fn() -> R>(&self, commit: impl FnOnce(Vec<T>) -> Vec<R>, lost: &L) {
        let batch = std::mem::take(&mut lock(&self.queue).pending);
        let mut turn = Turn {
            group: self,
            taken: Vec::with_capacity(batch.len()),
            lost,
        };
        let mut all = Vec::new();
        for p in batch {
            turn.taken.push((p.items.len(), p.done));
            all.extend(p.items);
        }
        let mut results = commit(all).into_iter();
        for (n, done) in turn.taken.drain(..) {
            let mut mine: Vec<R> = results.by_ref().take(n).collect();
            mine.resize_with(n, lost);
            answer(&done, mine);
        }
    }

    /// Pushes waiting (for tests that arrange who leads).
    #[cfg(test)]
    fn waiting(&self) -> usize {
        lock(&self.queue).pending.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    /// Waits until `n` pushes are queued behind the leader, for at most 10 s.
    fn until_waiting(g: &GroupCommit<u32, Result<u32, String>>, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while g.waiting() < n {
            assert!(Instant::now() < deadline, "the pushes never queued");
            std::thread::yield_now();
        }
    }

    fn lost() -> Result<u32, String> {
        Err("lost".into())
    }

    #[test]
    fn every_push_gets_its_own_results_in_order() {
        let g: Arc<GroupCommit<u32, Result<u32, String>>> = Arc::default();
        let threads: Vec<_> = (0..8u32)
            .map(|t| {
                let g = g.clone();
                std::thread::spawn(move || {
                    let items: Vec<u32> = (0..=t).map(|i| t * 100 + i).collect();
                    let r = g.submit(
                        items.clone(),
                        |all| all.into_iter().map(|x| Ok(x * 2)).collect(),
                        lost,
                    );
                    (items, r)
                })
            })
            .collect();
        for t in threads {
            let (items, r) = t.join().expect("a push panicked");
            let want: Vec<Result<u32, String>> = items.iter().map(|x| Ok(x * 2)).collect();
            assert_eq!(r, want);
        }
    }

    /// A leader whose commit panics: the pushes it took are told `lost` instead of
    /// waiting for ever, and the next push still leads and commits.
    #[test]
    fn a_commit_that_panics_answers_its_pushes_and_hands_the_lead_on() {
        let g: Arc<GroupCommit<u32, Result<u32, String>>> = Arc::default();
        let (tx, rx) = mpsc::channel();
        // The first leader holds its commit until two pushes queue behind it.
        let (leading_tx, leading) = mpsc::channel();
        let first = {
            let (g, tx) = (g.clone(), tx.clone());
            std::thread::spawn(move || {
                let r = g.submit(
                    vec![1],
                    |all| {
                        let _ = leading_tx.send(());
                        until_waiting(&g, 2);
                        all.into_iter().map(Ok).collect()
                    },
                    lost,
                );
                let _ = tx.send(("first", r));
            })
        };
        leading
            .recv_timeout(Duration::from_secs(10))
            .expect("the first push never led");
        // Both queued pushes would panic if they led; one of them leads the next batch.
        let queued: Vec<_> = [2u32, 3]
            .into_iter()
            .map(|x| {
                let (g, tx) = (g.clone(), tx.clone());
                std::thread::spawn(move || {
                    let r = g.submit(vec![x], |_| panic!("the disk went away"), lost);
                    let _ = tx.send(("queued", r));
                })
            })
            .collect();
        let deadline = Duration::from_secs(10);
        let mut answers = Vec::new();
        for _ in 0..2 {
            answers.push(
                rx.recv_timeout(deadline)
                    .expect("a push waits for ever after its leader panicked"),
            );
        }
        answers.sort_by_key(|(who, _)| *who);
        assert_eq!(answers[0], ("first", vec![Ok(1)]));
        assert_eq!(answers[1], ("queued", vec![lost()]));
        first.join().expect("the first push panicked");
        let panicked = queued.into_iter().filter_map(|t| t.join().err()).count();
        assert_eq!(panicked, 1, "only the leader of the failed batch panics");
        // The lead was handed back: a later push commits.
        let later = {
            let g = g.clone();
            std::thread::spawn(move || {
                let r = g.submit(vec![4], |all| all.into_iter().map(Ok).collect(), lost);
                let _ = tx.send(("later", r));
            })
        };
        assert_eq!(
            rx.recv_timeout(deadline)
                .expect("no push is committed after a commit panicked"),
            ("later", vec![Ok(4)])
        );
        later.join().expect("the later push panicked");
    }
}
