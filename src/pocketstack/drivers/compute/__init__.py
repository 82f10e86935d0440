"""The QEMU compute driver and its helpers."""
