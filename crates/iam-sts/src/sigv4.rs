//! Verifying AWS Signature Version 4: the canonical request and the signature are computed
//! by the AWS SDK's own signer (`aws-sigv4`) with the stored secret, and compared with the
//! caller's signature in constant time.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PercentEncodingMode, SignableBody, SignableRequest, SigningSettings, UriPathNormalizationMode,
    sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use subtle::ConstantTimeEq;

/// The only algorithm accepted.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// How far a request's timestamp may be from the server's clock.
pub const MAX_SKEW: Duration = Duration::from_secs(5 * 60);

/// Why a request is not authenticated. The code is given to the caller; the secret is never.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthError {
    /// No `authorization` header.
    MissingAuthentication,
    /// The `authorization` header cannot be parsed.
    MalformedAuthorization,
    /// Not `AWS4-HMAC-SHA256`.
    UnsupportedAlgorithm,
    /// No valid `x-amz-date`.
    MissingDate,
    /// `host` or `x-amz-date` is not among the signed headers, or a signed header is absent.
    MissingSignedHeader,
    /// The credential scope's date is not the request's date.
    CredentialScopeMismatch,
    /// The timestamp is more than 5 minutes away from the server's clock.
    RequestExpired,
    /// No such access key.
    UnknownAccessKey,
    /// The access key is inactive.
    InactiveAccessKey,
    /// The session token is missing, invalid or expired.
    InvalidSessionToken,
    /// The signature does not match.
    SignatureMismatch,
}

impl AuthError {
    /// The reason code sent to the caller.
    pub fn code(self) -> &'static str {
        match self {
            AuthError::MissingAuthentication => "MissingAuthenticationToken",
            AuthError::MalformedAuthorization => "IncompleteSignature",
            AuthError::UnsupportedAlgorithm => "IncompleteSignature",
            AuthError::MissingDate => "MissingDate",
            AuthError::MissingSignedHeader => "IncompleteSignature",
            AuthError::CredentialScopeMismatch => "SignatureDoesNotMatch",
            AuthError::RequestExpired => "RequestExpired",
            AuthError::UnknownAccessKey => "InvalidClientTokenId",
            AuthError::InactiveAccessKey => "InvalidClientTokenId",
            AuthError::InvalidSessionToken => "ExpiredToken",
            AuthError::SignatureMismatch => "SignatureDoesNotMatch",
        }
    }

    /// A lowercase explanation without any secret.
    pub fn message(self) -> &'static str {
        match self {
            AuthError::MissingAuthentication => "the request is not signed",
            AuthError::MalformedAuthorization => "the authorization header is malformed",
            AuthError::UnsupportedAlgorithm => "only AWS4-HMAC-SHA256 signatures are accepted",
            AuthError::MissingDate => "the request has no valid x-amz-date",
            AuthError::MissingSignedHeader => {
                "host and x-amz-date must be signed, and every signed header present"
            }
            AuthError::CredentialScopeMismatch => {
                "the credential scope does not match the request date"
            }
            AuthError::RequestExpired => {
                "the request timestamp is more than 5 minutes from the server time"
            }
            AuthError::UnknownAccessKey => "the access key id does not exist",
            AuthError::InactiveAccessKey => "the access key is inactive",
            AuthError::InvalidSessionToken => "the session token is invalid or expired",
            AuthError::SignatureMismatch => "the signature does not match",
        }
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code(), self.message())
    }
}

impl std::error::Error for AuthError {}

/// A parsed `authorization` header, borrowing from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Authorization<'a> {
    pub access_key_id: &'a str,
    /// `YYYYMMDD`
    pub date: &'a str,
    pub region: &'a str,
    pub service: &'a str,
    /// The `;`-separated header names, as given.
    signed_headers: &'a str,
    /// 64 hex digits, in the case given.
    pub signature: &'a str,
}

impl<'a> Authorization<'a> {
    /// The signed header names, in the order given (compare them ignoring case).
    pub fn signed_headers(&self) -> impl Iterator<Item = &'a str> + use<'a> {
        self.signed_headers.split(';')
    }

    /// Whether `name` is among the signed headers (in any letter case).
    pub fn signs(&self, name: &str) -> bool {
        self.signed_headers().any(|h| h.eq_ignore_ascii_case(name))
    }
}

