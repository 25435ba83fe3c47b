"""What `bundle` needs from the Helm engine: the chart as a .tgz, and the gateway image saved."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Generator
from pathlib import Path

from wizard.core.events import Event, LogLine
from wizard.core.profile import Profile
from wizard.install.bundle import save_image
from wizard.install.helm.release import add_repo, helm_ok
from wizard.install.runner import StepRunner
from wizard.tools.helm import HelmCommands, HelmError


def chart_needs_helm(profile: Profile) -> bool:
    """A local .tgz is copied as it is; a chart directory is packaged, a remote chart pulled."""
    helm = profile.helm
    return not helm.local_chart or profile.resolve(helm.chart).is_dir()


def fetch_chart(
    runner: StepRunner, commands: HelmCommands, directory: Path
) -> Generator[Event, None, Path]:
    """The chart .tgz in `directory`: copied when a local archive, packaged when a directory,
    else `helm pull`ed."""
    profile = commands.profile
    helm = profile.helm
    if helm.local_chart:
        source = profile.resolve(helm.chart)
        if not source.is_dir():
            try:
                return Path(shutil.copy(source, directory))
            except OSError as error:
                raise HelmError(
                    f"helm.chart: cannot copy {source}: {error.strerror}", "check helm.chart", "helm.chart"
                ) from None
    elif helm.repo_name:
        yield from add_repo(runner, commands)
    with tempfile.TemporaryDirectory(prefix="aigw-chart-") as made:
        if helm.local_chart:
            argv = commands.package(str(profile.resolve(helm.chart)), made)
            what, remedy = "cannot package the chart directory", "check that helm.chart is a chart (Chart.yaml)"
        else:
            argv = commands.pull(made)
            what, remedy = "cannot download the chart", "check helm.chart and helm.chart_version"
        yield from helm_ok(runner, argv, what, remedy)
        found = sorted(Path(made).glob("*.tgz"))
        if not found:
            raise HelmError(f"helm wrote no chart archive for {helm.chart}", remedy, "helm.chart")
        return Path(shutil.move(found[0], directory / found[0].name))


def save_image_pulling(runner: StepRunner, ref: str, target: Path) -> Generator[Event, None, None]:
    """Pull `ref` when this host lacks it, then save it like the Docker engine's bundle does."""
    import docker
    from docker.errors import DockerException, ImageNotFound

    try:
        client = docker.from_env()
    except DockerException as error:
        raise HelmError(
            f"cannot save {ref}: {error}",
            "start the Docker engine (or fix access to it) on this host",
        ) from None
    try:
        try:
            client.images.get(ref)
        except ImageNotFound:
            yield LogLine("docker", f"pulling {ref}")
            repository, _, tag = ref.rpartition(":")
            client.images.pull(repository, tag=tag)
        yield from save_image(client, ref, target, runner.check_cancel, "image")
    except DockerException as error:
        raise HelmError(
            f"cannot save {ref}: {error}", "check that the image exists and the engine has room"
        ) from None
    finally:
        client.close()
