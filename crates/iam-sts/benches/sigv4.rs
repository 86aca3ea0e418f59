//! What verifying one SigV4-signed gRPC call costs, in the parts `Authorize` pays for:
//! the whole check of a caller's own request (canonical request, string to sign, key
//! derivation and signature, all in the AWS SDK's `sign`), the check of an end client's
//! string to sign (key derivation and signature only), and as the baseline the SHA-256 of
//! the request message that every verification starts with.
//!
//! `cargo bench -p iam-sts --bench sigv4`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::hint::black_box;
use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign as sdk_sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use criterion::{Criterion, criterion_group, criterion_main};
use iam_sts::SignedRequest;
use iam_sts::sigv4::{VerifyingKey, parse_authorization, verify_request, verify_string_to_sign};
use sha2::{Digest, Sha256};

const AKID: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const HOST: &str = "iamd.trading.internal:7300";
const PATH: &str = "/iam.v1.Authorization/Authorize";

/// An `Authorize` message of the size the load generator sends (gRPC-framed).
fn message() -> Vec<u8> {
    let mut m = vec![0u8; 5];
    m.extend_from_slice(
        b"\n\x12trading:PlaceOrder\x12Earn:aws:trading:eu-west-1:111111111111:venue/binance/\
          instrument/BTC-PERP\x1a\x1b\n\x0caws:SourceIp\x12\x0b\n\t10.20.3.7\x1a\x1f\n\x14\
          aws:ResourceTag/desk\x12\x07\n\x05delta:/arn:aws:iam::111111111111:user/trading/t-7",
    );
    m
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The headers a client sends, signed by the SDK as iamctl and the clients do.
fn signed_headers(now: SystemTime, payload: &str) -> Vec<(String, String)> {
    let identity: Identity = Credentials::new(AKID, SECRET, None, None, "bench").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("eu-west-1")
        .name("iam")
        .time(now)
        .settings(SigningSettings::default())
        .build()
        .unwrap();
    let headers = [("host", HOST), ("content-type", "application/grpc")];
    let req = SignableRequest::new(
        "POST",
        PATH,
        headers.into_iter(),
        SignableBody::Precomputed(payload.to_owned()),
    )
    .unwrap();
    let (instructions, _) = sdk_sign(req, &params.into()).unwrap().into_parts();
    let mut out: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    out.extend(
        instructions
            .headers()
            .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    out
}

fn bench(c: &mut Criterion) {
    let now = SystemTime::now();
    let body = message();
    let payload = sha256_hex(&body[5..]);
    let headers = signed_headers(now, &payload);
    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let authorization = pairs
        .iter()
        .find(|(k, _)| *k == "authorization")
        .map(|(_, v)| *v)
        .unwrap();
    let key = VerifyingKey::new(AKID, SECRET);

    // The string to sign and signature an end client would hand a gateway for the same
    // request: what `Authorize` checks for a `sigv4` subject.
    let amz_date = pairs
        .iter()
        .find(|(k, _)| *k == "x-amz-date")
        .map(|(_, v)| *v)
        .unwrap();
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{}/eu-west-1/iam/aws4_request\n{}",
        &amz_date[..8],
        sha256_hex(b"any canonical request")
    );
    let signing_key = v4::generate_signing_key(SECRET, now, "eu-west-1", "iam");
    let string_signature = v4::calculate_signature(signing_key, string_to_sign.as_bytes());

    let mut g = c.benchmark_group("sigv4");
    g.bench_function("baseline: sha256 of the message", |b| {
        b.iter(|| sha256_hex(black_box(&body[5..])))
    });
    g.bench_function("verify a caller's request (sdk sign)", |b| {
        b.iter(|| {
            let auth = parse_authorization(black_box(authorization)).unwrap();
            let req = SignedRequest {
                method: "POST",
                path_and_query: PATH,
                headers: &pairs,
                payload_sha256: &payload,
            };
            verify_request(&req, &auth, &key, now).unwrap();
        })
    });
    g.bench_function("verify an end client's string to sign", |b| {
        b.iter(|| {
            verify_string_to_sign(
                black_box(&string_to_sign),
                black_box(&string_signature),
                SECRET,
                now,
            )
            .unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
