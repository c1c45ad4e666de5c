//! Mutual TLS between devices, authenticated by their ed25519 device keys.
//!
//! Every device already has an ed25519 key whose public half the election configuration
//! lists (`[sync] devices`, or the central's `[[tables]]`). At start-up it wraps that
//! key in a self-signed X.509 certificate, and both ends of a sync connection present
//! theirs. A certificate is accepted when (1) its subject public key is an ed25519 key
//! that is listed and (2) the TLS 1.3 handshake signature (CertificateVerify) verifies
//! under that key, which proves the peer holds the private key. No certificate
//! authority, no host names and no validity dates are involved: the key *is* the
//! identity, exactly as in the event log, and a Pi without a real-time clock may boot
//! with a wrong date, which must not stop the tables from syncing.
//!
//! The pieces are separate functions so the central tally can use them with its own
//! list of trusted keys: [`server_config`] + [`serve`] for a listener, [`http_client`]
//! for the side that connects.

use crate::election::event::Trust;
use crate::election::keys::{DevicePublic, DeviceSecret};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

/// The device keys a TLS peer may have.
#[derive(Debug, Clone)]
pub enum TrustedKeys {
    /// Any ed25519 device key: test mode without a key list (demo, rehearsals). The
    /// traffic is still encrypted; who may sync is then not restricted.
    Any,
    /// Only these keys (the election configuration's list).
    Listed(HashSet<DevicePublic>),
}

impl TrustedKeys {
    pub fn allows(&self, device: &DevicePublic) -> bool {
        match self {
            TrustedKeys::Any => true,
            TrustedKeys::Listed(keys) => keys.contains(device),
        }
    }
}

impl From<&Trust> for TrustedKeys {
    fn from(t: &Trust) -> Self {
        match &t.enrolment {
            None => TrustedKeys::Any,
            Some(e) => TrustedKeys::Listed(e.iter().map(|(k, _)| *k).collect()),
        }
    }
}

/// The identity of the other end of a TLS connection, put into every request the
/// connection carries so handlers can check a request speaks for the device that is
/// actually connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlsPeer(pub DevicePublic);

/// The fixed DER prefix of an ed25519 SubjectPublicKeyInfo (RFC 8410): SEQUENCE {
/// SEQUENCE { OID 1.3.101.112 }, BIT STRING (0 unused bits) }, then the 32 key bytes.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];
/// The fixed DER prefix of an ed25519 private key in PKCS#8 v1 (RFC 8410), then the seed.
const ED25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// The cryptography used for TLS: *ring* (builds with a plain C compiler for the Pi),
/// named explicitly so nothing depends on a process-wide default.
/// Makes *ring* the process's TLS provider, for HTTP clients built without a TLS
/// configuration of their own (reqwest is built without a default provider, so the
/// binary does not also compile aws-lc). Safe to call more than once.
pub fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The device key as PKCS#8, the form TLS libraries load private keys in.
fn pkcs8(key: &DeviceSecret) -> PrivatePkcs8KeyDer<'static> {
    let mut der = ED25519_PKCS8_PREFIX.to_vec();
    der.extend_from_slice(&key.seed());
    PrivatePkcs8KeyDer::from(der)
}

