"""Account rules: registration, sign-in, roles, deactivation and token rotation."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, bindparam, func, select
from sqlalchemy.orm import Session, joinedload, lazyload

from lms import signals, validation
from lms.audit.services import record_event
from lms.auth.models import Role, User, UserRole, new_auth_token
from lms.auth.passwords import hash_password, needs_rehash, password_problem, verify_password
from lms.db import flush_or_refuse, row_or_not_found, utcnow
from lms.errors import Conflict, Forbidden, InvalidInput
from lms.i18n import translate


def send_account_mail(
    session: Session,
    user: User,
    *,
    kind: str,
    subject: str,
    template: str,
    context: dict[str, Any],
    optional: bool,
    to_address: str | None = None,
) -> None:
    """Hand an e-mail about the account to the mail feature (its outbox, same transaction).

    Through a signal, so that accounts do not depend on the mail feature (which depends on
    accounts); a tracker with no receiver connected must not silently drop a reset link.
    """
    received = signals.account_mail.send(
        user,
        session=session,
        kind=kind,
        subject=subject,
        template=template,
        context=context,
        optional=optional,
        to_address=to_address,
    )
    if not received:
        raise RuntimeError("No receiver for account mail: is the mail feature subscribed?")


def record_account_event(
    session: Session, user: User, action: str, *, actor_id: int | None = None, **facts: Any
) -> None:
    """Audit a change to an account: the account is the subject and the person; the actor is
    the account's owner unless someone else (`actor_id`) acted."""
    record_event(
        session,
        actor_id=user.id if actor_id is None else actor_id,
        action=action,
        subject_type="user",
        subject_id=user.id,
        person_id=user.id,
        **facts,
    )


EMAIL_MAX = 320  # characters of an address (RFC 5321's path limit), the column's width


def normalise_email(email: str) -> str:
    """The one form of an e-mail address: stored, looked up, and the key of every limit per
    address (sign-in, password reset, registration, e-mail change).

    Every form's address field passes through it too (lms.auth.forms), so what a limit
    counts is exactly what the lookup finds: zero-width and other invisible characters go
    wherever they stand, compatibility forms are folded (full-width ｌｅｔｔｅｒｓ are letters,
    NFKC), the address is lower-cased and spaces at its ends are trimmed. It is idempotent.
    """
    folded = unicodedata.normalize("NFKC", validation.without_invisible(email)).lower()
    return folded.strip()


@dataclass(frozen=True)
class Licence:
    """A clinician's licence as entered; `pre_licensed` means none yet."""

    pre_licensed: bool
    type: str | None = None
    number: str | None = None
    state: str | None = None
    expires_on: date | None = None


NAME_MAX = 200
CREDENTIALS_MAX = 100
LICENCE_TEXT_MAX = {"type": 100, "number": 100, "state": 50}


def clean_licence(licence: Licence) -> Licence:
    """The licence with its text trimmed and checked as single-line text, its date bounded."""
    texts = {
        name: validation.single_line(
            getattr(licence, name), f"{translate('Licence')} {name}", max_length=limit
        )
        or None
        for name, limit in LICENCE_TEXT_MAX.items()
    }
    if licence.expires_on is not None:
        validation.sensible_date(licence.expires_on, translate("Licence expiry"))
    return Licence(licence.pre_licensed, expires_on=licence.expires_on, **texts)


def find_user_by_email(session: Session, email: str) -> User | None:
    """The account with that e-mail address, whatever its case."""
    return session.scalar(select(User).where(User.email == normalise_email(email)))


def accounts_and_clinicians(
    session: Session, condition: ColumnElement[bool]
) -> tuple[list[User], set[int]]:
    """The accounts the condition selects (their roles left unloaded) and the ids of those
    among them that hold the clinician role (two queries)."""
    users = list(session.scalars(select(User).where(condition).options(lazyload(User.role_rows))))
    clinicians = set(
        session.scalars(
            select(UserRole.user_id).where(
                UserRole.user_id.in_([u.id for u in users]), UserRole.role == Role.CLINICIAN
            )
        )
    )
    return users, clinicians


def get_user(session: Session, user_id: int) -> User:
    """The account with that id, or NotFound."""
    return row_or_not_found(session, User, user_id, missing="No such person.")


