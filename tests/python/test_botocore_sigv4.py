"""An independent client: Python grpcio, with every call signed by botocore's SigV4 signer.

This proves iamd's signature scheme against an implementation that is not ours: a gRPC call
is signed as `POST https://HOST/iam.v1.Iam/<Rpc>` whose body is the serialized protobuf
message, with `content-type: application/grpc`, and the signature travels as gRPC metadata.

The iamd binary is given by IAMD_BIN (built by tests/run.sh); stubs are generated from
proto/ into a temporary directory with grpcio-tools.
"""

import os
import pathlib
import re
import socket
import subprocess
import sys
import tempfile
import time

import grpc
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ROOT = pathlib.Path(__file__).resolve().parents[2]
PROTO = ROOT / "proto"


def generate_stubs(out: pathlib.Path) -> None:
    from grpc_tools import protoc
    import grpc_tools

    include = pathlib.Path(grpc_tools.__file__).parent / "_proto"
    files = [str(p.relative_to(PROTO)) for p in PROTO.glob("iam/v1/*.proto")]
    code = protoc.main(
        ["protoc", f"-I{PROTO}", f"-I{include}", f"--python_out={out}", f"--grpc_python_out={out}", *files]
    )
    assert code == 0, "protoc failed"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def stubs():
    out = pathlib.Path(tempfile.mkdtemp(prefix="iamd-stubs-"))
    generate_stubs(out)
    sys.path.insert(0, str(out))
    from iam.v1 import authorization_pb2, authorization_pb2_grpc, iam_pb2, iam_pb2_grpc  # noqa: E402

    return iam_pb2, iam_pb2_grpc, authorization_pb2, authorization_pb2_grpc


@pytest.fixture(scope="module")
def node():
    binary = os.environ.get("IAMD_BIN", str(ROOT / "target" / "debug" / "iamd"))
    data = pathlib.Path(tempfile.mkdtemp(prefix="iamd-py-"))
    port, peer = free_port(), free_port()
    proc = subprocess.Popen(
        [binary, "--data-dir", str(data), "--listen", f"127.0.0.1:{port}", "--peer-listen", f"127.0.0.1:{peer}",
         "--bootstrap-account-id", "111111111111"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    creds_path = data / "root-credentials"
    deadline = time.time() + 60
    while not creds_path.exists() and time.time() < deadline:
        assert proc.poll() is None, "iamd exited"
        time.sleep(0.1)
    assert creds_path.exists(), "iamd wrote no root credentials"
    text = creds_path.read_text()
    akid = re.search(r"aws_access_key_id = (\S+)", text).group(1)
    secret = re.search(r"aws_secret_access_key = (\S+)", text).group(1)
    yield f"127.0.0.1:{port}", Credentials(akid, secret)
    proc.terminate()
    proc.wait(timeout=30)


def signed_metadata(host, path, message, creds, region="eu-west-1"):
    """botocore signs the HTTP request that carries the gRPC call."""
    request = AWSRequest(
        method="POST",
        url=f"http://{host}{path}",
        data=message.SerializeToString(),
        headers={"content-type": "application/grpc"},
    )
    SigV4Auth(creds, "iam", region).add_auth(request)
    return [
        ("authorization", request.headers["Authorization"]),
        ("x-amz-date", request.headers["X-Amz-Date"]),
    ]


def test_botocore_signed_calls_are_accepted(stubs, node):
    iam_pb2, iam_pb2_grpc, authorization_pb2, authorization_pb2_grpc = stubs
    host, creds = node
    with grpc.insecure_channel(host) as channel:
        iam = iam_pb2_grpc.IamStub(channel)
        create = iam_pb2.CreateUserRequest(user_name="py-trader", path="/traders/")
        md = signed_metadata(host, "/iam.v1.Iam/CreateUser", create, creds)
        user = iam.CreateUser(create, metadata=md).user
        assert user.arn == "arn:aws:iam::111111111111:user/traders/py-trader"

        listing = iam_pb2.ListUsersRequest()
        md = signed_metadata(host, "/iam.v1.Iam/ListUsers", listing, creds)
        names = [u.user_name for u in iam.ListUsers(listing, metadata=md).users]
        assert "py-trader" in names

        authz = authorization_pb2_grpc.AuthorizationStub(channel)
        ask = authorization_pb2.AuthorizeRequest(
            action="trading:PlaceOrder",
            resource="arn:aws:trading:eu-west-1:111111111111:venue/binance/instrument/BTC-PERP",
            principal_arn=user.arn,
        )
        md = signed_metadata(host, "/iam.v1.Authorization/Authorize", ask, creds)
        answer = authz.Authorize(ask, metadata=md)
        assert answer.decision == authorization_pb2.DECISION_IMPLICIT_DENY


def test_a_signature_over_another_message_is_refused(stubs, node):
    iam_pb2, iam_pb2_grpc, _, _ = stubs
    host, creds = node
    with grpc.insecure_channel(host) as channel:
        iam = iam_pb2_grpc.IamStub(channel)
        signed_for = iam_pb2.CreateUserRequest(user_name="harmless")
        sent = iam_pb2.CreateUserRequest(user_name="attacker")
        md = signed_metadata(host, "/iam.v1.Iam/CreateUser", signed_for, creds)
        with pytest.raises(grpc.RpcError) as err:
            iam.CreateUser(sent, metadata=md)
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert "SignatureDoesNotMatch" in err.value.details()


def test_a_wrong_secret_is_refused(stubs, node):
    iam_pb2, iam_pb2_grpc, _, _ = stubs
    host, creds = node
    wrong = Credentials(creds.access_key, "x" * 40)
    with grpc.insecure_channel(host) as channel:
        iam = iam_pb2_grpc.IamStub(channel)
        req = iam_pb2.ListUsersRequest()
        with pytest.raises(grpc.RpcError) as err:
            iam.ListUsers(req, metadata=signed_metadata(host, "/iam.v1.Iam/ListUsers", req, wrong))
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_health_and_reflection_need_no_signature(node):
    from grpc_health.v1 import health_pb2, health_pb2_grpc  # grpcio-health-checking
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc  # grpcio-reflection

    host, _ = node
    with grpc.insecure_channel(host) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        status = health.Check(health_pb2.HealthCheckRequest(service="iam.v1.Iam")).status
        assert status == health_pb2.HealthCheckResponse.SERVING
        reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
        answers = reflection.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
        services = {s.name for a in answers for s in a.list_services_response.service}
        assert {"iam.v1.Iam", "iam.v1.Authorization"} <= services


class RawBytes:
    """A 'message' that is already encoded, to send bytes that are not valid protobuf."""

    def __init__(self, data: bytes):
        self.data = data

    def SerializeToString(self) -> bytes:
        return self.data


def test_malformed_protobuf_is_invalid_argument(node):
    host, creds = node
    garbage = RawBytes(b"\xff\xff\xff\xff\x0f")
    with grpc.insecure_channel(host) as channel:
        call = channel.unary_unary("/iam.v1.Iam/CreateUser")
        with pytest.raises(grpc.RpcError) as err:
            call(garbage.data, metadata=signed_metadata(host, "/iam.v1.Iam/CreateUser", garbage, creds))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, err.value.details()
