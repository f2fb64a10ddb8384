"""torch backend: ``loader`` (torch, device, precision, the module), ``runner`` and ``convert`` (uint8 on the device)."""
