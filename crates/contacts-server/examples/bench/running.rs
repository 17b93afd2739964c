//! A server in this process, serving in the background.

use std::net::SocketAddr;
use std::path::Path;

use contacts_server::cli::Options;
use contacts_server::{Database, Server};
use tokio::sync::oneshot;

/// A server serving in the background until dropped.
pub struct Running {
    pub base: String,
    /// The address of `GET /metrics`, where the options asked for it.
    pub metrics: Option<SocketAddr>,
    stop: Option<oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<Result<(), String>>>,
    runtime: tokio::runtime::Handle,
}

impl Running {
    pub fn start(
        runtime: &tokio::runtime::Runtime,
        db: &Path,
        config: &Path,
    ) -> Result<Self, String> {
        Self::start_on(runtime, Database::Sqlite(db.to_owned()), config)
    }

    pub fn start_on(
        runtime: &tokio::runtime::Runtime,
        db: Database,
        config: &Path,
    ) -> Result<Self, String> {
        let options = Options {
            db,
            config: Some(config.to_owned()),
            ..Options::default()
        };
        Self::start_with(runtime, options)
    }

    /// Starts a server with `options` on a free port of 127.0.0.1.
    pub fn start_with(runtime: &tokio::runtime::Runtime, options: Options) -> Result<Self, String> {
        let options = Options {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            ..options
        };
        let server = runtime.block_on(Server::bind(&options))?;
        let base = format!("http://{}", server.local_addr()?);
        let metrics = server.metrics_addr()?;
        let (stop, stopped) = oneshot::channel();
        let served = runtime.spawn(server.serve(async {
            let _ = stopped.await;
        }));
        Ok(Self {
            base,
            metrics,
            stop: Some(stop),
            served: Some(served),
            runtime: runtime.handle().clone(),
        })
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(served) = self.served.take() {
            let _ = self.runtime.block_on(served);
        }
    }
}
