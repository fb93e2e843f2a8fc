//! Serving an axum router over rustls with client certificates.
//!
//! `axum::serve` speaks plain TCP, so this module runs the accept loop itself: TLS handshake
//! (bounded by a timeout, so a silent client cannot hold a task), then hyper's HTTP/1.1 on
//! the stream. A failed handshake (no certificate, one from another CA, an expired one)
//! closes that connection only; the server keeps serving.
//!
//! The client certificate's grant is read once per connection into a
//! [`Peer`], which every request of the connection carries in its
//! extensions for the routes' role checks ([`crate::net::roles::require`]). Before the
//! router sees a request, this loop answers it itself:
//!
//! - 403 with the grant's error code (`no_role`, `unknown_role`, `bad_certificate`) when the
//!   certificate, though from the cluster CA, carries no valid grant — the connection is
//!   served so that the client reads why, instead of an opaque handshake alert;
//! - 403 `revoked` when the revocation list ([`ServerTls::revocations`]) names the
//!   certificate or its key — checked on every request, so a revocation also ends
//!   connections already open at their next request.
//!
//! No route is therefore open to a certificate without a valid grant; which roles a route
//! allows is the router's business.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::response::IntoResponse;
use axum::Router;
use futures_util::future::Either;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::net::api::ApiError;
use crate::net::revocation::Revocations;
use crate::net::roles::Peer;

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// A server's TLS: its rustls configuration and the revocation list it enforces.
#[derive(Clone, Debug)]
pub struct ServerTls {
    /// The configuration (server certificate, client certificates required).
    pub config: Arc<rustls::ServerConfig>,
    /// The revocation list checked on every request; `None` revokes nothing (tests).
    pub revocations: Option<Arc<Revocations>>,
}

impl ServerTls {
    /// `config` enforcing the list `revocations`.
    pub fn new(config: Arc<rustls::ServerConfig>, revocations: Arc<Revocations>) -> Self {
        Self {
            config,
            revocations: Some(revocations),
        }
    }
}

impl From<Arc<rustls::ServerConfig>> for ServerTls {
    /// A server with no revocation list.
    fn from(config: Arc<rustls::ServerConfig>) -> Self {
        Self {
            config,
            revocations: None,
        }
    }
}

/// Serves `app` on `listener` over TLS until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    tls: impl Into<ServerTls>,
    app: Router,
    shutdown: impl Future<Output = ()>,
) {
    let tls = tls.into();
    let acceptor = TlsAcceptor::from(tls.config);
    let revocations = tls.revocations;
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => return,
        };
        tokio::spawn(connection(
            acceptor.clone(),
            tcp,
            peer,
            app.clone(),
            revocations.clone(),
        ));
    }
}

async fn connection(
    acceptor: TlsAcceptor,
    tcp: tokio::net::TcpStream,
    addr: SocketAddr,
    app: Router,
    revocations: Option<Arc<Revocations>>,
) {
    let _ = tcp.set_nodelay(true);
    let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => {
            tracing::info!(peer = %addr, error = %e, "TLS handshake refused");
            return;
        }
        Err(_) => {
            tracing::info!(peer = %addr, "TLS handshake timed out");
            return;
        }
    };
    // The verifier required a certificate, so there is one; read its grant once.
    let grant: Result<Peer, ApiError> = match tls.get_ref().1.peer_certificates() {
        Some([cert, ..]) => Peer::from_der(cert).map_err(|e| {
            tracing::info!(peer = %addr, error = %e, "client certificate without a valid grant");
            e.to_api_error()
        }),
        _ => Err(ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            "unauthenticated",
            "the connection carries no client certificate",
        )),
    };
    let grant = Arc::new(grant);
    let service = hyper::service::service_fn(
        move |mut req: hyper::Request<hyper::body::Incoming>| {
            let verdict = match &*grant {
                Ok(peer) => match &revocations {
                    Some(r) => r.check(peer).map_err(|e| {
                        tracing::info!(peer = %addr, name = %peer.name, error = %e, "request refused");
                        e.to_api_error()
                    }),
                    None => Ok(()),
                }
                .map(|()| peer.clone()),
                Err(e) => Err(e.clone()),
            };
            match verdict {
                Ok(peer) => {
                    req.extensions_mut().insert(peer);
                    Either::Left(app.clone().oneshot(req.map(axum::body::Body::new)))
                }
                Err(e) => Either::Right(std::future::ready(Ok(e.into_response()))),
            }
        },
    );
    let mut builder = hyper::server::conn::http1::Builder::new();
    // A client that trickles its headers is cut off (slowloris).
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT);
    if let Err(e) = builder.serve_connection(TokioIo::new(tls), service).await {
        tracing::debug!(peer = %addr, error = %e, "connection ended with an error");
    }
}
