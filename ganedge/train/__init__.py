"""Training: networks, losses, the loop and run directories. Everything here imports torch."""
