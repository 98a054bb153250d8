"""Sample payloads: CSV and JSON records from the field lists, overrides, the manifest."""

from __future__ import annotations

import csv
import io
import json
import tarfile
from pathlib import Path

import pytest

from sagepipe.artifacts.errors import ArchiveFormatError, PayloadError
from sagepipe.artifacts.payload import (
    generate_payloads,
    read_hyperparameters,
    read_payload_samples,
)
from sagepipe.config.hyperparameters import ModelHyperparameters
from sagepipe.config.payload import PayloadConfig, resolve_hyperparameters

from .conftest import file, write_archive

SHARED = {"pipeline_name": "p", "region": "us-east-1"}
HP = ModelHyperparameters(
    id_name="penguin_id",
    label_name="species",
    full_field_list=["penguin_id", "species", "island", "bill_length_mm", "sex", "note"],
    tab_field_list=["bill_length_mm"],
    cat_field_list=["island", "sex"],
)


def _config(**values: object) -> PayloadConfig:
    return PayloadConfig(**{**SHARED, **values})


def test_csv_and_json_samples_follow_the_record_layout(tmp_path: Path) -> None:
    config = _config(sample_count=3, field_defaults={"island": "Biscoe", "bill_length_mm": 41.5})

    manifest = generate_payloads(HP, config, tmp_path / "payload")

    samples = read_payload_samples(tmp_path / "payload" / "payload.tar.gz")
    fields = ["penguin_id", "island", "bill_length_mm", "sex", "note"]  # no label, in order
    rows = list(csv.reader(io.StringIO(samples["text/csv"].decode())))
    assert rows == [
        [f"sample-{n}", "Biscoe", "41.5", "DEFAULT_TEXT", "DEFAULT_TEXT"] for n in (1, 2, 3)
    ]
    records = json.loads(samples["application/json"])
    assert records == [
        {
            "penguin_id": f"sample-{n}",
            "island": "Biscoe",
            "bill_length_mm": 41.5,
            "sex": "DEFAULT_TEXT",
            "note": "DEFAULT_TEXT",
        }
        for n in (1, 2, 3)
    ]
    assert [list(r) for r in records] == [fields] * 3
    assert manifest.sample("text/csv").fields == tuple(fields)
    assert manifest.sample("application/json").records == 3


def test_the_manifest_is_written_beside_and_inside_the_archive(tmp_path: Path) -> None:
    manifest = generate_payloads(HP, _config(content_types=["text/csv"]), tmp_path)

    on_disk = json.loads((tmp_path / "manifest.json").read_text())
    assert on_disk == json.loads(manifest.model_dump_json())
    assert on_disk["samples"][0] == {
        "content_type": "text/csv",
        "file": "payload_text_csv.csv",
        "records": 1,
        "fields": ["penguin_id", "island", "bill_length_mm", "sex", "note"],
        "source": None,
    }
    with tarfile.open(tmp_path / "payload.tar.gz") as tar:
        assert sorted(tar.getnames()) == ["manifest.json", "payload_text_csv.csv"]
    with pytest.raises(PayloadError, match="no application/json sample"):
        manifest.sample("application/json")


def test_default_values_come_from_the_config(tmp_path: Path) -> None:
    config = _config(default_numeric_value=7.25, default_text_value="x,y")

    generate_payloads(HP, config, tmp_path)

    body = read_payload_samples(tmp_path / "payload.tar.gz")["text/csv"].decode()
    assert next(csv.reader(io.StringIO(body))) == ["sample-1", "x,y", "7.25", "x,y", "x,y"]


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"islnd": "Dream"}, r"not a feature field \(did you mean 'island'\?\)"),
        ({"bill_length_mm": "long"}, "not a number"),
        ({"penguin_id": "p1"}, "not a feature field"),
    ],
)
def test_bad_overrides_are_clear_errors(
    tmp_path: Path, overrides: dict[str, object], match: str
) -> None:
    with pytest.raises(PayloadError, match=match):
        generate_payloads(HP, _config(field_defaults=overrides), tmp_path)


def test_missing_feature_fields_are_an_error(tmp_path: Path) -> None:
    bare = ModelHyperparameters(id_name="id", label_name="y", full_field_list=["id", "y", "x"])

    with pytest.raises(PayloadError, match="no feature fields"):
        generate_payloads(bare, _config(), tmp_path)


def test_unknown_content_types_are_an_error(tmp_path: Path) -> None:
    config = PayloadConfig.model_construct(**{**_config().__dict__, "content_types": ["a/b"]})

    with pytest.raises(PayloadError, match=r"\['a/b'\] cannot be generated"):
        generate_payloads(HP, config, tmp_path)


@pytest.mark.parametrize("form", ["json", "sagemaker"])
def test_hyperparameters_are_read_from_the_top_of_the_archive(tmp_path: Path, form: str) -> None:
    values = HP.to_sagemaker() if form == "sagemaker" else HP.model_dump(mode="json")
    values["sagemaker_program"] = "train.py"  # extra keys training scripts add are ignored
    archive = write_archive(
        tmp_path / "model.tar.gz",
        [file("model.pth", b"w"), file("hyperparameters.json", json.dumps(values).encode())],
    )

    assert read_hyperparameters(archive) == values
    assert resolve_hyperparameters(archive, _config()) == HP


def test_hyperparameters_elsewhere_than_the_top_level_are_not_read(tmp_path: Path) -> None:
    archive = write_archive(
        tmp_path / "model.tar.gz",
        [file("model.pth", b"w"), file("code/hyperparameters.json", HP.model_dump_json().encode())],
    )

    assert read_hyperparameters(archive) is None


def test_hyperparameters_are_not_read_from_a_corrupt_archive(tmp_path: Path) -> None:
    # hyperparameters.json comes first and reads fine; the damage is in a later member's data,
    # which only the CRC-32 at the end of the stream reveals.
    weights = bytes(range(256)) * 4096
    archive = write_archive(
        tmp_path / "model.tar.gz",
        [file("hyperparameters.json", HP.model_dump_json().encode()), file("model.pth", weights)],
    )
    damaged = bytearray(archive.read_bytes())
    damaged[-8] ^= 0x01  # the first byte of the trailer's CRC-32
    archive.write_bytes(bytes(damaged))

    with pytest.raises(ArchiveFormatError, match="CRC-32"):
        read_hyperparameters(archive)


def test_invalid_hyperparameters_are_an_error(tmp_path: Path) -> None:
    archive = write_archive(tmp_path / "model.tar.gz", [file("hyperparameters.json", b"{not json")])

    with pytest.raises(PayloadError, match="not valid JSON"):
        read_hyperparameters(archive)


def test_the_archive_wins_over_the_config_and_the_config_is_the_fallback(
    tmp_path: Path,
) -> None:
    other = HP.model_copy(update={"seed": 7})
    with_file = write_archive(
        tmp_path / "a.tar.gz", [file("hyperparameters.json", HP.model_dump_json().encode())]
    )
    without = write_archive(tmp_path / "b.tar.gz", [file("model.pth", b"w")])

    assert resolve_hyperparameters(with_file, _config(hyperparameters=other)) == HP
    assert resolve_hyperparameters(without, _config(hyperparameters=other)) == other
    with pytest.raises(
        PayloadError, match=r"no top-level hyperparameters\.json.*'hyperparameters'"
    ):
        resolve_hyperparameters(without, _config())
