//! A register kept in iamd, for linearizability checks: a number of three decimal digits in
//! the tags `d0`, `d1`, `d2` of the user `register`, written with one `TagUser` and read
//! with one LINEARIZABLE `BatchAuthorize` whose decisions spell the digits; and
//! [`Recorder`], which times the operations of concurrent clients into a history.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use iam_api::signing::SigningCredentials;
use iam_api::v1 as pb;
use iam_api::v1::authorization_client::AuthorizationClient;
use iam_api::v1::iam_client::IamClient;
use iamd::server::Running;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tonic::Status;

use crate::Signed;
use crate::linearizability::Op;

/// The user whose tags hold the value.
pub const USER: &str = "register";

/// The largest value the register holds.
pub const MAX_VALUE: u64 = 999;

/// The user's inline policy: `register:Read` on `arn:aws:register:::dN/D` exactly for the
/// digit `D` the tag `dN` holds.
const POLICY: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [{
    "Effect": "Allow",
    "Action": "register:Read",
    "Resource": [
      "arn:aws:register:::d0/${aws:PrincipalTag/d0}",
      "arn:aws:register:::d1/${aws:PrincipalTag/d1}",
      "arn:aws:register:::d2/${aws:PrincipalTag/d2}"
    ]
  }]
}"#;

/// The register of one account.
#[derive(Debug, Clone)]
pub struct Register {
    arn: String,
}

impl Register {
    /// Creates the user holding `initial` and its policy; returns the revision of the last
    /// write.
    pub async fn create(
        iam: &mut IamClient<Signed>,
        initial: u64,
    ) -> Result<(Register, u64), Status> {
        let user = iam
            .create_user(pb::CreateUserRequest {
                user_name: USER.into(),
                tags: tags(initial)?,
                ..Default::default()
            })
            .await?
            .into_inner();
        let revision = iam
            .put_user_policy(pb::PutUserPolicyRequest {
                user_name: USER.into(),
                policy_name: "ReadDigits".into(),
                policy_document: POLICY.into(),
                ..Default::default()
            })
            .await?
            .into_inner()
            .revision;
        let arn = user.user.map(|u| u.arn).unwrap_or_default();
        Ok((Register { arn }, revision))
    }

    /// Sets the value with one write, within `timeout`; returns its revision.
    pub async fn write(
        &self,
        iam: &mut IamClient<Signed>,
        value: u64,
        idempotency_key: String,
        timeout: Duration,
    ) -> Result<u64, Status> {
        let mut request = tonic::Request::new(pb::TagUserRequest {
            user_name: USER.into(),
            tags: tags(value)?,
            idempotency_key,
        });
        request.set_timeout(timeout);
        let answer = within(timeout, iam.tag_user(request)).await?;
        Ok(answer.into_inner().revision)
    }

    /// Reads the value with a LINEARIZABLE batch of one decision per digit and position,
    /// all evaluated at one revision, within `timeout`. A batch that does not spell exactly
    /// one digit per position answers `DataLoss`.
    pub async fn read(
        &self,
        authz: &mut AuthorizationClient<Signed>,
        timeout: Duration,
    ) -> Result<u64, Status> {
        let items = (0..3)
            .flat_map(|position| (0..10).map(move |digit| (position, digit)))
            .map(|(position, digit)| pb::AuthorizeItem {
                action: "register:Read".into(),
                resource: format!("arn:aws:register:::d{position}/{digit}"),
                subject: Some(pb::authorize_item::Subject::PrincipalArn(self.arn.clone())),
                ..Default::default()
            })
            .collect();
        let mut request = tonic::Request::new(pb::BatchAuthorizeRequest {
            items,
            consistency: pb::Consistency::Linearizable.into(),
            ..Default::default()
        });
        request.set_timeout(timeout);
        let answer = within(timeout, authz.batch_authorize(request))
            .await?
            .into_inner();
        let allowed: Vec<bool> = answer
            .results
            .iter()
            .map(|r| r.decision == i32::from(pb::Decision::Allowed))
            .collect();
        decode(&allowed)
    }
}

