//! A linearizability checker for one register: is there a total order of the operations,
//! consistent with their real-time order, in which every read returns the last value
//! written before it?
//!
//! The search is Wing and Gong's, with Lowe's memoization (as in Knossos and Porcupine): at
//! each step, any operation invoked before the earliest answer among the operations not yet
//! placed may go next, if the register allows it; a configuration (operations placed, value)
//! already explored is not explored again. A write whose outcome is unknown (a timeout, a
//! lost answer) has no answer time: it may take effect at any point after its invocation,
//! or never.

use std::collections::HashSet;

/// A register value.
pub type Value = u64;

/// What an operation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Wrote the value.
    Write(Value),
    /// Read the value.
    Read(Value),
}

/// One operation of a history. Times are in any one monotonic unit (nanoseconds since the
/// history started, say).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Op {
    /// When the client invoked it.
    pub call: u64,
    /// When its answer arrived; `None` when it is unknown whether it took effect.
    pub ret: Option<u64>,
    pub action: Action,
}

impl Op {
    /// A write acknowledged at `ret`.
    pub fn write(call: u64, ret: u64, value: Value) -> Op {
        Op {
            call,
            ret: Some(ret),
            action: Action::Write(value),
        }
    }

    /// A write whose outcome is unknown: it may have taken effect after `call`, or never.
    pub fn unknown_write(call: u64, value: Value) -> Op {
        Op {
            call,
            ret: None,
            action: Action::Write(value),
        }
    }

    /// A read that answered `value` at `ret`.
    pub fn read(call: u64, ret: u64, value: Value) -> Op {
        Op {
            call,
            ret: Some(ret),
            action: Action::Read(value),
        }
    }

    fn ret_or_never(&self) -> u64 {
        self.ret.unwrap_or(u64::MAX)
    }
}

/// Why a history is not linearizable: the longest prefix the search could order, and the
/// operation that had to come next and could not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Operations ordered in the deepest attempt.
    pub ordered: usize,
    /// Operations checked (unobserved unknown writes are left out).
    pub total: usize,
    /// The pending operation with the earliest answer at that point.
    pub stuck: Option<Op>,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "not linearizable: at most {} of {} operations can be ordered; then {:?} cannot be",
            self.ordered, self.total, self.stuck
        )
    }
}

/// Checks that `history` is linearizable for a register starting at `initial`.
///
/// Unknown writes whose value no read returned are left out first: one can always take
/// effect last (or never) without being seen, so they change nothing but the search's size.
pub fn check(initial: Value, history: &[Op]) -> Result<(), Violation> {
    let read: HashSet<Value> = history
        .iter()
        .filter_map(|op| match op.action {
            Action::Read(v) => Some(v),
            Action::Write(_) => None,
        })
        .collect();
    let mut ops: Vec<Op> = history
        .iter()
        .copied()
        .filter(|op| match op.action {
            Action::Write(v) => op.ret.is_some() || read.contains(&v),
            Action::Read(_) => true,
        })
        .collect();
    ops.sort_by_key(|op| op.call);
    Search::new(initial, ops).run()
}

/// One frame of the search: the operation placed, and the value before it.
struct Placed {
    index: usize,
    before: Value,
}

/// The depth-first search over orders.
struct Search {
    ops: Vec<Op>,
    /// Which operations are placed, as bits.
    done: Vec<u64>,
    value: Value,
    path: Vec<Placed>,
    seen: HashSet<(Vec<u64>, Value)>,
    deepest: usize,
    stuck: Option<Op>,
}

impl Search {
    fn new(initial: Value, ops: Vec<Op>) -> Self {
        Search {
            done: vec![0; ops.len().div_ceil(64)],
            ops,
            value: initial,
            path: Vec::new(),
            seen: HashSet::new(),
            deepest: 0,
            stuck: None,
        }
    }

    fn run(mut self) -> Result<(), Violation> {
        let mut from = 0;
        loop {
            if self.path.len() == self.ops.len() {
                return Ok(());
            }
            if let Some(next) = self.place_next(from) {
                from = next;
                continue;
            }
            // Nothing can go next here: undo the last choice and try the one after it.
            let Some(last) = self.path.pop() else {
                return Err(Violation {
                    ordered: self.deepest,
                    total: self.ops.len(),
                    stuck: self.stuck,
                });
            };
            self.set_done(last.index, false);
            self.value = last.before;
            from = last.index + 1;
        }
    }

    /// Places the first operation at or after `from` that may go next and leads somewhere
    /// new; returns where the next search starts (0), or `None` when there is none.
    fn place_next(&mut self, from: usize) -> Option<usize> {
        let horizon = self.earliest_pending_answer();
        if self.path.len() >= self.deepest {
            self.deepest = self.path.len();
            self.stuck = self.pending().min_by_key(Op::ret_or_never);
        }
        for index in from..self.ops.len() {
            let Some(op) = self.ops.get(index).copied() else {
                break;
            };
            // Sorted by invocation: nothing later was invoked before the horizon either.
            if op.call > horizon {
                break;
            }
            if self.is_done(index) {
                continue;
            }
            let after = match op.action {
                Action::Write(v) => v,
                Action::Read(v) if v == self.value => v,
                Action::Read(_) => continue,
            };
            self.set_done(index, true);
            if self.seen.insert((self.done.clone(), after)) {
                self.path.push(Placed {
                    index,
                    before: self.value,
                });
                self.value = after;
                return Some(0);
            }
            self.set_done(index, false);
        }
        None
    }

