"""evalkit: evaluate large (multimodal) models on benchmarks and grade them like teachers do."""

__version__ = "0.1.0"
