"""A corpus of hostile model archives, and the harness that runs each through sagepipe.

Each kind is a function that builds its archive into a directory and returns its path. The
harness (:func:`run_attack`) puts a target directory inside a sentinel tree, then runs the
archive through the three readers a user reaches: ``package`` (:func:`package_model`),
``serve``'s model preparation (:func:`prepare_model`, what ``sagepipe serve`` calls) and
:func:`safe_extract`. It records, per reader, whether the archive was refused (and the
message) and every file that appeared outside the target. Archives that are accepted by
design are also packaged and the output extracted with plain ``tarfile`` (no filter), as a
careless consumer would, inside the same sentinel tree.

Used by ``tests/reliability/test_archive_attacks.py`` (assertions) and
``benchmarks/reliability_support/archives.py`` (the published table).
"""

from __future__ import annotations

import bz2
import gzip
import io
import shutil
import stat
import struct
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ESCAPED = "escaped.txt"
_UNSAFE_MODE_BITS = stat.S_ISUID | stat.S_ISGID | stat.S_ISVTX | stat.S_IWOTH
_WEIGHTS = bytes(range(256)) * 800  # 200 KiB


# --- building blocks ------------------------------------------------------------------------


def _info(name: str, kind: bytes = tarfile.REGTYPE, **fields: object) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mtime = 1_700_000_000
    info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    for key, value in fields.items():
        setattr(info, key, value)
    return info


Entry = tuple[tarfile.TarInfo, bytes | None]


def _file(name: str, data: bytes = b"x", mode: int = 0o644) -> Entry:
    return _info(name, size=len(data), mode=mode), data


def _dir(name: str, mode: int = 0o755) -> Entry:
    return _info(name, tarfile.DIRTYPE, mode=mode), None


def _symlink(name: str, target: str) -> Entry:
    return _info(name, tarfile.SYMTYPE, linkname=target), None


def _hardlink(name: str, target: str) -> Entry:
    return _info(name, tarfile.LNKTYPE, linkname=target), None


def _tar(entries: list[Entry], tar_format: int = tarfile.PAX_FORMAT) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tar_format) as tar:
        for info, data in entries:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def _model(*extra: Entry) -> bytes:
    """A tar stream: model weights, then the hostile members."""
    return _tar([_file("model.pth", _WEIGHTS), _file("hyperparameters.json", b"{}"), *extra])


def _write(directory: Path, name: str, data: bytes) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_bytes(data)
    return path


def _gz(directory: Path, name: str, stream: bytes, level: int = 6) -> Path:
    return _write(directory, f"{name}.tar.gz", gzip.compress(stream, level, mtime=0))


# --- the corpus: each builds one archive into `directory` ---------------------------------


def dotdot_name(directory: Path, sentinel: Path) -> Path:
    return _gz(directory, "dotdot", _model(_file(f"../{ESCAPED}")))


def nested_dotdot(directory: Path, sentinel: Path) -> Path:
    return _gz(directory, "nested-dotdot", _model(_file(f"weights/../../../{ESCAPED}")))


def absolute_name(directory: Path, sentinel: Path) -> Path:
    return _gz(directory, "absolute", _model(_file(str(sentinel / ESCAPED))))


def pax_path_override(directory: Path, sentinel: Path) -> Path:
    """A harmless ustar name, overridden by a pax ``path`` record that escapes."""
    info, data = _file("harmless.txt")
    info.pax_headers = {"path": f"../../{ESCAPED}"}
    return _gz(directory, "pax-path", _model((info, data)))


def gnu_long_name(directory: Path, sentinel: Path) -> Path:
    name = "../" * 2 + "d" * 120 + "/" + ESCAPED
    return _gz(directory, "gnu-longname", _tar([_file(name)], tarfile.GNU_FORMAT))


def symlink_absolute(directory: Path, sentinel: Path) -> Path:
    stream = _model(_symlink("out", str(sentinel)), _file(f"out/{ESCAPED}"))
    return _gz(directory, "symlink-absolute", stream)


