//! `/metrics` over HTTP (tiny_http, one thread): the Prometheus text format 0.0.4, or
//! OpenMetrics 1.0 when the scraper's `Accept` asks for `application/openmetrics-text`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

use prometheus_client::registry::Registry;
use tiny_http::{Header, Response, Server};

use crate::{Error, Result};

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A running metrics endpoint; stopped when dropped.
pub struct MetricsServer {
    server: Arc<Server>,
    handle: Option<JoinHandle<()>>,
    pub addr: SocketAddr,
}

impl std::fmt::Debug for MetricsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsServer")
            .field("addr", &self.addr)
            .finish()
    }
}

/// The registry in the format asked for: (body, content type).
pub fn encode(registry: &Registry, openmetrics: bool) -> Result<(String, &'static str)> {
    let mut body = String::new();
    let failed = |e: std::fmt::Error| Error::Internal(format!("encoding the metrics: {e}"));
    if openmetrics {
        prometheus_client::encoding::text::encode(&mut body, registry).map_err(failed)?;
        Ok((body, OPENMETRICS))
    } else {
        prometheus_client::encoding::prometheus_text::encode(&mut body, registry)
            .map_err(failed)?;
        Ok((
            body,
            prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
        ))
    }
}

impl MetricsServer {
    /// Listen on `addr` (a bind error is a usage error naming the address).
    pub fn start(addr: SocketAddr, registry: Registry) -> Result<MetricsServer> {
        let server = Server::http(addr)
            .map_err(|e| Error::Usage(format!("--metrics {addr}: cannot listen: {e}")))?;
        let bound = server.server_addr().to_ip().unwrap_or(addr);
        let server = Arc::new(server);
        let serving = Arc::clone(&server);
        let handle = std::thread::Builder::new()
            .name("metrics-http".into())
            .spawn(move || serve(&serving, &registry))
            .map_err(|e| Error::io("starting the metrics thread", e))?;
        Ok(MetricsServer {
            server,
            handle: Some(handle),
            addr: bound,
        })
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

fn serve(server: &Server, registry: &Registry) {
    for request in server.incoming_requests() {
        let path = request.url().split('?').next().unwrap_or_default();
        if path != "/metrics" {
            let _ = request.respond(
                Response::from_string("docling-memprof: metrics are at /metrics\n")
                    .with_status_code(404),
            );
            continue;
        }
        let openmetrics = request.headers().iter().any(|h| {
            h.field.equiv("Accept") && h.value.as_str().contains("application/openmetrics-text")
        });
        let response = match encode(registry, openmetrics) {
            Ok((body, content_type)) => {
                let mut response = Response::from_string(body);
                if let Ok(header) = Header::from_bytes("Content-Type", content_type) {
                    response.add_header(header);
                }
                response
            }
            Err(e) => Response::from_string(format!("{e}\n")).with_status_code(500),
        };
        let _ = request.respond(response);
    }
}
