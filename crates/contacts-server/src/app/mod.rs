//! Start-up: configuration, storage, routes, the listening sockets, and the
//! background tasks (the relay, the retention).

mod state;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::get;
use contacts_model::{Contact, ContactDraft, ContactType, Field, validate_contact};
use tokio::net::TcpListener;
use tokio::sync::watch;

use state::AppState;

use crate::access::auth::Users;
use crate::access::bearer::Issuer;
use crate::access::caller::{Profiles, Schemes};
use crate::config::{Config, Limits, Retention};
use crate::contacts::in_flight::InFlight;
use crate::http::body::BODY_LIMIT;
use crate::http::cors::{self, Cors};
use crate::http::error::{AppError, Failure};
use crate::http::origin::{self, ConsoleOrigins};
use crate::http::tracking;
use crate::http::web::{self, Headers, Web};
use crate::http::{listen, openapi};
use crate::ops::cli::Options;
use crate::ops::health::{self, Probes};
use crate::ops::retention;
use crate::ops::telemetry::{self, Endpoint};
use crate::store::{OpenOptions, Store};
use crate::{contacts, relay};

/// The routes and their layers.
fn router(state: AppState, consoles: ConsoleOrigins) -> Router {
    let consoles = Arc::new(consoles);
    Router::new()
        .merge(contacts::router())
        .merge(health::router())
        .merge(openapi::router())
        .route("/frame-origins.json", get(web::frame_origins))
        .fallback(web::fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(from_fn_with_state(
            Arc::clone(&consoles),
            origin::refuse_cross_site,
        ))
        .layer(from_fn(tracking::track))
        // Outside the tracking middleware, so that its refusals are readable
        // by a console page too.
        .layer(from_fn_with_state(
            Arc::new(Cors::new(consoles)),
            cors::grant,
        ))
        // Outermost, so that every response gets the security headers, even
        // a refusal of the tracking middleware (found by the fuzz target `server`).
        .layer(from_fn_with_state(
            Arc::clone(&state.web),
            web::security_headers,
        ))
        .layer(telemetry::http_layer())
        .with_state(state)
}

async fn method_not_allowed() -> AppError {
    Failure::MethodNotAllowed.into()
}

/// A server bound to its address, ready to serve.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    built: Built,
    relay: bool,
    metrics: Option<Endpoint>,
}

/// The application and what its background tasks need.
#[derive(Debug)]
struct Built {
    router: Router,
    limits: Limits,
    state: AppState,
    retention: Retention,
}

/// The whole application without a socket: loads the configuration, opens
/// and migrates the database, seeds the configured customers (and the demo
/// contacts), and builds the routes. `options.addr` is not used.
///
/// [`Server::bind`] serves it on a socket; it can also be called in-process
/// as a `tower::Service`, as the fuzz target `server` does.
pub async fn app(options: &Options) -> Result<Router, String> {
    build(options).await.map(|built| built.router)
}

/// The routes, the limits the socket side enforces, and the background tasks' parts.
async fn build(options: &Options) -> Result<Built, String> {
    let config = match &options.config {
        Some(path) => Config::load(path)?,
        None => {
            tracing::warn!(
                "no --config: running with the DEVELOPMENT credentials (user ocsuser, password ocsuser); do not expose this server"
            );
            Config::development()?
        }
    };
    let store = open_store(options, &config).await?;
    let bearer = match config.auth.oidc {
        Some(oidc) => {
            Some(Issuer::start(oidc, &config.limits.login, options.trust_forwarded_for).await?)
        }
        None => None,
    };
    let schemes = Arc::new(Schemes {
        basic: config.auth.basic,
        bearer,
    });
    let state = AppState {
        probes: Arc::new(Probes::new(Arc::clone(&store))),
        store,
        users: Arc::new(Users::new(
            config.users,
            &config.limits.login,
            options.trust_forwarded_for,
        )?),
        schemes,
        profiles: Arc::new(Profiles(config.profiles)),
        in_flight: Arc::new(InFlight::default()),
        web: Arc::new(Web::new(
            options.static_dir.clone(),
            &Headers {
                frame_ancestors: &config.frame_ancestors,
                served_over_https: config.served_over_https,
                development_login: options.config.is_none(),
            },
        )?),
        delivery: Arc::new(config.delivery),
        queued: Arc::new(watch::channel(()).0),
    };
    let consoles = ConsoleOrigins(config.console_origins);
    Ok(Built {
        router: router(state.clone(), consoles),
        limits: config.limits,
        state,
        retention: config.retention,
    })
}

