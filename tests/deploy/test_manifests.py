"""The Kubernetes manifests and the example configuration, checked against the schemas
of Kubernetes and against the iamd binary itself; then the StatefulSet's pods run for
real, as Docker containers named and addressed as Kubernetes would name them."""

import json
import pathlib
import re
import subprocess
import uuid

import kubernetes_validate
import kubernetes_validate.utils
import pytest
import yaml

from conftest import IAMD, IAMD_UID, ROOT, eventually, iamctl, run, wait_serving, copy_out

K8S = ROOT / "deploy" / "k8s"
NAMESPACE = "iamd"


def versions():
    """The oldest Kubernetes the schema package knows from 1.27 on (gRPC probes are GA
    there), and the newest."""
    known = set(kubernetes_validate.utils.all_versions())
    supported = sorted(
        (tuple(int(x) for x in v.split(".")), v) for v in known
        if tuple(int(x) for x in v.split(".")[:2]) >= (1, 27)
    )
    assert supported, f"no schema for Kubernetes 1.27 or later in {sorted(known)}"
    return sorted({supported[0][1], kubernetes_validate.latest_version()})


def kustomization():
    return yaml.safe_load((K8S / "kustomization.yaml").read_text())


def documents():
    """Every object `kubectl apply -k deploy/k8s` creates: the manifests, and the ConfigMaps
    kustomize generates from files (under their base names: kustomize appends a hash of the
    content and rewrites the references to it)."""
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        docs += [(path.name, d) for d in yaml.safe_load_all(path.read_text()) if d]
    for gen in kustomization().get("configMapGenerator", []):
        data = {pathlib.Path(f).name: (K8S / f).read_text() for f in gen["files"]}
        docs.append((
            "kustomization.yaml",
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": gen["name"],
                    "namespace": gen["namespace"],
                    "labels": gen.get("options", {}).get("labels", {}),
                },
                "data": data,
            },
        ))
    return docs


def one(kind):
    found = [d for _, d in documents() if d["kind"] == kind]
    assert len(found) == 1, f"{len(found)} {kind}s"
    return found[0]


def test_every_manifest_is_valid_for_kubernetes():
    for version in versions():
        for name, doc in documents():
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as e:
                pytest.fail(f"{name} {doc['kind']} is invalid for Kubernetes {version}: {e}")
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization()["resources"]) == files, "kustomization lists every manifest"
    for _, doc in documents():
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == NAMESPACE


