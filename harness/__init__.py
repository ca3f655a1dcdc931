"""oversight-harness: performance-based oversight of high-impact AI."""

__version__ = "0.1.0"
