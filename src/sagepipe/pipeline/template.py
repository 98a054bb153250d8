"""PipelineBuilderTemplate: a DAG, a config per node and a builder per step type -> Pipeline."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from sagepipe.config.base import BasePipelineConfig
from sagepipe.errors import PipelineDefinitionError, did_you_mean
from sagepipe.expressions import Parameter
from sagepipe.pipeline.builder import StepBuilder
from sagepipe.pipeline.dag import PipelineDAG
from sagepipe.pipeline.pipeline import Pipeline
from sagepipe.pipeline.root import current_root, use_root
from sagepipe.pipeline.step import Step

#: Spellings the seed documents use for sagepipe's step types, as ``step_builder_map`` keys.
#: ``CradleDataLoadStep`` is Amazon-internal Cradle data loading, which sagepipe stands in for
#: with its data-loading step.
STEP_TYPE_ALIASES: dict[str, str] = {
    "PytorchModelStep": "PyTorchModelStep",
    "CradleDataLoadStep": "DataLoadingStep",
}


class PipelineBuilderTemplate:
    """Builds a :class:`Pipeline` from a DAG whose nodes each have a config.

    Args:
        dag: The steps (nodes) and their order (edges).
        config_map: A config per DAG node.
        step_builder_map: A builder class per step type name (``"PyTorchTrainingStep"``...).
            A node's builder is the one keyed by its config's ``step_type`` (the seed
            spellings of :data:`STEP_TYPE_ALIASES` count as the type they stand for); when
            no key is that type, the one builder in the map whose ``config_class`` is the
            config's class (so ``{"TabularPreprocessingStep": ProcessingStepBuilder}`` builds
            a node with a ``ProcessingConfig``).
        sagemaker_session: Passed to the builders (seed API); unused when building.
        role: Execution role ARN given to every builder.
        inputs: Explicit inputs per node: ``{node: {input_name: value}}``. A value may be a
            literal, an expression, or ``"<node>.<output>"`` naming another node's output.
        parameters: Extra pipeline parameters to declare.
        root: Directory that local code paths are written relative to.
    """

    def __init__(
        self,
        dag: PipelineDAG,
        config_map: Mapping[str, BasePipelineConfig],
        step_builder_map: Mapping[str, type[StepBuilder]],
        sagemaker_session: Any = None,
        role: str | None = None,
        inputs: Mapping[str, Mapping[str, Any]] | None = None,
        parameters: Iterable[Parameter] = (),
        root: Path | None = None,
    ) -> None:
        self.dag = dag
        self.config_map = dict(config_map)
        self.step_builder_map = {
            STEP_TYPE_ALIASES.get(k, k): v for k, v in step_builder_map.items()
        }
        self.sagemaker_session = sagemaker_session
        self.role = role
        self.inputs = {k: dict(v) for k, v in (inputs or {}).items()}
        self.parameters = list(parameters)
        self.root = (root or current_root()).resolve()
        self._check()

    def _check(self) -> None:
        nodes = self.dag.nodes
        for node in nodes:
            if node not in self.config_map:
                raise PipelineDefinitionError(
                    f"DAG node {node!r} has no config in config_map"
                    f"{did_you_mean(node, self.config_map)}; add config_map[{node!r}]"
                )
        for key in self.config_map:
            if key not in nodes:
                raise PipelineDefinitionError(
                    f"config_map has {key!r}, which is not a DAG node"
                    f"{did_you_mean(key, nodes)}; add it with dag.add_node({key!r})"
                )
        for node in self.inputs:
            if node not in nodes:
                raise PipelineDefinitionError(
                    f"inputs names node {node!r}, which is not in the DAG"
                    f"{did_you_mean(node, nodes)}"
                )
        for node in nodes:
            self._builder_class(node)

    def _builder_class(self, node: str) -> type[StepBuilder]:
        config = self.config_map[node]
        step_type = type(config).step_type
        builder = self.step_builder_map.get(step_type)
        if builder is not None:
            return builder
        # Keys are the user's names for step types; the builder's config class is exact.
        by_class = sorted(
            {b for b in self.step_builder_map.values() if b.config_class is type(config)},
            key=lambda b: b.__name__,
        )
        if len(by_class) == 1:
            return by_class[0]
        if len(by_class) > 1:
            raise PipelineDefinitionError(
                f"node {node!r} has a {type(config).__name__}, which several builders in "
                f"step_builder_map take ({', '.join(b.__name__ for b in by_class)}) and none "
                f"is keyed {step_type!r}; add step_builder_map[{step_type!r}]"
            )
        raise PipelineDefinitionError(
            f"node {node!r} has a {type(config).__name__}, whose step type {step_type!r} "
            "has no builder in step_builder_map"
            f"{did_you_mean(step_type, self.step_builder_map)}"
            f"; add step_builder_map[{step_type!r}] (known: "
            f"{', '.join(sorted(self.step_builder_map)) or 'none'})"
        )

    def generate_pipeline(self, pipeline_name: str) -> Pipeline:
        """Build every node in topological order and return the validated pipeline.

        A node's inputs come from its direct upstream nodes' outputs; an input that declares
        ``ancestor_outputs`` (a batch transform's ``input_data``: ``test_data``) is also
        looked for further up the DAG.
        """
        with use_root(self.root):
            pipeline = Pipeline(pipeline_name, parameters=self.parameters, root=self.root)
            built: dict[str, list[Step]] = {}
            order = self.dag.topological_order()
            for node in order:
                builder = self._builder_class(node)(
                    self.config_map[node], sagemaker_session=self.sagemaker_session, role=self.role
                )
                explicit = {
                    name: self._explicit_value(node, name, value, built)
                    for name, value in self.inputs.get(node, {}).items()
                }
                direct = self.dag.upstream(node)
                further = self._ancestors(node) - set(direct)
                steps = builder.create_steps(
                    dependencies=[s for u in direct for s in built[u]],
                    name=node,
                    inputs=explicit,
                    ancestors=[s for u in order if u in further for s in built[u]],
                )
                built[node] = steps
                for step in steps:
                    pipeline.add_step(step)
            pipeline.validate()
            return pipeline

    def _ancestors(self, node: str) -> set[str]:
        found: set[str] = set()
        pending = list(self.dag.upstream(node))
        while pending:
            current = pending.pop()
            if current not in found:
                found.add(current)
                pending.extend(self.dag.upstream(current))
        return found

    def _explicit_value(
        self, node: str, name: str, value: Any, built: Mapping[str, list[Step]]
    ) -> Any:
        if isinstance(value, OutputOf):
            if value.step not in built:
                raise PipelineDefinitionError(
                    f"node {node!r} input {name!r} reads {value.step}.{value.output}, but "
                    f"{value.step!r} is not upstream of {node!r}{did_you_mean(value.step, built)}"
                    f"; add the edge {value.step!r} -> {node!r}"
                )
            steps = built[value.step]
            if len(steps) != 1:
                raise PipelineDefinitionError(
                    f"node {node!r} input {name!r} reads {value.step}.{value.output}, but "
                    f"{value.step!r} has {len(steps)} steps; reference one of them by name"
                )
            return steps[0].output_ref(value.output)
        return value


class OutputOf:
    """An explicit input naming another node's output by logical name: ``OutputOf("train",
    "model_artifacts")``, or ``{"Output": "train.model_artifacts"}`` in a config file."""

    def __init__(self, step: str, output: str) -> None:
        self.step = step
        self.output = output

    @classmethod
    def parse(cls, text: str) -> OutputOf:
        step, dot, output = text.partition(".")
        if not dot or not step or not output:
            raise PipelineDefinitionError(
                f"output reference {text!r} must look like '<step>.<output>'"
            )
        return cls(step, output)

    def __repr__(self) -> str:
        return f"OutputOf({self.step!r}, {self.output!r})"
