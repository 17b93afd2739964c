//! The API over real HTTP: each test starts the built `contacts-server` on
//! 127.0.0.1 with its own SQLite file and talks to it as a client would;
//! each file's `on_postgres` runs every test again on a PostgreSQL database.

mod contract;
mod service;