/// Parses `AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request,
/// SignedHeaders=a;b, Signature=hex`.
pub fn parse_authorization(header: &str) -> Result<Authorization<'_>, AuthError> {
    let (algorithm, rest) = header
        .trim()
        .split_once(' ')
        .ok_or(AuthError::MalformedAuthorization)?;
    if algorithm != ALGORITHM {
        return Err(AuthError::UnsupportedAlgorithm);
    }
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (k, v) = part
            .trim()
            .split_once('=')
            .ok_or(AuthError::MalformedAuthorization)?;
        match k {
            "Credential" => credential = Some(v),
            "SignedHeaders" => signed = Some(v),
            "Signature" => signature = Some(v),
            _ => return Err(AuthError::MalformedAuthorization),
        }
    }
    let (credential, signed_headers, signature) = match (credential, signed, signature) {
        (Some(c), Some(h), Some(s)) => (c, h, s),
        _ => return Err(AuthError::MalformedAuthorization),
    };
    let mut scope = credential.split('/');
    let (Some(akid), Some(date), Some(region), Some(service), Some("aws4_request"), None) = (
        scope.next(),
        scope.next(),
        scope.next(),
        scope.next(),
        scope.next(),
        scope.next(),
    ) else {
        return Err(AuthError::MalformedAuthorization);
    };
    let valid_sig = signature.len() == 64 && signature.bytes().all(|b| b.is_ascii_hexdigit());
    if akid.is_empty() || date.len() != 8 || !valid_sig {
        return Err(AuthError::MalformedAuthorization);
    }
    Ok(Authorization {
        access_key_id: akid,
        date,
        region,
        service,
        signed_headers,
        signature,
    })
}

/// An access key's credentials as the signer needs them, built once per key rather than
/// on every call. Never printed.
#[derive(Clone)]
pub struct VerifyingKey {
    credentials: Credentials,
    identity: Identity,
}

impl VerifyingKey {
    /// The key `access_key_id` with secret `secret`.
    pub fn new(access_key_id: &str, secret: &str) -> Self {
        let credentials = Credentials::new(access_key_id, secret, None, None, "iamd");
        VerifyingKey {
            identity: credentials.clone().into(),
            credentials,
        }
    }

    /// The secret access key.
    pub fn secret(&self) -> &str {
        self.credentials.secret_access_key()
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("access_key_id", &self.credentials.access_key_id())
            .finish_non_exhaustive()
    }
}

/// A signed HTTP request, as the server received it.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    pub method: &'a str,
    /// The path and query, e.g. `/iam.v1.Iam/CreateUser`.
    pub path_and_query: &'a str,
    /// Every header, names in any case (`host` must be present).
    pub headers: &'a [(&'a str, &'a str)],
    /// Hex SHA-256 of the payload the client signed.
    pub payload_sha256: &'a str,
}

impl SignedRequest<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }

    /// The request's `x-amz-date`.
    pub fn amz_date(&self) -> Option<&str> {
        self.header("x-amz-date")
    }
}

/// Parses `YYYYMMDDTHHMMSSZ` (the calendar arithmetic is the policy engine's date parser).
pub fn parse_amz_date(text: &str) -> Option<SystemTime> {
    let valid = text.len() == 16
        && text.get(8..9) == Some("T")
        && text.get(15..16) == Some("Z")
        && text.get(0..8)?.bytes().all(|b| b.is_ascii_digit())
        && text.get(9..15)?.bytes().all(|b| b.is_ascii_digit())
        && text.get(9..11)?.parse::<u8>().ok()? <= 23;
    if !valid {
        return None;
    }
    let nanos = iam_policy::parse_instant(text)?;
    let secs = u64::try_from(nanos.div_euclid(1_000_000_000)).ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(secs))
}

fn check_skew(time: SystemTime, now: SystemTime) -> Result<(), AuthError> {
    let skew = match time.duration_since(now) {
        Ok(ahead) => ahead,
        Err(behind) => behind.duration(),
    };
    if skew > MAX_SKEW {
        Err(AuthError::RequestExpired)
    } else {
        Ok(())
    }
}

/// Checks the timestamp and the signature of a request signed by `auth.access_key_id`,
/// whose credentials are `key`.
pub fn verify_request(
    req: &SignedRequest<'_>,
    auth: &Authorization<'_>,
    key: &VerifyingKey,
    now: SystemTime,
) -> Result<(), AuthError> {
    let amz_date = req.amz_date().ok_or(AuthError::MissingDate)?;
    let time = parse_amz_date(amz_date).ok_or(AuthError::MissingDate)?;
    if amz_date.get(0..8) != Some(auth.date) {
        return Err(AuthError::CredentialScopeMismatch);
    }
    check_skew(time, now)?;
    if !auth.signs("host") || !auth.signs("x-amz-date") {
        return Err(AuthError::MissingSignedHeader);
    }
    let mut headers = Vec::with_capacity(8);
    for name in auth.signed_headers() {
        let value = req.header(name).ok_or(AuthError::MissingSignedHeader)?;
        // The signer writes `x-amz-date` itself, formatted from the time parsed above,
        // over any value given: passing the header would change nothing.
        if !name.eq_ignore_ascii_case("x-amz-date") {
            headers.push((name, value));
        }
    }
    let expected = compute_request_signature(req, auth, key, time, headers)?;
    constant_time_eq(&expected, auth.signature)
}

