"""The one reader of `docker save` archives (`wizard.tools.archive`): a plain tarball by
seeking, a compressed one inflated only when asked and then once, in one bounded forward
pass; hostile archives refused in one line. Synthetic archives, built here; no engine."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import threading
from pathlib import Path
from typing import IO, Any

import pytest

from tests.factories import docker_profile
from wizard.tools import archive as archives
from wizard.tools import tags
from wizard.tools.archive import ArchiveError, read_archive, saved_images
from wizard.tools.registry import Platform

STANDIN = "aigw-test/model-gateway"
TAG = "self-hosted-v17.5.0-ee"
CONFIG_HEX = "ab" * 32
OTHER_HEX = "cd" * 32
ARM = {"architecture": "arm64", "os": "linux", "variant": "v8"}


# --- building archives --------------------------------------------------------------------------


def _info(name: str, size: int = 0, kind: bytes = tarfile.REGTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.type = size, kind
    return info


def write_tar(path: Path, members: list[tuple[str, bytes | tarfile.TarInfo]], mode: str = "w") -> Path:
    """A tar (`mode` "w:gz" etc. to compress) of (name, data) or ready TarInfo members, in order."""
    with tarfile.open(path, mode) as tar:
        for name, data in members:
            if isinstance(data, tarfile.TarInfo):
                tar.addfile(data)
            else:
                tar.addfile(_info(name, len(data)), io.BytesIO(data))
    return path


def _json(data: Any) -> bytes:
    return json.dumps(data).encode()


def save_archive(path: Path, tags: list[str]) -> Path:
    """docker save before 25: only a manifest.json (its config not in the archive)."""
    return write_tar(path, [("manifest.json", _json([{"Config": "c.json", "RepoTags": tags, "Layers": []}]))])


def oci_save(path: Path, *, mode: str = "w", config_first: bool = True) -> Path:
    """A Docker >= 25 save: blobs/sha256/<hex> blobs, manifest.json, index.json, repositories."""
    config = (f"blobs/sha256/{CONFIG_HEX}", _json(ARM))
    members = [
        *([config] if config_first else []),
        (f"blobs/sha256/{OTHER_HEX}", b"\0" * 4096),  # a layer
        ("manifest.json", _json([{"Config": config[0], "RepoTags": [f"{STANDIN}:{TAG}"], "Layers": [f"blobs/sha256/{OTHER_HEX}"]}])),
        ("index.json", _json({"manifests": [{"digest": f"sha256:{OTHER_HEX}", "annotations": {"io.containerd.image.name": f"docker.io/{STANDIN}:{TAG}"}}]})),
        ("repositories", _json({STANDIN: {TAG: CONFIG_HEX}})),
        *([] if config_first else [config]),
    ]
    return write_tar(path, members, mode)


class Counting:
    """Counts what is read from each stream `wizard.tools.archive._inflating` opens."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.opened = 0
        self.inflated = 0
        real = archives._inflating
        counter = self

        class Wrapped(io.RawIOBase):
            def __init__(self, inner: IO[bytes]) -> None:
                self.inner = inner

            def readable(self) -> bool:
                return True

            def read(self, size: int = -1) -> bytes:
                data = self.inner.read(size)
                counter.inflated += len(data)
                return data

            def close(self) -> None:
                self.inner.close()
                super().close()

        def inflating(path: Path) -> IO[bytes] | None:
            stream = real(path)
            if stream is None:
                return None
            self.opened += 1
            return Wrapped(stream)  # type: ignore[return-value]

        monkeypatch.setattr(archives, "_inflating", inflating)


def _profile(archive: Path) -> Any:
    return docker_profile(gitlab={"version": "17.5.0"}, gateway={"image": STANDIN, "image_archive": str(archive)})


# --- plain tarballs ---------------------------------------------------------------------------


def test_the_index_is_read_and_compared_like_the_engine(tmp_path: Path) -> None:
    index = read_archive(save_archive(tmp_path / "a.tar", [f"index.docker.io/{STANDIN}:{TAG}"]))
    assert index.is_docker_save and index.holds(f"{STANDIN}:{TAG}")
    assert not index.holds(f"{STANDIN}:other")
    assert index.images[0].platform is None  # c.json is not in the archive: unknown, not an error


