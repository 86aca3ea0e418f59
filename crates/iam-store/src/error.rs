//! Errors of the store, with AWS's error codes.

use std::fmt;

use serde::{Deserialize, Serialize};

/// AWS's error codes for IAM, STS and Organizations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorCode {
    /// The entity does not exist.
    NoSuchEntity,
    /// An entity of that name already exists.
    EntityAlreadyExists,
    /// A policy document is invalid.
    MalformedPolicyDocument,
    /// A quota would be exceeded.
    LimitExceeded,
    /// The entity still has subordinate entities (attached policies, members, keys, …).
    DeleteConflict,
    /// A parameter is invalid.
    InvalidInput,
    /// A password does not satisfy the account password policy.
    PasswordPolicyViolation,
    /// An MFA code is wrong.
    InvalidAuthenticationCode,
    /// The entity is in a state that does not allow the change.
    EntityTemporarilyUnmodifiable,
    /// The request conflicts with the organization's structure.
    ConstraintViolation,
    /// An idempotency key was used before with a different request.
    IdempotentParameterMismatch,
    /// An AWS managed policy (or another entity AWS owns) cannot be changed.
    UnmodifiableEntity,
}

impl ErrorCode {
    /// The AWS name of the code.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::NoSuchEntity => "NoSuchEntity",
            ErrorCode::EntityAlreadyExists => "EntityAlreadyExists",
            ErrorCode::MalformedPolicyDocument => "MalformedPolicyDocument",
            ErrorCode::LimitExceeded => "LimitExceeded",
            ErrorCode::DeleteConflict => "DeleteConflict",
            ErrorCode::InvalidInput => "InvalidInput",
            ErrorCode::PasswordPolicyViolation => "PasswordPolicyViolation",
            ErrorCode::InvalidAuthenticationCode => "InvalidAuthenticationCode",
            ErrorCode::EntityTemporarilyUnmodifiable => "EntityTemporarilyUnmodifiable",
            ErrorCode::ConstraintViolation => "ConstraintViolation",
            ErrorCode::IdempotentParameterMismatch => "IdempotentParameterMismatch",
            ErrorCode::UnmodifiableEntity => "UnmodifiableEntity",
        }
    }
}

/// A refused command: the code, the request field at fault (if one is), and a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreError {
    /// AWS's error code.
    pub code: ErrorCode,
    /// The request field at fault, in the API's snake_case (`user_name`, `policy_document`).
    pub field: Option<String>,
    /// Lowercase, user input in backticks.
    pub message: String,
}

impl StoreError {
    /// An error about one request field.
    pub fn field(code: ErrorCode, field: &str, message: impl Into<String>) -> Self {
        StoreError {
            code,
            field: Some(field.to_owned()),
            message: message.into(),
        }
    }

    /// An error that no single field causes.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        StoreError {
            code,
            field: None,
            message: message.into(),
        }
    }

    /// `NoSuchEntity` for an entity kind and name.
    pub fn no_such(kind: &str, field: &str, name: &str) -> Self {
        Self::field(
            ErrorCode::NoSuchEntity,
            field,
            format!("the {kind} with name `{name}` cannot be found"),
        )
    }

    /// `EntityAlreadyExists` for an entity kind and name.
    pub fn exists(kind: &str, field: &str, name: &str) -> Self {
        Self::field(
            ErrorCode::EntityAlreadyExists,
            field,
            format!("a {kind} with name `{name}` already exists"),
        )
    }

    /// `LimitExceeded` for a quota.
    pub fn limit(field: &str, what: &str, limit: usize) -> Self {
        Self::field(
            ErrorCode::LimitExceeded,
            field,
            format!("cannot exceed quota for {what}: {limit}"),
        )
    }

    /// `InvalidInput` for a field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::field(ErrorCode::InvalidInput, field, message)
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for StoreError {}

/// The result of a store operation.
pub type StoreResult<T> = Result<T, StoreError>;
