use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use redis::aio::{
    ConnectionLike, ConnectionManager, ConnectionManagerConfig, MultiplexedConnection,
};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::sentinel::{SentinelClient, SentinelServerType};
use redis::{
    AsyncConnectionConfig, Cmd, ErrorKind, Pipeline, RedisError, RedisFuture, RedisResult,
    ServerErrorKind, Value,
};

/// Where Redis is: one node, the seed nodes of a cluster, or a primary that Sentinel watches.
#[derive(Debug, Clone)]
pub enum RedisTarget {
    Single(String),
    Cluster(Vec<String>),
    /// The sentinels' URLs and the name of the primary they watch.
    Sentinel {
        sentinels: Vec<String>,
        master: String,
    },
}

/// A shared, multiplexed connection: concurrent requests are pipelined on one socket, so a request
/// costs exactly its own round trip (no pool checkout, no PING). Both kinds reconnect by themselves.
#[derive(Clone)]
pub enum Connection {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
    /// The primary that Sentinel names, followed across failovers.
    Sentinel(SentinelConnection),
    /// A connection of its own (blocking reads), not shared.
    Dedicated(MultiplexedConnection),
}

impl Connection {
    /// Connects lazily where it can, so the service starts (and answers 503) while Redis is down.
    pub async fn open(target: &RedisTarget, timeout: Duration) -> redis::RedisResult<Self> {
        match target {
            RedisTarget::Single(url) => {
                let client = redis::Client::open(url.as_str())?;
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(timeout))
                    .set_response_timeout(Some(timeout))
                    .set_number_of_retries(2)
                    .set_max_delay(Duration::from_millis(500));
                Ok(Self::Single(ConnectionManager::new_lazy_with_config(
                    client, config,
                )?))
            }
            RedisTarget::Cluster(seeds) => {
                let client = ClusterClientBuilder::new(seeds.clone())
                    .connection_timeout(timeout)
                    .response_timeout(timeout)
                    .retries(3)
                    .build()?;
                Ok(Self::Cluster(client.get_async_connection().await?))
            }
            RedisTarget::Sentinel { sentinels, master } => Ok(Self::Sentinel(
                SentinelConnection::new(sentinels, master, timeout, timeout)?,
            )),
        }
    }
}

impl Connection {
    /// Whether this is a Redis Cluster (a script's keys must then share one slot).
    pub fn is_cluster(&self) -> bool {
        matches!(self, Self::Cluster(_))
    }

    /// A new connection used by one task only, for blocking commands (XREAD BLOCK) that would
    /// stall a shared one. `timeout` must allow for the longest block.
    pub async fn dedicated(target: &RedisTarget, timeout: Duration) -> redis::RedisResult<Self> {
        match target {
            RedisTarget::Single(url) => {
                let client = redis::Client::open(url.as_str())?;
                let config = redis::AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(Duration::from_secs(2)))
                    .set_response_timeout(Some(timeout));
                Ok(Self::Dedicated(
                    client
                        .get_multiplexed_async_connection_with_config(&config)
                        .await?,
                ))
            }
            RedisTarget::Cluster(seeds) => {
                let client = ClusterClientBuilder::new(seeds.clone())
                    .connection_timeout(Duration::from_secs(2))
                    .response_timeout(timeout)
                    .build()?;
                Ok(Self::Cluster(client.get_async_connection().await?))
            }
            RedisTarget::Sentinel { sentinels, master } => {
                // the primary as the sentinels name it now; a reader whose connection breaks
                // opens a new one (store/events.rs), which asks them again
                let sentinel =
                    SentinelConnection::new(sentinels, master, Duration::from_secs(2), timeout)?;
                let (_, conn) = sentinel.primary().await?;
                Ok(Self::Dedicated(conn))
            }
        }
    }
}

/// The primary Sentinel names, as one shared multiplexed connection. The sentinels are asked
/// when there is no connection, and again after a call fails in a way that means the primary
/// may have moved (the connection broke or timed out, or the node answers READONLY: it is a
/// replica now); that call answers its error (503/50300, safe to retry), the next ones go to
/// the new primary. No restart, no background task.
#[derive(Clone)]
pub struct SentinelConnection {
    shared: Arc<SentinelShared>,
}

struct SentinelShared {
    /// Asks the sentinels; one lookup at a time.
    client: tokio::sync::Mutex<SentinelClient>,
    /// The primary's connection and its generation (so that only the first failure of a
    /// connection drops it, not every call that was in flight on it).
    current: std::sync::RwLock<Option<(u64, MultiplexedConnection)>>,
    /// Lookups started: a caller that waited for another's lookup and still finds no primary
    /// answers at once instead of asking again.
    lookups: AtomicU64,
    config: AsyncConnectionConfig,
}

