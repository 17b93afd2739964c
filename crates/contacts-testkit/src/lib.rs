//! What the reference server's tests share, and with them its examples and
//! `xtask`: [`postgres`], a throwaway PostgreSQL server (standard library
//! only, so `xtask` builds it without the server's dependencies).

pub mod postgres;