impl Server {
    /// Builds the [`app`] and binds the address.
    pub async fn bind(options: &Options) -> Result<Self, String> {
        let built = build(options).await?;
        let listener = TcpListener::bind(options.addr)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", options.addr))?;
        let metrics = match options.metrics_addr {
            Some(addr) => Some(Endpoint::bind(addr, Arc::clone(&built.state.probes)).await?),
            None => None,
        };
        Ok(Self {
            listener,
            built,
            relay: !options.no_relay,
            metrics,
        })
    }

    /// The address actually bound (the port chosen where 0 was asked).
    pub fn local_addr(&self) -> Result<SocketAddr, String> {
        self.listener
            .local_addr()
            .map_err(|e| format!("no local address: {e}"))
    }

    /// The address of `GET /metrics`, where `--metrics-addr` asked for it.
    pub fn metrics_addr(&self) -> Result<Option<SocketAddr>, String> {
        self.metrics.as_ref().map(Endpoint::local_addr).transpose()
    }

    /// Starts the relay (unless `--no-relay`), the retention and the metrics
    /// listener, serves until `shutdown` completes, then finishes the
    /// requests and the delivery attempts in progress.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), String> {
        let Built {
            router,
            limits,
            state,
            retention,
        } = self.built;
        let (stop, stopped) = watch::channel(false);
        // Saves at the other instances on the database wake this one's relays.
        let heard = watch::channel(()).0;
        let exchange = {
            let (store, saved) = (Arc::clone(&state.store), state.queued.subscribe());
            let (heard, stopped) = (heard.clone(), stopped.clone());
            tokio::spawn(async move { store.exchange_wake_ups(saved, heard, stopped).await })
        };
        let relays = if self.relay {
            relay::spawn(
                &state.store,
                &state.delivery,
                [&state.queued, &heard],
                &stopped,
            )?
        } else {
            tracing::info!("--no-relay: this process delivers nothing");
            tokio::task::JoinSet::new()
        };
        let pruning = tokio::spawn(retention::run(
            Arc::clone(&state.store),
            retention,
            stopped.clone(),
        ));
        if let Some(metrics) = self.metrics {
            tokio::spawn(metrics.serve(limits.clone(), stopped));
        }
        listen::serve(self.listener, router, &limits, shutdown).await;
        // Nothing is lost by stopping: what was not recorded delivered is
        // sent again after the restart.
        let _ = stop.send(true);
        relays.join_all().await;
        let _ = pruning.await;
        let _ = exchange.await;
        Ok(())
    }
}

/// Binds with `options` and serves until `shutdown`, after announcing the
/// address on standard output.
pub async fn serve(
    options: Options,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    let server = Server::bind(&options).await?;
    let addr = server.local_addr()?;
    {
        use std::io::Write;
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on http://{addr}")
            .and_then(|()| match server.metrics_addr() {
                Ok(Some(metrics)) => writeln!(stdout, "metrics on http://{metrics}/metrics"),
                _ => Ok(()),
            })
            .and_then(|()| stdout.flush())
            .map_err(|e| format!("cannot write to standard output: {e}"))?;
    }
    server.serve(shutdown).await
}

async fn open_store(options: &Options, config: &Config) -> Result<Arc<dyn Store>, String> {
    let open = OpenOptions {
        max_database_bytes: config.limits.max_database_bytes,
        pool: config.pool.clone(),
    };
    let store = options.db.open(&open).await.map_err(|e| e.to_string())?;
    let customers = &config.customers;
    store
        .put_customers(customers.clone())
        .await
        .map_err(|e| e.to_string())?;
    if config.demo_data
        && let Some((first, _)) = customers.first()
    {
        store
            .seed_contacts(first.clone(), demo_contacts())
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(store)
}

/// The contacts of the contract's sample request.
fn demo_contacts() -> Vec<Contact> {
    let sample = |contact_type, email: Option<&str>| {
        let mut draft = ContactDraft::new(contact_type);
        draft.set(Field::Name, "John Smith");
        draft.set(Field::OrganizationName, "APPLE BANK FOR SAVINGS");
        draft.set(Field::Email, email.map(str::to_owned));
        draft.set(Field::WorkPhone, "9147212006");
        draft.set(Field::WorkPhoneExtension, "2006");
        draft.set(Field::MobilePhone, "9147212006");
        draft.set(Field::Fax, "9147212006");
        draft
    };
    [
        sample(ContactType::Billing, Some("IDZAFEROVIC@APPLE-BANK.COM")),
        sample(ContactType::Service, None),
    ]
    .iter()
    .filter_map(|draft| validate_contact(draft).ok().map(|valid| valid.into_inner()))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_contacts_are_valid() {
        assert_eq!(demo_contacts().len(), 2);
    }
}
