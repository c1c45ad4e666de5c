//! The office screen's HTTPS: the certificate and key the municipality provides
//! (`tls_cert`, `tls_key` in `central.toml`), loaded into a TLS server configuration,
//! and a self-signed pair for the demo.
//!
//! Unlike sync, which knows its peers by their device keys, the office screen is
//! reached by ordinary browsers, so it presents an ordinary certificate that a browser
//! can check against the name it typed.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why the office screen's certificate or key was refused; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum OfficeTlsError {
    #[error("cannot read {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not a PEM certificate file ({source:?})", .path.display())]
    CertificatePem {
        path: PathBuf,
        source: rustls::pki_types::pem::Error,
    },
    #[error("{}: holds no certificate (expected -----BEGIN CERTIFICATE-----)", .path.display())]
    NoCertificate { path: PathBuf },
    #[error("{}: holds no private key in PEM (PKCS#8, PKCS#1 or SEC1) ({source:?})", .path.display())]
    KeyPem {
        path: PathBuf,
        source: rustls::pki_types::pem::Error,
    },
    #[error("{} and {} do not go together (the key is not the certificate's, or of a kind TLS cannot use): {source}", .cert.display(), .key.display())]
    Mismatch {
        cert: PathBuf,
        key: PathBuf,
        source: rustls::Error,
    },
    #[error("cannot make the demo's certificate: {0}")]
    SelfSigned(#[source] rcgen::Error),
    #[error("cannot write {}: {source}", .path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn read(path: &Path) -> Result<Vec<u8>, OfficeTlsError> {
    std::fs::read(path).map_err(|source| OfficeTlsError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// The TLS configuration of the office screen from the PEM files: the certificate
/// first, then its chain, and the key that belongs to the first.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, OfficeTlsError> {
    let chain = CertificateDer::pem_slice_iter(&read(cert)?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| OfficeTlsError::CertificatePem {
            path: cert.to_path_buf(),
            source,
        })?;
    if chain.is_empty() {
        return Err(OfficeTlsError::NoCertificate {
            path: cert.to_path_buf(),
        });
    }
    let private =
        PrivateKeyDer::from_pem_slice(&read(key)?).map_err(|source| OfficeTlsError::KeyPem {
            path: key.to_path_buf(),
            source,
        })?;
    let mismatch = |source| OfficeTlsError::Mismatch {
        cert: cert.to_path_buf(),
        key: key.to_path_buf(),
        source,
    };
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(mismatch)?
    .with_no_client_auth()
    .with_single_cert(chain, private)
    .map_err(mismatch)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .filter_map(|c| std::str::from_utf8(c).ok())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// A self-signed certificate for 127.0.0.1 and localhost in `dir` (`kontor-cert.pem`,
/// `kontor-key.pem`, made once and kept): the demo's office screen is HTTPS as in an
/// election, and the browser asks once to trust it. Returns (certificate, key).
pub fn self_signed(dir: &Path) -> Result<(PathBuf, PathBuf), OfficeTlsError> {
    let (cert_path, key_path) = (dir.join("kontor-cert.pem"), dir.join("kontor-key.pem"));
    if cert_path.exists() && key_path.exists() {
        return Ok((cert_path, key_path));
    }
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
        .map_err(OfficeTlsError::SelfSigned)?;
    let mut params = rcgen::CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()])
        .map_err(OfficeTlsError::SelfSigned)?;
    params.distinguished_name.push(
        rcgen::DnType::CommonName,
        "valgbord demo (valgkontoret)".to_string(),
    );
    let cert = params
        .self_signed(&pair)
        .map_err(OfficeTlsError::SelfSigned)?;
    let write = |path: &Path, text: String| {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        // 0600: the key is a secret even in the demo.
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .map_err(|source| OfficeTlsError::Write {
                path: path.to_path_buf(),
                source,
            })
    };
    write(&key_path, pem("PRIVATE KEY", &pair.serialize_der()))?;
    write(&cert_path, pem("CERTIFICATE", cert.der()))?;
    Ok((cert_path, key_path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_pair_loads_and_a_wrong_key_is_named() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let (cert, key) = self_signed(a.path()).unwrap();
        assert!(server_config(&cert, &key).is_ok());
        let (_, other_key) = self_signed(b.path()).unwrap();
        let e = server_config(&cert, &other_key).unwrap_err().to_string();
        assert!(
            e.contains("kontor-cert.pem") && e.contains("do not go together"),
            "{e}"
        );
        let e = server_config(&key, &key).unwrap_err().to_string();
        assert!(e.contains("no certificate"), "{e}");
        let e = server_config(&cert, &cert).unwrap_err().to_string();
        assert!(e.contains("private key"), "{e}");
        let missing = a.path().join("none.pem");
        let e = server_config(&missing, &key).unwrap_err().to_string();
        assert!(e.contains("none.pem"), "{e}");
    }
}