fn compute_request_signature(
    req: &SignedRequest<'_>,
    auth: &Authorization<'_>,
    key: &VerifyingKey,
    time: SystemTime,
    headers: Vec<(&str, &str)>,
) -> Result<String, AuthError> {
    let mut settings = SigningSettings::default();
    settings.excluded_headers = Some(Vec::new());
    if is_plain_path(req.path_and_query) {
        // The signer's defaults (double percent-encoding, dot-segment normalization) leave
        // such a path as it is: skip the work, not the rule.
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    }
    let params = v4::SigningParams::builder()
        .identity(&key.identity)
        .region(auth.region)
        .name(auth.service)
        .time(time)
        .settings(settings)
        .build()
        .map_err(|_| AuthError::MalformedAuthorization)?;
    let signable = SignableRequest::new(
        req.method,
        req.path_and_query,
        headers.into_iter(),
        SignableBody::Precomputed(req.payload_sha256.to_owned()),
    )
    .map_err(|_| AuthError::MalformedAuthorization)?;
    let output = sign(signable, &params.into()).map_err(|_| AuthError::MalformedAuthorization)?;
    Ok(output.signature().to_owned())
}

/// Whether the signer's default path canonicalization (percent-encoding what is already
/// encoded, removing dot segments) is the identity on `path_and_query`: an absolute path of
/// unreserved characters (RFC 3986: letters, digits, `-._~`) and `/`, without a query,
/// whose segments are neither empty, `.` nor `..` — every gRPC method path
/// (`/package.Service/Method`).
pub fn is_plain_path(path_and_query: &str) -> bool {
    let Some(rest) = path_and_query.strip_prefix('/') else {
        return false;
    };
    let unreserved = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
    rest.split('/')
        .all(|segment| !matches!(segment, "" | "." | "..") && segment.bytes().all(unreserved))
}

/// Verifies a signature over a string to sign that an end client computed for a request it
/// sent elsewhere (`Authorize` on behalf of a client). Returns the credential scope's
/// region and service.
pub fn verify_string_to_sign(
    string_to_sign: &str,
    signature: &str,
    secret: &str,
    now: SystemTime,
) -> Result<(String, String), AuthError> {
    let mut lines = string_to_sign.split('\n');
    let (Some(algorithm), Some(amz_date), Some(scope), Some(hash), None) = (
        lines.next(),
        lines.next(),
        lines.next(),
        lines.next(),
        lines.next(),
    ) else {
        return Err(AuthError::MalformedAuthorization);
    };
    if algorithm != ALGORITHM {
        return Err(AuthError::UnsupportedAlgorithm);
    }
    let valid_hash = hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit());
    let parts: Vec<&str> = scope.split('/').collect();
    let [date, region, service, "aws4_request"] = parts[..] else {
        return Err(AuthError::MalformedAuthorization);
    };
    if !valid_hash {
        return Err(AuthError::MalformedAuthorization);
    }
    let time = parse_amz_date(amz_date).ok_or(AuthError::MissingDate)?;
    if amz_date.get(0..8) != Some(date) {
        return Err(AuthError::CredentialScopeMismatch);
    }
    check_skew(time, now)?;
    let key = v4::generate_signing_key(secret, time, region, service);
    let expected = v4::calculate_signature(key, string_to_sign.as_bytes());
    constant_time_eq(&expected, signature)?;
    Ok((region.to_owned(), service.to_owned()))
}

/// Compares a computed signature (lowercase hex) with a given one (hex in any case) in
/// constant time.
fn constant_time_eq(expected: &str, given: &str) -> Result<(), AuthError> {
    let mut lower = [0u8; 64];
    if expected.len() != lower.len() || given.len() != lower.len() {
        return Err(AuthError::SignatureMismatch);
    }
    for (l, g) in lower.iter_mut().zip(given.bytes()) {
        *l = g.to_ascii_lowercase();
    }
    if bool::from(expected.as_bytes().ct_eq(&lower)) {
        Ok(())
    } else {
        Err(AuthError::SignatureMismatch)
    }
}
