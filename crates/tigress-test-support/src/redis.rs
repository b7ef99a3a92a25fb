//! The Redis Cluster the Redis store's tests run against: started by `scripts/test`, or by hand
//! with `scripts/redis-cluster start`, and named by `TIGRESS_TEST_REDIS`.

/// The cluster's URL (`redis-cluster://host:port,…`) from `TIGRESS_TEST_REDIS`.
///
/// # Panics
/// When the variable is unset or not such a URL, saying how to start the cluster: a test that
/// needs it fails rather than skips.
pub fn redis_cluster_url() -> String {
    let Ok(url) = std::env::var("TIGRESS_TEST_REDIS") else {
        panic!(
            "TIGRESS_TEST_REDIS is not set: run `scripts/redis-cluster start` and export \
             TIGRESS_TEST_REDIS=\"$(scripts/redis-cluster url)\", or run scripts/test"
        );
    };
    if !url.starts_with("redis-cluster://") {
        panic!("TIGRESS_TEST_REDIS={url:?} is not redis-cluster://host:port[,host:port]");
    }
    url
}

/// The seed nodes (`host:port`) of [`redis_cluster_url`], as the Redis store takes them.
pub fn redis_cluster_nodes() -> Vec<String> {
    match redis_cluster_url().parse() {
        Ok(tigress_relay::StoreConfig::RedisCluster { nodes }) => nodes,
        other => panic!("TIGRESS_TEST_REDIS is not a Redis Cluster URL: {other:?}"),
    }
}
