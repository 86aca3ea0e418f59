"""deploy/compose/compose.yaml for real: three containers form a cluster, a write through
any node is read on every node, the leader's container is killed and writes go on, and the
old leader comes back and catches up."""

import os
import shutil
import uuid

import pytest

from conftest import ROOT, copy_out, eventually, free_port, iamctl, run, wait_serving

COMPOSE = ROOT / "deploy" / "compose" / "compose.yaml"
# Compose v1's own command, else v2's plugin.
COMPOSE_CMD = ["docker-compose"] if shutil.which("docker-compose") else ["docker", "compose"]


class Compose:
    def __init__(self, image, key):
        self.project = f"iamdt{uuid.uuid4().hex[:8]}"
        self.ports = {n: free_port() for n in (1, 2, 3)}
        self.env = {
            **os.environ,
            "IAMD_IMAGE": image,
            "CLUSTER_KEY_FILE": str(key),
            **{f"IAMD{n}_PORT": str(p) for n, p in self.ports.items()},
        }

    def __call__(self, *args, check=True):
        return run(
            *COMPOSE_CMD, "-p", self.project, "-f", str(COMPOSE), *args,
            env=self.env, check=check, timeout=300,
        )

    def endpoint(self, n):
        return f"127.0.0.1:{self.ports[n]}"

    def container(self, n):
        return self("ps", "-q", f"iamd{n}").stdout.strip()


@pytest.fixture
def compose(image, cluster_key):
    c = Compose(image, cluster_key)
    try:
        yield c
    finally:
        c("down", "-v", "--timeout", "10", check=False)


def user_on(compose, n, creds, name):
    done = iamctl(
        compose.endpoint(n), "iam", "get-user", "--user-name", name,
        credentials=creds, check=False,
    )
    return done.returncode == 0


def test_three_node_compose_cluster(compose, tmp_path):
    compose("up", "-d")
    for n in (1, 2, 3):
        wait_serving(compose.endpoint(n))
    creds = copy_out(compose.container(1), "/var/lib/iamd/root-credentials", tmp_path / "root")

    status = iamctl(compose.endpoint(2), "cluster", "status", credentials=creds)
    voters = {v["NodeId"]: v["Address"] for v in status["Membership"]["Voters"]}
    assert voters == {1: "iamd1:7301", 2: "iamd2:7301", 3: "iamd3:7301"}
    leader = status["LeaderId"]
    assert leader in voters

    # A write through a follower is read on every node.
    follower = next(n for n in (1, 2, 3) if n != leader)
    iamctl(compose.endpoint(follower), "iam", "create-user", "--user-name", "alice",
           credentials=creds)
    for n in (1, 2, 3):
        eventually(f"alice on node {n}", lambda: user_on(compose, n, creds, "alice"))

    # The leader's container is killed: the two left elect a leader and take writes.
    compose("kill", f"iamd{leader}")
    survivor = next(n for n in (1, 2, 3) if n != leader)

    def create_bob():
        done = iamctl(
            compose.endpoint(survivor), "iam", "create-user", "--user-name", "bob",
            credentials=creds, check=False,
        )
        # An attempt that timed out during the election may still have been applied.
        return done.returncode == 0 or "(AlreadyExists)" in done.stderr

    eventually("a write after the leader was killed", create_bob, seconds=60)
    status = iamctl(compose.endpoint(survivor), "cluster", "status", credentials=creds)
    assert status["LeaderId"] not in (0, leader)

    # The old leader comes back on its volume and catches up.
    compose("start", f"iamd{leader}")
    wait_serving(compose.endpoint(leader))
    for name in ("alice", "bob"):
        eventually(f"{name} on the restarted node",
                   lambda: user_on(compose, leader, creds, name))
