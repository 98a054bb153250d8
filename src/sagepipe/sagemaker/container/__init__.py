"""Scripts that run inside SageMaker containers (standard library only, Python 3.9+).

They are shipped as files in the code bundles of the packaging, payload, data-loading and
tabular preprocessing steps; they are modules here only so that they are type-checked and
tested.
"""
