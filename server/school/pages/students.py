"""A class and its students (§3.3.1): the class teacher keeps the list, the students'
records, their parents and the parents' consent (§4.1.1); the administration moves a
student to another class and records their leaving."""

from __future__ import annotations

from litestar import Request, Response, get, post
from litestar.params import FromPath

from ... import clock
from ...errors import Forbidden, NotFound
from ...web.access import current_user
from ...web.forms import int_or_none, see_other
from .. import people, store, structure
from ..errors import SchoolError
from ..guards import CLASS_KEEPERS, CLASS_READERS, MOVERS
from ..validate import RELATIONS, STUDY_FORMS, clean_name, parse_date, parse_email, parse_phone, parse_sex
from . import read, render, submit, write


@get("/my-class", opt={"roles": {"class_teacher"}})
async def my_class(request: Request) -> Response:
    mine = await read(request, store.classes_of_class_teacher, current_user(request).person_id)
    if not mine:
        raise NotFound("У вас нет классного руководства в текущем учебном году.")
    return see_other(f"/classes/{mine[0]['id']}")


# --- a class -----------------------------------------------------------------------------------

def _class_line(conn, user, class_id: int) -> list[dict]:
    """The same class through the years (4А → 5А → 6А: `year_link`, made when the next year was
    prepared from this one, or the promotion's next classes), oldest first, for the class page's year switcher; only when there is
    more than one. A year's class the person may not read is listed without a link."""
    # The year's preparation links classes; a school that never prepared a year through the program
    # has its promotion: where most of a class's promoted students went.
    ahead: dict[int, int] = {}
    for a, b, _n in conn.execute(
            "SELECT class_id, next_class_id, count(*) AS n FROM promotion WHERE next_class_id IS NOT NULL"
            " AND decision IN ('promoted', 'conditional') GROUP BY class_id, next_class_id ORDER BY n"):
        ahead[a] = b
    ahead.update(conn.execute("SELECT from_id, to_id FROM year_link WHERE kind = 'class'").fetchall())
    back = {b: a for a, b in ahead.items()}
    ids, seen = [class_id], {class_id}
    while ids[0] in back and back[ids[0]] not in seen:
        ids.insert(0, back[ids[0]])
        seen.add(ids[0])
    while ids[-1] in ahead and ahead[ids[-1]] not in seen:
        ids.append(ahead[ids[-1]])
        seen.add(ids[-1])
    if len(ids) < 2:
        return []
    line = []
    for cid in ids:
        row = conn.execute("SELECT c.parallel || c.letter AS name, y.name AS year_name, y.status FROM class c"
                           " JOIN academic_year y ON y.id = c.year_id WHERE c.id = ?", (cid,)).fetchone()
        if row is not None:
            line.append({"id": cid, **dict(row), "readable": people.can_read_class(conn, user, cid)})
    return line

def _class_view(conn, user, class_id: int) -> dict:
    info = store.class_info(conn, class_id)
    if info is None:
        raise NotFound("Такого класса нет.")
    if not people.can_read_class(conn, user, class_id):
        raise Forbidden("Это не ваш класс: список класса видит его классный руководитель.")
    students: dict[int, dict] = {}
    for row in people.class_families(conn, class_id):
        st = students.setdefault(row["student_id"], {
            "id": row["student_id"], "last_name": row["last_name"], "first_name": row["first_name"],
            "middle_name": row["middle_name"], "birth_date": row["birth_date"], "study_form": row["study_form"],
            "parents": []})
        if row["parent_id"]:
            st["parents"].append({"last_name": row["p_last"], "first_name": row["p_first"],
                                  "middle_name": row["p_middle"], "relation": row["relation"],
                                  "consent_at": row["consent_at"], "diary_form": row["diary_form"]})
    parents = [p for st in students.values() for p in st["parents"]]
    return {"cls": info, "students": list(students.values()), "line": _class_line(conn, user, class_id),
            "no_consent": sum(1 for p in parents if not p["consent_at"]),
            "paper": sum(1 for p in parents if p["diary_form"] == "paper"),
            # A closed year's class list is read-only (the students' own records stay editable).
            "can_manage": people.can_manage_class(conn, user, class_id) and info["year_status"] != "closed"}


async def _class_page(request: Request, class_id: int, error: str | None = None, form: dict | None = None) -> Response:
    view = await read(request, _class_view, current_user(request), class_id)
    return render(request, "school/class.html", error, form, study_forms=STUDY_FORMS,
                  today=clock.today().isoformat(), **view)


@get("/classes/{class_id:int}", opt=CLASS_READERS)
async def class_page(request: Request, class_id: FromPath[int]) -> Response:
    return await _class_page(request, class_id)


async def _require_class_keeper(request: Request, class_id: int) -> None:
    if not await read(request, people.can_manage_class, current_user(request), class_id):
        raise Forbidden("Список класса ведёт его классный руководитель.")


def _student_fields(form: dict) -> tuple:
    return (clean_name(form.get("last_name", ""), "Фамилия"), clean_name(form.get("first_name", ""), "Имя"),
            clean_name(form.get("middle_name", ""), "Отчество", required=False),
            parse_date(form.get("birth_date", ""), "Дата рождения"), parse_sex(form.get("sex", "")),
            form.get("study_form", "очная"))


