"""Agents: loops that make what exists on a host match what the database wants."""