def symlink_escape(directory: Path, sentinel: Path) -> Path:
    stream = _model(_symlink("out", "../.."), _file(f"out/{ESCAPED}"))
    return _gz(directory, "symlink-escape", stream)


def symlink_chain(directory: Path, sentinel: Path) -> Path:
    """``a -> .``, ``b -> a/..``: each looks harmless; ``b/f`` lands above the target."""
    stream = _model(_symlink("a", "."), _symlink("b", "a/.."), _file(f"b/{ESCAPED}"))
    return _gz(directory, "symlink-chain", stream)


def deep_link_chain(directory: Path, sentinel: Path) -> Path:
    stream = _model(
        _dir("p"),
        _symlink("p/q", ".."),
        _symlink("r", "p/q/../.."),
        _file(f"r/{ESCAPED}"),
    )
    return _gz(directory, "deep-link-chain", stream)


def link_replaces_directory(directory: Path, sentinel: Path) -> Path:
    """``d/`` holds a file, then ``d`` becomes a link; later members go through it."""
    stream = _model(
        _file("d/inner.txt"), _symlink("d", "."), _symlink("e", "d/.."), _file(f"e/{ESCAPED}")
    )
    return _gz(directory, "link-replaces-directory", stream)


def duplicate_overwrites_link(directory: Path, sentinel: Path) -> Path:
    """A safe link, then the same name again as a directory, then a member written in it
    (through the link, for a tool that keeps the link)."""
    stream = _model(_dir("sub"), _symlink("w", "sub"), _dir("w"), _file(f"w/{ESCAPED}"))
    return _gz(directory, "duplicate-overwrites-link", stream)


def hardlink_escape(directory: Path, sentinel: Path) -> Path:
    return _gz(directory, "hardlink-escape", _model(_hardlink("passwd", "../../etc/passwd")))


def hardlink_then_write(directory: Path, sentinel: Path) -> Path:
    """A hard link to a file outside, then data written to it (truncating the outside file)."""
    stream = _model(_hardlink("h", f"../../{ESCAPED}"), _file("h", b"overwritten"))
    return _gz(directory, "hardlink-then-write", stream)


def device_member(directory: Path, sentinel: Path) -> Path:
    info = _info("null", tarfile.CHRTYPE, devmajor=1, devminor=3)
    return _gz(directory, "device", _model((info, None)))


def fifo_member(directory: Path, sentinel: Path) -> Path:
    return _gz(directory, "fifo", _model((_info("pipe", tarfile.FIFOTYPE), None)))


def setuid_bits(directory: Path, sentinel: Path) -> Path:
    stream = _model(
        _dir("shared", mode=0o1777),
        _file("shared/run.sh", b"#!/bin/sh\n", mode=0o6777),
    )
    return _gz(directory, "setuid", stream)


def many_members(directory: Path, sentinel: Path) -> Path:
    """2,000 tiny members: accepted (no member cap), and nothing outside."""
    entries = [_file(f"shards/{index:05d}.bin", b"s") for index in range(2000)]
    return _gz(directory, "many-members", _model(*entries))


def huge_size_claim(directory: Path, sentinel: Path) -> Path:
    """A header that claims 1 TiB of data, followed by a few bytes."""
    info = _info("model.pth", size=1 << 40)
    header = info.tobuf(tarfile.PAX_FORMAT)
    return _gz(directory, "huge-size-claim", header + b"w" * 1024)