/// Why sync's TLS could not be set up. Each keeps the library's error as its cause, so
/// a daemon that does not start says which step failed and why.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("the device key cannot make a TLS certificate: {0}")]
    DeviceKey(#[source] rcgen::Error),
    #[error("TLS certificate parameters: {0}")]
    CertificateParameters(#[source] rcgen::Error),
    #[error("cannot sign the device's TLS certificate: {0}")]
    Sign(#[source] rcgen::Error),
    #[error("TLS server configuration: {0}")]
    Server(#[source] rustls::Error),
    #[error("TLS client configuration: {0}")]
    Client(#[source] rustls::Error),
    #[error("cannot make the sync HTTP client: {0}")]
    HttpClient(#[source] reqwest::Error),
}

/// A self-signed certificate for the device key. Made afresh at every start: only the
/// key inside matters to the other side.
pub fn device_certificate(key: &DeviceSecret) -> Result<CertificateDer<'static>, TlsError> {
    let pair = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&pkcs8(key), &rcgen::PKCS_ED25519)
        .map_err(TlsError::DeviceKey)?;
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new())
        .map_err(TlsError::CertificateParameters)?;
    params.distinguished_name.push(
        rcgen::DnType::CommonName,
        format!("valgbord device {}", key.public().to_hex()),
    );
    let cert = params.self_signed(&pair).map_err(TlsError::Sign)?;
    Ok(cert.der().clone())
}

/// The ed25519 device key inside a certificate; anything else is refused.
pub fn device_of_certificate(cert: &CertificateDer<'_>) -> Result<DevicePublic, rustls::Error> {
    let parsed = rustls::server::ParsedCertificate::try_from(cert)?;
    let spki = parsed.subject_public_key_info();
    let bytes: &[u8] = spki.as_ref();
    match bytes.strip_prefix(&ED25519_SPKI_PREFIX[..]) {
        Some(key) if key.len() == 32 => {
            let mut out = [0u8; 32];
            out.copy_from_slice(key);
            Ok(DevicePublic(out))
        }
        _ => Err(refused(
            "the certificate does not hold an ed25519 device key",
        )),
    }
}

fn refused(why: impl Into<String>) -> rustls::Error {
    rustls::Error::InvalidCertificate(rustls::CertificateError::Other(rustls::OtherError(
        Arc::new(PeerRefused(why.into())),
    )))
}

/// Why a peer's certificate was refused, in words for the log.
#[derive(Debug)]
struct PeerRefused(String);

impl std::fmt::Display for PeerRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PeerRefused {}

/// Checks both directions of a connection: the peer's certificate holds a trusted
/// device key, and its handshake signature is made with that key.
#[derive(Debug)]
struct DeviceVerifier {
    trusted: TrustedKeys,
    algorithms: WebPkiSupportedAlgorithms,
}

impl DeviceVerifier {
    fn new(trusted: TrustedKeys) -> Self {
        DeviceVerifier {
            trusted,
            algorithms: rustls::crypto::ring::default_provider().signature_verification_algorithms,
        }
    }

    fn check(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
    ) -> Result<DevicePublic, rustls::Error> {
        if !intermediates.is_empty() {
            return Err(refused(
                "a device certificate stands alone, without a chain",
            ));
        }
        let device = device_of_certificate(end_entity)?;
        if !self.trusted.allows(&device) {
            tracing::warn!(device = %device.short(), "TLS peer refused: its key is not enrolled (a table's [sync] devices, the central's [[tables]] and [[centrals]])");
            return Err(refused(format!(
                "device {} is not listed in the election configuration",
                device.short()
            )));
        }
        Ok(device)
    }

    /// TLS 1.3 signatures are checked under the certificate's key, with ed25519 only: a
    /// device key can make no other kind.
    fn handshake_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        if dss.scheme != SignatureScheme::ED25519 {
            return Err(rustls::PeerMisbehaved::SignedHandshakeWithUnadvertisedSigScheme.into());
        }
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }
}

/// The handshake-signature methods, the same for both verifier traits: TLS 1.3 with
/// ed25519 only.
macro_rules! handshake_signature_methods {
    () => {
        fn verify_tls12_signature(
            &self,
            _message: &[u8],
            _cert: &CertificateDer<'_>,
            _dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            Err(rustls::Error::General("sync speaks TLS 1.3 only".into()))
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            self.handshake_signature(message, cert, dss)
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            vec![SignatureScheme::ED25519]
        }
    };
}

impl ServerCertVerifier for DeviceVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.check(end_entity, intermediates)?;
        Ok(ServerCertVerified::assertion())
    }

    handshake_signature_methods!();
}

impl ClientCertVerifier for DeviceVerifier {
    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.check(end_entity, intermediates)?;
        Ok(ClientCertVerified::assertion())
    }

    handshake_signature_methods!();
}

