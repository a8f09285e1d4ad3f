"""BERT Playground: look inside BERT while it runs. The package does all model work; it never imports streamlit."""
from .errors import CheckpointError, PlaygroundError
from .models import Bundle, CheckpointInfo, load

__all__ = ["load", "Bundle", "CheckpointInfo", "PlaygroundError", "CheckpointError"]
__version__ = "0.1.0"