def create_user(
    session: Session,
    *,
    email: str,
    name: str,
    password: str | None,
    password_hash: str | None = None,
    roles: set[Role] | frozenset[Role] = frozenset({Role.CLINICIAN}),
    credentials: str = "",
    licence: Licence | None = None,
    licence_verified: bool = False,
    actor_id: int | None = None,
) -> User:
    """Create an account; raises Conflict when the e-mail is taken.

    `password_hash` is a password hashed already (registration hashes in the request and
    creates the account in a job); otherwise `password` is checked and hashed here.
    """
    email = normalise_email(email)
    if not email or "@" not in email or len(email) > EMAIL_MAX:
        raise InvalidInput("Enter a valid e-mail address.")
    if not validation.trim(name):
        raise InvalidInput("Enter a name.")
    name = validation.single_line(name, "Name", max_length=NAME_MAX)
    credentials = validation.single_line(credentials, "Credentials", max_length=CREDENTIALS_MAX)
    licence = clean_licence(licence) if licence is not None else None
    if password is not None and (problem := password_problem(password, email)):
        raise InvalidInput(problem)
    if find_user_by_email(session, email) is not None:
        raise Conflict("An account with that e-mail address already exists.")
    licence = licence or Licence(pre_licensed=True)
    user = User(
        email=email,
        name=name,
        credentials=credentials,
        password_hash=hash_password(password) if password else password_hash,
        pre_licensed=licence.pre_licensed,
        licence_type=None if licence.pre_licensed else licence.type,
        licence_number=None if licence.pre_licensed else licence.number,
        licence_state=None if licence.pre_licensed else licence.state,
        licence_expires_on=None if licence.pre_licensed else licence.expires_on,
        licence_verified_at=utcnow() if licence_verified and not licence.pre_licensed else None,
        role_rows=[UserRole(role=role) for role in sorted(roles)],
    )
    session.add(user)
    flush_or_refuse(session, Conflict("An account with that e-mail address already exists."))
    signals.account_changed.send(user, session=session)
    record_account_event(
        session, user, "user.created", actor_id=actor_id, roles=sorted(r.value for r in roles)
    )
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active account for these credentials, or None; same work for unknown e-mails."""
    user = find_user_by_email(session, email)
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.is_active:
        return None
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return user


def rotate_auth_token(user: User) -> None:
    """End every session of the user (sign-out, password change, deactivation)."""
    user.auth_token = new_auth_token()


# Built once: this runs on every signed-in request.
_SESSION_USER = (
    select(User).where(User.id == bindparam("user_id")).options(joinedload(User.role_rows))
)


def load_session_user(session: Session, session_id: str) -> User | None:
    """The user behind a session identity `id:token`, if the token still matches."""
    user_id, _, token = session_id.partition(":")
    if not user_id.isdigit() or not token or len(user_id) > 18:
        return None
    # One query with the roles joined (every request needs them for the navigation); the
    # relationship's own selectin load would be a second round trip.
    user = session.scalars(_SESSION_USER, {"user_id": int(user_id)}).unique().one_or_none()
    if user is None or not user.is_active:
        return None
    import hmac

    return user if hmac.compare_digest(user.auth_token, token) else None


def change_password(session: Session, user: User, current: str, new: str) -> None:
    """Change a password after checking the current one; other sessions end."""
    if not verify_password(user.password_hash, current):
        raise InvalidInput("Your current password is not right.")
    set_password(session, user, new)


def set_password(session: Session, user: User, new: str, *, actor_id: int | None = None) -> None:
    """Set a new password (already authorised) and end every other session."""
    if problem := password_problem(new, user.email):
        raise InvalidInput(problem)
    user.password_hash = hash_password(new)
    rotate_auth_token(user)
    record_account_event(session, user, "user.password_changed", actor_id=actor_id)


def set_roles(session: Session, user: User, roles: set[Role], *, actor: User) -> None:
    """Replace a person's roles; an admin cannot remove their own admin role."""
    if user.id == actor.id and Role.ADMIN in user.roles and Role.ADMIN not in roles:
        raise Forbidden("You cannot remove your own administrator role.")
    if not roles:
        raise InvalidInput("A person needs at least one role.")
    if Role.ADMIN in user.roles and Role.ADMIN not in roles and user.active:
        _keep_an_admin(session, "remove the administrator role of")
    before = sorted(r.value for r in user.roles)
    keep = [row for row in user.role_rows if row.role in roles]
    user.role_rows = keep + [UserRole(role=r) for r in sorted(roles - user.roles)]
    session.flush()
    signals.account_changed.send(user, session=session)
    record_account_event(
        session,
        user,
        "user.roles_changed",
        actor_id=actor.id,
        before=before,
        after=sorted(r.value for r in roles),
    )


def set_active(session: Session, user: User, active: bool, *, actor: User) -> None:
    """Deactivate (ending all sessions) or reactivate an account."""
    if user.id == actor.id and not active:
        raise Forbidden("You cannot deactivate your own account.")
    if user.active == active:
        return
    if not active and Role.ADMIN in user.roles:
        _keep_an_admin(session, "deactivate")
    user.active = active
    rotate_auth_token(user)
    signals.account_changed.send(user, session=session)  # a deactivated person waits in no queue
    record_account_event(
        session, user, "user.activated" if active else "user.deactivated", actor_id=actor.id
    )