/// The server side: presents the device certificate and demands one from every client.
/// Sessions are never resumed, so every connection is checked against the key list.
pub fn server_config(
    key: &DeviceSecret,
    trusted: TrustedKeys,
) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let cert = device_certificate(key)?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(TlsError::Server)?
        .with_client_cert_verifier(Arc::new(DeviceVerifier::new(trusted)))
        .with_single_cert(vec![cert], PrivateKeyDer::Pkcs8(pkcs8(key)))
        .map_err(TlsError::Server)?;
    config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    config.send_tls13_tickets = 0;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The client side: presents the device certificate and accepts only a server whose
/// key is trusted.
pub fn client_config(
    key: &DeviceSecret,
    trusted: TrustedKeys,
) -> Result<rustls::ClientConfig, TlsError> {
    let cert = device_certificate(key)?;
    let mut config = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(TlsError::Client)?
        .dangerous()
        // Not a way around verification: DeviceVerifier checks the key and the handshake
        // signature; it only replaces the web's CA and host-name rules.
        .with_custom_certificate_verifier(Arc::new(DeviceVerifier::new(trusted)))
        .with_client_auth_cert(vec![cert], PrivateKeyDer::Pkcs8(pkcs8(key)))
        .map_err(TlsError::Client)?;
    config.resumption = rustls::client::Resumption::disabled();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// An HTTP client for sync: `https://` peers are reached with mutual TLS as this device;
/// with `https_only` a plain `http://` URL is refused (an election), otherwise it is
/// allowed (test mode, the demo).
pub fn http_client(
    key: &DeviceSecret,
    trusted: TrustedKeys,
    https_only: bool,
) -> Result<reqwest::Client, TlsError> {
    http_client_from(key, trusted, https_only, None)
}

/// As [`http_client`], with connections leaving from `source` when given: a table whose
/// sync listener has an address of its own speaks from that address, so its peers see
/// one address per device (the one their admission control learns).
pub fn http_client_from(
    key: &DeviceSecret,
    trusted: TrustedKeys,
    https_only: bool,
    source: Option<std::net::IpAddr>,
) -> Result<reqwest::Client, TlsError> {
    reqwest::Client::builder()
        .tls_backend_preconfigured(client_config(key, trusted)?)
        .https_only(https_only)
        .local_address(source)
        .connect_timeout(Duration::from_millis(500))
        .pool_idle_timeout(CLIENT_IDLE_REUSE)
        .timeout(Duration::from_secs(5))
        .build()
        .map_err(TlsError::HttpClient)
}

/// How long a sync client keeps an idle connection for the next request. Shorter than
/// the listeners' keep-alive (`http_limits::HEADER_READ_TIMEOUT`): a pooled connection
/// is never reused just as the peer closes it. So a table that pushes less often than
/// this opens a new connection, TLS handshake and all, for each push.
pub const CLIENT_IDLE_REUSE: Duration = Duration::from_secs(5);

/// A client that has not finished its TLS handshake by then is dropped. A handshake on
/// a LAN takes milliseconds (tens on a loaded Pi); a connection that sends nothing is
/// let go after this, so a host holding connections open gains little.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(2);

/// Serves `app` over mutual TLS on `listener` until the task is dropped, each connection
/// under [`crate::http_limits`]. Each request carries the connected device as a
/// [`TlsPeer`] extension. `gate` decides who may hold
/// a connection ([`super::admission`]).
pub async fn serve(
    listener: tokio::net::TcpListener,
    config: Arc<rustls::ServerConfig>,
    app: axum::Router,
    gate: Arc<super::admission::Gate>,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let mut quiet = tokio::time::interval(Duration::from_secs(5));
    loop {
        let (tcp, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::error!(error = %e, "sync listener cannot accept");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = quiet.tick() => {
                gate.tick();
                continue;
            }
        };
        let mut ticket = match gate.admit(remote.ip()) {
            Ok(t) => t,
            Err(why) => {
                // Closed at once; the gate counts it and reports a flood.
                tracing::debug!(%remote, ?why, "sync connection refused");
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let app = app.clone();
        let gate = gate.clone();
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                // Both count towards a flood (garbage, or connections held open). The
                // verifier has already logged a device whose key is not listed.
                Ok(Err(e)) => {
                    tracing::debug!(%remote, error = %error_chain(&e), "TLS handshake refused");
                    gate.handshake_failed(remote.ip());
                    return;
                }
                Err(_) => {
                    tracing::debug!(%remote, "TLS handshake timed out");
                    gate.handshake_failed(remote.ip());
                    return;
                }
            };
            let peer = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .and_then(|c| device_of_certificate(c).ok());
            // Client certificates are mandatory, so this holds after a handshake.
            let Some(peer) = peer else {
                tracing::warn!(%remote, "TLS peer without a device certificate");
                return;
            };
            ticket.listed_device();
            // The same per-connection limits as every other listener: a listed device
            // passed the handshake, but may still send half a request and stall.
            let mark = move |req: &mut axum::http::Request<axum::body::Body>| {
                req.extensions_mut().insert(TlsPeer(peer));
            };
            let body_limit = |_: &str| super::protocol::BODY_LIMIT;
            if let Err(e) =
                crate::http_limits::serve_connection(tls, app, remote, body_limit, mark).await
            {
                tracing::debug!(%remote, error = %e, "sync connection ended");
            }
            drop(ticket);
        });
    }
}

