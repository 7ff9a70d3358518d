//! A `liveroom serve` process runs on the worker threads it is given (LIVEROOM_WORKER_THREADS).
//! The tests of several replicas behind nginx are in tests/e2e/replicas.rs.

use super::helpers::*;
use super::replica::{Replica, through};

/// Threads of a process whose name is `name` (`/proc/PID/task/*/comm`).
fn threads_named(pid: i32, name: &str) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|tasks| {
            tasks
                .filter_map(|t| t.ok())
                .filter(|t| {
                    std::fs::read_to_string(t.path().join("comm"))
                        .is_ok_and(|comm| comm.trim() == name)
                })
                .count()
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_serves_on_as_many_worker_threads_as_it_is_given() {
    let settings = test_settings();
    for workers in [1, 3] {
        let replica = Replica::start(
            &settings,
            &[("LIVEROOM_WORKER_THREADS", &workers.to_string())],
        );
        let app = through(&format!("http://127.0.0.1:{}", replica.port), &settings);
        let id = app.create_room("anchor", "one worker").await;
        app.start(&id, "anchor").await.assert_ok();
        app.join(&id, "viewer").await.assert_ok();
        let beat = app.heartbeat(&id, "viewer").await;
        assert_eq!(beat.assert_ok()["live_status"], 1);
        let pid = replica
            .process
            .as_ref()
            .and_then(|p| p.pid())
            .expect("the replica's pid");
        assert_eq!(
            threads_named(pid, "tokio-rt-worker"),
            workers,
            "LIVEROOM_WORKER_THREADS={workers}"
        );
    }
}
