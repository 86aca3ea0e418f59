//! Every error becomes a `tonic::Status` here, and only here: the gRPC code, a lowercase
//! message, AWS's error code in `google.rpc.ErrorInfo.reason`, and for `InvalidArgument` the
//! offending field in `google.rpc.BadRequest`.

use std::collections::HashMap;

use iam_store::{ErrorCode, StoreError};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};

/// The domain of `ErrorInfo`.
pub const DOMAIN: &str = "iamd";

/// The longest message sent, in bytes of UTF-8: messages quote the caller's input, and a
/// message travels twice in the response headers (`grpc-message` percent-encoded, and the
/// details base64-encoded), which clients limit (8 KiB is gRPC C-core's soft limit).
pub const MAX_MESSAGE_BYTES: usize = 1_024;

/// A status with AWS's error code and, optionally, the field at fault.
pub fn status(code: Code, aws_code: &str, message: &str, field: Option<&str>) -> Status {
    let cut;
    let message = if message.len() > MAX_MESSAGE_BYTES {
        let end = (0..=MAX_MESSAGE_BYTES)
            .rev()
            .find(|i| message.is_char_boundary(*i))
            .unwrap_or(0);
        cut = format!("{}… (cut)", message.get(..end).unwrap_or_default());
        cut.as_str()
    } else {
        message
    };
    let mut details =
        ErrorDetails::with_error_info(aws_code, DOMAIN, HashMap::<String, String>::new());
    if let Some(field) = field {
        details.set_bad_request(vec![FieldViolation::new(field, message)]);
    }
    Status::with_error_details(code, format!("{aws_code}: {message}"), details)
}

/// `InvalidArgument` naming a field (AWS `InvalidInput`, or another code).
pub fn invalid(field: &str, message: impl AsRef<str>) -> Status {
    status(
        Code::InvalidArgument,
        "InvalidInput",
        message.as_ref(),
        Some(field),
    )
}

/// A store error as a status.
pub fn from_store(e: &StoreError) -> Status {
    let code = match e.code {
        ErrorCode::NoSuchEntity => Code::NotFound,
        ErrorCode::EntityAlreadyExists => Code::AlreadyExists,
        ErrorCode::MalformedPolicyDocument => Code::InvalidArgument,
        ErrorCode::LimitExceeded => Code::ResourceExhausted,
        ErrorCode::DeleteConflict => Code::FailedPrecondition,
        ErrorCode::InvalidInput => Code::InvalidArgument,
        ErrorCode::PasswordPolicyViolation => Code::InvalidArgument,
        ErrorCode::InvalidAuthenticationCode => Code::PermissionDenied,
        ErrorCode::EntityTemporarilyUnmodifiable => Code::FailedPrecondition,
        ErrorCode::ConstraintViolation => Code::FailedPrecondition,
        ErrorCode::IdempotentParameterMismatch => Code::FailedPrecondition,
        ErrorCode::UnmodifiableEntity => Code::FailedPrecondition,
    };
    status(code, e.code.as_str(), &e.message, e.field.as_deref())
}

/// `PermissionDenied` for a caller that may not make the call (`AccessDenied`).
pub fn access_denied(caller_arn: &str, action: &str, resource: &str, why: &str) -> Status {
    status(
        Code::PermissionDenied,
        "AccessDenied",
        &format!(
            "`{caller_arn}` is not authorized to perform `{action}` on resource `{resource}`: {why}"
        ),
        None,
    )
}

/// `Internal` for what is not the caller's fault; the detail is logged, not returned.
pub fn internal(what: &str) -> Status {
    tracing::error!(error = what, "internal error");
    status(
        Code::Internal,
        "ServiceFailure",
        "the request could not be completed",
        None,
    )
}

/// `Unavailable`, with the leader's address in `x-iam-leader` when known.
pub fn unavailable(message: &str, leader: Option<&str>) -> Status {
    let mut s = status(Code::Unavailable, "ServiceUnavailable", message, None);
    if let Some(addr) = leader.and_then(|l| l.parse().ok()) {
        s.metadata_mut().insert("x-iam-leader", addr);
    }
    s
}

/// A failed replicated write as a status.
pub fn from_write(e: &iam_raft::WriteError) -> Status {
    use iam_raft::WriteError as W;
    match e {
        W::Unavailable { leader } => unavailable(
            "no leader is reachable to accept the write; retry with the same idempotency key",
            leader.as_deref(),
        ),
        W::Rejected(why) => status(Code::FailedPrecondition, "WriteRejected", why, None),
        W::Codec(codec) => internal(&format!("cannot encode the write: {codec}")),
        W::Stopped(why) => unavailable(&format!("this node has stopped: {why}"), None),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_message_quoting_a_huge_input_is_cut() {
        for ch in ["x", "é", "😀"] {
            let name = ch.repeat(20_000);
            let status = super::invalid("user_name", format!("no user `{name}`"));
            assert!(
                status.message().len() < super::MAX_MESSAGE_BYTES + 32,
                "{ch}"
            );
            assert!(status.message().ends_with("… (cut)"));
            // Both copies of the message, encoded as they travel, stay well under 8 KiB.
            let response = status.into_http::<tonic::body::Body>();
            let headers: usize = response
                .headers()
                .iter()
                .map(|(k, v)| k.as_str().len() + v.len())
                .sum();
            assert!(headers < 8 * 1024, "{ch}: {headers} bytes of headers");
        }
        let short = super::invalid("user_name", "no user `bob`");
        assert_eq!(short.message(), "InvalidInput: no user `bob`");
    }
}
