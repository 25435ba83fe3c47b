"""The Docker engine: image, container, health, upgrade with rollback, status, uninstall, bundle.

Everything goes through the docker SDK (never the docker CLI) and follows the one container
definition in `wizard.core.spec`, so `plan` shows exactly what `apply` does. The only network
access besides the engine is the registry pull and the health check on 127.0.0.1.

Only containers carrying our managed label for this very profile are ever touched. Each
verb is a body on the one step runner (`wizard.install.runner`); the parts live beside
this module: `engine` (client, our containers), `lifecycle` (start, health, rollback),
`image` (pull, load, checksum), `status` (status, drift), `streams` (logs, progress).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from docker.errors import APIError, ImageNotFound

from wizard.core import store
from wizard.core.events import Event, LogLine, Result
from wizard.install import gitlab_side
from wizard.install.base import AUTH_BYPASS_WARNING, StatusReport
from wizard.install.bundle import (
    BUNDLE_MANIFEST,
    archive_name,
    bundled_profile,
    save_image,
    write_manifest,
)
from wizard.install.docker.engine import PREVIOUS_SUFFIX, Run
from wizard.install.docker.image import ImageSteps
from wizard.install.docker.lifecycle import Lifecycle, last_exit_code
from wizard.install.docker.status import StatusReader
from wizard.install.runner import Step, StepFailed
from wizard.tools.docker import EngineUnreachable
from wizard.tools.oserrors import plain_error

__all__ = ["BUNDLE_MANIFEST", "PREVIOUS_SUFFIX", "DockerInstaller", "last_exit_code"]


class DockerInstaller(ImageSteps, Lifecycle, StatusReader):
    """Runs the gateway as one Docker container, as `wizard.core.spec.container_spec` defines it."""

    # --- the verbs ----------------------------------------------------------------------------

    def apply(self) -> Iterator[Event]:
        return self.steps.run(self._apply(), cleanup=self.close)

    def uninstall(self, *, remove_image: bool = False, purge: bool = False) -> Iterator[Event]:
        return self.steps.run(self._uninstall(remove_image, purge), cleanup=self.close)

    def bundle(self, directory: Path) -> Iterator[Event]:
        return self.steps.run(self._bundle(directory), cleanup=self.close)

    def status(self) -> StatusReport:
        try:
            self.connect()
            with self.quick():
                return self.read_status()
        except Exception as error:  # unreachable, hung (timed out), or refusing: one line
            failure = error if isinstance(error, EngineUnreachable) else self.steps.failure(error)
            return StatusReport(
                installed=False,
                state=f"unknown: {failure.message}",
                details={"what to do": failure.remedies[0]} if failure.remedies else {},
                problems=[failure.message],
            )
        finally:
            self.close()

    def _succeeded(self, summary: str, *, changed: bool) -> Result:
        return Result(
            ok=True,
            summary=summary,
            urls=gitlab_side.addresses(self.profile),
            remedies=gitlab_side.remedies(self.profile, self.profile_name),
            changed=changed,
        )

    # --- apply --------------------------------------------------------------------------------

    def _apply(self) -> Run[Result]:
        if self.profile.gateway.auth_bypass:
            yield LogLine(source="wizard", text=AUTH_BYPASS_WARNING, level="warning")
        if self.spec.ca_bundle and not Path(self.spec.ca_bundle).is_file():
            raise StepFailed(
                f"gateway.ca_bundle: {self.spec.ca_bundle} does not exist or is not a file",
                "Point gateway.ca_bundle at the PEM bundle of the CA that signed GitLab's certificate.",
                field="gateway.ca_bundle",
            )
        yield from self.connect_step()
        current, recovered = yield from self.steps.step(
            "existing", f"Look for an existing {self.spec.name} container", self.survey
        )
        if (
            current is not None
            and self.matches(current)
            and current.status == "running"
            and not (yield from self.archive_replaces(current))
        ):

            def check_running(step: Step) -> Run[bool]:
                healthy = yield from self.becomes_healthy(current)
                step.done(*((f"{self.health_url} answers",) if healthy else ("not healthy: it will be replaced", "failed")))
                return healthy

            if (yield from self.steps.step("health", "Check the running gateway", check_running)):
                state = f"{self.spec.name} is running, healthy and matches the profile"
                summary = f"{recovered}; {state}" if recovered else f"already up to date: {state}"
                return self._succeeded(summary, changed=bool(recovered))

        def port(step: Step) -> Run[None]:
            agent = self.check_agent_platform_port(current)  # 18.0+: its host port too
            step.done(self.check_port(current) + (f"; {agent}" if agent else ""))
            yield from ()

        yield from self.steps.step("port", f"Check that host port {self.spec.host_port} is free", port)
        yield from self.image_step()
        summary = yield from self.replace(current)
        return self._succeeded(summary, changed=True)

    # --- uninstall ----------------------------------------------------------------------------

    def _uninstall(self, remove_image: bool, purge: bool) -> Run[Result]:
        yield from self.connect_step()

        def containers(step: Step) -> Run[list[str]]:
            removed = []
            for name in (self.spec.name, self.previous_name):
                container = self.ours(name)
                if container is not None:
                    container.remove(force=True, v=True)
                    removed.append(name)
            step.done(", ".join(removed) or "no container to remove", "ok" if removed else "skipped")
            yield from ()
            return removed

        def image(step: Step) -> Run[bool]:
            try:
                self.client.images.remove(self.spec.image)
            except ImageNotFound:
                step.skip("not present")
                return False
            except APIError as error:
                if error.status_code != 409:
                    raise
                raise StepFailed(
                    f"the image {self.spec.image} is still used by other containers ({plain_error(Exception(error.explanation or ''))})",
                    "Remove those containers first, or uninstall without --remove-image.",
                ) from None
            step.done("removed")
            yield from ()
            return True

        removed = yield from self.steps.step("container", f"Remove the container {self.spec.name}", containers)
        image_removed = False
        if remove_image:
            image_removed = yield from self.steps.step("image", f"Remove the image {self.spec.image}", image)
        if purge:
            yield LogLine(source="wizard", text="--purge only applies to Helm installs: nothing more to remove")
        done = removed + ([self.spec.image] if image_removed else [])
        summary = f"removed {', '.join(done)}" if done else "nothing to remove: the gateway was not installed"
        return Result(ok=True, summary=summary, changed=bool(done))

    # --- bundle -------------------------------------------------------------------------------

    def _bundle(self, directory: Path) -> Run[Result]:
        yield from self.connect_step()
        yield from self.image_step()
        archive = directory / archive_name(self.profile.gateway.image, self.profile.image_tag)

        def save(step: Step) -> Run[None]:
            try:
                directory.mkdir(parents=True, exist_ok=True)
                written = yield from save_image(self.client, self.spec.image, archive, self.check_cancel, "save")
            except OSError as error:
                raise StepFailed(
                    f"cannot write the bundle into {directory}: {plain_error(error)}",
                    "Choose a folder this user can write to.",
                ) from None
            step.done(f"{archive.name}, {written / 2**20:.1f} MiB")

        def write_profile(step: Step) -> Run[Path]:
            bundled, copied = bundled_profile(self.profile, directory, archive.name)
            try:
                profile_path = store.save(bundled, directory / f"{self.profile_name}.toml")
            except store.ProfileError as error:
                raise StepFailed(str(error), "Remove that file, or bundle into another folder.") from None
            files = [archive, *copied, profile_path]
            manifest = write_manifest(directory, self.spec.image, files)
            step.done(", ".join(path.name for path in [*files, manifest]))
            yield from ()
            return profile_path

        yield from self.steps.step("save", f"Save {self.spec.image} into {directory}", save)
        profile_path = yield from self.steps.step("profile", "Write the profile and the SHA-256 manifest", write_profile)
        return Result(
            ok=True,
            summary=f"bundle for {self.profile_name} written to {directory}",
            remedies=(
                f"Copy {directory} to the air-gapped host, then run there: "
                f"aigw-wizard apply {directory.name}/{profile_path.name} --yes",
            ),
        )
