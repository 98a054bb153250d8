"""The hand-written half of docs/configuration.md: what each validator enforces, in words.

The generator reads field names, types, defaults, descriptions and simple constraints
(``ge``, ``max_length``, ``pattern``...) from the models themselves. What it cannot read is
the logic inside validator functions, so each one is described here, keyed by its
``__qualname__``. The generator fails when a config class has a validator with no entry here,
or when an entry names a validator that no longer exists, so this file cannot silently drift
from the code.
"""

from __future__ import annotations

_LOCAL_SOURCE_DIR = (
    "Must not be empty. A local path is made absolute, relative to the config file's "
    "directory (or to the working directory for configs built in Python); an `s3://` URI is "
    "kept as it is."
)

#: ``Class._validator`` -> the rules it enforces. A field validator's rules are shown with
#: the fields it validates; a model validator's rules are listed under the class's table.
RULES: dict[str, tuple[str, ...]] = {
    "BasePipelineConfig._check_role": (
        "When set, an IAM role ARN such as `arn:aws:iam::123456789012:role/SageMakerRole`.",
    ),
    "BasePipelineConfig._check_bucket": (
        "When set, an S3 bucket name: 3-63 lowercase letters, digits, dots and hyphens, "
        "starting and ending with a letter or digit, without `..`.",
    ),
    "MetricDefinition._compiles": (
        "Must compile as a Python regular expression with at least one capture group "
        "(the first group is the metric value).",
    ),
    "PyTorchTrainingConfig._resolve_source_dir": (_LOCAL_SOURCE_DIR,),
    "PyTorchTrainingConfig._hyperparameters_type": (
        "`hyperparameters` is typed when it is a `ModelHyperparameters` instance (Python; "
        "`hyperparameters_type` is then set to its class name) or when `hyperparameters_type: "
        "ModelHyperparameters` is given with a mapping (the only type a file can name); any "
        "other mapping is free-form. The keys never decide.",
        "Free-form: names non-empty, at most 256 characters, not starting with `sagemaker_` "
        "(set by sagepipe); values JSON (finite numbers), at most 2500 characters once "
        "JSON-encoded; a pipeline parameter only as a whole value.",
        "Typed: only the fields given explicitly are passed to the script.",
    ),
    "PyTorchTrainingConfig._check": (
        "Channel names must be unique; at most 20 channels.",
        "A local `source_dir` must be an existing directory that contains `training_entry_point`.",
        "The `Name`s of `metric_definitions` must be unique.",
        "`processes_per_host` may only be set together with `distribution`.",
    ),
    "ProcessingInput._valid_name": ("1-256 letters, digits, `.`, `-` and `_`.",),
    "ProcessingInput._resolve_local_source": (
        "A local path is made absolute relative to the config file's directory (or to the "
        "working directory for configs built in Python); `s3://` and `file://` URIs are kept.",
    ),
    "TrainingChannel._valid_name": (
        "1-64 letters, digits, `.`, `-` and `_` (SageMaker's `ChannelName`).",
    ),
    "TrainingChannel._resolve_local_source": (
        "Must not be empty. A local path is made absolute relative to the config file's "
        "directory (or to the working directory for configs built in Python); URIs "
        "(`s3://`, `file://`) are kept.",
    ),
    "ProcessingOutput._valid_name": ("1-256 letters, digits, `.`, `-` and `_`.",),
    "ProcessingConfig._resolve_source_dir": (_LOCAL_SOURCE_DIR,),
    "ProcessingConfig._check": (
        "A local `source_dir` must be an existing directory that contains "
        "`processing_entry_point`.",
        "Input names must be unique, and so must output names.",
        "Every input's container path (`destination`, default "
        "`/opt/ml/processing/input/<name>`) and every output's (`source`, default "
        "`/opt/ml/processing/output/<name>`) must be under `/opt/ml/processing/`; no two "
        "inputs, and no two outputs, may use the same path.",
    ),
    "ModelHyperparameters._check_fields": (
        "`full_field_list` must not repeat a field.",
        "`id_name` and `label_name` must be in `full_field_list`.",
        "Every field of `tab_field_list` and `cat_field_list` must be in `full_field_list`.",
        "No field may be in both `tab_field_list` and `cat_field_list`.",
        "`id_name` and `label_name` cannot also be features (in `tab_field_list` or "
        "`cat_field_list`).",
        "Every entry of `hidden_units` must be positive.",
    ),
    "PyTorchModelConfig._resolve_source_dir": (_LOCAL_SOURCE_DIR,),
    "PyTorchModelConfig._entry_point_given": ("Must not be blank.",),
    "PyTorchModelConfig._ml_instance": ("Must start with `ml.` (e.g. `ml.m5.large`).",),
    "PyTorchModelConfig._check": (
        "`framework_version` and `py_version` (shared fields, optional elsewhere) must be set.",
        "`inference_memory_limit` must not exceed `container_memory_limit`.",
        "`container_startup_health_check_timeout` must not exceed `data_download_timeout`.",
        "A local `source_dir` must be an existing directory that contains `inference_entry_point`.",
    ),
    "PackagingConfig._resolve_source_dir": (
        "Must be a local directory (not `s3://`): its files are put into the archive's "
        "`code/`. It is made absolute relative to the config file's directory (or to the "
        "working directory for configs built in Python).",
    ),
    "PackagingConfig._resolve_dependencies": (
        "Each path is made absolute like `source_dir` and must exist.",
    ),
    "PackagingConfig._check": (
        "`source_dir` must be an existing directory that contains `inference_entry_point`.",
    ),
    "PayloadConfig._sample_paths": (
        "Each entry is a path or URI (a string), or an object `{path, content_type}`.",
    ),
    "PayloadConfig._unique_file_names": (
        "No two local sample files may have the same file name (the payload archive keeps "
        "them as `samples/<file name>`).",
    ),
    "PayloadConfig._check": (
        "With `samples`, none of the settings of generated payloads (`content_types`, "
        "`default_numeric_value`, `default_text_value`, `field_defaults`, `sample_count`, "
        "`hyperparameters`) may be set.",
        "Without `samples`: `content_types` must list at least one type, each `text/csv` or "
        "`application/json`, without repeats.",
        "With `hyperparameters` set, every key of `field_defaults` must be a feature field "
        "(in `tab_field_list` or `cat_field_list`).",
    ),
    "DataLoadingConfig._resolve_local_source": (
        "Must not be empty. A local path is made absolute relative to the config file's "
        "directory (or to the working directory for configs built in Python); `s3://` and "
        "`file://` URIs are kept.",
    ),
    "DataLoadingConfig._check_include": ("At least one pattern, none of them empty.",),
    "TabularPreprocessingConfig._resolve_local_source": (
        "Must not be empty. A local path is made absolute relative to the config file's "
        "directory (or to the working directory for configs built in Python); `s3://` and "
        "`file://` URIs are kept.",
    ),
    "TabularPreprocessingConfig._check_fractions": (
        "`val_fraction` + `test_fraction` must be less than 1 (rows are left for training).",
    ),
    "SampleFile._resolve_local_path": (
        "Must not be blank; an `s3://` URI is kept, any other URI is refused; a local path is "
        "made absolute relative to the config file's directory (or to the working directory "
        "for configs built in Python).",
    ),
    "SampleFile._known_type": (
        "When set, one of `application/json`, `text/csv`, `application/x-npy`.",
    ),
    "SampleFile._check_local_files": (
        "A local path must be a file, or a directory of files (no subdirectories; hidden "
        "files skipped); each file is read when the config is built.",
        "Without `content_type`, each file's extension must be `.json`, `.csv` or `.npy`.",
        "Each file must be at most 6 MiB (the model server's default largest request) and "
        "not empty; JSON must parse (UTF-8); CSV must hold a non-blank line of UTF-8 text; "
        "NPY must have a valid header of a non-object dtype (read without unpickling) and "
        "exactly the data it announces.",
    ),
    "RegistrationConfig._group_name": (
        "Must match `^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$`: letters, digits and hyphens, "
        "starting and ending with a letter or digit.",
    ),
    "RegistrationConfig._mime_types": (
        "At least one MIME type (`type/subtype`, such as `text/csv`), without repeats.",
    ),
    "RegistrationConfig._instance_types": ("Every entry must start with `ml.`.",),
    "RegistrationConfig._check": ("`regions` must not repeat a region.",),
    "BatchTransformConfig._check": (
        "`join_source: Input` needs `content_type` and `accept` each `text/csv` or "
        "`application/json`, and `assemble_with: Line`.",
        "`batch_strategy: MultiRecord` needs `split_type: Line` (with `None` each object is "
        "one record); use `SingleRecord` or `split_type: Line`.",
    ),
    "EndpointConfig._name": (
        "Must match `^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$`: letters, digits and hyphens, "
        "starting and ending with a letter or digit.",
    ),
}

#: ``AfterValidator`` functions used in field types, by ``__name__`` -> what they require.
TYPE_CHECKS: dict[str, str] = {
    "check_instance_type": "A SageMaker instance type `ml.<family>.<size>` of a known family "
    "(e.g. `ml.m5.xlarge`).",
    "_check_region": "An AWS region such as `us-east-1`.",
    "_check_framework_version": "A framework version such as `2.1.0` (`X.Y` or `X.Y.Z`).",
    "_check_py_version": "A Python version tag such as `py310`.",
    "_check_s3_uri": "An `s3://` URI such as `s3://bucket/prefix`.",
    "_free_form": "A mapping of names to JSON values (free-form hyperparameters).",
}

#: Field descriptions for models whose docstring has no ``Attributes:`` entry for a field.
#: (Better fixed in the docstring; kept here so the reference has no empty description.)
FIELD_NOTES: dict[str, str] = {
    "MetricDefinition.Name": "Name of the metric, as it appears in the metrics of the job.",
    "MetricDefinition.Regex": "Regular expression searched in each log line; its first "
    "group is the value.",
}
