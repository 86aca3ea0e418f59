//! The opaque payloads of Raft entries: a [`Machine`]'s command and response as JSON text.
//!
//! openraft needs one concrete request and response type, the storage is generic over the
//! machine. A [`Request`] carries an encoded `M::Command` and a [`Response`] an encoded
//! `M::Response`; only the state machine store (and the proposer, who knows `M`) decode them.
//! The text is JSON, held as a string so that any serde format the network picks can carry it.
//!
//! `Debug` and `Display` print the size only: commands carry secrets (access keys, password
//! hashes) and openraft logs its entries.

use std::fmt;
use std::io;

use serde::{Deserialize, Serialize};

use crate::Machine;

/// A replicated write: an encoded `M::Command` of the machine the cluster runs.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Request(String);

/// What applying a [`Request`] answered: an encoded `M::Response`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Response(String);

impl Request {
    /// Encodes a command of the machine `M`.
    pub fn encode<M: Machine>(command: &M::Command) -> io::Result<Self> {
        encode(command, "command").map(Self)
    }

    /// Decodes the command of the machine `M`; fails when the request holds something else.
    pub fn decode<M: Machine>(&self) -> io::Result<M::Command> {
        decode(&self.0, "command")
    }

    /// The size of the encoded command in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the encoded command is empty (never true for an encoded command).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Response {
    /// Encodes a response of the machine `M`.
    pub fn encode<M: Machine>(response: &M::Response) -> io::Result<Self> {
        encode(response, "response").map(Self)
    }

    /// Decodes the response of the machine `M`; fails when it holds something else.
    pub fn decode<M: Machine>(&self) -> io::Result<M::Response> {
        decode(&self.0, "response")
    }

    /// The size of the encoded response in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the encoded response is empty (never true for an encoded response).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn encode<T: Serialize>(value: &T, what: &str) -> io::Result<String> {
    serde_json::to_string(value).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("cannot encode {what}: {e}"),
        )
    })
}

fn decode<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> io::Result<T> {
    serde_json::from_str(text).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("cannot decode {what}: {e}"),
        )
    })
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("bytes", &self.0.len())
            .finish()
    }
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "request({} bytes)", self.0.len())
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("bytes", &self.0.len())
            .finish()
    }
}

impl fmt::Display for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "response({} bytes)", self.0.len())
    }
}
