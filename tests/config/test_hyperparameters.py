"""ModelHyperparameters: defaults, rules both ways, SageMaker string round trip."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sagepipe.config import ConfigValidationError, ModelHyperparameters
from sagepipe.errors import ConfigError

FIELDS = ["customer_id", "target", "feature1", "feature2", "feature3"]


def make(**overrides: Any) -> ModelHyperparameters:
    fields: dict[str, Any] = {
        "id_name": "customer_id",
        "label_name": "target",
        "full_field_list": FIELDS,
        "tab_field_list": ["feature1", "feature2"],
        "cat_field_list": ["feature3"],
    }
    fields.update(overrides)
    return ModelHyperparameters(**fields)


def test_defaults() -> None:
    hp = ModelHyperparameters(id_name="i", label_name="y", full_field_list=["i", "y"])
    assert hp.tab_field_list == []
    assert hp.cat_field_list == []
    assert hp.learning_rate == 1e-3
    assert hp.batch_size == 32
    assert hp.epochs == 10
    assert hp.hidden_units == [64, 32]
    assert hp.embedding_dim == 4
    assert hp.dropout == 0.1
    assert hp.weight_decay == 0.0
    assert hp.num_classes == 2
    assert hp.seed == 42


def test_seed_example_is_valid() -> None:
    hp = make(learning_rate=0.001, batch_size=64, epochs=10)
    assert hp.batch_size == 64


@pytest.mark.parametrize(
    ("field", "message"),
    [("id_name", "full_field_list"), ("label_name", "full_field_list"), ("full_field_list", "")],
)
def test_required_fields(field: str, message: str) -> None:
    fields: dict[str, Any] = {"id_name": "i", "label_name": "y", "full_field_list": ["i", "y"]}
    del fields[field]
    with pytest.raises(ConfigValidationError, match=f"{field}: required field is missing"):
        ModelHyperparameters(**fields)


INVALID: list[tuple[dict[str, Any], str]] = [
    ({"id_name": "nope"}, "id_name 'nope' is not in full_field_list"),
    ({"label_name": "nope"}, "label_name 'nope' is not in full_field_list"),
    ({"tab_field_list": ["feature1", "other"]}, "tab_field_list has fields not in full_field_list"),
    ({"cat_field_list": ["other"]}, "cat_field_list has fields not in full_field_list"),
    (
        {"tab_field_list": ["feature1", "feature3"]},
        "fields ['feature3'] are in both tab_field_list and cat_field_list",
    ),
    ({"full_field_list": [*FIELDS, "feature1"]}, "full_field_list repeats ['feature1']"),
    ({"tab_field_list": ["feature1", "target"]}, "id/label fields ['target'] cannot also be"),
    ({"learning_rate": 0}, "learning_rate"),
    ({"learning_rate": -0.1}, "learning_rate"),
    ({"batch_size": 0}, "batch_size"),
    ({"epochs": 0}, "epochs"),
    ({"embedding_dim": 0}, "embedding_dim"),
    ({"dropout": 1.0}, "dropout"),
    ({"dropout": -0.1}, "dropout"),
    ({"weight_decay": -1}, "weight_decay"),
    ({"num_classes": 1}, "num_classes"),
    ({"hidden_units": [8, 0]}, "hidden_units must all be positive"),
]


@pytest.mark.parametrize(("overrides", "message"), INVALID)
def test_rules(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigValidationError) as caught:
        make(**overrides)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    "overrides",
    [
        {"learning_rate": 1e-6},
        {"batch_size": 1},
        {"epochs": 1},
        {"dropout": 0.0},
        {"weight_decay": 0.5},
        {"num_classes": 3},
        {"tab_field_list": [], "cat_field_list": []},
        {"hidden_units": []},
    ],
)
def test_boundaries_that_are_valid(overrides: dict[str, Any]) -> None:
    make(**overrides)


def test_to_sagemaker_gives_strings_only() -> None:
    hp = make(learning_rate=0.01, batch_size=64)
    values = hp.to_sagemaker()
    assert all(isinstance(v, str) for v in values.values())
    assert values["id_name"] == "customer_id"
    assert values["learning_rate"] == "0.01"
    assert values["batch_size"] == "64"
    assert json.loads(values["full_field_list"]) == FIELDS
    assert set(values) == set(ModelHyperparameters.model_fields)


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"learning_rate": 0.123456789, "hidden_units": [3, 2, 1], "dropout": 0.0},
        {
            "id_name": "123",
            "full_field_list": ["123", "target", "feature1", "feature2", "feature3"],
        },
        {
            "label_name": "true",
            "full_field_list": ["customer_id", "true", "feature1", "feature2", "feature3"],
        },
    ],
)
def test_sagemaker_round_trip_is_lossless(overrides: dict[str, Any]) -> None:
    hp = make(**overrides)
    back = ModelHyperparameters.from_sagemaker(hp.to_sagemaker())
    assert back == hp
    assert back.model_dump() == hp.model_dump()


def test_from_sagemaker_rejects_bad_json() -> None:
    values = make().to_sagemaker()
    values["batch_size"] = "sixty-four"
    with pytest.raises(ConfigError, match="batch_size='sixty-four' is not valid JSON"):
        ModelHyperparameters.from_sagemaker(values)


def test_from_sagemaker_reports_unknown_keys_with_a_suggestion() -> None:
    values = make().to_sagemaker()
    values["learning_rat"] = "0.1"
    with pytest.raises(ConfigValidationError, match=r"did you mean 'learning_rate'"):
        ModelHyperparameters.from_sagemaker(values)
