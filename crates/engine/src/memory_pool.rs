//! svna's memory pool: DataFusion's, except that repartitions never spill.
//!
//! DataFusion 55's `RepartitionExec` writes a batch it cannot reserve memory for into a spill
//! pool read by one reader. When two inputs spill at once, the pool can hold two open files
//! and the reader waits on the older one for a batch that went to the newer: every thread
//! parks and the query never returns (apache/datafusion#24883, fixed upstream after 55.2.0,
//! the newest 55 release). svna hit it at scale 10 under `--memory-limit 2GiB`. Granting a
//! repartition's reservation always, as DataFusion did before repartitions could spill, keeps
//! that path unused: the memory is still counted against the pool, so the operators that do
//! spill (aggregations, sorts) spill sooner instead. What a repartition buffers is bounded by
//! its channels' gate (it stops reading its input while every output channel holds a batch).
//! `tests/it/memory_limit.rs` reproduces the hang with the upstream report's query.

use std::fmt;

use datafusion::common::Result;
use datafusion::execution::memory_pool::{
    MemoryConsumer, MemoryLimit, MemoryPool, MemoryReservation,
};

/// The name DataFusion gives each of a repartition's reservations: `RepartitionExec[N]`
/// (and `RepartitionExec[Merge N]` for an order-preserving one).
const REPARTITION_CONSUMER: &str = "RepartitionExec[";

/// Wraps a pool; repartitions' reservations always succeed, counted against it.
#[derive(Debug)]
pub(crate) struct RepartitionsNeverSpill<P> {
    inner: P,
}

impl<P> RepartitionsNeverSpill<P> {
    pub(crate) fn new(inner: P) -> Self {
        Self { inner }
    }
}

fn is_repartition(consumer: &MemoryConsumer) -> bool {
    consumer.name().starts_with(REPARTITION_CONSUMER)
}

impl<P: MemoryPool> fmt::Display for RepartitionsNeverSpill<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (repartitions never spill)", self.inner)
    }
}

impl<P: MemoryPool> MemoryPool for RepartitionsNeverSpill<P> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn register(&self, consumer: &MemoryConsumer) {
        self.inner.register(consumer)
    }

    fn unregister(&self, consumer: &MemoryConsumer) {
        self.inner.unregister(consumer)
    }

    fn grow(&self, reservation: &MemoryReservation, additional: usize) {
        self.inner.grow(reservation, additional)
    }

    fn shrink(&self, reservation: &MemoryReservation, shrink: usize) {
        self.inner.shrink(reservation, shrink)
    }

    fn try_grow(&self, reservation: &MemoryReservation, additional: usize) -> Result<()> {
        if is_repartition(reservation.consumer()) {
            self.inner.grow(reservation, additional);
            return Ok(());
        }
        self.inner.try_grow(reservation, additional)
    }

    fn reserved(&self) -> usize {
        self.inner.reserved()
    }

    fn memory_limit(&self) -> MemoryLimit {
        self.inner.memory_limit()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::execution::memory_pool::{FairSpillPool, MemoryConsumer, MemoryPool};

    use super::RepartitionsNeverSpill;

    #[test]
    fn a_repartition_is_granted_beyond_the_limit_and_counted() {
        let pool: Arc<dyn MemoryPool> =
            Arc::new(RepartitionsNeverSpill::new(FairSpillPool::new(1000)));
        let repartition = MemoryConsumer::new("RepartitionExec[0]")
            .with_can_spill(true)
            .register(&pool);
        repartition.try_grow(5000).unwrap();
        assert_eq!(pool.reserved(), 5000);
        // Counted: an operator that cannot spill is refused what the repartition holds.
        let join = MemoryConsumer::new("HashJoinInput[0]").register(&pool);
        assert!(join.try_grow(1).is_err());
        drop(repartition);
        assert_eq!(pool.reserved(), 0);
        join.try_grow(1000).unwrap();
        assert!(
            join.try_grow(1).is_err(),
            "the limit still holds for the rest"
        );
    }
}
