//! `contacts-server`: the reference Contacts API. See `--help`.

use std::io::Read;
use std::process::ExitCode;

use contacts_server::cli::{self, Command};

fn main() -> ExitCode {
    // A command line that cannot be run as written exits with status 2, as
    // usage errors conventionally do (clap's `exit` does; `--help` exits 0);
    // a failure while running, with 1.
    let command = match cli::parse(std::env::args_os()) {
        Ok(command) => command,
        Err(error) => error.exit(),
    };
    match run(command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("contacts-server: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> Result<(), String> {
    match command {
        Command::HashPassword => {
            let mut password = String::new();
            std::io::stdin()
                .read_to_string(&mut password)
                .map_err(|e| format!("cannot read the password: {e}"))?;
            let password = password.trim_end_matches(['\r', '\n']);
            if password.is_empty() {
                return Err("the password on standard input is empty".into());
            }
            println!("{}", contacts_server::hash_password(password)?);
            Ok(())
        }
        Command::Migrate(db) => {
            let version = runtime()?.block_on(contacts_server::migrate(&db))?;
            println!("{db}: schema version {version}");
            Ok(())
        }
        Command::Deliveries(db, command) => {
            let out = runtime()?.block_on(contacts_server::deliveries(&db, &command))?;
            print!("{out}");
            Ok(())
        }
        Command::CheckConfig(options) => {
            print!("{}", contacts_server::check_config(&options)?);
            Ok(())
        }
        Command::Serve(options) => {
            let runtime = runtime()?;
            // The spans' exporter sends its batches from a task of the runtime.
            let exporter = {
                let _within = runtime.enter();
                contacts_server::init_logs(options.log_format, options.otlp_endpoint.as_ref())?
            };
            let served = runtime.block_on(async {
                let shutdown = shutdown_signal();
                contacts_server::serve(options, shutdown).await
            });
            // The last spans, those of the requests and deliveries that the
            // stop let finish, are flushed while the runtime still runs.
            if let Some(exporter) = exporter {
                exporter.shutdown();
            }
            served
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))
}

/// Completes on Ctrl-C or SIGTERM.
///
/// The handlers are installed when this is called, not when the future is
/// first polled: a signal sent as soon as the server says it is listening
/// must stop it gracefully, not kill it.
#[cfg(unix)]
fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{SignalKind, signal};
    let interrupt = signal(SignalKind::interrupt()).ok();
    let terminate = signal(SignalKind::terminate()).ok();
    async move {
        let recv = |s: Option<tokio::signal::unix::Signal>| async move {
            match s {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            () = recv(interrupt) => {},
            () = recv(terminate) => {},
        }
        tracing::info!("shutting down");
    }
}

/// Completes on Ctrl-C.
#[cfg(not(unix))]
async fn shutdown_signal() {
    if tokio::signal::ctrl_c().await.is_ok() {
        tracing::info!("shutting down");
    } else {
        std::future::pending::<()>().await;
    }
}
