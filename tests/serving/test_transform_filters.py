"""DataProcessing InputFilter/OutputFilter: the JSONPath subset SageMaker documents, on CSV
and JSON records, and one-line errors for what is outside it."""

from __future__ import annotations

import pytest

from sagepipe.serving.errors import TransformError
from sagepipe.serving.transform_filters import RecordFilter

CSV = "text/csv"
JSON = "application/json"


@pytest.mark.parametrize(
    ("expression", "record", "expected"),
    [
        ("$", b"1,2,3", b"1,2,3"),
        ("$[1:]", b"1,2,3", b"2,3"),
        ("$[:-1]", b"1,2,3", b"1,2"),
        ("$[0,-1]", b"1,2,3", b"1,3"),
        ("$[2]", b'1,"a,b",3', b"3"),
        ("$[1]", b'1,"a,b",3', b'"a,b"'),
    ],
)
def test_csv_records_are_arrays_of_fields(expression: str, record: bytes, expected: bytes) -> None:
    assert RecordFilter(expression, "InputFilter").apply(record, CSV) == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("$.features", b"[1,2]"),
        ("$.features[0]", b"1"),
        ("$['id']", b"7"),
        ("$['id','SageMakerOutput']", b'{"id":7,"SageMakerOutput":{"score":0.5}}'),
        ('$["SageMakerOutput"].score', b"0.5"),
        ("$.*", b'[7,[1,2],{"score":0.5}]'),
        ("$.features[*]", b"[1,2]"),
    ],
)
def test_json_records_select_paths(expression: str, expected: bytes) -> None:
    record = b'{"id": 7, "features": [1, 2], "SageMakerOutput": {"score": 0.5}}'

    assert RecordFilter(expression, "OutputFilter").apply(record, JSON) == expected


@pytest.mark.parametrize("expression", ["features", "$..id", "$[a-b]", "$.x y"])
def test_unsupported_expressions_are_refused(expression: str) -> None:
    with pytest.raises(TransformError) as error:
        RecordFilter(expression, "InputFilter")

    assert f"InputFilter {expression!r} is not a supported JSONPath" in str(error.value)


def test_a_path_missing_from_a_record_names_the_record() -> None:
    with pytest.raises(TransformError, match=r"OutputFilter \$.label selects nothing"):
        RecordFilter("$.label", "OutputFilter").apply(b'{"id": 1}', JSON)
    with pytest.raises(TransformError, match=r"selects nothing in the record 1,2"):
        RecordFilter("$[5]", "OutputFilter").apply(b"1,2", CSV)


def test_a_json_filter_on_a_record_that_is_not_json_fails() -> None:
    with pytest.raises(TransformError, match="a record is not JSON"):
        RecordFilter("$.id", "InputFilter").apply(b"1,2", JSON)
