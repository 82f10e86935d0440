"""Every service's tables, for Alembic and for tests that build a schema."""

from __future__ import annotations


def import_all_models() -> None:
    import pocketstack.services.compute.models  # noqa: F401
    import pocketstack.services.identity.models  # noqa: F401
    import pocketstack.services.image.metadefs.models  # noqa: F401
    import pocketstack.services.image.models  # noqa: F401
    import pocketstack.services.network.models  # noqa: F401