/// The tags that hold `value`.
fn tags(value: u64) -> Result<Vec<pb::Tag>, Status> {
    if value > MAX_VALUE {
        return Err(Status::invalid_argument(format!(
            "register value {value} is above {MAX_VALUE}"
        )));
    }
    let digits = [value / 100, value / 10 % 10, value % 10];
    Ok((0..)
        .zip(digits)
        .map(|(position, digit)| pb::Tag {
            key: format!("d{position}"),
            value: digit.to_string(),
        })
        .collect())
}

/// The value 30 decisions spell (position-major, digits 0-9), if they spell one.
fn decode(allowed: &[bool]) -> Result<u64, Status> {
    if allowed.len() != 30 {
        return Err(Status::data_loss(format!(
            "{} decisions for 30 questions",
            allowed.len()
        )));
    }
    let mut value = 0;
    for position in allowed.chunks(10) {
        let mut digits = (0u64..).zip(position).filter(|(_, a)| **a).map(|(d, _)| d);
        match (digits.next(), digits.next()) {
            (Some(digit), None) => value = value * 10 + digit,
            _ => {
                return Err(Status::data_loss(format!(
                    "the decisions spell no number: {allowed:?}"
                )));
            }
        }
    }
    Ok(value)
}

/// `call` bounded by `timeout` on this side too (the server bounds it by the gRPC timeout).
async fn within<T>(
    timeout: Duration,
    call: impl Future<Output = Result<T, Status>>,
) -> Result<T, Status> {
    tokio::time::timeout(timeout, call)
        .await
        .unwrap_or_else(|_| Err(Status::deadline_exceeded("no answer in time (client)")))
}

/// What one client operation on the register did, as the client saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Wrote the value (acknowledged).
    Wrote(u64),
    /// Tried to write the value and got an error: it may or may not have taken effect.
    WriteFailed(u64, tonic::Code),
    /// Read the value.
    Read(u64),
    /// Could not read.
    ReadFailed(tonic::Code),
    /// A read whose decisions did not spell one value: never acceptable.
    TornRead,
}

/// One client operation, timed in nanoseconds since the recorder's start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// The node it was sent to.
    pub node: u64,
    /// When it was sent.
    pub call: u64,
    /// When its answer (or error) arrived.
    pub ret: u64,
    pub outcome: Outcome,
}

impl Entry {
    /// The operation for the checker: failed writes have an unknown outcome, failed reads
    /// are left out (they saw nothing).
    pub fn op(&self) -> Option<Op> {
        match self.outcome {
            Outcome::Wrote(v) => Some(Op::write(self.call, self.ret, v)),
            Outcome::WriteFailed(v, _) => Some(Op::unknown_write(self.call, v)),
            Outcome::Read(v) => Some(Op::read(self.call, self.ret, v)),
            Outcome::ReadFailed(_) | Outcome::TornRead => None,
        }
    }
}

/// The history of concurrent clients, timed from its creation; cheap to clone, clones
/// record into the same history.
#[derive(Debug, Clone)]
pub struct Recorder {
    start: Instant,
    entries: Arc<Mutex<Vec<Entry>>>,
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

impl Recorder {
    /// An empty history starting now.
    pub fn new() -> Self {
        Recorder {
            start: Instant::now(),
            entries: Arc::default(),
        }
    }

    /// Nanoseconds since the start: take it just before sending.
    pub fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Adds an operation sent to `node` at `call` that just ended with `outcome`.
    pub fn record(&self, node: u64, call: u64, outcome: Outcome) {
        let entry = Entry {
            node,
            call,
            ret: self.now(),
            outcome,
        };
        self.lock().push(entry);
    }

    /// The operations recorded so far.
    pub fn entries(&self) -> Vec<Entry> {
        self.lock().clone()
    }

