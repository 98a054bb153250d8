"""The JSON path subset of Std:JsonGet."""

from __future__ import annotations

import pytest

from sagepipe.local.definition.errors import JsonPathError
from sagepipe.local.definition.jsonpath import parse_json_path, read_json_path


def test_parse() -> None:
    assert parse_json_path("metrics.accuracy.value") == ("metrics", "accuracy", "value")
    assert parse_json_path("$.results[0].score") == ("results", 0, "score")
    assert parse_json_path("[1][2]") == (1, 2)
    assert parse_json_path("binary-classification_metrics.f1") == (
        "binary-classification_metrics",
        "f1",
    )


@pytest.mark.parametrize("path", ["", "a..b", "a.[0]", "a[x]", "a b", ".a", "a.", "$", "[0]a"])
def test_bad_paths(path: str) -> None:
    with pytest.raises(JsonPathError):
        parse_json_path(path)


def test_read() -> None:
    document = {"a": [{"b": 1}, {"b": [True, None]}]}
    assert read_json_path(document, "a[1].b[0]", "here") is True
    assert read_json_path(document, "a[1].b[1]", "here") is None
    with pytest.raises(JsonPathError) as caught:
        read_json_path(document, "a[0].c", "here")
    assert str(caught.value) == "here: JSON path 'a[0].c': $.a[0] has no key 'c' (it has: b)"
    with pytest.raises(JsonPathError) as caught:
        read_json_path(document, "a.b", "here")
    assert str(caught.value) == "here: JSON path 'a.b': $.a has no key 'b' (it has: no keys)"
    with pytest.raises(JsonPathError) as caught:
        read_json_path(document, "a[0][0]", "here")
    assert str(caught.value) == "here: JSON path 'a[0][0]': $.a[0] is not a list, it has no [0]"
