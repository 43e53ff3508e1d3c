use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::execution::context::SQLOptions;
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::{FairSpillPool, TrackConsumersPool};
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::prelude::{SessionConfig, SessionContext};
use svna_storage::Store;

use crate::cluster::ClusterAddress;
use crate::error::EngineError;
use crate::memory_pool::RepartitionsNeverSpill;

/// Settings of the DataFusion runtime svna runs stages in.
#[derive(Debug, Clone, Default)]
pub struct EngineConfig {
    /// Memory limit for query execution in bytes; operators that can spill (sorts,
    /// aggregations, sort-merge joins) spill to disk beyond it. `None`: no limit.
    pub memory_limit: Option<usize>,
    /// Where spill files go; the OS temporary directory when `None`.
    pub spill_dir: Option<std::path::PathBuf>,
    /// Parallelism; the number of cores when `None`.
    pub target_partitions: Option<usize>,
    /// Join with sort-merge joins, which spill, instead of hash joins, whose build side must
    /// fit in memory. Off by default: measured at scale 10 under a 2 GiB limit, sort-merge
    /// joins exhausted the pool (each finished sort keeps its sorted run in unspillable merge
    /// memory) while hash joins ran in 1.7 GB (BENCHMARKS.md). For build sides larger than
    /// the limit, turn it on.
    pub sort_merge_joins: bool,
    /// Run every stage and test on this Ballista cluster instead of inside this process.
    /// Results stream back here and are written by this process: the outputs hold a local
    /// run's rows (strings as `Utf8`, Ballista having string views off) and the run record
    /// says where each stage ran.
    pub cluster: Option<ClusterAddress>,
}

impl EngineConfig {
    /// The runtime shared by every stage of a run: one memory pool, one disk manager, and the
    /// store registered by URL so tables can be addressed the same way on a cluster.
    pub fn runtime(&self, store: &Store) -> Result<Arc<RuntimeEnv>, EngineError> {
        if let Some(dir) = &self.spill_dir {
            check_spill_dir(dir, store)?;
        }
        let mut builder = RuntimeEnvBuilder::new();
        if let Some(limit) = self.memory_limit {
            // Tracked, so that running out of memory names the operators holding it; and
            // without repartitions spilling, whose spill can hang a query (memory_pool.rs).
            let pool = RepartitionsNeverSpill::new(TrackConsumersPool::new(
                FairSpillPool::new(limit),
                NonZeroUsize::new(5).expect("5 is not zero"),
            ));
            builder = builder.with_memory_pool(Arc::new(pool));
        }
        let disk = match &self.spill_dir {
            Some(dir) => DiskManagerBuilder::default()
                .with_mode(DiskManagerMode::Directories(vec![dir.clone()])),
            None => DiskManagerBuilder::default().with_mode(DiskManagerMode::OsTmpDirectory),
        };
        let runtime = builder
            .with_disk_manager_builder(disk)
            .build_arc()
            .map_err(|source| EngineError::Runtime { source })?;
        runtime.register_object_store(store.base_url(), store.object_store());
        Ok(runtime)
    }

    /// Where a stage runs, as its record says: `local`, or `ballista df://HOST:PORT`.
    pub fn ran_on(&self) -> String {
        match &self.cluster {
            None => svna_records::RAN_LOCALLY.to_string(),
            Some(cluster) => format!("ballista {cluster}"),
        }
    }