def test_the_statefulset_services_and_pdb_fit_together():
    sts, pdb = one("StatefulSet"), one("PodDisruptionBudget")
    services = {d["metadata"]["name"]: d for _, d in documents() if d["kind"] == "Service"}
    spec = sts["spec"]
    labels = spec["template"]["metadata"]["labels"]
    assert spec["selector"]["matchLabels"].items() <= labels.items()
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    for svc in services.values():
        assert svc["spec"]["selector"].items() <= labels.items()
    # Peers must reach a node before it is ready, and all pods start together.
    headless = services[spec["serviceName"]]
    assert headless["spec"]["clusterIP"] == "None"
    assert headless["spec"]["publishNotReadyAddresses"] is True
    assert spec["podManagementPolicy"] == "Parallel"
    # One node of three may be down at a time, never two.
    assert pdb["spec"]["maxUnavailable"] == 1 and spec["replicas"] == 3

    container = spec["template"]["spec"]["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    for svc in services.values():
        for port in svc["spec"]["ports"]:
            assert port["targetPort"] in ports, f"{svc['metadata']['name']} names a port"
    assert container["readinessProbe"]["grpc"]["port"] == ports["grpc"]
    assert container["livenessProbe"]["tcpSocket"]["port"] in ("grpc", ports["grpc"])
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    claims = {c["metadata"]["name"] for c in spec["volumeClaimTemplates"]}
    volumes = {v["name"]: v for v in spec["template"]["spec"]["volumes"]}
    assert set(mounts) <= claims | set(volumes)
    # The config volume is the generated ConfigMap, its file the one mounted.
    config_map = one("ConfigMap")
    assert volumes["config"]["configMap"]["name"] == config_map["metadata"]["name"]
    assert mounts["config"]["subPath"] in config_map["data"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert spec["template"]["spec"]["securityContext"]["runAsUser"] == IAMD_UID

    # The peer port admits the iamd pods only; the client port everyone.
    policy = one("NetworkPolicy")["spec"]
    assert policy["podSelector"]["matchLabels"].items() <= labels.items()
    assert policy["policyTypes"] == ["Ingress"]
    opened = {}
    for rule in policy["ingress"]:
        for port in rule["ports"]:
            opened[ports.get(port["port"], port["port"])] = rule.get("from")
    assert set(opened) == {ports["grpc"], ports["peer"]}
    assert opened[ports["grpc"]] is None
    [peers] = opened[ports["peer"]]
    assert peers["podSelector"]["matchLabels"].items() <= labels.items()
    assert "namespaceSelector" not in peers


def pod_env(ordinal, config_path=None):
    """The environment Kubernetes gives pod `iamd-<ordinal>`'s container: the downward API
    values, then every `$(VAR)` expanded from the variables listed before it."""
    container = one("StatefulSet")["spec"]["template"]["spec"]["containers"][0]
    pod = f"{one('StatefulSet')['metadata']['name']}-{ordinal}"
    downward = {"metadata.name": pod, "metadata.namespace": NAMESPACE}
    env = {}
    for var in container["env"]:
        if "valueFrom" in var:
            value = downward[var["valueFrom"]["fieldRef"]["fieldPath"]]
        else:
            value = re.sub(
                r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
                lambda m: env.get(m.group(1), m.group(0)),
                var["value"],
            )
        env[var["name"]] = value
    if config_path is not None:
        env["IAMD_CONFIG"] = str(config_path)
    env["HOSTNAME"] = pod
    return pod, env, container["args"]


def config_map_file(tmp_path):
    path = tmp_path / "iamd.toml"
    path.write_text(one("ConfigMap")["data"]["iamd.toml"])
    return path


def dump_config(args, env):
    done = subprocess.run([IAMD, *args, "--dump-config"], env=env, capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_each_pod_starts_as_its_own_node_with_reachable_addresses(tmp_path):
    import tomllib

    sts = one("StatefulSet")
    container = sts["spec"]["template"]["spec"]["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    config = config_map_file(tmp_path)
    members = None
    # The three voters, and a fourth replica that would join as a learner.
    for ordinal in range(sts["spec"]["replicas"] + 1):
        pod, env, args = pod_env(ordinal, config)
        c = tomllib.loads(dump_config(args, env))
        assert c["node_id"] == ordinal + 1
        peers = f"{sts['spec']['serviceName']}.{NAMESPACE}.svc.cluster.local"
        assert c["advertise_peer"] == f"{pod}.{peers}:{ports['peer']}"
        assert c["listen"].endswith(f":{ports['grpc']}")
        assert c["peer_listen"].endswith(f":{ports['peer']}")
        assert c["data_dir"] == mounts["data"]
        assert c["cluster_key_file"].startswith(mounts["cluster-key"] + "/")
        assert c["bootstrap_account_id"] == "123456789012"
        # Still answering while NOT_SERVING, then draining (SHUTDOWN_GRACE, 5 s), then Raft
        # stops: all before the kubelet's SIGKILL.
        grace = sts["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        assert 0 < c["shutdown_delay_ms"] / 1000 + 5 + 10 <= grace
        members = members or c["initial_members"]
        assert c["initial_members"] == members, "every pod has the same voters"
        if ordinal < sts["spec"]["replicas"]:
            assert members[str(ordinal + 1)] == c["advertise_peer"]
        else:
            assert str(ordinal + 1) not in members, "a later replica waits to be added"


def test_the_example_config_documents_every_key_and_loads():
    example = ROOT / "deploy" / "config" / "iamd.toml"
    source = (ROOT / "services" / "iamd" / "src" / "config.rs").read_text()
    body = source.split("pub struct Config {", 1)[1].split("\n}", 1)[0]
    fields = set(re.findall(r"^    pub (\w+):", body, re.M))
    # As written (the commented keys are the optional ones), it is the defaults.
    assert dump_config(["--config", str(example)], {}) == dump_config([], {})
    # With every commented key in, it still loads and sets every field there is.
    text = re.sub(r"^# (\w+ = )", r"\1", example.read_text(), flags=re.M)
    path = pathlib.Path(f"/tmp/iamd-example-{uuid.uuid4().hex}.toml")
    path.write_text(text)
    try:
        import tomllib

        dumped = tomllib.loads(dump_config(["--config", str(path)], {}))
    finally:
        path.unlink()
    assert set(dumped) == fields, "the example names every key of Config"


def test_the_statefulset_pods_run_as_a_cluster(image, cluster_key, tmp_path):
    """The pod template in Docker: hostnames iamd-0..2 (then iamd-3, a scale-up that joins
    as a learner), each reachable by the DNS name the
    headless Service would give it, the ConfigMap and the Secret mounted where the
    manifest mounts them, the root filesystem read-only, as the manifest's user."""
    sts = one("StatefulSet")
    tmpl = sts["spec"]["template"]["spec"]
    container = tmpl["containers"][0]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    config = config_map_file(tmp_path)
    config.chmod(0o444)
    network = f"iamd-sts-{uuid.uuid4().hex[:8]}"
    names = []
    run("docker", "network", "create", network)
    try:
        def start_pod(ordinal):
            pod, env, args = pod_env(ordinal)
            name = f"{network}-{pod}"
            dns = f"{pod}.{sts['spec']['serviceName']}.{NAMESPACE}.svc.cluster.local"
            env.pop("HOSTNAME")  # Docker sets it from --hostname, as the kubelet does.
            cmd = [
                "docker", "run", "-d", "--name", name, "--network", network,
                "--hostname", pod, "--network-alias", dns,
                "--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
                "--user", f"{tmpl['securityContext']['runAsUser']}:"
                          f"{tmpl['securityContext']['runAsGroup']}",
                "-v", f"{config}:{mounts['config']}:ro",
                "-v", f"{cluster_key}:{env['IAMD_CLUSTER_KEY_FILE']}:ro",
                "-v", f"{name}-data:{mounts['data']}",
            ]
            for key, value in env.items():
                cmd += ["-e", f"{key}={value}"]
            run(*cmd, image, *args)
            return name

        def container_ip(name):
            return run(
                "docker", "inspect", "--format",
                "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", name,
            ).stdout.strip()

        for ordinal in range(sts["spec"]["replicas"]):
            names.append(start_pod(ordinal))
        endpoints = [f"{container_ip(n)}:7300" for n in names]
        for endpoint in endpoints:
            wait_serving(endpoint)
        creds = copy_out(names[0], f"{mounts['data']}/root-credentials", tmp_path / "root")
        for ordinal, endpoint in enumerate(endpoints):
            status = iamctl(endpoint, "cluster", "status", credentials=creds)
            assert status["NodeId"] == ordinal + 1
            pod, env, _ = pod_env(ordinal)
            assert status["Address"] == env["IAMD_ADVERTISE_PEER"]
            assert len(status["Membership"]["Voters"]) == 3
        iamctl(endpoints[2], "iam", "create-user", "--user-name", "pod-writer",
               credentials=creds)
        eventually(
            "the write through iamd-2 on iamd-0",
            lambda: iamctl(endpoints[0], "iam", "get-user", "--user-name", "pod-writer",
                           credentials=creds, check=False).returncode == 0,
        )

        # `kubectl scale --replicas 4`: pod iamd-3 adds itself as a learner and serves.
        names.append(start_pod(3))
        fourth = f"{container_ip(names[3])}:7300"
        wait_serving(fourth)
        status = iamctl(endpoints[0], "cluster", "status", credentials=creds)
        learners = {n["NodeId"]: n["Address"] for n in status["Membership"]["Learners"]}
        assert learners == {4: pod_env(3)[1]["IAMD_ADVERTISE_PEER"]}
        assert len(status["Membership"]["Voters"]) == 3
        got = iamctl(fourth, "iam", "get-user", "--user-name", "pod-writer", credentials=creds)
        assert got["User"]["UserName"] == "pod-writer"
    finally:
        for name in names:
            run("docker", "rm", "-f", name, check=False)
            run("docker", "volume", "rm", "-f", f"{name}-data", check=False)
        run("docker", "network", "rm", network, check=False)