def test_every_index_file_and_the_config_blob_are_read(tmp_path: Path) -> None:
    index = read_archive(oci_save(tmp_path / "gw.tar"))
    assert index.found == {"manifest.json", "index.json", "repositories"} and index.complete and not index.compressed
    assert index.image_ids == {f"sha256:{CONFIG_HEX}", f"sha256:{OTHER_HEX}"}
    assert index.tags == {f"{STANDIN}:{TAG}", f"docker.io/{STANDIN}:{TAG}"}
    [saved] = [image for image in index.images if image.platform]
    assert saved.platform == Platform("linux", "arm64", "v8") and saved.image_id == f"sha256:{CONFIG_HEX}"
    assert set(tags.archive_tags(tmp_path / "gw.tar", STANDIN)) == {TAG}
    assert tags.image_platforms(_profile(tmp_path / "gw.tar"), TAG).architectures == {"arm64"}


def test_a_file_that_is_no_archive_is_one_plain_error(tmp_path: Path) -> None:
    path = tmp_path / "x.tar"
    path.write_bytes(b"no tar here\n" * 50)
    with pytest.raises(ArchiveError) as caught:
        read_archive(path)
    assert caught.value.message.startswith(f"{path} is not a readable docker save archive (")
    assert "\n" not in caught.value.message and "Traceback" not in caught.value.message
    assert caught.value.field == "gateway.image_archive"


def _member(name: str, size: int) -> bytes:
    return _info(name, size).tobuf(format=tarfile.USTAR_FORMAT)


