//! Authentication as a tower layer: every call but health checks and reflection must be
//! signed with SigV4 by an active access key. The layer hashes the request message,
//! verifies the signature with the key's unsealed secret, and puts the [`Caller`] into the
//! request's extensions for the handlers.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::SystemTime;

use arc_swap::ArcSwap;
use bytes::Bytes;
use http_body_util::BodyExt;
use iam_store::model::KeyStatus;
use iam_store::view::{AuthzView, KeyView, PrincipalView};
use iam_sts::sigv4::{VerifyingKey, parse_authorization, verify_request};
use iam_sts::{AuthError, ClusterKey, SignedRequest};
use sha2::{Digest, Sha256};
use tonic::Code;
use tonic::body::Body;
use tower::{Layer, Service};

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Arc<PrincipalView>,
    pub access_key_id: String,
    /// SHA-256 of the request message (what the signature covers).
    pub request_sha256: [u8; 32],
    /// The rpc's path (`/iam.v1.Iam/CreateUser`): with the message, what an idempotency key
    /// is remembered with (two rpcs may take the same bytes).
    pub rpc: http::uri::PathAndQuery,
}

impl Caller {
    /// The fingerprint of this request: its rpc and its message.
    pub fn request_digest(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.rpc.path().as_bytes());
        h.update([0u8]);
        h.update(self.request_sha256);
        hex::encode(h.finalize())
    }
}

/// Paths that need no signature: they reveal nothing beyond the public proto.
fn is_public(path: &str) -> bool {
    path.starts_with("/grpc.health.v1.Health/") || path.starts_with("/grpc.reflection.")
}

/// What the layer needs to authenticate.
#[derive(Debug, Clone)]
pub struct AuthContext {
    pub view: Arc<ArcSwap<AuthzView>>,
    pub cluster_key: ClusterKey,
    pub max_body: usize,
    /// Where authenticated key ids are noted for `GetAccessKeyLastUsed`.
    pub key_uses: Option<Arc<crate::key_use::KeyUses>>,
    /// Whether the node has caught up with the cluster since it started
    /// ([`crate::node::Node::catch_up`]): until then its view may be older than one it
    /// served before, so no authenticated call is served, not even its authentication.
    pub caught_up: tokio::sync::watch::Receiver<bool>,
    /// How long a call waits for the node to catch up before `Unavailable`.
    pub caught_up_wait: std::time::Duration,
    /// Set once a call saw `caught_up`: from then on one atomic load per call, not the
    /// watch's lock.
    pub open: Arc<std::sync::atomic::AtomicBool>,
}

/// The authentication layer.
#[derive(Debug, Clone)]
pub struct AuthLayer {
    ctx: Arc<AuthContext>,
}

impl AuthLayer {
    pub fn new(ctx: AuthContext) -> Self {
        AuthLayer { ctx: Arc::new(ctx) }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            ctx: Arc::clone(&self.ctx),
        }
    }
}

/// See [`AuthLayer`].
#[derive(Debug, Clone)]
pub struct AuthService<S> {
    inner: S,
    ctx: Arc<AuthContext>,
}

type BoxFuture<T> = std::pin::Pin<Box<dyn Future<Output = T> + Send>>;

impl<S> Service<http::Request<Body>> for AuthService<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let ctx = Arc::clone(&self.ctx);
        Box::pin(async move {
            if is_public(req.uri().path()) {
                return inner.call(req).await;
            }
            if let Err(status) = caught_up(&ctx).await {
                return Ok(status.into_http());
            }
            let (mut parts, body) = req.into_parts();
            let bytes = match collect(body, ctx.max_body).await {
                Ok(bytes) => bytes,
                Err(status) => return Ok(status.into_http()),
            };
            match authenticate(&ctx, &parts, &bytes) {
                Ok(caller) => {
                    if let Err(status) = check_frame(&bytes) {
                        return Ok(status.into_http());
                    }
                    if let Some(uses) = &ctx.key_uses {
                        uses.record(&caller.access_key_id);
                    }
                    parts.extensions.insert(caller);
                    let req = http::Request::from_parts(
                        parts,
                        Body::new(http_body_util::Full::new(bytes)),
                    );
                    inner.call(req).await.map(malformed_is_invalid_argument)
                }
                Err(e) => {
                    tracing::info!(
                        reason = e.code(),
                        path = parts.uri.path(),
                        "unauthenticated call"
                    );
                    let status =
                        crate::errors::status(Code::Unauthenticated, e.code(), e.message(), None);
                    Ok(status.into_http())
                }
            }
        })
    }
}