def _keep_an_admin(session: Session, doing: str) -> None:
    """Refuse a change that would leave no active administrator.

    The active admins' rows are locked first (FOR UPDATE on PostgreSQL; SQLite writers are
    already serialised), so two admins demoting each other at the same moment cannot both
    pass; the count then runs as a new statement and so sees the other's committed change.
    """
    session.scalars(
        select(User.id)
        .join(UserRole)
        .where(UserRole.role == Role.ADMIN, User.active.is_(True))
        .with_for_update(of=User)
    ).all()
    if count_admins(session) <= 1:
        raise Conflict(f"You cannot {doing} the last active administrator.")


def count_admins(session: Session) -> int:
    """How many active administrators exist."""
    return (
        session.scalar(
            select(func.count())
            .select_from(UserRole)
            .join(User)
            .where(UserRole.role == Role.ADMIN, User.active.is_(True))
        )
        or 0
    )


# --------------------------------------------------------------------------- contract used by
# the admin pages and the retreats guard (accounts engineer)

STAFF_INVITE_ROLES = frozenset({Role.INSTRUCTOR, Role.MEDICAL_REVIEWER})


def require_confirmed_email(user: User) -> None:
    """Refuse (Forbidden) anything that needs a confirmed e-mail address, with the next step."""
    if user.email_confirmed_at is None:
        raise Forbidden(
            "Confirm your e-mail address first: open the link we e-mailed you, or ask for a "
            "new one on your account page."
        )


def verify_licence(session: Session, user: User, *, actor: User) -> None:
    """An administrator confirms a person's licence details; the person is told."""
    if not actor.has_role(Role.ADMIN):
        raise Forbidden(translate("Only an administrator can verify a licence."))
    if user.anonymised_at is not None:
        raise Conflict("This account has been deleted.")
    if user.pre_licensed or not user.licence_number:
        raise InvalidInput(translate("There is no licence to verify: the person has entered none."))
    if user.licence_verified_at is not None:
        return  # already verified: a second click changes nothing
    user.licence_verified_at = utcnow()
    user.licence_verified_by_id = actor.id
    session.flush()
    record_account_event(
        session,
        user,
        "user.licence_verified",
        actor_id=actor.id,
        expires_on=user.licence_expires_on,
    )
    signals.licence_verified.send(user, session=session, actor=actor)


def invite_staff(
    session: Session, *, email: str, name: str, roles: set[Role] | frozenset[Role], actor: User
) -> User:
    """Create an instructor or medical reviewer with no password and e-mail them a link.

    The invitee chooses their own password through the link, which also confirms the
    address; no administrator ever sees or types it.
    """
    if not actor.has_role(Role.ADMIN):
        raise Forbidden("Only an administrator can invite staff.")
    roles = frozenset(roles)
    if not roles:
        raise InvalidInput("Choose at least one role: instructor or medical reviewer.")
    if not roles <= STAFF_INVITE_ROLES:
        raise InvalidInput("Invitations are for instructors and medical reviewers only.")
    if find_user_by_email(session, email) is not None:
        raise Conflict(
            "An account with that e-mail address already exists: change its roles on the "
            "users page instead."
        )
    user = create_user(
        session, email=email, name=name, password=None, roles=set(roles), actor_id=actor.id
    )
    record_account_event(
        session, user, "user.invited", actor_id=actor.id, roles=sorted(r.value for r in roles)
    )
    send_invitation(session, user, actor=actor)
    return user


def send_invitation(session: Session, user: User, *, actor: User) -> None:
    """E-mail (again) the link with which an invited person sets their password."""
    from lms.auth.links import link_url
    from lms.auth.tokens import INVITATION, account_token

    if not actor.has_role(Role.ADMIN):
        raise Forbidden("Only an administrator can invite staff.")
    if user.password_hash is not None or user.anonymised_at is not None:
        raise Conflict("This person has already set a password; there is nothing to accept.")
    token = account_token(INVITATION, user)
    send_account_mail(
        session,
        user,
        kind="invitation",
        subject="You are invited to the KAP Training Tracker",
        template="invitation",
        context={
            "link": link_url("invitation", token),
            "inviter": actor.name,
            "roles": " and ".join(r.label.lower() for r in sorted(user.roles)),
        },
        optional=False,
    )
    record_account_event(session, user, "user.invitation_sent", actor_id=actor.id)


@dataclass(frozen=True)
class PendingInvitation:
    """An invited person who has not yet set a password."""

    id: int
    name: str
    email: str
    roles: tuple[Role, ...]
    created_at: object


def pending_invitations(session: Session) -> list[PendingInvitation]:
    """Staff invited but not yet signed up, newest first (two queries)."""
    users = session.scalars(
        select(User)
        .join(UserRole)
        .where(
            User.password_hash.is_(None),
            User.anonymised_at.is_(None),
            User.active.is_(True),
            UserRole.role.in_(STAFF_INVITE_ROLES),
        )
        .distinct()
        .order_by(User.id.desc())
        .limit(200)
    ).all()
    return [
        PendingInvitation(u.id, u.name, u.email, tuple(sorted(u.roles)), u.created_at)
        for u in users
    ]
