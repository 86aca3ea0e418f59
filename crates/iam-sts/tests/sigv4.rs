//! Requests signed by the AWS SDK's signer verify; tampered, stale or mis-keyed ones do not.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use iam_sts::sigv4::{VerifyingKey, parse_authorization, verify_request, verify_string_to_sign};
use iam_sts::{AuthError, Secret, SignedRequest};

const AKID: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const PAYLOAD_HASH: &str = "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

fn signed_headers(time: SystemTime, secret: &str) -> Vec<(String, String)> {
    signed_headers_for(time, secret, "/iam.v1.Iam/CreateUser")
}

/// Headers the SDK's signer, with its default settings, adds for a request to `path`.
fn signed_headers_for(time: SystemTime, secret: &str, path: &str) -> Vec<(String, String)> {
    let identity: Identity = Credentials::new(AKID, secret, None, None, "test").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("eu-west-1")
        .name("iam")
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .unwrap();
    let headers = [
        ("host", "127.0.0.1:7300"),
        ("content-type", "application/grpc"),
    ];
    let req = SignableRequest::new(
        "POST",
        format!("https://127.0.0.1:7300{path}"),
        headers.into_iter(),
        SignableBody::Precomputed(PAYLOAD_HASH.into()),
    )
    .unwrap();
    let (instructions, _) = sign(req, &params.into()).unwrap().into_parts();
    let mut out: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    for (name, value) in instructions.headers() {
        out.push((name.to_owned(), value.to_owned()));
    }
    out
}

fn verify(headers: &[(String, String)], payload: &str, now: SystemTime) -> Result<(), AuthError> {
    verify_path(headers, payload, now, "/iam.v1.Iam/CreateUser")
}

fn verify_path(
    headers: &[(String, String)],
    payload: &str,
    now: SystemTime,
    path: &str,
) -> Result<(), AuthError> {
    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let auth_header = pairs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        .map(|(_, v)| *v)
        .ok_or(AuthError::MissingAuthentication)?;
    let auth = parse_authorization(auth_header)?;
    let req = SignedRequest {
        method: "POST",
        path_and_query: path,
        headers: &pairs,
        payload_sha256: payload,
    };
    verify_request(&req, &auth, &VerifyingKey::new(AKID, SECRET), now)
}

#[test]
fn a_request_signed_by_the_sdk_verifies() {
    let now = SystemTime::now();
    let headers = signed_headers(now, SECRET);
    assert_eq!(verify(&headers, PAYLOAD_HASH, now), Ok(()));
}

#[test]
fn a_changed_payload_or_header_is_refused() {
    let now = SystemTime::now();
    let mut headers = signed_headers(now, SECRET);
    let other = "0".repeat(64);
    assert_eq!(
        verify(&headers, &other, now),
        Err(AuthError::SignatureMismatch)
    );
    for (k, v) in headers.iter_mut() {
        if k == "content-type" {
            *v = "text/plain".into();
        }
    }
    assert_eq!(
        verify(&headers, PAYLOAD_HASH, now),
        Err(AuthError::SignatureMismatch)
    );
}

#[test]
fn a_wrong_secret_or_a_stale_timestamp_is_refused() {
    let now = SystemTime::now();
    let wrong = signed_headers(now, "not-the-secret-not-the-secret-not-the-sec");
    assert_eq!(
        verify(&wrong, PAYLOAD_HASH, now),
        Err(AuthError::SignatureMismatch)
    );
    let old = signed_headers(now - Duration::from_secs(301), SECRET);
    assert_eq!(
        verify(&old, PAYLOAD_HASH, now),
        Err(AuthError::RequestExpired)
    );
    let fresh = signed_headers(now - Duration::from_secs(299), SECRET);
    assert_eq!(verify(&fresh, PAYLOAD_HASH, now), Ok(()));
    assert_eq!(
        verify(&[], PAYLOAD_HASH, now),
        Err(AuthError::MissingAuthentication)
    );
}

