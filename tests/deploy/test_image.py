"""The image on its own: one container, read-only and without capabilities, as the
unprivileged user; healthy by its own HEALTHCHECK, writes survive a restart, and the root
secret it writes to its volume never reaches its logs."""

import configparser
import json
import uuid

from conftest import IAMD_UID, copy_out, eventually, iamctl, run, wait_serving


def test_single_node_container(image, tmp_path):
    name = f"iamd-test-{uuid.uuid4().hex[:8]}"
    volume = f"{name}-data"
    run("docker", "volume", "create", volume)
    try:
        run(
            "docker", "run", "-d", "--name", name,
            "--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
            "-p", "127.0.0.1::7300", "-v", f"{volume}:/var/lib/iamd", image,
        )
        port = run("docker", "port", name, "7300").stdout.split()[0].rsplit(":", 1)[1]
        endpoint = f"127.0.0.1:{port}"
        wait_serving(endpoint)

        config = json.loads(run("docker", "inspect", name).stdout)[0]["Config"]
        assert config["User"] == f"{IAMD_UID}:{IAMD_UID}"
        # The image's own health check runs iamctl inside the container.
        eventually(
            "the container's HEALTHCHECK to pass",
            lambda: run("docker", "inspect", "--format", "{{.State.Health.Status}}", name)
            .stdout.strip() == "healthy",
            seconds=60,
        )

        creds = copy_out(name, "/var/lib/iamd/root-credentials", tmp_path / "root")
        ini = configparser.ConfigParser()
        ini.read(creds)
        secret = ini["default"]["aws_secret_access_key"]
        assert len(secret) == 40

        made = iamctl(endpoint, "iam", "create-user", "--user-name", "alice", credentials=creds)
        assert made["User"]["UserName"] == "alice"

        # docker restart: SIGTERM, a graceful stop, then the same volume again.
        run("docker", "restart", "--time", "30", name)
        port = run("docker", "port", name, "7300").stdout.split()[0].rsplit(":", 1)[1]
        endpoint = f"127.0.0.1:{port}"
        wait_serving(endpoint)
        got = iamctl(endpoint, "iam", "get-user", "--user-name", "alice", credentials=creds)
        assert got["User"]["UserId"] == made["User"]["UserId"]

        logs = run("docker", "logs", name)
        text = logs.stdout + logs.stderr
        assert "shutting down" in text, "SIGTERM reached iamd"
        assert "root-credentials" in text
        assert secret not in text, "the root secret appeared in the logs"
    finally:
        run("docker", "rm", "-f", name, check=False)
        run("docker", "volume", "rm", "-f", volume, check=False)


def test_sigterm_stops_a_node_still_waiting_for_its_majority(image, cluster_key):
    """Node 1 of three, started alone, waits for the others (with an empty store it forms a
    new cluster only once the other initial members answer); `docker stop` (SIGTERM to PID
    1, which ignores signals it has no handler for) ends it at once, not by SIGKILL."""
    name = f"iamd-test-{uuid.uuid4().hex[:8]}"
    try:
        run(
            "docker", "run", "-d", "--name", name,
            "-v", f"{cluster_key}:/etc/iamd/cluster.key:ro",
            "-e", "IAMD_CLUSTER_KEY_FILE=/etc/iamd/cluster.key",
            "-e", "IAMD_INITIAL_MEMBERS=1=127.0.0.1:7301,2=192.0.2.2:7301,3=192.0.2.3:7301",
            image,
        )
        eventually(
            "node 1 waiting for the other members",
            lambda: "not taking part in the cluster until admitted"
            in run("docker", "logs", name).stdout,
        )
        run("docker", "stop", "--time", "30", name, timeout=60)
        state = json.loads(run("docker", "inspect", name).stdout)[0]["State"]
        assert (state["ExitCode"], state["OOMKilled"]) == (0, False), state
        assert "stopped while waiting for a majority" in run("docker", "logs", name).stdout
    finally:
        run("docker", "rm", "-f", name, check=False)
