//! Client-side AWS Signature Version 4 for gRPC calls to iamd.
//!
//! What is signed: `POST`, the gRPC path (`/iam.v1.Iam/CreateUser`), the `host` (the
//! channel's authority), `x-amz-date`, `content-type`, `x-amz-security-token` when
//! temporary credentials are used, and as payload the SHA-256 of the protobuf-encoded
//! request message (the gRPC frame without its 5-byte prefix). The signature is computed by
//! the AWS SDK's signer.

use std::fmt;
use std::task::{Context, Poll};
use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use bytes::Bytes;
use http_body_util::BodyExt;
use sha2::{Digest, Sha256};
use tonic::body::Body;
use tower::{Layer, Service};

/// The region iamd signs for when none is configured.
pub const DEFAULT_REGION: &str = "us-east-1";
/// The service name in the credential scope.
pub const SERVICE: &str = "iam";

/// Credentials that sign requests.
#[derive(Clone)]
pub struct SigningCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
    pub region: String,
}

impl fmt::Debug for SigningCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .field("region", &self.region)
            .finish()
    }
}

/// The SHA-256 (hex) of the message in a gRPC unary request body.
pub fn payload_sha256(body: &[u8]) -> String {
    let message = body.get(5..).unwrap_or_default();
    hex::encode(Sha256::digest(message))
}

/// Computes the SigV4 headers (`authorization`, `x-amz-date`, and `x-amz-security-token`)
/// for a request with the given host, path, content type and payload hash.
pub fn sign_headers(
    creds: &SigningCredentials,
    host: &str,
    path: &str,
    content_type: &str,
    payload_sha256: &str,
    time: SystemTime,
) -> Result<Vec<(String, String)>, String> {
    let identity: Identity = Credentials::new(
        &creds.access_key_id,
        &creds.secret_access_key,
        creds.session_token.clone(),
        None,
        "iamctl",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&creds.region)
        .name(SERVICE)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| format!("cannot build signing parameters: {e}"))?;
    let headers = [("host", host), ("content-type", content_type)];
    let request = SignableRequest::new(
        "POST",
        path,
        headers.into_iter(),
        SignableBody::Precomputed(payload_sha256.to_owned()),
    )
    .map_err(|e| format!("cannot sign request: {e}"))?;
    let (instructions, _) = sign(request, &params.into())
        .map_err(|e| format!("cannot sign request: {e}"))?
        .into_parts();
    Ok(instructions
        .headers()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect())
}

/// A tower layer that signs every request of a tonic channel.
///
/// A tonic `Channel` adds the endpoint's authority to the request only inside itself, so
/// the layer must be told the `host` it signs: [`SigV4Layer::with_host`] (`127.0.0.1:7300`).
#[derive(Debug, Clone)]
pub struct SigV4Layer {
    creds: SigningCredentials,
    host: Option<String>,
}

impl SigV4Layer {
    pub fn new(creds: SigningCredentials) -> Self {
        SigV4Layer { creds, host: None }
    }

    /// The `host` (authority, `HOST:PORT`) of the endpoint the channel connects to.
    pub fn with_host(mut self, host: impl Into<String>) -> Self {
        self.host = Some(host.into());
        self
    }
}

impl<S> Layer<S> for SigV4Layer {
    type Service = SigV4Service<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SigV4Service {
            inner,
            creds: self.creds.clone(),
            host: self.host.clone(),
        }
    }
}

/// See [`SigV4Layer`].
#[derive(Debug, Clone)]
pub struct SigV4Service<S> {
    inner: S,
    creds: SigningCredentials,
    host: Option<String>,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl<S> Service<http::Request<Body>> for SigV4Service<S>
where
    S: Service<http::Request<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = std::pin::Pin<Box<dyn Future<Output = Result<S::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        // Take the service that was polled ready and leave a fresh clone in its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let creds = self.creds.clone();
        let configured_host = self.host.clone();
        Box::pin(async move {
            let (mut parts, body) = req.into_parts();
            let bytes: Bytes = body
                .collect()
                .await
                .map_err(Into::<BoxError>::into)?
                .to_bytes();
            let host = configured_host
                .or_else(|| parts.uri.authority().map(|a| a.as_str().to_owned()))
                .unwrap_or_default();
            let content_type = parts
                .headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("application/grpc")
                .to_owned();
            let signed = sign_headers(
                &creds,
                &host,
                parts.uri.path(),
                &content_type,
                &payload_sha256(&bytes),
                SystemTime::now(),
            )?;
            for (name, value) in signed {
                let name = http::HeaderName::try_from(name)?;
                let value = http::HeaderValue::try_from(value)?;
                parts.headers.insert(name, value);
            }
            let req = http::Request::from_parts(parts, Body::new(http_body_util::Full::new(bytes)));
            inner.call(req).await.map_err(Into::into)
        })
    }
}
