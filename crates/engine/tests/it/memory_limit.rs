//! Stages under a memory limit finish: they spill or fail, they never hang.
//!
//! DataFusion 55's `RepartitionExec` spills a batch it cannot reserve memory for into a spill
//! pool, and that pool can lose a batch to a second file its one reader never reaches
//! (apache/datafusion#24883, fixed upstream after 55.2.0, the newest 55 release): every
//! thread parks and the query never returns. svna hit it at scale 10 under
//! `--memory-limit 2GiB` in `linkage_quality`. The query below is the upstream report's, on
//! svna's own session: a distinct count of 27-character strings (the report's MD5 digests
//! are 32; shorter ones such as `trace-1` never fill the pool), two partitions, tiny
//! batches, a 2 MB pool. Each attempt gets a time box; before svna's pool kept repartitions
//! from spilling, attempt 0 hung.

use std::time::Duration;

use datafusion::arrow::array::Int64Array;
use svna_engine::EngineConfig;
use svna_storage::Store;

const ATTEMPTS: usize = 12;
const TIME_BOX: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_distinct_count_under_a_tiny_memory_limit_finishes_every_time() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().to_str().unwrap()).unwrap();
    let config = EngineConfig {
        memory_limit: Some(2 << 20),
        target_partitions: Some(2),
        ..EngineConfig::default()
    };
    let runtime = config.runtime(&store).unwrap();
    let ctx = config.session(&runtime).unwrap();
    ctx.sql("SET datafusion.execution.batch_size = 64")
        .await
        .unwrap();
    ctx.sql(
        "CREATE TABLE t AS SELECT v % 13 AS g, concat(repeat('x', 24), CAST(v % 337 AS VARCHAR)) AS trace_id \
         FROM generate_series(1, 40000) AS s(v)",
    )
    .await
    .unwrap()
    .collect()
    .await
    .unwrap();
    for attempt in 0..ATTEMPTS {
        let query = async {
            ctx.sql("SELECT g, COUNT(DISTINCT trace_id) AS n FROM t GROUP BY g")
                .await?
                .collect()
                .await
        };
        let batches = tokio::time::timeout(TIME_BOX, query)
            .await
            .unwrap_or_else(|_| panic!("attempt {attempt} did not finish in {TIME_BOX:?}"))
            .unwrap();
        // 13 and 337 share no factor and 40,000 > 13 × 337, so every group holds all 337
        // distinct strings.
        let counts: Vec<i64> = batches
            .iter()
            .flat_map(|b| {
                b.column(1)
                    .as_any()
                    .downcast_ref::<Int64Array>()
                    .expect("COUNT is Int64")
                    .values()
                    .to_vec()
            })
            .collect();
        assert_eq!(
            counts,
            vec![337; 13],
            "attempt {attempt}: one row per group"
        );
    }
}
