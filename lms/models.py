"""One import point for every table, so Alembic and the tests see the whole schema."""

from __future__ import annotations


def import_all_models() -> None:
    """Import each feature's models module (registering its tables on Base.metadata)."""
    from lms import programme_images as _programme_images  # noqa: F401
    from lms.audit import models as _audit  # noqa: F401
    from lms.auth import models as _auth  # noqa: F401
    from lms.badges import models as _badges  # noqa: F401
    from lms.catalog import models as _catalog  # noqa: F401
    from lms.certificates import models as _certificates  # noqa: F401
    from lms.equivalency import models as _equivalency  # noqa: F401
    from lms.evaluations import models as _evaluations  # noqa: F401
    from lms.mail import models as _mail  # noqa: F401
    from lms.offerings import models as _offerings  # noqa: F401
    from lms.progress import models as _progress  # noqa: F401
    from lms.retreats import models as _retreats  # noqa: F401
    from lms.training import models as _training  # noqa: F401
    from lms.training import records_models as _training_records  # noqa: F401
