//! Calls signed once and sent many times, for the load generators: a SigV4 signature is
//! valid for 5 minutes, so a driver can sign one message and send its encoded bytes again
//! and again, spending its share of the two cores on HTTP/2 rather than on signing and
//! encoding. The server still decodes, verifies, authorizes and executes every call in
//! full.

use std::marker::PhantomData;
use std::time::SystemTime;

use iam_api::signing::{SigningCredentials, payload_sha256, sign_headers};
use prost::Message;
use prost::bytes::{BufMut, Bytes};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::metadata::{AsciiMetadataValue, MetadataValue};
use tonic::transport::Channel;

/// One signed unary call: the path, the encoded message, and its SigV4 headers.
#[derive(Debug, Clone)]
pub struct Presigned {
    path: http::uri::PathAndQuery,
    body: Bytes,
    authorization: AsciiMetadataValue,
    date: AsciiMetadataValue,
}

impl Presigned {
    /// Signs `message` for the rpc at `path` (`/package.Service/Method`) on `host`.
    pub fn new(
        creds: &SigningCredentials,
        host: &str,
        path: &'static str,
        message: &impl Message,
    ) -> Result<Self, String> {
        let encoded = message.encode_to_vec();
        // The body a client sends: the 5-byte gRPC prefix, then the message.
        let mut framed = vec![0u8; 5];
        framed.extend_from_slice(&encoded);
        let headers = sign_headers(
            creds,
            host,
            path,
            "application/grpc",
            &payload_sha256(&framed),
            SystemTime::now(),
        )?;
        let header = |name: &str| -> Result<AsciiMetadataValue, String> {
            let value = headers
                .iter()
                .find(|(k, _)| k == name)
                .ok_or_else(|| format!("no `{name}` header"))?;
            MetadataValue::try_from(value.1.as_str()).map_err(|e| e.to_string())
        };
        Ok(Presigned {
            path: http::uri::PathAndQuery::from_static(path),
            body: Bytes::from(encoded),
            authorization: header("authorization")?,
            date: header("x-amz-date")?,
        })
    }

    /// Sends the call on `channel` and decodes the answer as `D` (a message holding only
    /// the fields the driver checks decodes fastest).
    pub async fn call<D: Message + Default + Send + 'static>(
        &self,
        channel: Channel,
    ) -> Result<D, tonic::Status> {
        let mut request = tonic::Request::new(self.body.clone());
        request
            .metadata_mut()
            .insert("authorization", self.authorization.clone());
        request
            .metadata_mut()
            .insert("x-amz-date", self.date.clone());
        let mut grpc = tonic::client::Grpc::new(channel);
        grpc.ready()
            .await
            .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
        grpc.unary(request, self.path.clone(), Raw::<D>(PhantomData))
            .await
            .map(tonic::Response::into_inner)
    }
}

/// Sends bytes as they are; decodes the answer as `D`.
#[derive(Debug)]
struct Raw<D>(PhantomData<fn() -> D>);

impl<D: Message + Default + Send + 'static> Codec for Raw<D> {
    type Encode = Bytes;
    type Decode = D;
    type Encoder = RawEncoder;
    type Decoder = Raw<D>;

    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }

    fn decoder(&mut self) -> Raw<D> {
        Raw(PhantomData)
    }
}

#[derive(Debug)]
struct RawEncoder;

impl Encoder for RawEncoder {
    type Item = Bytes;
    type Error = tonic::Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl<D: Message + Default + Send + 'static> Decoder for Raw<D> {
    type Item = D;
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<D>, tonic::Status> {
        D::decode(src)
            .map(Some)
            .map_err(|e| tonic::Status::internal(e.to_string()))
    }
}
