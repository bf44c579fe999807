"""The programme's settings: one key/value table (provider, accreditation, signatory, time
zone, retention...) that the catalogue file fills and any feature may read.

A core module: features below the catalogue (accounts' erasure, the clock) read a setting
here without importing the catalogue.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from lms.db import Base

# Whether the public directory of certified practitioners is published (the admin's switch on
# the programme settings page; lms.training.directory reads it). Off when absent.
PRACTITIONER_DIRECTORY = "practitioner_directory"


class ProgrammeSetting(Base):
    """A programme-wide value from the catalogue file (provider, accreditation, signatory...)."""

    __tablename__ = "programme_settings"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)


def programme_setting(session: Session, key: str) -> Any:
    """One setting's stored value (None when the catalogue does not set it)."""
    return session.scalar(select(ProgrammeSetting.value).where(ProgrammeSetting.key == key))
