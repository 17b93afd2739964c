//! TLS to PostgreSQL, against throwaway servers: one started with `ssl = on`
//! and a certificate signed by a certificate authority made in the test
//! (with the `openssl` program), naming the host `localhost` only; one
//! without TLS. Each case runs `contacts-server migrate`, which connects as
//! the server does at start, and reads its exit status and message.

use std::path::Path;
use std::process::Command;

use contacts_testkit::postgres::Cluster;

use crate::SERVER;

/// A password the URLs carry (the test servers trust every local
/// connection and ignore it): no message may show it.
const PASSWORD: &str = "pw-s3cret";

fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Writes `ca.crt` (the authority), `other-ca.crt` (one that signed
/// nothing), and `server.crt`/`server.key` for `localhost`, signed by `ca`.
fn certificates(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for ca in ["ca", "other-ca"] {
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-keyout",
                &format!("{ca}.key"),
                "-out",
                &format!("{ca}.crt"),
                "-subj",
                &format!("/CN=contacts test {ca}"),
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
        );
    }
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            "server.crt",
            "-extfile",
            "server.ext",
        ],
    );
}

/// A throwaway server with `ssl = on` and the certificates in `dir/tls`.
fn tls_cluster() -> Cluster {
    let cluster = Cluster::start(false).unwrap();
    cluster.stop().unwrap();
    let tls = cluster.dir().join("tls");
    certificates(&tls);
    // PostgreSQL reads its key only if it owns it and no one else may read it.
    let run = |program: &str, args: &[&str]| {
        let status = Command::new(program).args(args).status().unwrap();
        assert!(status.success(), "{program} {args:?}");
    };
    let key = tls.join("server.key");
    run("chmod", &["600", key.to_str().unwrap()]);
    if Command::new("id")
        .arg("-u")
        .output()
        .unwrap()
        .stdout
        .trim_ascii()
        == b"0"
    {
        run("chown", &["-R", "postgres:postgres", tls.to_str().unwrap()]);
    }
    let settings = format!(
        "ssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'\n",
        tls.join("server.crt").display(),
        key.display()
    );
    let conf = cluster.dir().join("data").join("postgresql.conf");
    let mut text = std::fs::read_to_string(&conf).unwrap();
    text.push_str(&settings);
    std::fs::write(&conf, text).unwrap();
    cluster.start_again().unwrap();
    cluster
}

/// `contacts-server migrate --db URL`: `Ok` or the message it exited with.
fn migrate(url: &str) -> Result<(), String> {
    let output = SERVER
        .command()
        .args(["migrate", "--db", url])
        .env_remove("CONTACTS_DB")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!stderr.contains(PASSWORD), "{stderr}");
    if output.status.success() {
        Ok(())
    } else {
        Err(stderr)
    }
}

fn url(host: &str, port: u16, query: &str) -> String {
    format!("postgres://postgres:{PASSWORD}@{host}:{port}/postgres?{query}")
}

#[test]
fn every_sslmode_connects_or_says_why_not() {
    let cluster = tls_cluster();
    let port = cluster.port;
    let tls = cluster.dir().join("tls");
    let ca = tls.join("ca.crt");
    let other = tls.join("other-ca.crt");
    let root = |path: &Path| format!("sslrootcert={}", path.display());

    for (what, url) in [
        ("disable", url("127.0.0.1", port, "sslmode=disable")),
        ("prefer", url("127.0.0.1", port, "sslmode=prefer")),
        ("require", url("127.0.0.1", port, "sslmode=require")),
        (
            "verify-full with the CA and the certificate's name",
            url(
                "localhost",
                port,
                &format!("sslmode=verify-full&{}", root(&ca)),
            ),
        ),
        (
            "verify-ca with the CA, another name",
            url(
                "127.0.0.1",
                port,
                &format!("sslmode=verify-ca&{}", root(&ca)),
            ),
        ),
    ] {
        assert_eq!(migrate(&url), Ok(()), "{what}");
    }

    for (what, url, expected) in [
        (
            "verify-full with a wrong host name",
            url(
                "127.0.0.1",
                port,
                &format!("sslmode=verify-full&{}", root(&ca)),
            ),
            "certificate not valid for name \"127.0.0.1\"",
        ),
        (
            "verify-full with the wrong CA",
            url(
                "localhost",
                port,
                &format!("sslmode=verify-full&{}", root(&other)),
            ),
            "invalid peer certificate: UnknownIssuer",
        ),
        (
            "verify-ca with the wrong CA",
            url(
                "localhost",
                port,
                &format!("sslmode=verify-ca&{}", root(&other)),
            ),
            "invalid peer certificate: UnknownIssuer",
        ),
        (
            "require with a root file checks the chain, as libpq does",
            url(
                "localhost",
                port,
                &format!("sslmode=require&{}", root(&other)),
            ),
            "invalid peer certificate: UnknownIssuer",
        ),
    ] {
        let error = migrate(&url).expect_err(what);
        let mode = url
            .split("sslmode=")
            .nth(1)
            .unwrap()
            .split('&')
            .next()
            .unwrap();
        assert!(
            error.contains(&format!("sslmode={mode}")),
            "{what}: {error}"
        );
        assert!(error.contains(expected), "{what}: {error}");
    }

    let error = migrate(&url(
        "localhost",
        port,
        "sslmode=verify-full&sslrootcert=/nonexistent.pem",
    ))
    .expect_err("no root file");
    assert!(
        error.contains("cannot read the root certificates"),
        "{error}"
    );

    // A server without TLS: `require` refuses it clearly, `disable` and `prefer` connect.
    let plain = Cluster::start(false).unwrap();
    let error = migrate(&url("127.0.0.1", plain.port, "sslmode=require")).expect_err("no TLS");
    assert!(
        error.contains("sslmode=require") && error.contains("server does not support TLS"),
        "{error}"
    );
    for mode in ["disable", "prefer"] {
        assert_eq!(
            migrate(&url("127.0.0.1", plain.port, &format!("sslmode={mode}"))),
            Ok(()),
            "{mode}"
        );
    }
}