/// Waits, bounded, until the node has caught up with the cluster since it started.
async fn caught_up(ctx: &AuthContext) -> Result<(), tonic::Status> {
    use std::sync::atomic::Ordering;
    if ctx.open.load(Ordering::Acquire) {
        return Ok(());
    }
    let mut caught_up = ctx.caught_up.clone();
    match tokio::time::timeout(ctx.caught_up_wait, caught_up.wait_for(|c| *c)).await {
        Ok(Ok(_)) => {
            ctx.open.store(true, Ordering::Release);
            Ok(())
        }
        _ => Err(crate::errors::unavailable(
            "this node started recently and has not yet caught up with the cluster \
             (no leader confirmed a read index to it); retry, or ask another node",
            None,
        )),
    }
}

/// tonic answers `Internal` when a request message does not decode; that is the caller's
/// mistake, so it becomes `InvalidArgument` (AWS `MalformedQueryString`-like).
fn malformed_is_invalid_argument(mut response: http::Response<Body>) -> http::Response<Body> {
    let headers = response.headers();
    let internal = headers.get("grpc-status").is_some_and(|v| v == "13");
    let decode = headers
        .get("grpc-message")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|m| m.contains("decode"));
    if internal && decode {
        let status = crate::errors::status(
            Code::InvalidArgument,
            "InvalidInput",
            "the request message is not a valid protobuf encoding of the rpc's request",
            None,
        );
        let mut fixed = status.into_http::<Body>();
        std::mem::swap(response.headers_mut(), fixed.headers_mut());
    }
    response
}

/// Every public rpc takes one request message: the body must be exactly one uncompressed
/// gRPC frame (flag 0, a 4-byte big-endian length, that many bytes). tonic would answer
/// `Internal` for a missing, truncated, padded or compressed message; it is the caller's
/// mistake.
fn check_frame(body: &[u8]) -> Result<(), tonic::Status> {
    let malformed = |why: &str| {
        crate::errors::status(
            Code::InvalidArgument,
            "InvalidInput",
            &format!("the request body is not one gRPC message: {why}"),
            None,
        )
    };
    let (Some(&flag), Some(prefix)) = (body.first(), body.get(1..5)) else {
        return Err(malformed("it holds no message"));
    };
    if flag != 0 {
        return Err(malformed(
            "its message is compressed or flagged (this server accepts no grpc-encoding)",
        ));
    }
    let mut len = [0u8; 4];
    len.copy_from_slice(prefix);
    let declared = u32::from_be_bytes(len) as usize;
    if body.len() - 5 != declared {
        return Err(malformed(&format!(
            "its length prefix says {declared} bytes and {} follow",
            body.len() - 5
        )));
    }
    Ok(())
}

/// The whole request body (the gRPC frame), refused once it grows past `max` bytes of
/// message. A unary call's message usually arrives in one data frame, which is kept as it
/// is; only a message split over several frames is copied together.
async fn collect(mut body: Body, max: usize) -> Result<Bytes, tonic::Status> {
    let limit = max.saturating_add(5);
    let too_large = || {
        crate::errors::status(
            Code::ResourceExhausted,
            "RequestTooLarge",
            &format!("the request is larger than {max} bytes"),
            None,
        )
    };
    let mut first: Option<Bytes> = None;
    let mut joined: Option<bytes::BytesMut> = None;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| {
            crate::errors::status(
                Code::Cancelled,
                "RequestCancelled",
                "the request body could not be read to its end",
                None,
            )
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        match (&mut joined, first.take()) {
            (Some(all), _) => all.extend_from_slice(&data),
            (None, None) => first = Some(data),
            (None, Some(head)) => {
                let mut all = bytes::BytesMut::with_capacity(head.len() + data.len());
                all.extend_from_slice(&head);
                all.extend_from_slice(&data);
                joined = Some(all);
            }
        }
        let len = joined.as_ref().map_or_else(
            || first.as_ref().map_or(0, Bytes::len),
            bytes::BytesMut::len,
        );
        if len > limit {
            return Err(too_large());
        }
    }
    Ok(joined.map_or_else(|| first.unwrap_or_default(), bytes::BytesMut::freeze))
}

