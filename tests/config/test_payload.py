"""PayloadConfig.samples: how sample files are declared (Python and config files), and the
checks each local file passes when the config is built (errors name the field and file)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sagepipe.artifacts.sample_files import MAX_SAMPLE_BYTES
from sagepipe.config import PayloadConfig
from sagepipe.config.files import load_configs, save_configs
from sagepipe.config.messages import ConfigValidationError
from sagepipe.config.payload import SampleFile
from sagepipe.serving.settings import DEFAULT_MAX_PAYLOAD_MB

SHARED = {"pipeline_name": "p", "region": "us-east-1"}


@pytest.fixture
def good(tmp_path: Path) -> Path:
    root = tmp_path / "samples"
    root.mkdir()
    (root / "row.json").write_text("[1.0, 2.0, 3.0]")
    (root / "rows.csv").write_text("1,2,3\n4,5,6\n")
    np.save(root / "batch.npy", np.zeros((2, 3), dtype=np.float32))
    return root


def _error(**values: object) -> str:
    with pytest.raises(ConfigValidationError) as caught:
        PayloadConfig(**SHARED, **values)
    return str(caught.value)


def test_paths_and_objects_declare_samples(good: Path) -> None:
    config = PayloadConfig(
        **SHARED,
        samples=[
            str(good / "row.json"),
            good / "rows.csv",
            {"path": str(good / "batch.npy"), "content_type": "application/x-npy"},
            SampleFile(path="s3://bucket/requests/"),
        ],
    )

    assert [(s.path, s.content_type) for s in config.samples] == [
        (str(good / "row.json"), None),
        (str(good / "rows.csv"), None),
        (str(good / "batch.npy"), "application/x-npy"),
        ("s3://bucket/requests/", None),
    ]
    assert [s.is_local for s in config.samples] == [True, True, True, False]
    assert [(f.name, t) for f, t in config.samples[0].local_files()] == [
        ("row.json", "application/json")
    ]


def test_a_directory_gives_one_sample_per_file(good: Path) -> None:
    config = PayloadConfig(**SHARED, samples=[str(good)])

    assert [(f.name, t) for f, t in config.samples[0].local_files()] == [
        ("batch.npy", "application/x-npy"),
        ("row.json", "application/json"),
        ("rows.csv", "text/csv"),
    ]


def test_samples_round_trip_through_a_yaml_file_with_relative_paths(
    good: Path, tmp_path: Path
) -> None:
    (tmp_path / "pipeline.yaml").write_text(
        "shared: {pipeline_name: p, region: us-east-1}\n"
        "configs:\n"
        "  payload:\n"
        "    config_type: PayloadConfig\n"
        "    samples:\n"
        "      - samples/row.json\n"
        "      - {path: samples/batch.npy, content_type: application/x-npy}\n"
        "      - s3://bucket/requests/\n"
    )

    loaded = load_configs(tmp_path / "pipeline.yaml")["payload"]

    assert isinstance(loaded, PayloadConfig)
    assert [s.path for s in loaded.samples] == [
        str(good / "row.json"),
        str(good / "batch.npy"),
        "s3://bucket/requests/",
    ]
    copy = tmp_path / "copy" / "pipeline.yaml"
    copy.parent.mkdir()
    save_configs({"payload": loaded}, copy)
    assert "../samples/row.json" in copy.read_text()  # written relative to the file
    assert load_configs(copy)["payload"] == loaded


@pytest.mark.parametrize(
    ("file", "body", "expected"),
    [
        ("bad.json", b"[1, 2", "is not valid JSON: Expecting ',' delimiter at line 1 column 6"),
        ("latin.json", b'"\xe9"', "is not UTF-8 text"),
        ("blank.csv", b"\n \n", "holds no CSV record"),
        ("empty.json", b"", "is empty"),
        ("x.npy", b"not numpy at all", "is not an NPY file with a valid header"),
        ("x.txt", b"hello", "the extension '.txt' does not say its content type"),
    ],
)
def test_a_bad_local_file_is_refused_naming_field_and_file(
    tmp_path: Path, file: str, body: bytes, expected: str
) -> None:
    (tmp_path / file).write_bytes(body)

    message = _error(samples=[str(tmp_path / file)])

    assert f"PayloadConfig: samples.0: sample {tmp_path / file}" in message
    assert expected in message


def test_a_truncated_npy_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cut.npy"
    np.save(path, np.ones((4, 3)))
    path.write_bytes(path.read_bytes()[:-8])

    message = _error(samples=[str(path)])

    assert "announces shape (4, 3) of float64 (96 bytes of data) but the file holds 88" in message


def test_an_object_array_is_refused_without_unpickling(tmp_path: Path) -> None:
    path = tmp_path / "objects.npy"
    np.save(path, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)

    message = _error(samples=[str(path)])

    assert "holds an object array" in message
    assert "never unpickles" in message


def test_the_size_limit_is_the_servers_default_largest_request(tmp_path: Path) -> None:
    assert MAX_SAMPLE_BYTES == DEFAULT_MAX_PAYLOAD_MB * 1024 * 1024
    path = tmp_path / "big.json"
    path.write_bytes(b"[" + b"0," * (MAX_SAMPLE_BYTES // 2) + b"0]")

    message = _error(samples=[str(path)])

    assert f"over the model server's default largest request of {MAX_SAMPLE_BYTES}" in message


def test_the_second_entry_is_named(good: Path, tmp_path: Path) -> None:
    message = _error(samples=[str(good / "row.json"), str(tmp_path / "missing.json")])

    assert f"samples.1: sample {tmp_path / 'missing.json'} does not exist" in message


@pytest.mark.parametrize(
    ("samples", "expected"),
    [
        ([{"path": "x.json", "content_type": "image/png"}], "'image/png' is not supported"),
        (["ftp://host/x.json"], "neither a local path nor an s3:// URI"),
        ([{"path": ""}], "path must be given"),
        ([{"path": "x.json", "kind": "json"}], "kind"),
    ],
)
def test_malformed_entries_are_refused(samples: list[object], expected: str) -> None:
    assert expected in _error(samples=samples)


def test_two_samples_with_one_file_name_are_refused(tmp_path: Path) -> None:
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "row.json").write_text("[1]")

    message = _error(samples=[str(tmp_path / "a"), str(tmp_path / "b" / "row.json")])

    assert (
        f"the sample {tmp_path / 'b' / 'row.json'} (entry 1) has the same file name as" in message
    )


def test_a_directory_with_a_subdirectory_is_refused(good: Path) -> None:
    (good / "more").mkdir()

    assert "holds subdirectories ['more']" in _error(samples=[str(good)])


@pytest.mark.parametrize(
    "setting",
    [{"content_types": ["text/csv"]}, {"sample_count": 3}, {"field_defaults": {"x": 1.0}}],
)
def test_generation_settings_do_not_mix_with_samples(
    good: Path, setting: dict[str, object]
) -> None:
    message = _error(samples=[str(good / "row.json")], **setting)

    assert f"{next(iter(setting))} (settings of generated payloads) do not apply" in message


def test_without_samples_the_field_list_generation_is_unchanged() -> None:
    config = PayloadConfig(**SHARED)

    assert config.samples == []
    assert config.content_types == ["text/csv", "application/json"]
    assert json.loads(config.model_dump_json())["samples"] == []
