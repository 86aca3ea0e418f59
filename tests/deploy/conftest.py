"""What the deployment tests share: the image under test, built once from the binaries
tests/run.sh built (IAMD_BIN_DIR, default target/debug), and iamctl run on the host."""

import json
import os
import pathlib
import socket
import subprocess
import time
import uuid

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN_DIR = pathlib.Path(os.environ.get("IAMD_BIN_DIR", ROOT / "target" / "debug"))
IAMCTL = str(BIN_DIR / "iamctl")
IAMD = str(BIN_DIR / "iamd")
# The uid the image runs as; files it must read (the cluster key) belong to it.
IAMD_UID = 65532


def run(*args, check=True, timeout=120, **kwargs):
    """Runs a command, returning its CompletedProcess (text); fails the test on a non-zero
    exit when `check`."""
    done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kwargs)
    if check and done.returncode != 0:
        pytest.fail(f"{args} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def iamctl(endpoint, *args, credentials=None, check=True):
    """Runs the host's iamctl against `endpoint` (host:port); its JSON answer, or the
    CompletedProcess when `check` is false."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "IAMD_"))}
    env["HOME"] = "/nonexistent"
    cmd = [IAMCTL, "--endpoint-url", f"http://{endpoint}"]
    if credentials:
        cmd += ["--credentials-file", str(credentials)]
    done = run(*cmd, *args, check=check, env=env)
    return json.loads(done.stdout) if check else done


def wait_serving(endpoint, seconds=60):
    done = iamctl(endpoint, "health", "--wait-seconds", str(seconds), check=False)
    assert done.returncode == 0, f"{endpoint} not serving: {done.stdout} {done.stderr}"


def eventually(what, probe, seconds=30):
    """Calls `probe` until it returns a true value, for at most `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.3)


def copy_out(container, path, dest: pathlib.Path) -> pathlib.Path:
    """Copies a file out of a container (the image has no shell or cat), waiting for it to
    be there: the first node writes the root credentials just after it starts serving."""
    eventually(
        f"{path} in {container}",
        lambda: run("docker", "cp", f"{container}:{path}", str(dest), check=False).returncode
        == 0,
    )
    return dest


@pytest.fixture(scope="session")
def image():
    if run("docker", "info", check=False).returncode != 0:
        pytest.fail("the deployment tests need a running Docker engine")
    tag = f"iamd-test:{uuid.uuid4().hex[:12]}"
    run(
        "bash",
        str(ROOT / "deploy" / "docker" / "build-image.sh"),
        tag,
        env={**os.environ, "IAMD_BIN_DIR": str(BIN_DIR)},
        timeout=600,
    )
    yield tag
    run("docker", "image", "rm", "-f", tag, check=False)


@pytest.fixture
def cluster_key(tmp_path):
    """A fresh cluster key readable by the image's user only."""
    key = tmp_path / "cluster.key"
    key.write_text(os.urandom(32).hex())
    os.chown(key, IAMD_UID, IAMD_UID)
    key.chmod(0o400)
    return key