def _padded(size: int) -> int:
    return -(-size // 512) * 512


def big_sparse_archive(path: Path, layer_bytes: int, tags: list[str]) -> Path:
    """A `docker save` layout whose layer is `layer_bytes` of holes: big on paper, cheap on disk;
    its config before the layer, its manifest.json after."""
    config = _json(ARM)
    manifest = _json([{"Config": f"{CONFIG_HEX}.json", "RepoTags": tags, "Layers": ["l/layer.tar"]}])
    with path.open("wb") as out:
        out.write(_member(f"{CONFIG_HEX}.json", len(config)) + config.ljust(_padded(len(config)), b"\0"))
        out.write(_member("l/layer.tar", layer_bytes))
        out.seek(_padded(layer_bytes), os.SEEK_CUR)
        out.write(_member("manifest.json", len(manifest)) + manifest.ljust(_padded(len(manifest)), b"\0"))
        out.write(b"\0" * 1024)
    return path


def bytes_read() -> int:
    """What this process has read through read(2) so far (/proc/self/io rchar)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar in /proc/self/io")


def test_a_plain_tarball_is_indexed_by_seeking_over_its_layers(tmp_path: Path) -> None:
    archive = big_sparse_archive(tmp_path / "big.tar", 2 * 2**30, [f"{STANDIN}:{TAG}"])
    before = bytes_read()
    index = read_archive(archive)
    assert bytes_read() - before < 2**20  # of 2 GiB, only the headers, the index and the config
    assert index.holds(f"{STANDIN}:{TAG}") and index.complete and not index.compressed
    assert index.image_ids == {f"sha256:{CONFIG_HEX}"}
    assert index.images[0].platform == Platform("linux", "arm64", "v8")  # read by its offset after the walk


# --- compressed archives ----------------------------------------------------------------------


def _gzip_of(path: Path, members: list[tuple[str, bytes | int]]) -> Path:
    """A gzip'd tar; a member given as an int is that many zero bytes, compressed as it streams."""
    import zlib

    packer = zlib.compressobj(1, zlib.DEFLATED, 31)
    with path.open("wb") as out:
        for name, data in members:
            size = data if isinstance(data, int) else len(data)
            out.write(packer.compress(_member(name, size)))
            if isinstance(data, int):
                zeros = b"\0" * 2**20
                for start in range(0, size, len(zeros)):
                    out.write(packer.compress(zeros[: min(len(zeros), size - start)]))
            else:
                out.write(packer.compress(data))
            out.write(packer.compress(b"\0" * (_padded(size) - size)))
        out.write(packer.compress(b"\0" * 1024) + packer.flush())
    return path


def test_a_compressed_archive_is_not_inflated_unless_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = _json([{"Config": f"blobs/sha256/{CONFIG_HEX}", "RepoTags": [f"{STANDIN}:{TAG}"]}])
    archive = _gzip_of(tmp_path / "gw.tar.gz", [("layer.tar", 256 * 2**20), ("manifest.json", manifest)])
    counting = Counting(monkeypatch)
    index = read_archive(archive)
    assert counting.opened == 1 and counting.inflated <= 64 * 1024  # its first header (one tar record), not the layer
    assert index.compressed and not index.complete and not index.tags
    full = read_archive(archive, inflate=True)
    assert counting.inflated > 256 * 2**20
    assert full.holds(f"{STANDIN}:{TAG}") and full.image_ids == {f"sha256:{CONFIG_HEX}"} and full.complete
    before = bytes_read()
    assert read_archive(archive, inflate=True) == full  # read once per (path, size, mtime)
    assert bytes_read() - before < 2**20 and counting.opened == 2


def test_a_gzipped_archive_inflated_once_gives_what_the_plain_one_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = read_archive(oci_save(tmp_path / "gw.tar"))
    packed = oci_save(tmp_path / "gw.tar.gz", mode="w:gz")
    counting = Counting(monkeypatch)
    assert TAG in tags.archive_tags(packed, STANDIN)  # tag resolution, then the platform check
    assert tags.image_platforms(_profile(packed), TAG).platforms == (Platform("linux", "arm64", "v8"),)
    inflated = read_archive(packed, inflate=True)
    assert counting.opened == 1  # one pass for all three
    assert inflated.images == plain.images and inflated.found == plain.found
    assert inflated.compressed and inflated.complete


@pytest.mark.parametrize("mode", ["w:gz", "w:bz2", "w:xz"])
@pytest.mark.parametrize("config_first", [True, False])
def test_the_platform_is_found_wherever_the_config_stands(tmp_path: Path, mode: str, config_first: bool) -> None:
    packed = oci_save(tmp_path / "gw.tar.x", mode=mode, config_first=config_first)
    [image] = [image for image in saved_images(packed) if image.platform]
    assert image.platform == Platform("linux", "arm64", "v8") and image.refs == (f"{STANDIN}:{TAG}",)


def test_streaming_keeps_at_most_its_cap_of_candidate_configs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archives, "MAX_HELD_BYTES", 6000)
    junk = [(f"blobs/sha256/{index:064x}", b"{}".ljust(3000)) for index in range(3)]  # candidates first, more than the cap
    members = [*junk, (f"blobs/sha256/{CONFIG_HEX}", _json(ARM)),
               ("manifest.json", _json([{"Config": f"blobs/sha256/{CONFIG_HEX}", "RepoTags": [f"{STANDIN}:{TAG}"]}]))]
    index = read_archive(write_tar(tmp_path / "gw.tar.gz", members, "w:gz"), inflate=True)
    assert index.holds(f"{STANDIN}:{TAG}") and index.images[0].platform is None  # no room left: unknown
    later = [members[-1], *junk, members[-2]]  # after manifest.json only the named config is kept
    index = read_archive(write_tar(tmp_path / "later.tar.gz", later, "w:gz"), inflate=True)
    assert index.images[0].platform == Platform("linux", "arm64", "v8")


def test_a_gzip_whose_index_inflates_to_a_gib_costs_no_memory(tmp_path: Path) -> None:
    archive = _gzip_of(tmp_path / "bomb.tar.gz", [("manifest.json", 2**30)])
    assert archive.stat().st_size < 8 * 2**20  # a few MiB that inflate to 1 GiB
    probe = (
        "import resource, sys; from pathlib import Path; from wizard.tools.archive import read_archive;"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss;"
        "index = read_archive(Path(sys.argv[1]), inflate=True);"
        "print(int(index.is_docker_save), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)"
    )
    done = subprocess.run([sys.executable, "-c", probe, str(archive)], capture_output=True, text=True, check=True,
                          cwd=Path(__file__).resolve().parent.parent, timeout=120)
    found, grown_kib = map(int, done.stdout.split())
    assert found == 0  # the oversized manifest.json is skipped, never read
    assert grown_kib < 16 * 1024  # the peak grew by less than 16 MiB while 1 GiB was inflated


