//! Services whose rpcs belong to later work (STS credentials, the audit trail). They are
//! served so that clients and reflection see the whole API; every rpc answers
//! `Unimplemented` through the generated default stubs until it is built.

use iam_api::v1::audit_server::Audit;
use iam_api::v1::sts_server::Sts;

/// `iam.v1.Sts`: AssumeRole, GetSessionToken, GetCallerIdentity, web identity federation.
#[derive(Debug, Clone, Copy)]
pub struct StsApi;

#[tonic::async_trait]
impl Sts for StsApi {}

/// `iam.v1.Audit`: the audit trail.
#[derive(Debug, Clone, Copy)]
pub struct AuditApi;

#[tonic::async_trait]
impl Audit for AuditApi {}
