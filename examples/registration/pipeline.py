"""The registration example as a runnable pipeline: ``config.yaml`` (the one config file) and
the model archive, given per execution as the ``ModelPath`` parameter.

    python examples/registration/make_model.py /tmp/model.tar.gz
    sagepipe run examples/registration/pipeline.py:pipeline --param ModelPath=/tmp/model.tar.gz
    sagepipe registry versions bsm-pytorch-models

``ModelPath`` is an ``s3://`` URI or the absolute path of a local ``model.tar.gz``. The run
validates the archive (model step), adds ``code/`` (packaging), writes sample payloads
(payload), then in each region of the config serves the package, sends it every sample and
registers it (``Registration_us-east-1``).
"""

from __future__ import annotations

from pathlib import Path

from sagepipe.definitions import ModelRegistrationPipeline
from sagepipe.pipeline import ParameterString, Pipeline

CONFIG = Path(__file__).resolve().with_name("config.yaml")
MODEL_PATH = ParameterString("ModelPath", default="s3://sagepipe-local/models/model.tar.gz")


def pipeline() -> Pipeline:
    """The model registration pipeline of ``config.yaml`` for the model at ``ModelPath``."""
    return ModelRegistrationPipeline(CONFIG).generate_pipeline(model_s3_path=MODEL_PATH)