    /// A fresh session for one stage: only the tables the stage needs get registered in it.
    /// DataFusion settings may be tuned from the environment (`DATAFUSION_EXECUTION_BATCH_SIZE`,
    /// `DATAFUSION_OPTIMIZER_...`), as DataFusion's own tools allow; svna's settings apply
    /// on top.
    pub fn session(&self, runtime: &Arc<RuntimeEnv>) -> Result<SessionContext, EngineError> {
        let config =
            SessionConfig::from_env().map_err(|source| EngineError::Environment { source })?;
        let mut config = config.with_information_schema(false);
        // Joins against a build side of up to two million rows (a county's serious-violence
        // offences at scale 10) read it once into one hash table instead of repartitioning
        // both sides by a 64-character token: at scale 10 on 2 cores the pipeline took 8.6 s
        // instead of 9.6 s (DataFusion's default stops at 128 Ki rows). Larger build sides are
        // still partitioned, so the memory of one build side stays bounded.
        config = config
            .set_usize(
                "datafusion.optimizer.hash_join_single_partition_threshold_rows",
                SINGLE_PARTITION_JOIN_ROWS,
            )
            .set_usize(
                "datafusion.optimizer.hash_join_single_partition_threshold",
                SINGLE_PARTITION_JOIN_BYTES,
            );
        if let Some(n) = self.target_partitions {
            config = config.with_target_partitions(n);
        }
        if self.sort_merge_joins {
            config = config.set_bool("datafusion.optimizer.prefer_hash_join", false);
        }
        let ctx = match &self.cluster {
            None => SessionContext::new_with_config_rt(config, Arc::clone(runtime)),
            Some(cluster) => cluster.session(config, runtime)?,
        };
        // svna's one function: person linkage (the `person_links` stage).
        ctx.register_udaf(crate::linkage::link_persons_udaf());
        Ok(ctx)
    }
}

/// Refuses a spill directory inside a local store: spill files hold the rows being sorted
/// or joined (person tokens included), and a run killed mid-way leaves them behind, where
/// anyone who copies a zone (e.g. `published/`) takes them along.
fn check_spill_dir(dir: &Path, store: &Store) -> Result<(), EngineError> {
    let Some(root) = store.local_root() else {
        return Ok(()); // a cloud store: a local directory cannot lie inside it
    };
    let io = |source| EngineError::SpillDir {
        spill_dir: dir.to_path_buf(),
        source,
    };
    let root = std::fs::canonicalize(&root).map_err(io)?;
    let spill = resolve(dir).map_err(io)?;
    if spill.starts_with(&root) {
        return Err(EngineError::SpillInsideStore {
            spill_dir: dir.to_path_buf(),
            store_root: root,
        });
    }
    Ok(())
}

/// The absolute path `dir` names once symlinks are followed, for a directory that may not
/// exist yet (DataFusion creates it): its nearest existing ancestor resolved, the rest
/// appended. `..` is resolved against that ancestor too, so `store/../store/x` is caught.
fn resolve(dir: &Path) -> std::io::Result<PathBuf> {
    let absolute = std::path::absolute(dir)?;
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    while !existing.exists() {
        let Some(parent) = existing.parent() else {
            break;
        };
        rest.push(existing.file_name().map(|n| n.to_os_string()));
        existing = parent;
    }
    let mut resolved = std::fs::canonicalize(existing)?;
    for part in rest.into_iter().rev() {
        match part {
            Some(name) => resolved.push(name),
            // A trailing `..` of a missing path: step up.
            None => {
                resolved.pop();
            }
        }
    }
    Ok(resolved)
}

const SINGLE_PARTITION_JOIN_ROWS: usize = 2_000_000;
const SINGLE_PARTITION_JOIN_BYTES: usize = 256 << 20;

/// Stage SQL is a read-only query: no DDL (CREATE/DROP), no DML (INSERT/COPY), no SET.
pub fn read_only_sql_options() -> SQLOptions {
    SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false)
}

/// Parses sizes such as `2GiB`, `512MiB`, `1.5G`, `1000000`.
pub fn parse_byte_size(text: &str) -> Result<usize, EngineError> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let number: f64 = number.parse().map_err(|_| {
        EngineError::Config(format!("`{text}` is not a size such as 2GiB or 512MiB"))
    })?;
    let factor: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" | "kib" => 1024.0,
        "m" | "mb" | "mib" => 1024.0 * 1024.0,
        "g" | "gb" | "gib" => 1024.0 * 1024.0 * 1024.0,
        other => {
            return Err(EngineError::Config(format!(
                "unknown size unit `{other}` in `{text}`"
            )));
        }
    };
    Ok((number * factor) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_byte_size("2GiB").unwrap(), 2 << 30);
        assert_eq!(parse_byte_size("512MiB").unwrap(), 512 << 20);
        assert_eq!(parse_byte_size("1.5g").unwrap(), 3 << 29);
        assert_eq!(parse_byte_size("1000").unwrap(), 1000);
        assert!(parse_byte_size("lots").is_err());
        assert!(parse_byte_size("2PB").is_err());
    }
}