/// An error with its causes, for the log: reqwest's own text hides the TLS reason.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = describe(e);
    let mut source = e.source();
    while let Some(s) = source {
        let part = describe(s);
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

/// One error in words: a certificate this module refused says why in plain words
/// (rustls would print its debug form).
fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let tls = e.downcast_ref::<rustls::Error>().or_else(|| {
        e.downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    });
    if let Some(rustls::Error::InvalidCertificate(rustls::CertificateError::Other(other))) = tls {
        return format!("invalid peer certificate: {}", other.0);
    }
    e.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_certificate_carries_the_device_key() {
        let k = DeviceSecret::generate();
        let cert = device_certificate(&k).unwrap();
        assert_eq!(device_of_certificate(&cert).unwrap(), k.public());
    }

    #[test]
    fn tls_signs_with_the_device_key() {
        // The key TLS loads from our PKCS#8 signs handshakes that verify under the
        // device's public key: the TLS identity and the event-log identity are one.
        let k = DeviceSecret::generate();
        let signing = provider()
            .key_provider
            .load_private_key(PrivateKeyDer::Pkcs8(pkcs8(&k)))
            .unwrap();
        let signer = signing.choose_scheme(&[SignatureScheme::ED25519]).unwrap();
        let sig = signer.sign(b"handshake transcript").unwrap();
        let sig: [u8; 64] = sig.try_into().unwrap();
        assert!(k.public().verify(b"handshake transcript", &sig));
    }

    #[test]
    fn a_certificate_of_another_key_type_is_refused() {
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let cert = rcgen::CertificateParams::new(vec!["x".to_string()])
            .unwrap()
            .self_signed(&pair)
            .unwrap();
        let e = device_of_certificate(cert.der()).unwrap_err();
        assert!(e.to_string().contains("ed25519"), "{e}");
    }

    #[test]
    fn only_listed_keys_pass_the_verifier() {
        let listed = DeviceSecret::generate();
        let stranger = DeviceSecret::generate();
        let v = DeviceVerifier::new(TrustedKeys::Listed([listed.public()].into()));
        let ok = device_certificate(&listed).unwrap();
        assert_eq!(v.check(&ok, &[]).unwrap(), listed.public());
        let bad = device_certificate(&stranger).unwrap();
        let e = v.check(&bad, &[]).unwrap_err();
        assert!(e.to_string().contains("not listed"), "{e}");
        assert!(v.check(&ok, std::slice::from_ref(&ok)).is_err());
        let any = DeviceVerifier::new(TrustedKeys::Any);
        assert!(any.check(&bad, &[]).is_ok());
    }
}
