"""The gateway image: already there, pulled from the registry, or loaded from an archive."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from docker.errors import APIError, DockerException, ImageNotFound

from wizard.core.events import Event, LogLine, Progress
from wizard.install.bundle import ARCHIVE_CHUNK, BUNDLE_MANIFEST, manifest_digest, sha256_file
from wizard.install.docker.engine import DockerBase, Run
from wizard.install.docker.streams import EventQueue, LayerProgress, in_background
from wizard.install.runner import Step, StepFailed
from wizard.tools.docker import ArchiveUnreadable, archive_tags, same_image
from wizard.tools.oserrors import plain_error


class ImageSteps(DockerBase):
    def image_step(self) -> Run[None]:
        yield from self.steps.step("image", f"Get the image {self.spec.image}", self._image)

    def _image(self, step: Step) -> Run[None]:
        try:
            self.client.images.get(self.spec.image)
        except ImageNotFound:
            pass
        else:
            step.skip("already present")
            return
        archive = self.profile.gateway.image_archive
        if archive:
            yield from self.load_archive(self.profile.resolve(archive))
            step.done(f"loaded from {archive}")
        else:
            yield from self._pull()
            step.done("pulled")

    def _pull(self) -> Iterator[Event]:
        repository, tag = self.profile.gateway.image, self.profile.image_tag
        remedies = (
            "Check gateway.image and gateway.tag; for a private registry run docker login first.",
            "On a host without registry access, set gateway.image_archive to a docker save "
            "tarball (aigw-wizard bundle makes one on a connected host).",
        )
        layers = LayerProgress()
        try:
            stream = self.client.api.pull(repository, tag=tag, stream=True, decode=True)
            try:
                for message in stream:
                    self.check_cancel()
                    if "error" in message:
                        said = plain_error(Exception(str(message["error"])))
                        raise StepFailed(f"pulling {self.spec.image} failed: {said}", *remedies, field="gateway.image")
                    if (event := layers.event(message)) is not None:
                        yield event
            finally:
                stream.close()
        except APIError as error:
            said = plain_error(Exception(error.explanation)) if error.explanation else plain_error(error)
            raise StepFailed(f"pulling {self.spec.image} failed: {said}", *remedies, field="gateway.image") from None

    def load_archive(self, archive: Path) -> Iterator[Event]:
        ref = self.spec.image
        remedy = (
            "Point gateway.image_archive at a docker save tarball of "
            f"{ref} (aigw-wizard bundle makes one), or clear it to pull from the registry."
        )
        field = "gateway.image_archive"
        if not archive.is_file():
            raise StepFailed(f"gateway.image_archive: {archive} does not exist or is not a file", remedy, field=field)
        yield from self._verify_checksum(archive)
        try:
            index = archive_tags(archive)  # the very reading the docker.image check makes
        except ArchiveUnreadable as error:
            raise StepFailed(error.message, remedy, field=field) from None
        if not index.is_docker_save:
            raise StepFailed(f"{archive} is not a readable docker save archive (no manifest.json)", remedy, field=field)
        if not index.holds(ref):
            held = ", ".join(sorted(index.tags)) or "no tagged image"
            raise StepFailed(f"{archive} holds {held}, not {ref}", remedy, field=field)
        events = EventQueue()
        size = archive.stat().st_size

        def chunks() -> Iterator[bytes]:
            sent = 0
            with archive.open("rb") as handle:
                while chunk := handle.read(ARCHIVE_CHUNK):
                    if self.cancel.is_set():
                        return  # the engine refuses the cut-off archive: nothing gets tagged
                    sent += len(chunk)
                    events.put(Progress(step="image", key="archive", current=sent, total=size, label=archive.name))
                    yield chunk

        try:
            images = yield from in_background(lambda: self.client.images.load(chunks()), events, self.poll_interval)
        except DockerException as error:
            self.check_cancel()
            raise StepFailed(f"the engine could not load {archive}: {plain_error(error)}", remedy, field=field) from None
        self.check_cancel()
        if not any(same_image(tag, ref) for image in images for tag in image.tags):
            raise StepFailed(f"loading {archive} did not provide {ref}", remedy, field=field)

    def _verify_checksum(self, archive: Path) -> Iterator[Event]:
        """Check the archive against the manifest `bundle` wrote beside it, if there is one."""
        expected = manifest_digest(archive)
        if expected is None:
            return
        yield LogLine(source="wizard", text=f"checking {archive.name} against {BUNDLE_MANIFEST}")
        if sha256_file(archive, self.check_cancel) != expected:
            raise StepFailed(
                f"{archive} does not match its SHA-256 in {BUNDLE_MANIFEST}: the copy is damaged or incomplete",
                "Copy the bundle again from the connected host (or run aigw-wizard bundle there again).",
                field="gateway.image_archive",
            )
