"""Registration step: a model package version per region."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from sagepipe.config.registration import RegistrationConfig
from sagepipe.pipeline.builder import StepBuilder
from sagepipe.pipeline.specification import DependencySpec, OutputSpec, StepSpecification
from sagepipe.pipeline.step import Step

STEP_TYPE = "RegistrationStep"

SPECIFICATION = StepSpecification(
    step_type=STEP_TYPE,
    kind="RegisterModel",
    dependencies=(
        DependencySpec(
            logical_name="packaged_model",
            accepted_types=("packaged_model",),
            aliases=("packaged_model_output",),
            description="The servable model.tar.gz (model files and code/)",
        ),
        DependencySpec(
            logical_name="payload_sample",
            accepted_types=("payload_samples",),
            required=False,
            aliases=("payload_samples",),
            description="Sample payloads for the smoke test and the registry",
        ),
        DependencySpec(
            logical_name="metrics",
            accepted_types=("metrics",),
            required=False,
            description="Training metrics recorded as model metrics",
        ),
    ),
    outputs=(
        OutputSpec(
            logical_name="model_package_arn",
            output_type="model_package",
            property_path="ModelPackageArn",
            description="ARN of the registered model package version",
        ),
    ),
)


class RegistrationStepBuilder(StepBuilder):
    """Builds one registration step per region of the config.

    With ``regions`` set in the config, steps are named ``<name>_<region>``; otherwise one step
    named ``<name>`` registers in the base region.
    """

    config_class: ClassVar[type[RegistrationConfig]] = RegistrationConfig
    step_type: ClassVar[str] = STEP_TYPE
    default_name: ClassVar[str] = "Registration"

    config: RegistrationConfig

    def specification(self) -> StepSpecification:
        return SPECIFICATION

    def create_steps(
        self,
        dependencies: Sequence[Step] = (),
        name: str | None = None,
        inputs: Mapping[str, Any] | None = None,
        cache: bool = True,
        ancestors: Sequence[Step] = (),
    ) -> list[Step]:
        base = name or self.default_name
        if not self.config.regions:
            return [
                self.create_step(
                    dependencies, name=base, inputs=inputs, cache=cache, ancestors=ancestors
                )
            ]
        steps = []
        for region in self.config.regions:
            regional = type(self)(
                self.config.model_copy(update={"region": region, "regions": [region]}),
                sagemaker_session=self.sagemaker_session,
                role=self.role,
            )
            steps.append(
                regional.create_step(
                    dependencies,
                    name=f"{base}_{region}",
                    inputs=inputs,
                    cache=cache,
                    ancestors=ancestors,
                )
            )
        return steps
