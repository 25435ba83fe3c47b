"""The Helm engine against REAL helm 3 and helm 4 (tests/helm_binaries.py) and the fake cluster.

Every test runs once per pinned helm. The wizard runs through its CLI (``wizard.cli.main``, and
once per run as ``python -m wizard`` in a subprocess); the wizard calls the real ``helm`` first on
PATH. KUBECONFIG points at ``FakeKube(controllers=True)`` (Deployments get ReplicaSets and Ready
pods), helm keeps its repositories and cache in the test's own folder, and charts come from a
repository served on 127.0.0.1 or from a local .tgz (tests/helm_real_support.py). No escape
hatches: helm stores releases in Secrets (the secrets driver) and validates against the fake's
OpenAPI.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.docker_fixtures import StandinImages
from tests.fakekube import FakeKube
from tests.helm_binaries import HELM_PINS, HelmPin, HelmUnavailable, helm_binary, required
from tests.helm_real_support import ChartRepo, helm_run, package_chart, write_chart
from tests.helm_support import HOST, NAME, Tls, make_tls, saved_profile
from tests.kube_fixtures import DOUBLES_DIR, HelmDouble
from wizard.cli import main as cli_main
from wizard.core import spec, store
from wizard.core.profile import Profile

pytestmark = pytest.mark.helm_real

ROOT = Path(__file__).resolve().parent.parent
RELEASE = "ai-gateway"
NAMESPACE = "ai-gateway"


@dataclass(frozen=True)
class RealHelm:
    pin: HelmPin
    binary: Path

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return helm_run(self.binary, *args)

    def json(self, *args: str) -> Any:
        done = self.run(*args)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)


def per_helm() -> pytest.MarkDecorator:
    """Run a test once per pinned helm."""
    params = [pytest.param(pin, id=f"helm{pin.major}") for pin in HELM_PINS]
    return pytest.mark.parametrize("helm_pin", params, indirect=True)


@pytest.fixture(scope="session")
def helm_pin(request: pytest.FixtureRequest) -> HelmPin:
    return request.param


@pytest.fixture(scope="session")
def helm_path(helm_pin: HelmPin) -> Path:
    """The pinned binary, fetched once per machine; skip (or fail under AIGW_REQUIRE_HELM=1)."""
    try:
        return helm_binary(helm_pin)
    except HelmUnavailable as exc:
        if required():
            pytest.fail(f"real helm {helm_pin.version} is required but unavailable: {exc}")
        pytest.skip(f"real helm {helm_pin.version} unavailable: {exc}")


@pytest.fixture
def real_helm(
    helm_pin: HelmPin, helm_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> RealHelm:
    """Real helm first on PATH as ``helm``, its config/cache/data inside the test's folder."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "helm").symlink_to(helm_path)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    for kind in ("CACHE", "CONFIG", "DATA"):
        monkeypatch.setenv(f"HELM_{kind}_HOME", str(tmp_path / "helm-home" / kind.lower()))
    return RealHelm(helm_pin, bin_dir / "helm")


@pytest.fixture
def fake_kube() -> Iterator[FakeKube]:
    """The fake cluster with its controllers on (overrides the kube_fixtures one here)."""
    with FakeKube(controllers=True) as kube:
        kube.add_node("fake-node")
        kube.add_ingress_class("nginx")
        yield kube


@pytest.fixture
def tls(tmp_path: Path) -> Tls:
    return make_tls(tmp_path / "tls")


@pytest.fixture
def repo(real_helm: RealHelm, tmp_path: Path) -> Iterator[ChartRepo]:
    """A chart repository on loopback holding the stand-in chart 0.8.1."""
    with ChartRepo(real_helm.binary, tmp_path / "repo") as served:
        served.publish(write_chart(tmp_path / "charts" / "0.8.1", "0.8.1"))
        yield served


def wizard_process(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``python -m wizard ARGS`` in a subprocess, exactly as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "wizard", *args],
        cwd=ROOT,
        env=dict(os.environ),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


