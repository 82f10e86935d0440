"""Glance's metadata definitions catalog (metadefs): namespaces of properties, objects
and tags that describe what image (and flavor, volume) metadata means."""
