"""SageMaker pipeline definitions, as the local engine executes them.

This package reads, checks, orders and evaluates a definition; the engine
(:mod:`sagepipe.local.engine`) runs it. What is here:

* :mod:`.model`: typed, frozen models of a definition (schema ``2020-12-01``);
* :mod:`.reading`: :func:`read_definition` of a definition file or text, the SDK's string
  form, or a ``describe-pipeline`` response;
* :mod:`.checks`: static checks before anything runs (references, names, cycles);
* :mod:`.parameters`: :func:`bind_parameters` of ``--param NAME=VALUE`` values;
* :mod:`.graph`: the dependency graph and a ``graphlib`` execution order with condition
  branches that are not run;
* :mod:`.conditions`: evaluation of a condition step's ``Conditions``.

This package belongs to the local backend: it never imports ``sagepipe.config``,
``sagepipe.steps``, ``sagepipe.pipeline`` or ``sagepipe.sagemaker``. Import from the modules
(``sagepipe.local.definition.reading``...): this package imports nothing, so the engine's
expression evaluation can use :mod:`.jsonpath` without loading the rest.
"""