impl SentinelConnection {
    /// `sentinels` are `redis://host:port` URLs; nothing is contacted until the first call.
    pub fn new(
        sentinels: &[String],
        master: &str,
        connect_timeout: Duration,
        response_timeout: Duration,
    ) -> RedisResult<Self> {
        let client = SentinelClient::build(
            sentinels.to_vec(),
            master.to_owned(),
            None,
            SentinelServerType::Master,
        )?;
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(connect_timeout))
            .set_response_timeout(Some(response_timeout));
        Ok(Self {
            shared: Arc::new(SentinelShared {
                client: tokio::sync::Mutex::new(client),
                current: std::sync::RwLock::new(None),
                lookups: AtomicU64::new(0),
                config,
            }),
        })
    }

    fn current(&self) -> Option<(u64, MultiplexedConnection)> {
        self.shared
            .current
            .read()
            .ok()
            .and_then(|c| c.as_ref().cloned())
    }

    /// The primary's connection: the current one, or a new one to the primary the sentinels
    /// name now (the client checks that node's ROLE is master).
    async fn primary(&self) -> RedisResult<(u64, MultiplexedConnection)> {
        if let Some(current) = self.current() {
            return Ok(current);
        }
        let seen = self.shared.lookups.load(Ordering::Acquire);
        let mut client = self.shared.client.lock().await;
        if let Some(current) = self.current() {
            return Ok(current);
        }
        if self.shared.lookups.load(Ordering::Acquire) != seen {
            return Err(RedisError::from((
                ErrorKind::Io,
                "no primary: the sentinels' last answer did not lead to one",
            )));
        }
        let generation = self.shared.lookups.fetch_add(1, Ordering::AcqRel) + 1;
        // Whatever the lookup meets (no sentinel answers, the primary is down and not replaced
        // yet, the named node is not a primary any more) is a primary missing for now: an I/O
        // error, so that the request answers 503/50300 (safe to retry), never 500.
        let missing =
            |e: RedisError| RedisError::from((ErrorKind::Io, "no Redis primary", e.to_string()));
        let conn = client
            .async_get_client()
            .await
            .map_err(missing)?
            .get_multiplexed_async_connection_with_config(&self.shared.config)
            .await
            .map_err(missing)?;
        if let Ok(mut current) = self.shared.current.write() {
            *current = Some((generation, conn.clone()));
        }
        Ok((generation, conn))
    }

    /// After a failed call on connection `generation`: drop it when the primary may have moved.
    fn failed(&self, generation: u64, e: &RedisError) {
        if !primary_may_have_moved(e) {
            return;
        }
        if let Ok(mut current) = self.shared.current.write()
            && current.as_ref().is_some_and(|(g, _)| *g == generation)
        {
            tracing::warn!(error = %e, "Redis primary lost; asking the sentinels again");
            *current = None;
        }
    }
}

/// Whether a failed call means the node may no longer be the primary: it is gone or silent (a
/// timeout also covers a partition), or it answers READONLY (demoted to a replica; inside a
/// script the error comes wrapped, so the text is read too). A script's own error does not.
fn primary_may_have_moved(e: &RedisError) -> bool {
    e.is_io_error()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_timeout()
        || matches!(e.kind(), ErrorKind::Server(ServerErrorKind::ReadOnly))
        || e.to_string().contains("READONLY")
}

impl ConnectionLike for SentinelConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move {
            let (generation, mut conn) = self.primary().await?;
            let result = conn.req_packed_command(cmd).await;
            if let Err(e) = &result {
                self.failed(generation, e);
            }
            result
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            let (generation, mut conn) = self.primary().await?;
            let result = conn.req_packed_commands(pipeline, offset, count).await;
            if let Err(e) = &result {
                self.failed(generation, e);
            }
            result
        })
    }

    fn get_db(&self) -> i64 {
        0
    }
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(c) => c.req_packed_command(cmd),
            Self::Cluster(c) => c.req_packed_command(cmd),
            Self::Sentinel(c) => c.req_packed_command(cmd),
            Self::Dedicated(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Self::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
            Self::Sentinel(c) => c.req_packed_commands(pipeline, offset, count),
            Self::Dedicated(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(c) => c.get_db(),
            Self::Cluster(c) => c.get_db(),
            Self::Sentinel(c) => c.get_db(),
            Self::Dedicated(c) => c.get_db(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_or_demoted_primary_is_asked_for_again_a_script_error_is_not() {
        let io = RedisError::from(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        assert!(primary_may_have_moved(&io));
        let readonly = RedisError::from((
            ErrorKind::Server(ServerErrorKind::ReadOnly),
            "You can't write against a read only replica.",
        ));
        assert!(primary_may_have_moved(&readonly));
        let script = RedisError::from((
            ErrorKind::Server(ServerErrorKind::ResponseError),
            "ERR user_script:1: Script attempted to access a non local key",
        ));
        assert!(!primary_may_have_moved(&script));
    }
}