def truncated(directory: Path, sentinel: Path) -> Path:
    data = gzip.compress(_model(), 6, mtime=0)
    return _write(directory, "truncated.tar.gz", data[: len(data) // 2])


def crc_flipped(directory: Path, sentinel: Path) -> Path:
    """The trailer's CRC-32 off by one bit: the deflate data decodes; only a CRC check sees."""
    data = bytearray(gzip.compress(_model(), 6, mtime=0))
    data[-8] ^= 0x01
    return _write(directory, "crc-flipped.tar.gz", bytes(data))


def deflate_bit_flipped(directory: Path, sentinel: Path) -> Path:
    """One bit flipped in the middle of stored deflate data: decodes, to other weights."""
    data = bytearray(gzip.compress(_model(), 0, mtime=0))
    data[len(data) // 2] ^= 0x10
    return _write(directory, "deflate-bit-flipped.tar.gz", bytes(data))


def isize_wrong(directory: Path, sentinel: Path) -> Path:
    data = bytearray(gzip.compress(_model(), 6, mtime=0))
    (size,) = struct.unpack("<I", data[-4:])
    data[-4:] = struct.pack("<I", size + 512)
    return _write(directory, "isize-wrong.tar.gz", bytes(data))


def trailing_garbage(directory: Path, sentinel: Path) -> Path:
    data = gzip.compress(_model(), 6, mtime=0) + b"\x01 trailing garbage"
    return _write(directory, "trailing-garbage.tar.gz", data)


def corrupt_second_member(directory: Path, sentinel: Path) -> Path:
    stream = _model()
    second = bytearray(gzip.compress(stream[100_000:], 6, mtime=0))
    second[-8] ^= 0x01
    data = gzip.compress(stream[:100_000], 6, mtime=0) + bytes(second)
    return _write(directory, "corrupt-second-member.tar.gz", data)


def bzip2_compressed(directory: Path, sentinel: Path) -> Path:
    return _write(directory, "bzip2.tar.gz", bz2.compress(_model()))


def not_an_archive(directory: Path, sentinel: Path) -> Path:
    return _write(directory, "text.tar.gz", b"this is not a model archive\n" * 100)


def empty_file(directory: Path, sentinel: Path) -> Path:
    return _write(directory, "empty.tar.gz", b"")


@dataclass(frozen=True)
class Attack:
    """One kind of hostile archive.

    Attributes:
        kind: Short name, as in the published table.
        build: Writes the archive into a directory (given the sentinel tree's root, for
            kinds that name absolute paths) and returns it.
        accepted: Accepted by design (and then safely: nothing outside, sane modes).
    """

    kind: str
    build: Callable[[Path, Path], Path]
    accepted: bool = False


ATTACKS: tuple[Attack, ...] = (
    Attack("dotdot name", dotdot_name),
    Attack("nested dotdot", nested_dotdot),
    Attack("absolute name", absolute_name),
    Attack("pax path override", pax_path_override),
    Attack("GNU long name with ..", gnu_long_name),
    Attack("symlink to absolute path", symlink_absolute),
    Attack("symlink escape", symlink_escape),
    Attack("symlink chain (a -> ., b -> a/..)", symlink_chain),
    Attack("deep link chain", deep_link_chain),
    Attack("link replaces a directory", link_replaces_directory),
    Attack("duplicate name overwrites a link", duplicate_overwrites_link),
    Attack("hardlink escape", hardlink_escape),
    Attack("hardlink then write", hardlink_then_write),
    Attack("character device", device_member),
    Attack("FIFO", fifo_member),
    Attack("setuid/setgid/sticky bits", setuid_bits, accepted=True),
    Attack("2,000 members", many_members, accepted=True),
    Attack("1 TiB size claim", huge_size_claim),
    Attack("truncated gzip", truncated),
    Attack("CRC-32 flipped", crc_flipped),
    Attack("bit flipped in deflate data", deflate_bit_flipped),
    Attack("ISIZE wrong", isize_wrong),
    Attack("trailing garbage", trailing_garbage),
    Attack("corrupt second gzip member", corrupt_second_member),
    Attack("bzip2, not gzip", bzip2_compressed),
    Attack("not an archive", not_an_archive),
    Attack("empty file", empty_file),
)


# --- the harness ---------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What one reader did with one archive."""

    refused: bool
    message: str = ""  # the error's message (refused) or "" (accepted)
    error: str = ""  # the error's class name
    outside: list[str] = field(default_factory=list)  # files that appeared outside the target
    unsafe_modes: list[str] = field(default_factory=list)  # setuid/setgid/sticky/o+w written

    def cell(self) -> str:
        """A table cell: ``refused (ErrorClass)`` or ``accepted``."""
        return f"refused ({self.error})" if self.refused else "accepted"


@dataclass
class AttackResult:
    attack: Attack
    archive: Path
    package: Outcome
    serve: Outcome
    extract: Outcome
    plain_extract_of_output: Outcome | None  # accepted kinds: the packaged output, no filter

    def outcomes(self) -> dict[str, Outcome]:
        found = {"package": self.package, "serve": self.serve, "extract": self.extract}
        if self.plain_extract_of_output is not None:
            found["plain tarfile of the output"] = self.plain_extract_of_output
        return found

    def outside(self) -> list[str]:
        return sorted({path for o in self.outcomes().values() for path in o.outside})


def _snapshot(root: Path, target: Path) -> dict[str, bytes]:
    """Every path under ``root`` but inside ``target``, with the content of files."""
    found: dict[str, bytes] = {}
    for path in root.rglob("*"):
        if path == target or target in path.parents:
            continue
        relative = str(path.relative_to(root))
        found[relative] = path.read_bytes() if path.is_file() and not path.is_symlink() else b""
    return found


def _sentinel_tree(base: Path) -> tuple[Path, Path]:
    """``sentinel/`` with files that must stay as they are, and the target two levels in."""
    root = base / "sentinel"
    target = root / "inner" / "target"
    target.mkdir(parents=True)
    (root / ESCAPED).write_bytes(b"sentinel: must not change\n")
    (root / "inner" / "keep.txt").write_bytes(b"sentinel\n")
    (root.parent / "etc").mkdir(exist_ok=True)
    return root, target


def _run(root: Path, target: Path, action: Callable[[Path], object]) -> Outcome:
    from sagepipe.errors import SagepipeError

    if target.exists():
        shutil.rmtree(target)
    target.mkdir()
    before = _snapshot(root, target)
    try:
        action(target)
        outcome = Outcome(refused=False)
    except SagepipeError as exc:
        outcome = Outcome(refused=True, message=str(exc), error=type(exc).__name__)
    after = _snapshot(root, target)
    outcome.outside = sorted(
        path for path in after.keys() | before.keys() if after.get(path) != before.get(path)
    )
    outcome.unsafe_modes = sorted(
        f"{path.relative_to(target)} {stat.S_IMODE(path.lstat().st_mode):o}"
        for path in target.rglob("*")
        if not path.is_symlink() and path.lstat().st_mode & _UNSAFE_MODE_BITS
    )
    return outcome


def source_dir(base: Path) -> Path:
    """An inference source directory for packaging."""
    code = base / "src"
    code.mkdir(parents=True, exist_ok=True)
    (code / "inference.py").write_text("def model_fn(model_dir):\n    return model_dir\n")
    return code


def run_attack(attack: Attack, base: Path) -> AttackResult:
    """Build ``attack``'s archive under ``base`` and run it through every reader."""
    from sagepipe.artifacts.package import package_model
    from sagepipe.artifacts.safety import safe_extract
    from sagepipe.serving.model_source import prepare_model

    base.mkdir(parents=True, exist_ok=True)
    root, target = _sentinel_tree(base)
    archive = attack.build(base / "archives", root)
    code = source_dir(base)

    def package(into: Path) -> object:
        # splice_min_bytes=0: the splicing path is tried first, as for a large model.
        return package_model(
            archive, code, "inference.py", [], into / "out.tar.gz", splice_min_bytes=0
        )

    package_outcome = _run(root, target, package)
    plain = None
    if not package_outcome.refused:
        packaged = base / "packaged.tar.gz"
        shutil.copy(target / "out.tar.gz", packaged)

        def careless(into: Path) -> object:
            with tarfile.open(packaged) as tar:
                tar.extractall(into, filter="fully_trusted")
            return None

        plain = _run(root, target, careless)
    serve_outcome = _run(root, target, lambda into: prepare_model(str(archive), into, {}))
    extract_outcome = _run(root, target, lambda into: safe_extract(archive, into / "extracted"))
    return AttackResult(attack, archive, package_outcome, serve_outcome, extract_outcome, plain)
