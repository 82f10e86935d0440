"""Test helpers for pocketstack and for people who test against it."""
