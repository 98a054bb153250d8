"""The tabular example's scripts, run for real: preprocess and train as subprocesses with an
/opt/ml-like tree, the inference handlers in process, evaluate on real and fabricated output."""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from sagepipe.config.hyperparameters import ModelHyperparameters
from sagepipe.config.training import default_metric_definitions

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tabular"
CODE = EXAMPLE / "code"
DATA = EXAMPLE / "data"  # the shipped Palmer penguins CSV, preprocess's raw input
FIELDS = [
    "penguin_id",
    "species",
    "island",
    "bill_length_mm",
    "bill_depth_mm",
    "flipper_length_mm",
    "body_mass_g",
    "year",
    "is_male",
]
EPOCHS = 12
HYPERPARAMETERS = ModelHyperparameters(
    id_name="penguin_id",
    label_name="is_male",
    full_field_list=FIELDS,
    tab_field_list=["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "year"],
    cat_field_list=["species", "island"],
    learning_rate=0.01,
    batch_size=32,
    epochs=EPOCHS,
    hidden_units=[32, 16],
    embedding_dim=4,
    dropout=0.2,
    weight_decay=0.001,
    seed=42,
)
# Floors well under what the model reaches on the shipped data (val F1 ~0.88, AUC ~0.93-0.96).
F1_FLOOR = 0.75
AUC_FLOOR = 0.85
EPOCH_LINE_STARTS = ("Epoch ", "Train Loss", "Validation ")

# Real subprocesses and a real training run: a few seconds in all.
pytestmark = pytest.mark.slow


def run(script: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(script), *args],
        # No __pycache__ in the example's code/ (the packaging step would ship it).
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def preprocess(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run(CODE / "preprocess.py", *args, env={"SAGEPIPE_OPT_ML": str(root)})


def hyperparameter_args(hp: ModelHyperparameters = HYPERPARAMETERS) -> list[str]:
    return [item for k, v in hp.to_sagemaker().items() for item in (f"--{k}", v)]


def toolkit_args(hp: ModelHyperparameters = HYPERPARAMETERS) -> list[str]:
    """The arguments as sagemaker-training-toolkit renders them: each value JSON-decoded when
    it can be, then ``str()``-ed, so lists arrive as Python literals (``['a', 'b']``)."""
    args = []
    for key, value in hp.to_sagemaker().items():
        try:
            decoded = json.loads(value)
        except json.JSONDecodeError:
            decoded = value
        args += [f"--{key}", str(decoded)]
    return args


def train(channel: Path, root: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    env = {
        "SM_CHANNEL_DATA": str(channel),
        "SM_MODEL_DIR": str(root / "model"),
        "SM_OUTPUT_DATA_DIR": str(root / "output" / "data"),
        "SM_OUTPUT_DIR": str(root / "output"),
        "SM_NUM_GPUS": "0",
    }
    return run(CODE / "train.py", *args, env=env)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def processed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("preprocess")
    result = preprocess(root, "--input-dir", str(DATA))
    assert result.returncode == 0, result.stderr
    return root / "processing" / "output"


@pytest.fixture(scope="module")
def trained(
    processed: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    root = tmp_path_factory.mktemp("train")
    result = train(processed / "processed_data", root, hyperparameter_args())
    assert result.returncode == 0, result.stderr
    return root, result


@pytest.fixture(scope="module")
def inference() -> Iterator[ModuleType]:
    """inference.py loaded by path, with its sibling modules importable as in code/."""
    sys.path.insert(0, str(CODE))
    writes_bytecode = sys.dont_write_bytecode
    sys.dont_write_bytecode = True  # keep __pycache__ out of the example's code/
    try:
        spec = importlib.util.spec_from_file_location("tabular_inference", CODE / "inference.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up while defined
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.dont_write_bytecode = writes_bytecode
        sys.path.remove(str(CODE))
        for name in ("tabular_inference", "tabular_features", "tabular_model", "tabular_metrics"):
            sys.modules.pop(name, None)


@pytest.fixture(scope="module")
def model(inference: ModuleType, trained: tuple[Path, Any]) -> Any:
    return inference.model_fn(str(trained[0] / "model"))


# --- preprocess -------------------------------------------------------------------------------


def test_preprocess_writes_stratified_disjoint_splits(processed: Path) -> None:
    splits = {
        name: read_csv(processed / "processed_data" / name / f"{name}.csv")
        for name in ("train", "val", "test")
    }
    ids = [row["penguin_id"] for rows in splits.values() for row in rows]
    assert len(ids) == len(set(ids)) == 333  # 344 penguins less 11 with a missing value
    for name, rows in splits.items():
        assert list(rows[0]) == FIELDS, name
        assert {row["is_male"] for row in rows} == {"0", "1"}, name
        assert {row["species"] for row in rows} <= {"adelie", "chinstrap", "gentoo"}
    assert len(splits["val"]) == len(splits["test"]) == 50
    features = (processed / "test_features" / "test_features.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in features] == [r["penguin_id"] for r in splits["test"]]
    assert all(len(line.split(",")) == len(FIELDS) - 1 for line in features)


def test_preprocess_is_seeded(processed: Path, tmp_path: Path) -> None:
    assert preprocess(tmp_path / "same", "--input-dir", str(DATA)).returncode == 0
    assert preprocess(tmp_path / "other", "--seed", "7", "--input-dir", str(DATA)).returncode == 0
    test_csv = Path("processing/output/processed_data/test/test.csv")
    original = (processed.parent.parent / test_csv).read_bytes()
    assert (tmp_path / "same" / test_csv).read_bytes() == original
    assert (tmp_path / "other" / test_csv).read_bytes() != original


def test_preprocess_reads_synthetic_raw_input(tmp_path: Path) -> None:
    raw = tmp_path / "processing" / "input" / "raw" / "penguins.csv"
    args = ["--rows", "2000", "--seed", "3", "--output", str(raw)]
    generated = run(EXAMPLE / "generate_synthetic.py", *args, env={})
    assert generated.returncode == 0, generated.stderr
    again = tmp_path / "again.csv"
    run(EXAMPLE / "generate_synthetic.py", *args[:-1], str(again), env={})
    assert again.read_bytes() == raw.read_bytes()

    result = preprocess(tmp_path)
    assert result.returncode == 0, result.stderr
    output = tmp_path / "processing" / "output" / "processed_data"
    total = sum(len(read_csv(output / n / f"{n}.csv")) for n in ("train", "val", "test"))
    dropped = sum(1 for row in read_csv(raw) if "NA" in row.values())
    assert dropped > 0
    assert total == 2000 - dropped


def test_preprocess_fails_with_a_message_without_raw_input(tmp_path: Path) -> None:
    result = preprocess(tmp_path)
    assert result.returncode == 1
    message = (tmp_path / "output" / "message").read_text()
    assert "processing/input/raw does not exist" in message and "'raw' input" in message


def test_preprocess_fails_with_a_message_on_bad_raw_columns(tmp_path: Path) -> None:
    raw = tmp_path / "processing" / "input" / "raw"
    raw.mkdir(parents=True)
    (raw / "bad.csv").write_text("species,island\nAdelie,Dream\n")
    result = preprocess(tmp_path)
    assert result.returncode == 1
    message = (tmp_path / "output" / "message").read_text()
    assert "lacks the columns" in message and "bill_length_mm" in message


# --- train ------------------------------------------------------------------------------------


def metric_values(stdout: str, name: str) -> list[float]:
    regex = next(d["Regex"] for d in default_metric_definitions() if d["Name"] == name)
    return [float(m) for m in re.findall(regex, stdout)]


def test_train_prints_metrics_each_epoch_and_learns(trained: tuple[Path, Any]) -> None:
    _, result = trained
    for definition in default_metric_definitions():
        assert len(metric_values(result.stdout, definition["Name"])) == EPOCHS
    assert metric_values(result.stdout, "Validation F1 Score")[-1] >= F1_FLOOR
    assert metric_values(result.stdout, "Validation AUC ROC")[-1] >= AUC_FLOOR
    losses = metric_values(result.stdout, "Train Loss")
    assert losses[-1] < losses[0]


def test_train_saves_model_statistics_and_hyperparameters(trained: tuple[Path, Any]) -> None:
    import torch

    root, _ = trained
    model_dir = root / "model"
    saved = json.loads((model_dir / "hyperparameters.json").read_text())
    assert ModelHyperparameters(**saved) == HYPERPARAMETERS
    state = torch.load(model_dir / "model.pth", weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    statistics = json.loads((model_dir / "preprocessing.json").read_text())
    assert statistics["categorical"]["species"] == ["adelie", "chinstrap", "gentoo"]
    assert set(statistics["numeric"]) == set(HYPERPARAMETERS.tab_field_list)
    metrics = json.loads((root / "output" / "data" / "metrics.json").read_text())
    assert metrics["Validation F1 Score"] >= F1_FLOOR


def test_train_is_deterministic(
    processed: Path, trained: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    import torch

    first_root, first = trained
    # Same hyperparameters, rendered as the training toolkit does rather than as JSON strings.
    second = train(processed / "processed_data", tmp_path, toolkit_args())
    assert "['penguin_id', 'species'" in " ".join(toolkit_args())
    assert second.returncode == 0, second.stderr

    def epoch_lines(stdout: str) -> list[str]:
        return [line for line in stdout.splitlines() if line.startswith(EPOCH_LINE_STARTS)]

    assert len(epoch_lines(first.stdout)) == EPOCHS * 5
    assert epoch_lines(first.stdout) == epoch_lines(second.stdout)
    states = [
        torch.load(r / "model" / "model.pth", weights_only=True) for r in (first_root, tmp_path)
    ]
    assert states[0].keys() == states[1].keys()
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])


def write_split(channel: Path, name: str, header: str, rows: list[str]) -> None:
    (channel / name).mkdir(parents=True, exist_ok=True)
    (channel / name / f"{name}.csv").write_text("\n".join([header, *rows]) + "\n")


GOOD_ROWS = [
    "1,adelie,dream,39.1,18.7,181,3750,2007,1",
    "2,gentoo,biscoe,46.5,14.5,213,4400,2008,0",
]


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("missing column", "lacks the columns ['year']"),
        ("empty split", "split 'val'"),
        ("non-numeric", "'bill_depth_mm' has 'deep'"),
        ("label not binary", "a binary label must be 0 or 1"),
        ("unknown hyperparameter", "unknown arguments ['--learing_rate'"),
    ],
)
def test_train_fails_with_a_written_reason_on_bad_input(
    case: str, expected: str, tmp_path: Path
) -> None:
    channel = tmp_path / "data"
    header = ",".join(FIELDS)
    train_rows, val_rows = list(GOOD_ROWS), list(GOOD_ROWS)
    args = hyperparameter_args()
    if case == "missing column":
        header = header.replace(",year", "")
        train_rows = [row.replace(",2007", "").replace(",2008", "") for row in train_rows]
    elif case == "empty split":
        val_rows = []
    elif case == "non-numeric":
        train_rows[1] = train_rows[1].replace("14.5", "deep")
    elif case == "label not binary":
        train_rows[0] = train_rows[0][:-1] + "2"
    else:
        args += ["--learing_rate", "0.1"]
    write_split(channel, "train", header, train_rows)
    write_split(channel, "val", header, val_rows)
    result = train(channel, tmp_path, args)
    assert result.returncode == 1
    failure = (tmp_path / "output" / "failure").read_text()
    assert expected in failure
    assert expected in result.stderr
    assert not (tmp_path / "model" / "model.pth").exists()


# --- inference --------------------------------------------------------------------------------


def test_inference_csv_round_trip(inference: ModuleType, model: Any, processed: Path) -> None:
    body = (processed / "test_features" / "test_features.csv").read_bytes()
    decoded = inference.input_fn(body, "text/csv")
    results = inference.predict_fn(decoded, model)
    text, content_type = inference.output_fn(results, "text/csv")
    assert content_type == "text/csv"
    lines = text.split("\n")
    assert [line.split(",")[0] for line in lines] == [
        line.split(",")[0] for line in body.decode().splitlines()
    ]
    for line in lines:
        _, probability, prediction = line.split(",")
        assert 0.0 <= float(probability) <= 1.0
        assert prediction == str(int(float(probability) >= 0.5))


def test_inference_accepts_a_labelled_csv_with_header(
    inference: ModuleType, model: Any, processed: Path
) -> None:
    labelled = (processed / "processed_data" / "test" / "test.csv").read_bytes()
    features = (processed / "test_features" / "test_features.csv").read_bytes()
    with_header = inference.predict_fn(inference.input_fn(labelled, "text/csv"), model)
    plain = inference.predict_fn(inference.input_fn(features, "text/csv; charset=utf-8"), model)
    assert with_header == plain
    assert len(plain) == 50


def test_inference_json_records(inference: ModuleType, model: Any) -> None:
    gentoo_male = {
        "penguin_id": 7,
        "species": " Gentoo ",
        "island": "Biscoe",
        "bill_length_mm": 50.0,
        "bill_depth_mm": "16.0",
        "flipper_length_mm": 225,
        "body_mass_g": 5700,
        "year": 2008,
    }
    adelie_female = {**gentoo_male, "penguin_id": 8, "species": "Adelie", "island": "Torgersen"}
    adelie_female.update(bill_length_mm=36.0, bill_depth_mm=17.0, body_mass_g=3100)
    adelie_female.update(flipper_length_mm=185, island="Atlantis")  # unknown island: bucket 0
    body = json.dumps([gentoo_male, adelie_female])
    text, content_type = inference.output_fn(
        inference.predict_fn(inference.input_fn(body, "application/json"), model),
        "application/json",
    )
    assert content_type == "application/json"
    results = json.loads(text)
    assert [r["id"] for r in results] == [7, 8]
    assert [r["prediction"] for r in results] == [1, 0]
    single = {k: v for k, v in gentoo_male.items() if k != "penguin_id"}
    one = inference.predict_fn(
        inference.input_fn(json.dumps(single).encode(), "application/json"), model
    )
    assert one[0]["id"] is None and one[0]["prediction"] == 1


def test_inference_rejects_what_it_cannot_read(inference: ModuleType, model: Any) -> None:
    with pytest.raises(ValueError, match="text/csv, application/json"):
        inference.input_fn(b"1,2", "application/x-npy")
    with pytest.raises(ValueError, match="text/csv, application/json"):
        inference.output_fn([], "application/x-npy")
    with pytest.raises(ValueError, match="has 3 columns; expected 8"):
        inference.predict_fn(inference.input_fn("1,adelie,dream", "text/csv"), model)
    with pytest.raises(ValueError, match=r"no value for the feature fields \['body_mass_g'\]"):
        inference.predict_fn(
            inference.input_fn(
                '{"species": "adelie", "island": "dream", "bill_length_mm": 39, '
                '"bill_depth_mm": 18, "flipper_length_mm": 190, "year": 2008}',
                "application/json",
            ),
            model,
        )
    with pytest.raises(ValueError, match="not a number"):
        inference.predict_fn(
            inference.input_fn("1,adelie,dream,long,18,190,3500,2008", "text/csv"), model
        )


# --- evaluate ---------------------------------------------------------------------------------


def evaluate(root: Path, predictions: str, test_csv: str) -> subprocess.CompletedProcess[str]:
    (root / "processing/input/predictions").mkdir(parents=True)
    (root / "processing/input/predictions/test_features.csv.out").write_text(predictions)
    (root / "processing/input/test/test").mkdir(parents=True)
    (root / "processing/input/test/test/test.csv").write_text(test_csv)
    return run(CODE / "evaluate.py", env={"SAGEPIPE_OPT_ML": str(root)})


def test_evaluate_on_fabricated_predictions(tmp_path: Path) -> None:
    test_csv = "penguin_id,species,is_male\n1,a,1\n2,a,1\n3,a,0\n4,a,0\n5,a,1\n"
    # Of the 6 positive/negative pairs only (5, 4) is ranked wrongly: AUC = 5/6. Predicted
    # classes: TP 1 and 2, FP 4, FN 5: F1 = 2*2 / (2*2 + 1 + 1) = 2/3.
    predictions = "1,0.9,1\n2,0.8,1\n\n3,0.4,0\n4,0.6,1\n5,0.5,0\n"
    result = evaluate(tmp_path, predictions, test_csv)
    assert result.returncode == 0, result.stderr
    evaluation = json.loads((tmp_path / "processing/output/evaluation/evaluation.json").read_text())
    assert evaluation == {"f1": pytest.approx(2 / 3), "auc": pytest.approx(5 / 6), "records": 5}
    assert "Test F1 Score: 0.666667" in result.stdout
    assert "Test AUC ROC: 0.833333" in result.stdout


def test_evaluate_fails_when_a_test_record_has_no_prediction(tmp_path: Path) -> None:
    result = evaluate(tmp_path, "1,0.9,1\n", "penguin_id,is_male\n1,1\n2,0\n")
    assert result.returncode == 1
    message = (tmp_path / "output" / "message").read_text()
    assert "1 test ids without a prediction (e.g. ['2'])" in message


def test_evaluate_scores_the_model_on_the_test_split(
    inference: ModuleType, model: Any, processed: Path, tmp_path: Path
) -> None:
    # What the pipeline does: transform test_features/ (CSV out), then evaluate.
    body = (processed / "test_features" / "test_features.csv").read_text()
    lines = body.splitlines()
    batches = [lines[i : i + 16] for i in range(0, len(lines), 16)]  # MultiRecord-like batches
    outputs = [
        inference.output_fn(
            inference.predict_fn(inference.input_fn("\n".join(b), "text/csv"), model),
            "text/csv",
        )[0]
        for b in batches
    ]
    test_csv = (processed / "processed_data" / "test" / "test.csv").read_text()
    result = evaluate(tmp_path, "\n".join(outputs) + "\n", test_csv)
    assert result.returncode == 0, result.stderr
    evaluation = json.loads((tmp_path / "processing/output/evaluation/evaluation.json").read_text())
    assert evaluation["records"] == 50
    assert evaluation["f1"] >= F1_FLOOR
    assert evaluation["auc"] >= AUC_FLOOR


def test_metrics_match_their_definitions(inference: ModuleType) -> None:
    metrics = importlib.import_module("tabular_metrics")  # code/ is on sys.path via inference
    labels = [1, 0, 1, 1, 0, 0, 1, 0]
    scores = [0.9, 0.9, 0.7, 0.3, 0.3, 0.1, 0.3, 0.8]
    pairs = [(p, n) for p in range(8) if labels[p] for n in range(8) if not labels[n]]
    by_pairs = sum(
        1.0 if scores[p] > scores[n] else 0.5 if scores[p] == scores[n] else 0.0 for p, n in pairs
    ) / len(pairs)
    assert metrics.roc_auc(labels, scores) == pytest.approx(by_pairs)
    assert metrics.f1_score([1, 1, 0, 0], [1, 0, 1, 0]) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="only one class"):
        metrics.roc_auc([1, 1], [0.2, 0.3])