@post("/classes/{class_id:int}/students", opt=CLASS_KEEPERS)
async def student_create(request: Request, class_id: FromPath[int]) -> Response:
    await _require_class_keeper(request, class_id)

    async def act(form: dict) -> None:
        fields = _student_fields(form)
        from_date = parse_date(form.get("from_date", "") or clock.today().isoformat(), "Дата зачисления")
        await write(request, people.create_student, class_id, *fields, from_date)

    return await submit(request, act, lambda error, form: _class_page(request, class_id, error, form),
                        lambda _: see_other(f"/classes/{class_id}", "created"))


# --- a student -----------------------------------------------------------------------------

async def _student_or_404(request: Request, student_id: int):
    found = await read(request, people.student, student_id)
    if found is None:
        raise NotFound("Такого учащегося нет.")
    return found


def _student_view(conn, user, student_id: int) -> dict:
    s = people.student(conn, student_id)
    if s is None:
        raise NotFound("Такого учащегося нет.")
    if not (s["class_id"] and people.can_read_class(conn, user, s["class_id"])):
        raise Forbidden("Сведения об учащемся видит классный руководитель его класса.")
    year = store.current_year(conn)
    return {"s": s, "parents": people.parents_of(conn, student_id),
            "history": people.enrollment_history(conn, student_id),
            "can_manage": people.can_manage_class(conn, user, s["class_id"]),
            "classes": structure.classes(conn, year["id"]) if year else []}


async def _student_page(request: Request, student_id: int, error: str | None = None,
                        form: dict | None = None) -> Response:
    user = current_user(request)
    view = await read(request, _student_view, user, student_id)
    return render(request, "school/student.html", error, form, can_move=user.has(*MOVERS), study_forms=STUDY_FORMS,
                  relations=RELATIONS, today=clock.today().isoformat(), **view)


@get("/students/{student_id:int}", opt=CLASS_READERS)
async def student_page(request: Request, student_id: FromPath[int]) -> Response:
    return await _student_page(request, student_id)


async def _student_for_keeper(request: Request, student_id: int):
    found = await _student_or_404(request, student_id)
    if not found["class_id"]:
        raise NotFound("Учащийся не числится ни в одном классе.")
    await _require_class_keeper(request, found["class_id"])
    return found


async def _student_form(request: Request, student_id: int, act, done: str) -> Response:
    """A form of the student's page: on a SchoolError the page again, else back to it."""
    return await submit(request, act, lambda error, form: _student_page(request, student_id, error, form),
                        lambda _: see_other(f"/students/{student_id}", done))


@post("/students/{student_id:int}", opt=CLASS_KEEPERS)
async def student_update(request: Request, student_id: FromPath[int]) -> Response:
    await _student_for_keeper(request, student_id)
    return await _student_form(request, student_id,
                               lambda f: write(request, people.update_student, student_id, *_student_fields(f)),
                               "saved")


@post("/students/{student_id:int}/parents", opt=CLASS_KEEPERS)
async def parent_add(request: Request, student_id: FromPath[int]) -> Response:
    await _student_for_keeper(request, student_id)

    async def act(form: dict) -> None:
        last = clean_name(form.get("p_last_name", ""), "Фамилия родителя")
        first = clean_name(form.get("p_first_name", ""), "Имя родителя")
        middle = clean_name(form.get("p_middle_name", ""), "Отчество родителя", required=False)
        phone, email = parse_phone(form.get("phone", "")), parse_email(form.get("email", ""))
        await write(request, people.add_parent, student_id, last, first, middle, phone, email,
                    form.get("relation", ""))

    return await _student_form(request, student_id, act, "created")


@post("/students/{student_id:int}/parents/{parent_id:int}/consent", opt=CLASS_KEEPERS)
async def parent_consent(request: Request, student_id: FromPath[int], parent_id: FromPath[int]) -> Response:
    await _student_for_keeper(request, student_id)
    return await _student_form(
        request, student_id,
        lambda f: write(request, people.record_consent, parent_id, student_id, f.get("consent") == "1",
                        f.get("diary_form", "electronic"), f.get("consent_document"), f.get("withdrawal")),
        "consent")


@post("/students/{student_id:int}/move", opt={"roles": MOVERS})
async def student_move(request: Request, student_id: FromPath[int]) -> Response:
    await _student_or_404(request, student_id)

    async def act(form: dict) -> None:
        class_id = int_or_none(form.get("class_id"))
        if class_id is None:
            raise SchoolError("Выберите класс.")
        await write(request, people.move_student, student_id, class_id,
                    parse_date(form.get("on_date", ""), "Дата перевода"))

    return await _student_form(request, student_id, act, "moved")


@post("/students/{student_id:int}/leave", opt={"roles": MOVERS})
async def student_leave(request: Request, student_id: FromPath[int]) -> Response:
    await _student_or_404(request, student_id)
    return await _student_form(
        request, student_id,
        lambda f: write(request, people.student_leaves, student_id, parse_date(f.get("on_date", ""), "Дата выбытия"),
                        f.get("reason", "")),
        "left")


ROUTES = [my_class, class_page, student_create, student_page, student_update, parent_add, parent_consent,
          student_move, student_leave]
