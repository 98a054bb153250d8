"""SageMaker pipeline definitions, as the local engine will execute them (issue 13, stage 1).

Stage 1 reads and checks a definition; it runs nothing, and ``sagepipe run`` does not use it
yet (the engine still runs the IR's steps through ``sagepipe.local.runners``). What is here:

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
