"""The pipeline IR and everything that builds it: parameters, property references, steps,
the DAG, specifications, the dependency resolver and the builder template."""

from sagepipe.expressions import (
    ExecutionVariable,
    ExecutionVariables,
    Expression,
    Join,
    Parameter,
    ParameterBoolean,
    ParameterFloat,
    ParameterInteger,
    ParameterString,
    PropertyRef,
)
from sagepipe.pipeline.builder import StepBuilder
from sagepipe.pipeline.dag import PipelineDAG
from sagepipe.pipeline.pipeline import Edge, Pipeline
from sagepipe.pipeline.specification import (
    DependencySpec,
    OutputSpec,
    ScriptContract,
    StepSpecification,
)
from sagepipe.pipeline.step import CodeRef, InputBinding, Step
from sagepipe.pipeline.template import OutputOf, PipelineBuilderTemplate

__all__ = [
    "CodeRef",
    "DependencySpec",
    "Edge",
    "ExecutionVariable",
    "ExecutionVariables",
    "Expression",
    "InputBinding",
    "Join",
    "OutputOf",
    "OutputSpec",
    "Parameter",
    "ParameterBoolean",
    "ParameterFloat",
    "ParameterInteger",
    "ParameterString",
    "Pipeline",
    "PipelineBuilderTemplate",
    "PipelineDAG",
    "PropertyRef",
    "ScriptContract",
    "Step",
    "StepBuilder",
    "StepSpecification",
]
