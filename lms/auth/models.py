"""People who use the tracker: accounts, roles and licence details."""

from __future__ import annotations

import secrets
from datetime import date, datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import ColumnElement, Date, ForeignKey, Index, String, func, or_
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.auth.licence import LicenceStanding, licence_standing, licensed_on
from lms.db import Base, cascading_key, str_enum, utcnow


class Role(StrEnum):
    """What a person may do; a person can hold several roles."""

    CLINICIAN = "clinician"
    INSTRUCTOR = "instructor"
    MEDICAL_REVIEWER = "medical_reviewer"
    ADMIN = "admin"
    CONSULTANT = "consultant"

    @property
    def label(self) -> str:
        """Human name of the role."""
        return {
            "clinician": "Clinician",
            "instructor": "Instructor",
            "medical_reviewer": "Medical reviewer",
            "admin": "Administrator",
            "consultant": "Consultant",
        }[self.value]


def new_auth_token() -> str:
    """A fresh random token; rotating it invalidates every session cookie of the user."""
    return secrets.token_urlsafe(24)


class User(UserMixin, Base):
    """An account. E-mail is stored lower-cased, so uniqueness is case-insensitive."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    credentials: Mapped[str] = mapped_column(String(100), default="")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    auth_token: Mapped[str] = mapped_column(String(64), default=new_auth_token)
    active: Mapped[bool] = mapped_column(default=True)

    pre_licensed: Mapped[bool] = mapped_column(default=False)
    licence_type: Mapped[str | None] = mapped_column(String(100))
    licence_number: Mapped[str | None] = mapped_column(String(100))
    licence_state: Mapped[str | None] = mapped_column(String(50))
    licence_expires_on: Mapped[date | None] = mapped_column(Date)
    licence_verified_at: Mapped[datetime | None]
    licence_verified_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )

    email_confirmed_at: Mapped[datetime | None]
    notify_optional: Mapped[bool] = mapped_column(default=True)
    deletion_requested_at: Mapped[datetime | None]
    anonymised_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    role_rows: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def roles(self) -> frozenset[Role]:
        """The roles this person holds."""
        return frozenset(Role(r.role) for r in self.role_rows)

    def has_role(self, *roles: Role) -> bool:
        """True when the person holds any of the given roles."""
        held = self.roles  # worked out once, not once per role asked about
        return any(r in held for r in roles)

    @property
    def is_staff(self) -> bool:
        """Instructors and admins see rosters and other people's progress."""
        return self.has_role(Role.INSTRUCTOR, Role.ADMIN)

    @property
    def is_active(self) -> bool:  # flask-login
        """Deactivated accounts cannot sign in and lose their sessions."""
        return self.active and self.anonymised_at is None

    def get_id(self) -> str:  # flask-login
        """Session identity: the id plus the rotating token, so a copied cookie dies on rotation."""
        return f"{self.id}:{self.auth_token}"

    def licensed_on(self, day: date) -> bool:
        """A licence counts when it is held, verified and not expired on that day."""
        return licensed_on(self, day)

    @hybrid_property
    def holds_no_licence(self) -> bool:
        """No licence on file (pre-licensed, or staff): the first rung of licence_standing,
        and on the class its SQL twin, which the roster's "pre-licensed" filter uses."""
        return licence_standing(self, date.min) is LicenceStanding.UNLICENSED

    @holds_no_licence.inplace.expression
    @classmethod
    def _holds_no_licence_expression(cls) -> ColumnElement[bool]:
        """SQL: pre-licensed, or no licence number."""
        return or_(cls.pre_licensed.is_(True), func.coalesce(cls.licence_number, "") == "")

    @property
    def display_name(self) -> str:
        """Name with credentials, as printed on pages and certificates."""
        return f"{self.name}, {self.credentials}" if self.credentials else self.name


class EmailChange(Base):
    """A change of address its account asked for, waiting for the link sent to the new one.

    The account keeps its address until that link is followed; at most one change waits
    per account (a new request replaces it), and the link names the request it was sent
    for, so a cancelled or replaced request's links die with it.
    """

    __tablename__ = "email_changes"

    user_id: Mapped[int] = cascading_key("users")
    new_email: Mapped[str] = mapped_column(String(320))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)


class UserRole(Base):
    """One role held by one user."""

    __tablename__ = "user_roles"

    user_id: Mapped[int] = cascading_key("users")
    role: Mapped[Role] = mapped_column(str_enum(Role, "role"), primary_key=True)
    user: Mapped[User] = relationship(back_populates="role_rows")

    __table_args__ = (Index("ix_user_roles_role", "role"),)