Cli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def wizard(capsys: pytest.CaptureFixture[str]) -> Cli:
    """The same CLI (``wizard.cli.main``: parser, verbs, rendering, exit codes) in this process.

    A subprocess pays ~4 s importing the kubernetes client on every call; the tier runs dozens
    of commands, so only the first apply of one lifecycle test goes through ``wizard_process``.
    """

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        capsys.readouterr()
        code = cli_main(list(args))
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(["aigw-wizard", *args], code, out, err)

    return run


def repo_profile(tls: Tls, repo: ChartRepo, **helm: str) -> Profile:
    return saved_profile(
        tls,
        helm={"repo_url": repo.url, "chart_version": "0.8.1", "timeout": "20s", **helm},
    )


CLUSTER_CHECKS = (
    "helm.binary,helm.version,kube.context,kube.api,kube.nodes,kube.ingress_class,"
    "kube.namespace,kube.tls_secret"
)


def install_by_hand(real_helm: RealHelm, repo: ChartRepo, profile: Profile, folder: Path) -> None:
    """What `apply` leaves behind, done with helm alone (quicker, for tests of status)."""
    values = folder / "by-hand-values.yaml"
    values.write_text(yaml.safe_dump(spec.helm_values(profile)))
    done = real_helm.run(
        "upgrade", "--install", RELEASE, "ai-gateway", "--repo", repo.url, "--version", "0.8.1",
        "-n", NAMESPACE, "--create-namespace", "-f", str(values), "--wait", "--timeout", "20s",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def history(real_helm: RealHelm) -> list[dict[str, Any]]:
    return real_helm.json("history", RELEASE, "-n", NAMESPACE, "-o", "json")


def gateway_pods(fake_kube: FakeKube) -> list[str]:
    selector = f"app.kubernetes.io/name=ai-gateway,app.kubernetes.io/instance={RELEASE}"
    return [p["metadata"]["name"] for p in fake_kube.list("pods", NAMESPACE, selector)]


def deployment(fake_kube: FakeKube) -> dict[str, Any]:
    found = fake_kube.get("deployments", NAMESPACE, f"{RELEASE}-ai-gateway")
    assert found is not None, "the chart's Deployment is not in the cluster"
    return found


@per_helm()
def test_the_cluster_and_helm_checks_pass(
    real_helm: RealHelm, wizard: Cli, kubeconfig: Path, tls: Tls, repo: ChartRepo
) -> None:
    repo_profile(tls, repo)
    out = ok(wizard("check", NAME, "--only", CLUSTER_CHECKS))
    assert f"PASS  helm.version: helm {real_helm.pin.version}" in out
    assert "PASS  kube.api: Kubernetes v1.30.2" in out and "FAIL" not in out


@per_helm()
def test_apply_reapply_status_drift_and_uninstall_from_a_chart_repository(
    real_helm: RealHelm,
    wizard: Cli,
    kubeconfig: Path,
    tls: Tls,
    repo: ChartRepo,
    fake_kube: FakeKube,
) -> None:
    profile = repo_profile(tls, repo)
    # Once per run as a real process (PATH, KUBECONFIG, HELM_* inherited); in-process after.
    first_apply = wizard_process if real_helm.pin == HELM_PINS[-1] else wizard
    out = ok(first_apply("apply", NAME, "--yes", "--skip-checks"))
    assert "OK: release ai-gateway deployed" in out
    [first] = history(real_helm)
    assert (first["status"], first["chart"], first["app_version"]) == (
        "deployed",
        "ai-gateway-0.8.1",
        "v1.0.0",
    )
    # What helm stored is exactly the wizard's values file, and the chart rendered it.
    deployed_values = real_helm.json("get", "values", RELEASE, "-n", NAMESPACE, "-o", "json")
    assert deployed_values == spec.helm_values(profile)
    [container] = deployment(fake_kube)["spec"]["template"]["spec"]["containers"]
    assert container["image"] == f"{profile.gateway.image}:{profile.image_tag}"
    ingress = fake_kube.get("ingresses", NAMESPACE, f"{RELEASE}-ai-gateway")
    assert ingress is not None and ingress["spec"]["rules"][0]["host"] == HOST
    assert ingress["spec"]["tls"][0]["secretName"] == profile.helm.tls_secret
    [pod] = gateway_pods(fake_kube)
    assert f"OK: {pod}" in out  # the wizard's own pod watch saw the pod helm waited for

    # Re-apply: nothing changes in the cluster (same pod, same Deployment generation), though
    # `helm upgrade` still records a revision.
    generation = deployment(fake_kube)["metadata"]["generation"]
    again = ok(wizard("apply", NAME, "--yes", "--skip-checks"))
    assert "TLS secret ai-gateway-tls\n    SKIPPED: unchanged" in again
    assert gateway_pods(fake_kube) == [pod]
    assert deployment(fake_kube)["metadata"]["generation"] == generation
    assert history(real_helm)[-1]["status"] == "deployed"

    status = json.loads(ok(wizard("status", NAME, "--json")))
    assert (status["installed"], status["state"], status["healthy"]) == (True, "deployed", True)
    assert status["drift"] == [] and status["details"]["pods"].startswith("1/1 ready")

    # Drift: someone changes the release by hand; status names the value and both sides.
    by_hand = real_helm.run(
        "upgrade", RELEASE, "ai-gateway/ai-gateway", "-n", NAMESPACE, "--version", "0.8.1",
        "--reuse-values", "--set", "image.tag=by-hand", "--wait", "--timeout", "20s",
    )  # fmt: skip
    assert by_hand.returncode == 0, by_hand.stderr
    drifted = wizard("status", NAME, "--json")
    assert drifted.returncode == 1, drifted.stderr  # drift is not "all well"
    drift = json.loads(drifted.stdout)["drift"]
    assert [(d["field"], d["profile"], d["actual"]) for d in drift] == [
        ("image.tag", profile.image_tag, "by-hand")
    ]

    removed = ok(wizard("uninstall", NAME, "--yes", "--purge"))
    assert "namespace ai-gateway deleted" in removed
    assert real_helm.json("list", "-A", "-o", "json") == []
    assert fake_kube.get("namespaces", None, NAMESPACE) is None
    assert fake_kube.list("pods", NAMESPACE) == [] and fake_kube.list("replicasets") == []


@per_helm()
def test_a_failed_upgrade_is_rolled_back_by_helm(
    real_helm: RealHelm, wizard: Cli, kubeconfig: Path, tls: Tls, repo: ChartRepo, fake_kube: FakeKube,
    tmp_path: Path,
) -> None:  # fmt: skip
    repo_profile(tls, repo)
    ok(wizard("apply", NAME, "--yes", "--skip-checks"))
    [pod] = gateway_pods(fake_kube)
    repo.publish(write_chart(tmp_path / "charts" / "0.8.2", "0.8.2", ready=False))
    repo_profile(tls, repo, chart_version="0.8.2", timeout="2s")

    failed = wizard("apply", NAME, "--yes", "--skip-checks")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "helm upgrade --install ai-gateway failed" in failed.stdout
    revisions = history(real_helm)
    assert [r["status"] for r in revisions] == ["superseded", "failed", "deployed"]
    assert revisions[-1]["chart"] == "ai-gateway-0.8.1"
    assert "Rollback to 1" in revisions[-1]["description"]
    # The rolled-back Deployment runs the first pod template again, Ready.
    assert deployment(fake_kube)["status"]["readyReplicas"] == 1
    assert len(gateway_pods(fake_kube)) == 1 and gateway_pods(fake_kube) != [pod]


@per_helm()
def test_the_wizard_says_helm_rolled_the_release_back(
    real_helm: RealHelm, wizard: Cli, kubeconfig: Path, tls: Tls, repo: ChartRepo, tmp_path: Path
) -> None:
    install_by_hand(real_helm, repo, repo_profile(tls, repo), tmp_path)
    repo.publish(write_chart(tmp_path / "charts" / "0.8.2", "0.8.2", ready=False))
    repo_profile(tls, repo, chart_version="0.8.2", timeout="2s")
    failed = wizard("apply", NAME, "--yes", "--skip-checks")
    assert failed.returncode == 1
    assert "Helm rolled the release back" in failed.stdout


@per_helm()
def test_a_local_chart_archive_installs_without_any_repository(
    real_helm: RealHelm,
    wizard: Cli,
    kubeconfig: Path,
    tls: Tls,
    fake_kube: FakeKube,
    tmp_path: Path,
) -> None:
    tgz = package_chart(real_helm.binary, write_chart(tmp_path / "src"), tmp_path / "local")
    saved_profile(tls, helm={"chart": str(tgz), "timeout": "20s"})
    out = ok(wizard("apply", NAME, "--yes", "--skip-checks"))
    assert "Helm repository" not in out
    assert "no repositories" in real_helm.run("repo", "list").stderr
    [release] = real_helm.json("list", "-n", NAMESPACE, "-o", "json")
    assert (release["status"], release["chart"]) == ("deployed", "ai-gateway-0.8.1")
    assert len(gateway_pods(fake_kube)) == 1
    shown = json.loads(ok(wizard("status", NAME, "--json")))
    assert shown["healthy"] is True and shown["drift"] == []


@per_helm()
def test_status_shows_the_real_chart_version(
    real_helm: RealHelm, wizard: Cli, kubeconfig: Path, tls: Tls, repo: ChartRepo, tmp_path: Path
) -> None:
    install_by_hand(real_helm, repo, repo_profile(tls, repo), tmp_path)
    assert "chart: ai-gateway-0.8.1" in ok(wizard("status", NAME))


@per_helm()
def test_apply_prints_no_deprecation_warning(
    real_helm: RealHelm, wizard: Cli, kubeconfig: Path, tls: Tls, repo: ChartRepo
) -> None:
    repo_profile(tls, repo)
    done = wizard("apply", NAME, "--yes", "--skip-checks")
    out = ok(done)
    assert "deprecated" not in (out + done.stderr).lower()


@per_helm()
def test_the_planned_repo_add_survives_a_changed_repository_url(
    real_helm: RealHelm, wizard: Cli, tls: Tls, repo: ChartRepo
) -> None:
    """Running plan's `helm repo add` line by hand, twice, with the URL changed in between."""

    def planned_repo_add() -> list[str]:
        plan = ok(wizard("plan", NAME))
        [line] = [ln for ln in plan.splitlines() if ln.startswith("helm repo add ")]
        return shlex.split(line)[1:]

    repo_profile(tls, repo)
    first = real_helm.run(*planned_repo_add())
    assert first.returncode == 0, first.stderr
    repo_profile(tls, repo, repo_url=repo.url.replace("127.0.0.1", "localhost"))
    second = real_helm.run(*planned_repo_add())
    assert second.returncode == 0, second.stderr


# --- render check: every value the wizard writes is one the chart uses -------------------------


def render(real_helm: RealHelm, chart: Path, values: dict[str, Any], folder: Path) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    values_file = folder / f"values-{len(list(folder.iterdir()))}.yaml"
    values_file.write_text(yaml.safe_dump(values))
    done = real_helm.run("template", RELEASE, str(chart), "-n", NAMESPACE, "-f", str(values_file))
    assert done.returncode == 0, done.stderr
    return done.stdout


def leaves(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """Paths of every scalar in a values tree (dict keys and list indexes)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaves(item, (*path, index))
    else:
        yield path


def without(values: dict[str, Any], path: tuple[str | int, ...]) -> dict[str, Any]:
    pruned = copy.deepcopy(values)
    parent: Any = pruned
    for part in path[:-1]:
        parent = parent[part]
    del parent[path[-1]]
    return pruned


@per_helm()
def test_every_value_the_wizard_writes_lands_in_the_rendered_chart(
    real_helm: RealHelm, tls: Tls, tmp_path: Path
) -> None:
    profile = saved_profile(
        tls,
        gitlab={"url": "https://gitlab.test", "api_url": "https://gitlab-api.test/api/v4/"},
        gateway={
            "hostname": HOST,
            "image": "registry.test/aigw/model-gateway",
            "tag": "v9.9.9",
            "ca_bundle": str(tls.cert),
            "auth_bypass": True,
            "extra_env": {"AIGW_LOGGING__LEVEL": "debug"},
        },
    )
    values = spec.helm_values(profile)
    chart = write_chart(tmp_path / "chart")
    baseline = render(real_helm, chart, values, tmp_path / "values")
    docs = {doc["kind"]: doc for doc in yaml.safe_load_all(baseline) if doc}

    pod = docs["Deployment"]["spec"]["template"]["spec"]
    [container] = pod["containers"]
    env = {item["name"]: item["value"] for item in container["env"]}
    assert container["image"] == "registry.test/aigw/model-gateway:v9.9.9"
    assert env["AIGW_GITLAB_URL"] == "https://gitlab.test"
    assert env["AIGW_GITLAB_API_URL"] == "https://gitlab-api.test/api/v4/"
    assert env["AIGW_AUTH__BYPASS_EXTERNAL"] == "true"
    assert env["AIGW_LOGGING__LEVEL"] == "debug"
    assert env["SSL_CERT_FILE"] == env["REQUESTS_CA_BUNDLE"] == spec.CA_BUNDLE_MOUNT
    assert (
        pod["volumes"] == values["volumes"] and container["volumeMounts"] == values["volumeMounts"]
    )
    ingress = docs["Ingress"]["spec"]
    assert ingress["ingressClassName"] == profile.helm.ingress_class
    assert ingress["tls"] == [{"secretName": profile.helm.tls_secret, "hosts": [HOST]}]
    [rule] = ingress["rules"]
    assert rule["host"] == HOST
    assert [(p["path"], p["pathType"]) for p in rule["http"]["paths"]] == [
        ("/", "ImplementationSpecific")
    ]

    # None silently ignored: taking away any one value changes what the chart renders.
    ignored = [
        ".".join(map(str, path))
        for path in leaves(values)
        if render(real_helm, chart, without(values, path), tmp_path / "values") == baseline
    ]
    assert ignored == [], f"values the chart does not use: {ignored}"


# --- the recording double answers in real helm's shapes ----------------------------------------


def shape(value: Any) -> Any:
    """Keys and JSON types of a document, values left out (lists by their first item)."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def release_shape(document: Any) -> Any:
    """``shape``, with helm 4's ``info.resources`` (cluster objects) cut to their top-level keys."""
    if isinstance(document, dict) and "resources" in document.get("info", {}):
        resources = document["info"]["resources"]
        document = copy.deepcopy(document)
        document["info"]["resources"] = {
            kind: [sorted(obj) for obj in objects] for kind, objects in resources.items()
        }
    return shape(document)


def build_info_keys(text: str) -> list[str]:
    return re.findall(r"(\w+):\"", text)


@per_helm()
def test_the_helm_double_answers_in_the_shapes_of_real_helm(
    real_helm: RealHelm, kubeconfig: Path, helm_double: HelmDouble, tmp_path: Path
) -> None:
    helm_double.set_scenario(version=real_helm.pin.version)
    chart = write_chart(tmp_path / "chart")
    values = tmp_path / "values.yaml"
    values.write_text(yaml.safe_dump({"image": {"tag": "v9.9.9"}}))
    double_env = {k: v for k, v in os.environ.items() if k != "FAKE_KUBE_URL"}

    def both(*args: str) -> tuple[str, str]:
        real = real_helm.run(*args)
        double = subprocess.run(
            [str(DOUBLES_DIR / "helm"), *args], env=double_env, stdin=subprocess.DEVNULL,
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        assert real.returncode == double.returncode == 0, real.stderr + double.stderr
        return real.stdout, double.stdout

    release = (RELEASE, "-n", NAMESPACE)
    for _ in range(2):  # two revisions, so history has a superseded row
        both("upgrade", "--install", *release, str(chart), "--create-namespace", "-f", str(values))
    for query in (("status", *release), ("history", *release), ("list", "-n", NAMESPACE)):
        real, double = both(*query, "-o", "json")
        assert release_shape(json.loads(double)) == release_shape(json.loads(real)), query
    real_history, double_history = both("history", *release, "--max", "1", "-o", "json")
    assert [r["revision"] for r in json.loads(double_history)] == [2]
    assert shape(json.loads(double_history)) == shape(json.loads(real_history))
    real, double = both("version")
    assert build_info_keys(double) == build_info_keys(real)
    real, double = both("version", "--short")
    assert re.fullmatch(r"v\d+\.\d+\.\d+\+g[0-9a-f]{7}\n", double) and re.fullmatch(
        r"v\d+\.\d+\.\d+\+g[0-9a-f]{7}\n", real
    )


# --- bundle: `helm pull` from the loopback repository -----------------------------------------


def standin_gateway(images: StandinImages) -> dict[str, str]:
    return {"hostname": HOST, "image": images.repository, "tag": images.tags["healthy"]}


@pytest.mark.docker
@per_helm()
def test_bundle_pulls_the_chart_from_the_repository(
    real_helm: RealHelm, wizard: Cli, tls: Tls, repo: ChartRepo, standin_images: StandinImages,
    tmp_path: Path,
) -> None:  # fmt: skip
    saved_profile(
        tls,
        gateway=standin_gateway(standin_images),
        helm={"repo_url": repo.url, "chart_version": "0.8.1"},
    )
    folder = tmp_path / "bundle"
    ok(wizard("bundle", NAME, str(folder)))
    published = (repo.folder / "ai-gateway-0.8.1.tgz").read_bytes()
    assert (folder / "ai-gateway-0.8.1.tgz").read_bytes() == published  # what helm pull fetched
    manifest = json.loads((folder / "manifest.json").read_text())
    listed = {entry["name"]: entry["sha256"] for entry in manifest["files"]}
    assert listed["ai-gateway-0.8.1.tgz"] == hashlib.sha256(published).hexdigest()
    # The bundled profile installs from the pulled archive with real helm, no repository needed.
    bundled = store.load(folder / f"{NAME}.toml")
    assert bundled.helm.local_chart
    done = real_helm.run("show", "chart", str(folder / Path(bundled.helm.chart).name))
    assert done.returncode == 0 and "version: 0.8.1" in done.stdout, done.stderr


@pytest.mark.docker
@per_helm()
def test_bundle_packages_a_chart_directory(
    real_helm: RealHelm, wizard: Cli, tls: Tls, standin_images: StandinImages, tmp_path: Path
) -> None:
    chart_dir = write_chart(tmp_path / "src", "0.8.3")
    saved_profile(tls, gateway=standin_gateway(standin_images), helm={"chart": str(chart_dir)})
    folder = tmp_path / "bundle"
    ok(wizard("bundle", NAME, str(folder)))
    bundled = store.load(folder / f"{NAME}.toml")
    done = real_helm.run("show", "chart", str(folder / Path(bundled.helm.chart).name))
    assert done.returncode == 0 and "version: 0.8.3" in done.stdout, done.stderr




@per_helm()
def test_status_counts_only_the_gateway_pods_of_the_release(
    real_helm: RealHelm, wizard: Cli, kubeconfig: Path, tls: Tls, repo: ChartRepo,
    fake_kube: FakeKube, tmp_path: Path,
) -> None:  # fmt: skip
    """Another chart's pod in the same release (a subchart, say) is not the gateway."""
    install_by_hand(real_helm, repo, repo_profile(tls, repo), tmp_path)
    fake_kube.set_pod_phase(
        NAMESPACE, "ai-gateway-redis-0", "Pending", False,
        labels={"app.kubernetes.io/name": "redis", "app.kubernetes.io/instance": RELEASE},
    )  # fmt: skip
    shown = json.loads(ok(wizard("status", NAME, "--json")))
    assert shown["healthy"] is True and shown["details"]["pods"].startswith("1/1 ready")


@per_helm()
def test_the_planned_wait_selects_the_gateway_pods_by_name_and_instance(
    real_helm: RealHelm, wizard: Cli, tls: Tls, repo: ChartRepo
) -> None:
    repo_profile(tls, repo)
    plan = ok(wizard("plan", NAME))
    wait = plan[plan.index("kubectl wait") :].split("\n\n")[0]
    assert f"app.kubernetes.io/instance={RELEASE}" in wait
    assert "app.kubernetes.io/name=ai-gateway" in wait
