"""sagepipe: declare PyTorch pipelines once, run them locally or compile them for SageMaker.

Importing this package is cheap: it never imports torch, boto3, numpy or the server stack.
"""

from sagepipe.errors import SagepipeError

__all__ = ["SagepipeError", "__version__"]
__version__ = "0.1.0"
