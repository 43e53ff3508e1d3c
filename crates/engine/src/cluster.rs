//! Where a run's stages execute when they do not run inside the svna process: the scheduler
//! of an Apache DataFusion Ballista cluster (`svna cluster scheduler`), addressed as
//! `df://HOST:PORT` as Ballista's own clients address it.

use std::fmt;
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use ballista::extension::{SessionConfigExt, SessionStateExt};
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::error::EngineError;

/// Ballista's scheduler port when an address names none.
pub const DEFAULT_SCHEDULER_PORT: u16 = 50050;

/// Ballista's switch for its adaptive query planner.
const ADAPTIVE_PLANNER: &str = "ballista.planner.adaptive.enabled";

/// A scheduler address, checked once when it is read: `df://HOST:PORT` (the port defaults
/// to Ballista's 50050).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterAddress {
    host: String,
    port: u16,
}

impl ClusterAddress {
    pub fn parse(text: &str) -> Result<ClusterAddress, EngineError> {
        let invalid = |reason: &str| EngineError::ClusterAddress {
            address: text.to_string(),
            reason: reason.to_string(),
        };
        let rest = text
            .trim()
            .strip_prefix("df://")
            .ok_or_else(|| invalid("a cluster is addressed as df://HOST:PORT"))?;
        let rest = rest.trim_end_matches('/');
        if rest.contains('/') {
            return Err(invalid("a cluster address has no path: df://HOST:PORT"));
        }
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) => {
                let port = port
                    .parse::<u16>()
                    .map_err(|_| invalid("the port is not a number from 1 to 65535"))?;
                (host, port)
            }
            None => (rest, DEFAULT_SCHEDULER_PORT),
        };
        if host.is_empty() || port == 0 {
            return Err(invalid("a host and a port from 1 to 65535 are needed"));
        }
        Ok(ClusterAddress {
            host: host.to_string(),
            port,
        })
    }

    /// The scheduler's gRPC endpoint, as Ballista's client connects to it.
    pub fn scheduler_url(&self) -> String {
        format!("http://{}:{}", self.host, self.port)
    }

    /// Fails fast, naming the address, when nothing listens there: otherwise the first
    /// stage would fail with a gRPC transport error.
    pub fn check_reachable(&self, timeout: Duration) -> Result<(), EngineError> {
        let unreachable = |source| EngineError::ClusterUnreachable {
            address: self.to_string(),
            source,
        };
        let addresses = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(unreachable)?;
        let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, "no address");
        for address in addresses {
            match TcpStream::connect_timeout(&address, timeout) {
                Ok(_) => return Ok(()),
                Err(e) => last = e,
            }
        }
        Err(unreachable(last))
    }

    /// A session whose queries the cluster plans and executes; this process plans only the
    /// logical plan, and results stream back to it.
    pub fn session(
        &self,
        config: SessionConfig,
        runtime: &Arc<RuntimeEnv>,
    ) -> Result<SessionContext, EngineError> {
        // Ballista 55's adaptive planner (on by default) is not fit for svna's stages: on the
        // standard pipeline it duplicated rows of `sv_offences_by_area_year` (LEFT JOINs
        // onto a GROUPING SETS aggregate) and hung the scheduler on `cohort_overlap_by_age`
        // (a CUBE over a join of unions). Its static distributed planner gives every stage
        // the rows of a local run (tests/it/object_stores.rs).
        let config = config
            .upgrade_for_ballista()
            .set_bool(ADAPTIVE_PLANNER, false);
        let state = SessionStateBuilder::new()
            .with_config(config)
            .with_runtime_env(Arc::clone(runtime))
            .with_default_features()
            .build()
            .upgrade_for_ballista(self.scheduler_url())
            .map_err(|source| EngineError::Cluster {
                address: self.to_string(),
                source,
            })?;
        Ok(SessionContext::new_with_state(state))
    }
}

impl fmt::Display for ClusterAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "df://{}:{}", self.host, self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_read_once_and_named_back() {
        let a = ClusterAddress::parse("df://127.0.0.1:50123").unwrap();
        assert_eq!(a.to_string(), "df://127.0.0.1:50123");
        assert_eq!(a.scheduler_url(), "http://127.0.0.1:50123");
        let b = ClusterAddress::parse("df://scheduler.local/").unwrap();
        assert_eq!(b.to_string(), "df://scheduler.local:50050");
        for bad in [
            "127.0.0.1:50050",
            "http://x:1",
            "df://",
            "df://x:0",
            "df://x:port",
            "df://x:1/stages",
        ] {
            let err = ClusterAddress::parse(bad).unwrap_err().to_string();
            assert!(err.contains(bad), "{bad}: {err}");
        }
    }

    #[test]
    fn an_address_nobody_listens_on_is_named() {
        // Bind, learn the port, close: nothing listens there now.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let a = ClusterAddress::parse(&format!("df://127.0.0.1:{port}")).unwrap();
        let err = a
            .check_reachable(Duration::from_secs(2))
            .unwrap_err()
            .to_string();
        assert!(err.contains(&format!("df://127.0.0.1:{port}")), "{err}");
        assert!(err.contains("svna cluster scheduler"), "{err}");
    }
}
