"""The gateway image: already there, pulled from the registry, or loaded from an archive."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from docker.errors import APIError, DockerException, ImageNotFound
from docker.models.containers import Container
from docker.models.images import Image

from wizard.core.events import Event, LogLine, Progress
from wizard.install.bundle import ARCHIVE_CHUNK, BUNDLE_MANIFEST, manifest_digest, sha256_file
from wizard.install.docker.engine import DockerBase, Run
from wizard.install.docker.streams import EventQueue, LayerProgress, in_background
from wizard.install.runner import Step, StepFailed
from wizard.tools.archive import ArchiveError, ArchiveIndex, is_compressed, read_archive
from wizard.tools.docker import loaded_from_reply, same_image
from wizard.tools.oserrors import plain_error


class ImageSteps(DockerBase):
    def image_step(self) -> Run[None]:
        yield from self.steps.step("image", f"Get the image {self.spec.image}", self._image)

    def _image(self, step: Step) -> Run[None]:
        try:
            local: Image | None = self.client.images.get(self.spec.image)
        except ImageNotFound:
            local = None
        archive = self.profile.gateway.image_archive
        if local is not None:
            if not archive or not (yield from self._archive_is_another_build(self.profile.resolve(archive), local)):
                step.skip("already present")
                return
        if archive:
            yield from self.load_archive(self.profile.resolve(archive))
            step.done(f"loaded from {archive}")
        else:
            yield from self._pull()
            step.done("pulled")

    def archive_replaces(self, container: Container) -> Run[bool]:
        """Whether the profile's archive holds another build than the running container's image."""
        archive = self.profile.gateway.image_archive
        if not archive:
            return False
        try:
            image = self.client.images.get(str(container.attrs.get("Image") or ""))
        except (ImageNotFound, APIError):
            return False
        return (yield from self._archive_is_another_build(self.profile.resolve(archive), image))

    def _archive_is_another_build(self, archive: Path, local: Image) -> Run[bool]:
        """Whether the archive holds another build of the tag than the engine has (then it is loaded).

        A plain tarball's image id costs a few header reads. A compressed one must be inflated
        to its end for it, so that is done only when the file changed after the engine last
        tagged the image (a rebuilt, re-copied archive); an unreadable archive is left to the
        engine only when the image is missing, so here it means "keep what is there".
        """
        try:
            compressed = is_compressed(archive)
            if compressed and archive.stat().st_mtime <= tagged_at(local):
                return False
            if compressed:
                yield LogLine(source="wizard", text=f"reading {archive.name} for its image id (it is newer than the engine's image)")
            index = read_archive(archive, inflate=True)
        except (OSError, ArchiveError):
            return False
        if not index.image_ids or local.id in index.image_ids or not index.holds(self.spec.image):
            return False
        theirs = ", ".join(sorted(found.removeprefix("sha256:")[:12] for found in index.image_ids))
        yield LogLine(
            source="wizard",
            text=f"{archive.name} holds another build of {self.spec.image} ({theirs}) than the engine's ({local.short_id.removeprefix('sha256:')}): loading it",
        )
        return True

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
                    yield from layers.events(message)
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
            # A plain tarball's tags cost a few header reads: a wrong archive fails before
            # loading. A compressed one is not inflated for that: the engine names what it loaded.
            index = None if is_compressed(archive) else read_archive(archive)
        except ArchiveError as error:
            raise StepFailed(error.message, remedy, field=field) from None
        except OSError as error:
            raise StepFailed(f"cannot read {archive}: {plain_error(error)}", remedy, field=field) from None
        if index is not None:
            _refuse_wrong_archive(index, archive, ref, remedy, field)
        events = EventQueue()
        size = archive.stat().st_size

        def chunks() -> Iterator[bytes]:
            sent = reported = 0
            every = max(size // 100, ARCHIVE_CHUNK)  # a Progress event (each journalled) per percent
            with archive.open("rb") as handle:
                while chunk := handle.read(ARCHIVE_CHUNK):
                    if self.cancel.is_set():
                        return  # the engine refuses the cut-off archive: nothing gets tagged
                    sent += len(chunk)
                    if sent - reported >= every or sent == size:
                        reported = sent
                        events.put(Progress(step="image", key="archive", current=sent, total=size, label=archive.name))
                    yield chunk

        def load() -> tuple[set[str], set[str]]:
            return loaded_from_reply(self.client.api.load_image(chunks()))

        try:
            tags, _ids = yield from in_background(load, events, self.poll_interval)
        except DockerException as error:
            self.check_cancel()
            raise StepFailed(f"the engine could not load {archive}: {plain_error(error)}", remedy, field=field) from None
        self.check_cancel()
        if not any(same_image(tag, ref) for tag in tags):
            held = f" (it held {', '.join(sorted(tags))})" if tags else " (it held no tagged image)"
            raise StepFailed(f"loading {archive} did not provide {ref}{held}", remedy, field=field)

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


def _refuse_wrong_archive(index: ArchiveIndex, archive: Path, ref: str, remedy: str, field: str) -> None:
    if not index.is_docker_save:
        raise StepFailed(f"{archive} is not a readable docker save archive (no manifest.json)", remedy, field=field)
    if not index.holds(ref):
        held = ", ".join(sorted(index.tags)) or "no tagged image"
        raise StepFailed(f"{archive} holds {held}, not {ref}", remedy, field=field)


_STAMP = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)?")


def tagged_at(image: Image) -> float:
    """When the engine last tagged `image` (epoch seconds), 0 when it does not say."""
    stamp = str((image.attrs.get("Metadata") or {}).get("LastTagTime") or "")
    match = _STAMP.match(stamp)
    if match is None or stamp.startswith("0001-"):
        return 0.0
    fraction = (match[2] or ".0")[:7]
    zone = match[3] or "Z"
    try:
        return datetime.fromisoformat(match[1] + fraction + ("+00:00" if zone == "Z" else zone)).timestamp()
    except ValueError:
        return 0.0
