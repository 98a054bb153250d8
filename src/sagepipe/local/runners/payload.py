"""The payload runner: sample requests for the model, from its field lists.

The field lists come from ``hyperparameters.json`` at the top of the model archive
(``model_input``: an object, or a prefix holding ``model.tar.gz``), else from the config's
``hyperparameters``. The output prefix (property
``ProcessingOutputConfig.Outputs['payload_sample'].S3Output.S3Uri``) receives
``payload.tar.gz`` (one sample file per content type, and the manifest) and ``manifest.json``
(see :mod:`sagepipe.artifacts.payload`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sagepipe.local.calls.archives import find_archive, local_archive, scratch
from sagepipe.local.errors import StepFailure
from sagepipe.local.runners.base import StepContext, StepOutcome
from sagepipe.local.runners.common import required_input
from sagepipe.local.runners.packaging import PACKAGED_ARCHIVE, processing_properties

if TYPE_CHECKING:
    from sagepipe.config.payload import PayloadConfig
    from sagepipe.pipeline import Step

STEP_TYPE = "PayloadStep"
MODEL_INPUT = "model_input"
OUTPUT_NAME = "payload_sample"


class PayloadRunner:
    """Runs a ``PayloadStep``."""

    def check(self, step: Step) -> None:
        """Nothing to check before the run: the field lists may come from the archive."""

    def run(self, context: StepContext) -> StepOutcome:
        from sagepipe.artifacts.errors import ArtifactError
        from sagepipe.artifacts.payload import (
            HYPERPARAMETERS_FILE,
            generate_payloads,
            read_hyperparameters,
            resolve_hyperparameters,
        )

        request = context.request
        what = f"payload step {request.step_name!r}"
        config = payload_config(request.config, what)
        source = required_input(request.inputs, MODEL_INPUT, what)
        uri = find_archive(context.storage, source, PACKAGED_ARCHIVE, what)
        archive = local_archive(context.storage, uri, scratch(context.layout.step_dir), what)
        output_dir = context.layout.step_dir / OUTPUT_NAME
        try:
            found = read_hyperparameters(archive)
            if found is not None:
                context.log(f"sagepipe: field lists from {HYPERPARAMETERS_FILE} in {uri}")
                hyperparameters = found
            else:
                # Raises the library's message when the config has no field lists either.
                hyperparameters = resolve_hyperparameters(archive, config)
                context.log(
                    f"sagepipe: {uri} has no {HYPERPARAMETERS_FILE}; field lists from config"
                )
            manifest = generate_payloads(hyperparameters, config, output_dir)
        except ArtifactError as exc:
            raise StepFailure(f"the sample payloads cannot be generated: {exc}") from None
        for sample in manifest.samples:
            context.log(
                f"sagepipe: {sample.content_type}: {sample.records} record(s) in {sample.file} "
                f"(fields {', '.join(sample.fields)})"
            )
        prefix = f"{request.output_prefix}/{OUTPUT_NAME}"
        uris = context.uploader.upload_tree(output_dir, prefix)
        context.log(f"sagepipe: output {OUTPUT_NAME!r}: {len(uris)} file(s) to {prefix}")
        return StepOutcome(
            properties=processing_properties(request.config, request.job_name, OUTPUT_NAME, prefix),
            outputs=[{"uri": prefix, "objects": len(uris)}],
        )


def payload_config(config: dict[str, Any], what: str) -> PayloadConfig:
    """The step's :class:`PayloadConfig`, rebuilt from its resolved IR config."""
    from sagepipe.config.payload import PayloadConfig
    from sagepipe.errors import ConfigError

    try:
        return PayloadConfig(**config)
    except ConfigError as exc:
        raise StepFailure(f"{what} has an invalid config: {exc}") from None
