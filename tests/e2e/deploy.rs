//! The deployment files: docker-compose.yml is valid and wires the shared nginx configuration.
//! (Docker cannot run here; Debian's docker-compose validates the file without an engine.)

use std::process::Command;

#[test]
fn compose_file_is_valid_and_uses_the_tested_nginx_config() {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::new("docker-compose")
        .args(["-f", &format!("{root}/docker-compose.yml"), "config"])
        .env("LIVEROOM_JWT_SECRET", "x")
        .output()
        .expect("docker-compose (scripts/test.sh installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config = String::from_utf8_lossy(&out.stdout);
    for service in ["redis:", "liveroom1:", "liveroom2:", "liveroom3:", "nginx:"] {
        assert!(config.contains(service), "{service} missing:\n{config}");
    }
    assert!(config.contains("deploy/nginx/liveroom.conf"), "{config}");
    assert!(config.contains("appendonly"), "Redis runs with AOF");
    assert!(config.contains("/readyz"), "replicas have a health check");
}
