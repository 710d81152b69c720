"""kiln_kernels: the Python half of kiln's train and eval steps.

This package owns the small mixture-of-experts language model, its MoE layer implementations (a
PyTorch reference used on CPU and as the correctness oracle, a per-token naive loop for tests, and a
registry hook for accelerator kernels), the token-shard reader, the trainer and the bits-per-byte
evaluator. Importing the package does not import torch; the command-line entry points
(`python -m kiln_kernels.train|evaluate|check`) report a missing torch as a JSON error event and a
dedicated exit code instead of a traceback. The contract is documented in kernels/README.md.
"""

__version__ = "0.1.0"