    /// The history for [`crate::linearizability::check`].
    pub fn history(&self) -> Vec<Op> {
        self.lock().iter().filter_map(Entry::op).collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decisions(value: u64) -> Vec<bool> {
        let digits = [value / 100, value / 10 % 10, value % 10];
        digits
            .iter()
            .flat_map(|&d| (0..10).map(move |i| i == d))
            .collect()
    }

    #[test]
    fn values_round_trip_through_tags_and_decisions() {
        for value in [0, 7, 42, 100, 999] {
            assert_eq!(decode(&decisions(value)).unwrap(), value);
            let tags = tags(value).unwrap();
            let spelled: String = tags.iter().map(|t| t.value.as_str()).collect();
            assert_eq!(spelled.parse::<u64>().unwrap(), value);
        }
        assert!(tags(1000).is_err());
    }

    #[test]
    fn decisions_that_spell_no_number_are_data_loss() {
        let mut two = decisions(5);
        two[6] = true;
        assert_eq!(decode(&two).unwrap_err().code(), tonic::Code::DataLoss);
        assert_eq!(
            decode(&[false; 30]).unwrap_err().code(),
            tonic::Code::DataLoss
        );
        assert!(decode(&[true; 3]).is_err());
    }
}

/// Writers and readers of the register, one task each, cycling over the nodes.
#[derive(Debug)]
pub struct Workload {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    recorder: Recorder,
}

impl Workload {
    const WRITERS: usize = 3;
    const READERS: usize = 3;

    /// Starts the clients against `nodes`; every operation is bounded by `op_timeout`.
    pub async fn start(
        nodes: &[Running],
        root: &SigningCredentials,
        register: &Register,
        recorder: &Recorder,
        op_timeout: Duration,
    ) -> Result<Self, String> {
        let (stop, stopped) = watch::channel(false);
        let values = Arc::new(AtomicU64::new(1));
        let mut tasks = Vec::new();
        for task in 0..Self::WRITERS + Self::READERS {
            let mut clients = Vec::new();
            for node in nodes {
                clients.push(Client {
                    node: node.node.config.node_id,
                    iam: crate::iam(node, root).await.map_err(|e| e.to_string())?,
                    authz: crate::authz(node, root).await.map_err(|e| e.to_string())?,
                });
            }
            // Start each task on a different node.
            clients.rotate_left(task % nodes.len());
            let run = Run {
                clients,
                register: register.clone(),
                recorder: recorder.clone(),
                stop: stopped.clone(),
                op_timeout,
            };
            tasks.push(if task < Self::WRITERS {
                tokio::spawn(run.write(Arc::clone(&values)))
            } else {
                tokio::spawn(run.read())
            });
        }
        Ok(Self {
            stop,
            tasks,
            recorder: recorder.clone(),
        })
    }

    /// Stops the clients once their operations in flight end; returns what they did.
    pub async fn stop(self) -> Result<Vec<Entry>, String> {
        let _ = self.stop.send(true);
        for task in self.tasks {
            task.await
                .map_err(|e| format!("a register client failed: {e}"))?;
        }
        Ok(self.recorder.entries())
    }
}

#[derive(Debug)]
struct Client {
    node: u64,
    iam: IamClient<Signed>,
    authz: AuthorizationClient<Signed>,
}

/// One client task.
#[derive(Debug)]
struct Run {
    clients: Vec<Client>,
    register: Register,
    recorder: Recorder,
    stop: watch::Receiver<bool>,
    op_timeout: Duration,
}

impl Run {
    async fn write(mut self, values: Arc<AtomicU64>) {
        for turn in 0.. {
            let value = values.fetch_add(1, Ordering::Relaxed);
            if *self.stop.borrow() || value > MAX_VALUE {
                return;
            }
            let n = self.clients.len();
            let Some(client) = self.clients.get_mut(turn % n.max(1)) else {
                return;
            };
            let call = self.recorder.now();
            let written = self
                .register
                .write(&mut client.iam, value, format!("v{value}"), self.op_timeout)
                .await;
            let outcome = match written {
                Ok(_) => Outcome::Wrote(value),
                Err(e) => Outcome::WriteFailed(value, e.code()),
            };
            self.recorder.record(client.node, call, outcome);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn read(mut self) {
        for turn in 0.. {
            if *self.stop.borrow() {
                return;
            }
            let n = self.clients.len();
            let Some(client) = self.clients.get_mut(turn % n.max(1)) else {
                return;
            };
            let call = self.recorder.now();
            let outcome = match self.register.read(&mut client.authz, self.op_timeout).await {
                Ok(value) => Outcome::Read(value),
                Err(e) if e.code() == tonic::Code::DataLoss => Outcome::TornRead,
                Err(e) => Outcome::ReadFailed(e.code()),
            };
            self.recorder.record(client.node, call, outcome);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}
