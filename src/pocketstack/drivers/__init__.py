"""Hypervisor-side drivers: what runs on a compute host to realise a server."""
