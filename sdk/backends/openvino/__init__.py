"""OpenVINO backend: ``loader`` (read, check, precision choice and bf16 gate, compile) and ``runner``."""