    fn pending(&self) -> impl Iterator<Item = Op> + '_ {
        (0..self.ops.len())
            .zip(&self.ops)
            .filter(|(i, _)| !self.is_done(*i))
            .map(|(_, op)| *op)
    }

    fn earliest_pending_answer(&self) -> u64 {
        self.pending()
            .map(|op| op.ret_or_never())
            .min()
            .unwrap_or(u64::MAX)
    }

    fn is_done(&self, index: usize) -> bool {
        self.done
            .get(index / 64)
            .is_some_and(|word| word & (1 << (index % 64)) != 0)
    }

    fn set_done(&mut self, index: usize, done: bool) {
        if let Some(word) = self.done.get_mut(index / 64) {
            if done {
                *word |= 1 << (index % 64);
            } else {
                *word &= !(1 << (index % 64));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sequential_history_is_linearizable() {
        let h = [Op::write(0, 1, 1), Op::read(2, 3, 1), Op::write(4, 5, 2)];
        assert_eq!(check(0, &h), Ok(()));
        assert_eq!(check(0, &[Op::read(0, 1, 0)]), Ok(()), "the initial value");
    }

    #[test]
    fn a_read_concurrent_with_a_write_sees_either_value() {
        for seen in [0, 1] {
            let h = [Op::write(0, 10, 1), Op::read(2, 3, seen)];
            assert_eq!(check(0, &h), Ok(()), "read {seen}");
        }
    }

    #[test]
    fn a_stale_read_after_an_acknowledged_write_is_rejected() {
        let h = [Op::write(0, 1, 1), Op::read(2, 3, 0)];
        let violation = check(0, &h).unwrap_err();
        assert_eq!(violation.stuck, Some(Op::read(2, 3, 0)));
        assert!(violation.to_string().contains("not linearizable"));
    }

    #[test]
    fn a_read_may_not_go_back_to_the_old_value() {
        // The write is concurrent with both reads, but once a read saw it, a later read may
        // not miss it: each read alone is fine, the pair is not.
        let h = [
            Op::write(0, 100, 1),
            Op::read(10, 20, 1),
            Op::read(30, 40, 0),
        ];
        assert!(check(0, &h).is_err());
        assert_eq!(check(0, &h[..2]), Ok(()));
        assert_eq!(check(0, &[h[0], h[2]]), Ok(()));
    }

    #[test]
    fn a_value_never_written_cannot_be_read() {
        assert!(check(0, &[Op::write(0, 1, 1), Op::read(2, 3, 7)]).is_err());
    }

    #[test]
    fn an_unknown_write_may_take_effect_late_or_never() {
        // Never seen: as if it did not happen.
        let unseen = [
            Op::unknown_write(0, 1),
            Op::read(5, 6, 0),
            Op::read(7, 8, 0),
        ];
        assert_eq!(check(0, &unseen), Ok(()));
        // Seen long after its caller gave up: it took effect late.
        let late = [
            Op::unknown_write(0, 1),
            Op::write(10, 11, 2),
            Op::read(20, 21, 1),
        ];
        assert_eq!(check(0, &late), Ok(()));
        // But once seen it stays until overwritten.
        let back = [
            Op::unknown_write(0, 1),
            Op::read(5, 6, 1),
            Op::read(7, 8, 0),
        ];
        assert!(check(0, &back).is_err());
    }

    #[test]
    fn an_unknown_write_cannot_take_effect_before_it_was_invoked() {
        let h = [Op::read(0, 5, 1), Op::unknown_write(10, 1)];
        assert!(check(0, &h).is_err());
    }

    #[test]
    fn a_lost_acknowledged_write_is_rejected() {
        // Acknowledged, then overwritten by nothing, yet a later read misses it.
        let h = [
            Op::write(0, 10, 1),
            Op::unknown_write(5, 2),
            Op::read(20, 30, 2),
            Op::read(40, 50, 1),
        ];
        assert!(check(0, &h).is_err());
    }

    /// A random history of an atomic register: each operation takes effect at one instant
    /// inside its interval, so the history is linearizable by construction.
    fn atomic_history(seed: u64, clients: u64, per_client: u64) -> Vec<Op> {
        let mut state = seed;
        let mut random = move |below: u64| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) % below
        };
        // (effect instant, client, op) for every operation, then replayed in effect order.
        let mut planned = Vec::new();
        let mut next_value = 1;
        for client in 0..clients {
            let mut t = random(10);
            for _ in 0..per_client {
                let call = t;
                let effect = call + 1 + random(20);
                let ret = effect + 1 + random(20);
                let write = random(3) == 0;
                planned.push((effect, client, call, ret, write.then_some(next_value)));
                next_value += 1;
                t = ret + 1 + random(5);
            }
        }
        planned.sort_by_key(|p| (p.0, p.1));
        let mut value = 0;
        planned
            .into_iter()
            .map(|(_, _, call, ret, write)| match write {
                Some(v) => {
                    value = v;
                    if random(10) == 0 {
                        Op::unknown_write(call, v)
                    } else {
                        Op::write(call, ret, v)
                    }
                }
                None => Op::read(call, ret, value),
            })
            .collect()
    }

    #[test]
    fn random_atomic_histories_are_linearizable_and_a_corrupted_one_is_not() {
        for seed in 1..8 {
            let mut h = atomic_history(seed, 6, 60);
            assert_eq!(check(0, &h), Ok(()), "seed {seed}");
            // Make the last read of the history (in answer order) see a stale value: the
            // initial one, long overwritten by acknowledged writes.
            let last = h
                .iter_mut()
                .filter(|op| matches!(op.action, Action::Read(v) if v != 0))
                .max_by_key(|op| op.ret)
                .unwrap();
            last.action = Action::Read(0);
            assert!(check(0, &h).is_err(), "seed {seed}: a stale read is found");
        }
    }
}
