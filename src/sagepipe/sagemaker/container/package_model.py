"""sagepipe's packaging script, run by the packaging step's SageMaker processing job.

Standalone on purpose: it runs inside the PyTorch container, which has no sagepipe, and it
installs nothing. It uses only the standard library and runs on Python 3.9 and later.

Reads the model archive (the one ``*.tar.gz`` under the model input), and writes
``model.tar.gz`` to the output: every member of the input except an old ``code/``, then the
inference code under ``code/``: the code input (``input/inference_code``: a ``sourcedir.tar.gz``,
extracted, or the files themselves) when the job has one, else the code shipped beside this
script (``inference_code/``), plus any dependencies shipped there. Only regular files and
directories with safe relative names are copied; anything else is an error.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import tarfile
import tempfile
import zlib
from pathlib import Path, PurePosixPath
from typing import Any

# SageMaker mounts the job at /opt/ml; sagepipe's local engine, where it cannot mount it,
# names the directory that stands in for it.
PROCESSING = Path(os.environ.get("SAGEPIPE_OPT_ML", "/opt/ml")) / "processing"
CONFIG_FILE = "sagepipe_packaging.json"
CODE_FOLDER = "inference_code"


class PackagingError(Exception):
    """The inputs cannot be packaged."""


def find_archive(directory: Path) -> Path:
    """The single ``*.tar.gz`` file under ``directory``."""
    found = sorted(p for p in directory.rglob("*.tar.gz") if p.is_file())
    if len(found) != 1:
        names = ", ".join(str(p) for p in found) or "none"
        raise PackagingError(f"expected one .tar.gz under {directory}, found: {names}")
    return found[0]


def safe_name(name: str) -> str:
    """``name`` normalised, or an error when it is absolute or leaves the archive root."""
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts:
        raise PackagingError(f"archive member {name!r} has an unsafe path")
    return str(path)


def read_to_end(archive: tarfile.TarFile) -> None:
    """Read the gzip stream to its end: only then does :mod:`gzip` compare every member's
    CRC-32 and length with its trailer (``tarfile`` stops at the end-of-archive blocks), so a
    corrupt or truncated input fails here instead of being packaged."""
    stream = archive.fileobj
    if stream is not None:
        while stream.read(1 << 20):
            pass


def package(model_archive: Path, code_dir: Path, output: Path, compression_level: int) -> int:
    """Write ``output`` (model files plus ``code/``); returns the number of code files.

    On any error the partial output is removed: a failed job leaves no archive behind.
    """
    try:
        return _package(model_archive, code_dir, output, compression_level)
    except (EOFError, tarfile.ReadError, zlib.error, gzip.BadGzipFile) as exc:
        _remove(output)
        raise PackagingError(
            f"{model_archive} is corrupt or truncated ({exc}); re-create or re-download it"
        ) from None
    except BaseException:
        _remove(output)
        raise


def _remove(path: Path) -> None:
    if path.exists():
        path.unlink()


def _package(model_archive: Path, code_dir: Path, output: Path, compression_level: int) -> int:
    code_files = sorted(p for p in code_dir.rglob("*") if p.is_file())
    output.parent.mkdir(parents=True, exist_ok=True)
    # One `with` per archive: the container may run Python 3.9 (no parenthesised form).
    with (
        tarfile.open(model_archive, "r:gz") as source,
        tarfile.open(output, "w:gz", compresslevel=compression_level) as target,
    ):
        for member in source:
            name = safe_name(member.name)
            if name == "code" or name.startswith("code/"):
                continue
            if member.isdir():
                target.addfile(member)
            elif member.isfile():
                target.addfile(member, source.extractfile(member))
            else:
                raise PackagingError(
                    f"model archive member {member.name!r} is not a file or directory"
                )
        read_to_end(source)
        for path in code_files:
            arcname = "code/" + path.relative_to(code_dir).as_posix()
            info = target.gettarinfo(str(path), arcname)
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            with path.open("rb") as handle:
                target.addfile(info, handle)
    return len(code_files)


def unpack_code(code_input: Path, shipped: Path, work: Path) -> Path:
    """The code directory: the code input's ``sourcedir.tar.gz`` extracted (safe names,
    regular files and directories only) or its files, with the shipped files added."""
    code_dir = work / "code"
    code_dir.mkdir(parents=True, exist_ok=True)
    files = sorted(p for p in code_input.rglob("*") if p.is_file())
    if len(files) == 1 and files[0].name.endswith((".tar.gz", ".tgz")):
        with tarfile.open(files[0], "r:gz") as archive:
            for member in archive:
                target = code_dir / safe_name(member.name)
                if member.isdir():
                    target.mkdir(parents=True, exist_ok=True)
                elif member.isfile():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    extracted = archive.extractfile(member)
                    if extracted is not None:
                        target.write_bytes(extracted.read())
                else:
                    raise PackagingError(f"code archive member {member.name!r} is not a file")
            read_to_end(archive)
    else:
        for path in files:
            target = code_dir / path.relative_to(code_input)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    for path in sorted(p for p in shipped.rglob("*") if p.is_file()) if shipped.is_dir() else []:
        target = code_dir / path.relative_to(shipped)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    return code_dir


def main(argv: list[str] | None = None) -> int:
    here = Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model-dir", type=Path, default=PROCESSING / "input/model")
    parser.add_argument("--code-dir", type=Path, default=here / CODE_FOLDER)
    parser.add_argument("--code-input", type=Path, default=PROCESSING / "input/inference_code")
    parser.add_argument("--output-dir", type=Path, default=PROCESSING / "output/packaged_model")
    parser.add_argument("--config", type=Path, default=here / CONFIG_FILE)
    args = parser.parse_args(argv)
    config = json.loads(args.config.read_text())
    entry_point = config["entry_point"]
    with tempfile.TemporaryDirectory(prefix="packaging-") as work:
        if args.code_input.is_dir():
            try:
                args.code_dir = unpack_code(args.code_input, args.code_dir, Path(work))
            except (PackagingError, tarfile.TarError, OSError, EOFError, zlib.error) as exc:
                print(f"packaging: the code input {args.code_input}: {exc}", file=sys.stderr)
                return 1
        return _run(args, entry_point, config)


def _run(args: argparse.Namespace, entry_point: str, config: dict[str, Any]) -> int:
    if not (args.code_dir / entry_point).is_file():
        print(f"packaging: entry point {entry_point} is not in {args.code_dir}", file=sys.stderr)
        return 1
    try:
        archive = find_archive(args.model_dir)
        count = package(
            archive, args.code_dir, args.output_dir / "model.tar.gz", config["compression_level"]
        )
    except (PackagingError, tarfile.TarError, OSError, EOFError) as exc:
        print(f"packaging: {exc}", file=sys.stderr)
        return 1
    print(f"packaging: {archive.name} + {count} code files -> {args.output_dir}/model.tar.gz")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