#[test]
fn a_client_string_to_sign_verifies_with_its_secret() {
    let now = SystemTime::now();
    let amz = iam_sts::sigv4::parse_amz_date("20261129T120000Z").unwrap();
    let date = "20261129T120000Z";
    let sts = format!(
        "AWS4-HMAC-SHA256\n{date}\n20261129/eu-west-1/trading/aws4_request\n{PAYLOAD_HASH}"
    );
    let key = v4::generate_signing_key(SECRET, amz, "eu-west-1", "trading");
    let signature = v4::calculate_signature(key, sts.as_bytes());
    let secret = Secret::new(SECRET.into());
    assert_eq!(
        verify_string_to_sign(
            &sts,
            &signature,
            secret.expose(),
            amz + Duration::from_secs(10)
        ),
        Ok(("eu-west-1".into(), "trading".into()))
    );
    assert_eq!(
        verify_string_to_sign(
            &sts,
            &signature,
            secret.expose(),
            now.max(amz + Duration::from_secs(3600))
        ),
        Err(AuthError::RequestExpired)
    );
    let bad = "0".repeat(64);
    assert_eq!(
        verify_string_to_sign(&sts, &bad, secret.expose(), amz),
        Err(AuthError::SignatureMismatch)
    );
}

#[test]
fn malformed_authorization_headers_are_refused() {
    for bad in [
        "",
        "AWS4-HMAC-SHA1 Credential=a/b/c/d/aws4_request, SignedHeaders=host, Signature=00",
        "AWS4-HMAC-SHA256 Credential=AKID/20261129/eu-west-1/iam, SignedHeaders=host, Signature=00",
        "AWS4-HMAC-SHA256 SignedHeaders=host",
        "AWS4-HMAC-SHA256 Credential=AKID/20261129/eu-west-1/iam/aws4_request/x, SignedHeaders=host, Signature=0000000000000000000000000000000000000000000000000000000000000000",
    ] {
        assert!(parse_authorization(bad).is_err(), "{bad}");
    }
}

#[test]
fn the_signature_and_signed_header_names_may_be_in_upper_case() {
    let now = SystemTime::now();
    let mut headers = signed_headers(now, SECRET);
    for (k, v) in headers.iter_mut() {
        if k == "authorization" {
            let (head, signature) = v.rsplit_once("Signature=").unwrap();
            *v = format!(
                "{}Signature={}",
                head.replace("host;x-amz-date", "Host;X-Amz-Date"),
                signature.to_ascii_uppercase()
            );
            assert!(v.contains("Host;X-Amz-Date"), "{v}");
        }
    }
    assert_eq!(verify(&headers, PAYLOAD_HASH, now), Ok(()));
}

#[test]
fn a_verifying_key_never_prints_its_secret() {
    let key = VerifyingKey::new(AKID, SECRET);
    assert_eq!(key.secret(), SECRET);
    let shown = format!("{key:?}");
    assert!(shown.contains(AKID) && !shown.contains(SECRET), "{shown}");
}

#[test]
fn every_path_verifies_as_the_sdk_signed_it_whether_plain_or_not() {
    // Plain paths are verified with the signer's path canonicalization switched off (it is
    // the identity on them); the others with its defaults, as a client signs them.
    let now = SystemTime::now();
    for (path, plain) in [
        ("/iam.v1.Iam/CreateUser", true),
        (
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            true,
        ),
        ("/a-b_c~d/.../e", true),
        ("/a/./b", false),
        ("/a/../b", false),
        ("/a//b", false),
        ("/a/b/", false),
        ("/", false),
        ("/a%20b/c", false),
        ("/a%2Fb", false),
        ("/a/b?x=1", false),
        ("/a/b/.", false),
    ] {
        assert_eq!(iam_sts::sigv4::is_plain_path(path), plain, "{path}");
        let headers = signed_headers_for(now, SECRET, path);
        assert_eq!(
            verify_path(&headers, PAYLOAD_HASH, now, path),
            Ok(()),
            "{path}"
        );
        let other = "/iam.v1.Iam/DeleteUser";
        assert_eq!(
            verify_path(&headers, PAYLOAD_HASH, now, other),
            Err(AuthError::SignatureMismatch),
            "{path} signed, {other} sent"
        );
    }
    assert!(!iam_sts::sigv4::is_plain_path("iam.v1.Iam/CreateUser"));
    assert!(!iam_sts::sigv4::is_plain_path(""));
}
