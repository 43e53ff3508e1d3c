use ballista_core::error::BallistaError;

/// Why a scheduler or executor could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(
        "`{address}` is not an address to bind: {reason} (write HOST:PORT, e.g. 0.0.0.0:50050)"
    )]
    Bind { address: String, reason: String },
    #[error("`{address}` is not a scheduler address: {reason} (write HOST:PORT or df://HOST:PORT)")]
    Scheduler { address: String, reason: String },
    #[error("cannot make a working directory for the executor's shuffle files: {source}")]
    WorkDir {
        #[source]
        source: std::io::Error,
    },
    #[error("the Ballista {role} stopped: {source}")]
    Ballista {
        role: &'static str,
        #[source]
        source: BallistaError,
    },
}