def test_zstd_is_left_to_the_engine(tmp_path: Path) -> None:
    archive = tmp_path / "gw.tar.zst"
    archive.write_bytes(b"\x28\xb5\x2f\xfd" + b"\0" * 64)
    assert archives.is_compressed(archive)
    index = read_archive(archive, inflate=True)
    assert index.compressed and not index.complete and not index.is_docker_save
    with pytest.raises(ArchiveError, match="only the engine reads it"):
        saved_images(archive)


# --- hostile archives -------------------------------------------------------------------------


def test_hostile_archives_are_refused_in_one_line(tmp_path: Path) -> None:
    linked = write_tar(tmp_path / "symlinked.tar", [("manifest.json", _info("manifest.json", kind=tarfile.SYMTYPE))])
    with pytest.raises(ArchiveError, match="not a regular file"):
        saved_images(linked)
    assert not read_archive(linked).is_docker_save  # the checks' reading: no manifest.json
    huge = write_tar(tmp_path / "huge.tar", [("manifest.json", b"[" + b" " * (archives.MAX_INDEX_BYTES + 10) + b"]")])
    with pytest.raises(ArchiveError, match="at most"):
        saved_images(huge)
    broken = write_tar(tmp_path / "broken.tar", [("manifest.json", b"[{")])
    for reading in (read_archive, saved_images):
        with pytest.raises(ArchiveError, match=r"manifest\.json is not JSON"):
            reading(broken)
    garbage = tmp_path / "garbage.tar"
    garbage.write_bytes(b"not a tar at all")
    with pytest.raises(ArchiveError, match="not a readable docker save archive"):
        saved_images(garbage)
    result = tags.resolve_tag(_profile(garbage))
    assert result.source == "exact" and "not a readable" in result.warning
    other = tags.resolve_tag(_profile(write_tar(tmp_path / "none.tar", [("hello.txt", b"hi")])))
    assert other.source == "exact" and "no manifest.json" in other.warning


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "gw.tar"
    os.mkfifo(fifo)
    outcome: list[BaseException] = []
    reader = threading.Thread(target=lambda: _capture(outcome, fifo), daemon=True)
    reader.start()
    reader.join(10)
    if reader.is_alive():  # unblock it: open the writing end
        with fifo.open("wb"):
            pass
        pytest.fail("reading a FIFO blocked")
    assert isinstance(outcome[0], ArchiveError) and "not a regular file" in outcome[0].message


def _capture(outcome: list[BaseException], path: Path) -> None:
    try:
        read_archive(path, inflate=True)
    except BaseException as error:  # noqa: BLE001 - the test inspects it
        outcome.append(error)


def test_a_refused_config_costs_the_platform_and_fails_the_strict_reading(tmp_path: Path) -> None:
    config = f"blobs/sha256/{CONFIG_HEX}"
    manifest = ("manifest.json", _json([{"Config": config, "RepoTags": [f"{STANDIN}:{TAG}"]}]))
    for data, why in ((b"x" * (archives.MAX_CONFIG_BYTES + 1), "at most"), (b"not json", "is not JSON")):
        path = write_tar(tmp_path / f"{len(data)}.tar", [(config, data), manifest])
        index = read_archive(path)  # the checks' fast path still names the tags
        assert index.holds(f"{STANDIN}:{TAG}") and index.images[0].platform is None
        assert any(why in reason for reason in index.refused)
        with pytest.raises(ArchiveError, match=why):
            saved_images(path)


def test_text_from_the_archive_is_cleaned(tmp_path: Path) -> None:
    config = f"{CONFIG_HEX}.json"
    members = [
        (config, _json({"architecture": "arm64\x1b[2J", "os": "linux\n"})),
        ("manifest.json", _json([{"Config": config, "RepoTags": [f"{STANDIN}:{TAG}\x1b]0;owned\x07"]}])),
    ]
    [image] = read_archive(write_tar(tmp_path / "gw.tar", members)).images
    shown = [*image.refs, str(image.platform)]
    assert all("\x1b" not in text and "\n" not in text and "\x07" not in text for text in shown)
