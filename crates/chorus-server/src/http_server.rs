//! The HTTP/1.1 accept loop. `axum::serve` sets no timer on its connections, so a client
//! that sends its request headers a byte at a time (slowloris) could hold a connection,
//! a task and a file descriptor forever; here every connection gets a header-read
//! deadline (`ServiceSettings.HeaderReadTimeoutSeconds`). Upgrades (websockets) are
//! served as before, and at shutdown every connection finishes its current request
//! before the loop returns.

use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt as _;

/// Serves `app` on `listener` until `shutdown` resolves, then waits for open
/// connections to finish their requests.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    header_read_timeout: Duration,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let (closing, closing_rx) = watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(err) => {
                        // Out of file descriptors and the like: wait instead of spinning.
                        tracing::warn!(error = %err, "cannot accept a connection");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                // Handlers find the client's address as axum's `ConnectInfo`.
                let service = TowerToHyperService::new(app.clone().map_request(
                    move |mut request: axum::http::Request<hyper::body::Incoming>| {
                        request.extensions_mut().insert(ConnectInfo(peer));
                        request
                    },
                ));
                let mut closing = closing_rx.clone();
                connections.spawn(async move {
                    let connection = hyper::server::conn::http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(header_read_timeout)
                        .serve_connection(TokioIo::new(stream), service)
                        .with_upgrades();
                    tokio::pin!(connection);
                    tokio::select! {
                        _ = connection.as_mut() => {}
                        // The guard `wait_for` returns must not live across an await.
                        _ = async { closing.wait_for(|closing| *closing).await.is_ok() } => {
                            connection.as_mut().graceful_shutdown();
                            let _ = connection.await;
                        }
                    }
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    let _ = closing.send(true);
    while connections.join_next().await.is_some() {}
    Ok(())
}
