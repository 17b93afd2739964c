//! Each engine's schema as a list of migrations, one `.sql` file each under
//! `migrations/ENGINE/`, applied in order and counted by the database (SQLite's
//! `PRAGMA user_version`, PostgreSQL's `schema_migrations`). A released
//! migration is never edited: the test below pins each file's hash. A new
//! one is a new file named in its engine's list (and its hash pinned).

use super::StoreError;

/// SQLite's migrations, oldest first.
pub(super) const SQLITE: &[&str] = &[
    include_str!("migrations/sqlite/0001_schema.sql"),
    include_str!("migrations/sqlite/0002_delivery_states.sql"),
    include_str!("migrations/sqlite/0003_outbox_pending_index.sql"),
    include_str!("migrations/sqlite/0004_audit_by_customer.sql"),
    include_str!("migrations/sqlite/0005_idempotency_per_source.sql"),
    include_str!("migrations/sqlite/0006_contacts_version.sql"),
    include_str!("migrations/sqlite/0007_request_version.sql"),
    include_str!("migrations/sqlite/0008_idempotency_key_per_update.sql"),
    include_str!("migrations/sqlite/0009_due_heads_of_queue.sql"),
    include_str!("migrations/sqlite/0010_outbox_traceparent.sql"),
];

/// PostgreSQL's migrations, oldest first.
pub(super) const POSTGRES: &[&str] = &[
    include_str!("migrations/postgres/0001_schema.sql"),
    include_str!("migrations/postgres/0002_save_function.sql"),
    include_str!("migrations/postgres/0003_idempotency_key_per_update.sql"),
    include_str!("migrations/postgres/0004_due_heads_of_queue.sql"),
    include_str!("migrations/postgres/0005_outbox_traceparent.sql"),
];

/// The migrations a database at schema version `applied` still needs, each
/// with the version it brings the database to.
pub(super) fn pending(
    migrations: &'static [&'static str],
    applied: usize,
) -> Result<impl Iterator<Item = (usize, &'static str)>, StoreError> {
    if applied > migrations.len() {
        return Err(StoreError::failed(format!(
            "the database has schema version {applied}, newer than this server's {}",
            migrations.len()
        )));
    }
    Ok((1..).zip(migrations.iter().copied()).skip(applied))
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use sha2::{Digest, Sha256};

    /// The SHA-256 of every released migration, in order. A database that
    /// applied a migration never applies it again, so an edit would leave
    /// databases of one version with different schemas: write a new
    /// migration instead, and pin it here once it is released.
    const RELEASED_SQLITE: &[&str] = &[
        "eddc0334881a656b420b2c59fa87bae7520f4ce6f175fba20f240590788108bb",
        "106a664995ff33908c5ac5150aab0282992be34b081db43e3e290b5ad1f9d96d",
        "e1ee1535380aeb103c3fa953d2d7c982632f138cb765a53fda17bbde22db09cc",
        "31154c1ff0fe132c3f7750374f306d1f1c1dc526bae4f7098d17d25a6c61759f",
        "833609f6d89894bad8072a1a17bc13c3b5b243ba8e03903ab7d87d031c97d417",
        "a429fd047cc179607fa225fe2db9228621b741236d334f5a0828493868d0a126",
        "d55036649a7cacf26f45c0e9903af7891136fdfa108dac125065835492aa234e",
        "40d4704930421b68ff53789e66dabf6c5364f6e968be7314204d4e930fb1c593",
        "6c294062a979ca9a7a3f7826e6656c24c11632ebca6d550a334adc17f62b8c9e",
        "dc0464c5f8da56cb7afc9871c00d766325325422590cea3878876edc621a1ad5",
    ];

    const RELEASED_POSTGRES: &[&str] = &[
        "9b74bcea7643dbad140cf7e7b3da4bc29b2084887d9c0031946560a9ef854987",
        "7995031dd4517b3b5851cd67eb65a694bdbfccac00a4a42d8551053077453198",
        "78d3820a626853f370d68c4b868480a4ccd8e2fc119ccd7d7f9c62ad35b6c9b0",
        "016e8f5c6099788ac32f6727c95676c19d8aeb56c6a90240a28c1161a293e122",
        "fc391baf21efc11264ef5a5c811e0ae0f21fc9f3941959cd65b5d89ca9a9da48",
    ];

    fn sha256(text: &str) -> String {
        Sha256::digest(text.as_bytes())
            .iter()
            .fold(String::new(), |mut hex, byte| {
                let _ = write!(hex, "{byte:02x}");
                hex
            })
    }

    /// Every pinned migration is still there, unchanged; at most the newest
    /// may be unpinned (written, not yet released).
    fn check(engine: &str, migrations: &[&str], released: &[&str]) {
        assert!(
            released.len() <= migrations.len(),
            "{engine}: a released migration was removed"
        );
        for (number, (migration, pinned)) in (1..).zip(migrations.iter().zip(released)) {
            assert_eq!(
                sha256(migration),
                *pinned,
                "{engine} migration {number} was edited after its release: write a new migration instead"
            );
        }
        assert!(
            migrations.len() - released.len() <= 1,
            "{engine}: pin the hash of every released migration (only the newest may be unreleased)"
        );
    }

    #[test]
    fn released_migrations_are_never_edited() {
        check("SQLite", super::SQLITE, RELEASED_SQLITE);
        check("PostgreSQL", super::POSTGRES, RELEASED_POSTGRES);
    }
}
