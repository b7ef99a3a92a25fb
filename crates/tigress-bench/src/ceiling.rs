//! The ceiling: the smallest HTTP server on the relay's own stack (tokio, hyper, axum), answering
//! every request with one fixed JSON body after reading it. Driven by the same load generator as
//! the relay, its request rate is what the machine allows; the relay's is reported as a fraction.

use axum::Router;
use axum::body::Bytes;
use axum::http::header;
use axum::response::IntoResponse;

/// The router: any method, any path, one answer (shaped like a create's, so the generator's
/// share cycle runs unchanged).
pub fn router(base: &str) -> Router {
    let body: &'static str = Box::leak(
        format!(
            r#"{{"urlLink":"{base}/v1/m/00000000-0000-4000-8000-000000000000","isPushNotificationSupported":false}}"#
        )
        .into_boxed_str(),
    );
    Router::new().fallback(move |request: Bytes| async move {
        drop(request);
        ([(header::CONTENT_TYPE, "application/json")], body).into_response()
    })
}
