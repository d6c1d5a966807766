"""Whose diary a person may read: a student their own, a parent their children with consent
recorded (§2.2, §4.1.1). Every diary page and API call resolves its student here; an id
that is not the person's own answers 404 with the same words whether or not it exists, so
changing an id in a URL tells nothing about another family."""

from __future__ import annotations

import sqlite3

from ..accounts.store import User
from ..db import Database
from ..errors import NotFound, UserError
from ..school import store as school

# The route rule of every family page: the guard admits parents and students; kiosk
# sessions in the school hall reach only routes marked kiosk=True.
FAMILY = {"roles": {"parent", "student"}, "kiosk": True}
NOT_YOURS = "Такого учащегося нет среди тех, чей дневник вам доступен."
NO_CHILDREN = ("Нет детей, по которым записано согласие на обработку персональных данных (п. 4.1.1). "
               "Обратитесь к классному руководителю.")


class DiaryError(UserError):
    """A diary request that cannot be answered (a bad date); the message is Russian."""


async def family_students(db: Database, user: User) -> list[sqlite3.Row]:
    """The students whose diary this person reads: themselves, then their consented children."""
    found: list[sqlite3.Row] = []
    if user.has("student"):
        card = await db.read(school.student_card, user.person_id)
        if card:
            found.append(card)
    if user.has("parent"):
        for child in await db.read(school.children_of, user.person_id):
            if all(child["id"] != s["id"] for s in found):
                found.append(child)
    return found


async def resolve_student(db: Database, user: User, student_id: int | None) -> tuple[sqlite3.Row, list[sqlite3.Row]]:
    """(the student asked for — or the first one — , all the person's students); 404 otherwise."""
    students = await family_students(db, user)
    if student_id is None:
        if not students:
            raise NotFound(NO_CHILDREN)
        return students[0], students
    for s in students:
        if s["id"] == student_id:
            return s, students
    raise NotFound(NOT_YOURS)
