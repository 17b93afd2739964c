//! TLS to PostgreSQL with rustls (the ring provider the server uses
//! elsewhere), as libpq's `sslmode` and `sslrootcert` URL parameters say:
//!
//! - `disable`: never;
//! - `prefer` (the default, as in libpq): TLS if the server offers it,
//!   without checking its certificate;
//! - `require`: TLS or no connection, without checking the certificate, or,
//!   as libpq does when `sslrootcert` is given, checking it as `verify-ca`;
//! - `verify-ca`: the certificate must chain to a root of `sslrootcert` (or
//!   the system's roots), whatever host name it names;
//! - `verify-full`: as `verify-ca`, and it must name the host connected to.
//!
//! tokio-postgres reads neither `verify-ca`/`verify-full` nor `sslrootcert`,
//! so [`split`] takes them out of the URL and tells tokio-postgres only
//! whether TLS is off, preferred or required.

use std::fmt;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{
    CryptoProvider, WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;
use url::Url;

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl Mode {
    fn parse(text: &str) -> Result<Self, String> {
        Ok(match text {
            "disable" => Mode::Disable,
            "prefer" => Mode::Prefer,
            "require" => Mode::Require,
            "verify-ca" => Mode::VerifyCa,
            "verify-full" => Mode::VerifyFull,
            _ => {
                return Err(format!(
                    "sslmode={text} is not one of disable, prefer, require, verify-ca, verify-full"
                ));
            }
        })
    }

    fn name(self) -> &'static str {
        match self {
            Mode::Disable => "disable",
            Mode::Prefer => "prefer",
            Mode::Require => "require",
            Mode::VerifyCa => "verify-ca",
            Mode::VerifyFull => "verify-full",
        }
    }
}

/// The TLS settings of a PostgreSQL URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tls {
    pub mode: Mode,
    /// `sslrootcert`: a PEM file of root certificates, or `system`.
    pub root_cert: Option<String>,
}

impl fmt::Display for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sslmode={}", self.mode.name())?;
        match (&self.root_cert, self.verifies()) {
            (Some(root_cert), true) => write!(f, ", sslrootcert={root_cert}"),
            (None, true) => f.write_str(", the system's root certificates"),
            _ => Ok(()),
        }
    }
}

/// Splits `sslmode` and `sslrootcert` off a `postgres://` URL: the URL left
/// for tokio-postgres, and the TLS settings. Errors name the parameter,
/// never the URL.
pub fn split(text: &str) -> Result<(String, Tls), String> {
    let mut tls = Tls {
        mode: Mode::Prefer,
        root_cert: None,
    };
    let Ok(mut url) = Url::parse(text) else {
        // tokio-postgres says what is wrong with it.
        return Ok((text.to_owned(), tls));
    };
    let mut rest = Vec::new();
    for (key, value) in url.query_pairs() {
        match &*key {
            "sslmode" => tls.mode = Mode::parse(&value)?,
            "sslrootcert" => tls.root_cert = Some(value.into_owned()),
            _ => rest.push((key.into_owned(), value.into_owned())),
        }
    }
    if rest.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(rest);
    }
    Ok((url.into(), tls))
}

impl Tls {
    /// Whether the server's certificate is checked.
    fn verifies(&self) -> bool {
        match self.mode {
            Mode::Disable | Mode::Prefer => false,
            Mode::Require => self.root_cert.is_some(),
            Mode::VerifyCa | Mode::VerifyFull => true,
        }
    }

    /// What tokio-postgres is told: off, preferred or required.
    pub fn ssl_mode(&self) -> SslMode {
        match self.mode {
            Mode::Disable => SslMode::Disable,
            Mode::Prefer => SslMode::Prefer,
            Mode::Require | Mode::VerifyCa | Mode::VerifyFull => SslMode::Require,
        }
    }

    /// The connector for the pool.
    pub fn connector(&self) -> Result<MakeRustlsConnect, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let chain = if self.verifies() {
            let roots = Arc::new(self.roots()?);
            Some(
                WebPkiServerVerifier::builder_with_provider(roots, Arc::clone(&provider))
                    .build()
                    .map_err(|e| format!("{self}: {e}"))?,
            )
        } else {
            None
        };
        let verifier: Arc<dyn ServerCertVerifier> = match chain {
            Some(full) if self.mode == Mode::VerifyFull => full,
            chain => Arc::new(Unnamed {
                chain,
                provider: Arc::clone(&provider),
            }),
        };
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("{self}: {e}"))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok(MakeRustlsConnect::new(config))
    }

    /// The roots the server's certificate must chain to.
    fn roots(&self) -> Result<RootCertStore, String> {
        let mut roots = RootCertStore::empty();
        match self.root_cert.as_deref() {
            Some(path) if path != "system" => {
                let certs = CertificateDer::pem_file_iter(path)
                    .and_then(Iterator::collect::<Result<Vec<_>, _>>)
                    .map_err(|e| format!("{self}: cannot read the root certificates: {e}"))?;
                let (added, _) = roots.add_parsable_certificates(certs);
                if added == 0 {
                    return Err(format!("{self}: the file holds no root certificate"));
                }
            }
            _ => {
                let found = rustls_native_certs::load_native_certs();
                roots.add_parsable_certificates(found.certs);
                if roots.is_empty() {
                    return Err(format!(
                        "{self}: this system has no root certificates; give sslrootcert=FILE"
                    ));
                }
            }
        }
        Ok(roots)
    }
}

/// Every mode but `verify-full`: the chain is checked where there are roots
/// (`verify-ca`, `require` with `sslrootcert`), never the host name; without
/// roots (`prefer`, `require`) the certificate is not checked at all, as
/// libpq does. The handshake's signatures are always checked.
#[derive(Debug)]
struct Unnamed {
    chain: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
}

impl Unnamed {
    fn algorithms(&self) -> &WebPkiSupportedAlgorithms {
        &self.provider.signature_verification_algorithms
    }
}

impl ServerCertVerifier for Unnamed {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        // webpki checks the chain first, then the name.
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, self.algorithms())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, self.algorithms())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms().supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_the_tls_parameters_out_of_the_url() {
        let (url, tls) = split(
            "postgres://u:p@db:5432/c?sslmode=verify-full&sslrootcert=%2Fca.pem&application_name=x",
        )
        .expect("valid");
        assert_eq!(url, "postgres://u:p@db:5432/c?application_name=x");
        assert_eq!(
            tls,
            Tls {
                mode: Mode::VerifyFull,
                root_cert: Some("/ca.pem".into())
            }
        );
        assert_eq!(tls.to_string(), "sslmode=verify-full, sslrootcert=/ca.pem");
        let (url, tls) = split("postgres://u@db/c").expect("valid");
        assert_eq!(
            (url.as_str(), tls.mode),
            ("postgres://u@db/c", Mode::Prefer)
        );
        let error = split("postgres://u:s3cret@db/c?sslmode=allow").expect_err("not a mode");
        assert!(
            error.contains("sslmode=allow") && !error.contains("s3cret"),
            "{error}"
        );
        let missing = Tls {
            mode: Mode::VerifyCa,
            root_cert: Some("/nonexistent/ca.pem".into()),
        };
        let error = missing.connector().map(|_| ()).expect_err("no file");
        assert!(
            error.starts_with("sslmode=verify-ca, sslrootcert=/nonexistent/ca.pem: cannot read"),
            "{error}"
        );
    }
}
