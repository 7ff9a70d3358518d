//! The service's routes as its OpenAPI metadata declares them: the one source of the request
//! metrics' route labels and of the `Allow` of a 405.

use poem::http::Method;
use poem_openapi::OpenApi;

use super::Apis;
use crate::metrics::Routes;

/// The spec, served beside the API (not in it).
pub(super) const SPEC_PATH: &str = "/openapi.json";
/// The docs (Swagger UI and its assets), served beside the API.
pub(super) const DOCS_PATH: &str = "/docs";

/// Each path of the API and its methods (a path that several APIs serve, once).
pub(super) fn api_paths() -> Vec<(String, Vec<Method>)> {
    let mut paths: Vec<(String, Vec<Method>)> = Vec::new();
    for p in <Apis as OpenApi>::meta()
        .into_iter()
        .flat_map(|api| api.paths)
    {
        let methods = p.operations.into_iter().map(|op| op.method);
        match paths.iter_mut().find(|(path, _)| *path == p.path) {
            Some((_, known)) => known.extend(methods),
            None => paths.push((p.path, methods.collect())),
        }
    }
    paths
}

/// The route table of the request metrics: every path of the API, the spec and the docs. Made
/// once at start-up and handed to `Metrics`.
pub fn metrics_routes() -> Routes {
    let exact = api_paths()
        .into_iter()
        .map(|(path, _)| path)
        .chain([SPEC_PATH.to_owned()]);
    Routes::new(exact, [DOCS_PATH.to_owned()])
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[tokio::test]
    async fn the_metrics_label_every_path_of_the_api_and_no_other() {
        let spec = crate::app::offline_spec().await.expect("spec");
        let spec: serde_json::Value = serde_json::from_str(&spec).expect("JSON");
        let paths = spec["paths"].as_object().expect("paths");
        let api: BTreeSet<&str> = paths.keys().map(String::as_str).collect();
        let routes = metrics_routes();
        let labels: BTreeSet<&str> = routes
            .labels()
            .filter(|l| ![SPEC_PATH, DOCS_PATH].contains(l))
            .collect();
        assert_eq!(
            labels, api,
            "the metrics' route table and the API's paths differ"
        );
        // each operation's request is counted under its own path, ids filled in
        for (path, ops) in paths {
            let ops = ops.as_object().expect("operations");
            assert!(!ops.is_empty(), "{path}");
            let request: Vec<&str> = path
                .split('/')
                .map(|s| if s.starts_with('{') { "x_1" } else { s })
                .collect();
            assert_eq!(routes.route_of(&request.join("/")), path, "{ops:?}");
        }
        assert_eq!(routes.route_of(SPEC_PATH), SPEC_PATH);
        assert_eq!(routes.route_of("/docs/oauth-receiver.html"), DOCS_PATH);
        assert_eq!(routes.route_of("/client/live/nothing"), "other");
    }
}