fn authenticate(
    ctx: &AuthContext,
    parts: &http::request::Parts,
    body: &[u8],
) -> Result<Caller, AuthError> {
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let auth =
        parse_authorization(header("authorization").ok_or(AuthError::MissingAuthentication)?)?;
    let view = ctx.view.load();
    let key = view
        .key(auth.access_key_id)
        .ok_or(AuthError::UnknownAccessKey)?;
    if key.status != KeyStatus::Active {
        return Err(AuthError::InactiveAccessKey);
    }
    let principal = view
        .principal(&key.principal)
        .ok_or(AuthError::UnknownAccessKey)?;
    let verifying = open_secret(&ctx.cluster_key, key)?;
    let host = parts
        .uri
        .authority()
        .map(|a| a.as_str())
        .or_else(|| header("host"))
        .unwrap_or_default();
    // Only the headers the signature covers (and the date, checked even when unsigned) are
    // read, each by name: the signer canonicalizes no other. The first value of a repeated
    // header is the one verified.
    let mut headers: Vec<(&str, &str)> = Vec::with_capacity(6);
    let date_signed = auth.signs("x-amz-date");
    let wanted = auth
        .signed_headers()
        .chain((!date_signed).then_some("x-amz-date"));
    for name in wanted {
        if !name.eq_ignore_ascii_case("host")
            && let Some(value) = header(name)
        {
            headers.push((name, value));
        }
    }
    headers.push(("host", host));
    let request_sha256: [u8; 32] = Sha256::digest(body.get(5..).unwrap_or_default()).into();
    let mut payload = [0u8; 64];
    hex::encode_to_slice(request_sha256, &mut payload)
        .map_err(|_| AuthError::MalformedAuthorization)?;
    let payload = std::str::from_utf8(&payload).map_err(|_| AuthError::MalformedAuthorization)?;
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let signed = SignedRequest {
        method: parts.method.as_str(),
        path_and_query: path,
        headers: &headers,
        payload_sha256: payload,
    };
    verify_request(&signed, &auth, verifying, SystemTime::now())?;
    Ok(Caller {
        principal: Arc::clone(principal),
        access_key_id: auth.access_key_id.to_owned(),
        request_sha256,
        rpc: parts
            .uri
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| http::uri::PathAndQuery::from_static("/")),
    })
}

/// The credentials of an access key, opened under the cluster key on the key's first use
/// and kept in its view entry after that.
pub fn open_secret<'k>(
    cluster_key: &ClusterKey,
    key: &'k KeyView,
) -> Result<&'k VerifyingKey, AuthError> {
    key.opened.get_or_open(|| {
        cluster_key
            .unseal(&key.sealed_secret)
            .map(|secret| VerifyingKey::new(&key.access_key_id, secret.expose()))
            .map_err(|_| {
                tracing::error!(
                    access_key_id = %key.access_key_id,
                    "a stored secret does not open under this node's cluster key: every node needs the same key"
                );
                AuthError::UnknownAccessKey
            })
    })
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use http_body::Frame;
    use http_body_util::StreamBody;
    use tonic::Code;
    use tonic::body::Body;

    use super::collect;

    fn body(chunks: &[&'static [u8]]) -> Body {
        let frames: Vec<Result<Frame<Bytes>, std::convert::Infallible>> = chunks
            .iter()
            .map(|c| Ok(Frame::data(Bytes::from_static(c))))
            .collect();
        Body::new(StreamBody::new(futures_util::stream::iter(frames)))
    }

    #[test]
    fn signed_header_names_find_their_headers_in_any_case() {
        // `authenticate` relies on this: it looks each signed header up by the name the
        // client signed, in the client's letter case.
        let mut headers = http::HeaderMap::new();
        headers.insert(
            "x-amz-date",
            http::HeaderValue::from_static("20261130T120000Z"),
        );
        for name in ["x-amz-date", "X-Amz-Date", "X-AMZ-DATE"] {
            assert_eq!(
                headers.get(name).and_then(|v| v.to_str().ok()),
                Some("20261130T120000Z"),
                "{name}"
            );
        }
    }

    #[test]
    fn only_one_uncompressed_message_is_a_request() {
        use super::check_frame;
        assert!(check_frame(b"\0\0\0\0\x03abc").is_ok());
        assert!(check_frame(b"\0\0\0\0\0").is_ok(), "an empty message");
        for bad in [
            &b""[..],
            b"\0\0\0",
            b"\0\0\0\0\x0aabc",
            b"\0\0\0\0\x02abc",
            b"\x01\0\0\0\x03abc",
            b"\x02\0\0\0\x03abc",
            b"\0\0\0\0\x01a\0\0\0\0\x01b",
        ] {
            let err = check_frame(bad).unwrap_err();
            assert_eq!(err.code(), Code::InvalidArgument, "{bad:?}");
        }
    }

    #[tokio::test]
    async fn a_body_is_collected_whole_from_one_frame_or_many() {
        assert_eq!(collect(body(&[]), 10).await.unwrap(), Bytes::new());
        assert_eq!(
            collect(body(&[b"\0\0\0\0\x03abc"]), 10).await.unwrap(),
            Bytes::from_static(b"\0\0\0\0\x03abc")
        );
        assert_eq!(
            collect(body(&[b"\0\0\0", b"\0\x03a", b"bc"]), 10)
                .await
                .unwrap(),
            Bytes::from_static(b"\0\0\0\0\x03abc")
        );
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_refused_whether_in_one_frame_or_many() {
        // The limit counts the message; the 5-byte gRPC prefix is on top of it.
        assert!(collect(body(&[b"\0\0\0\0\x03abc"]), 3).await.is_ok());
        for chunks in [&[&b"\0\0\0\0\x04abcd"[..]][..], &[b"\0\0\0\0\x04ab", b"cd"]] {
            let err = collect(body(chunks), 3).await.unwrap_err();
            assert_eq!(err.code(), Code::ResourceExhausted);
        }
    }
}
