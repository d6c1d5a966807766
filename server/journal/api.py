"""JSON API of the journal (/api/v1/journals…): the journals a person may open, the grid of a
period, and the writes of the pages — a lesson, its status and homework, a cell (grades and
attendance), a grade's work type, a period grade. The same area functions as the pages:
access.py decides who (the `journal_for_reader` dependency for reads; every write function
of writes.py for itself, inside its transaction), writes.py does the rest with the ledger.
Each write runs as one job that also reads the answer, so the answer is what was written.
A refused entry (JournalError) is 400 with its Russian message in `{"error": …}`
(server/web/errors.py); not yours — 403; no such journal — 404. The КТП has its own routes
(server/planning/api.py)."""

from __future__ import annotations

from dataclasses import dataclass

import msgspec
from litestar import Request, delete, get, post, put
from litestar.datastructures import UploadFile
from litestar.params import FromPath, FromQuery, JSONBody

from .. import clock
from ..errors import NotFound
from ..planning import store as plan_store
from ..web.access import current_user
from ..web.errors import too_large
from . import access, files, store, writes
from .access import READ, READERS, WRITERS, Readable
from .rules import JournalError, cell_text, parse_day
from .store import JournalInfo

TAGS = ["Журнал"]
LESSON = "/api/v1/journals/{journal_id:int}/lessons/{day:str}/{number:int}"
CELL = LESSON + "/cells/{student_id:int}"


class JournalRow(msgspec.Struct):
    """Журнал: предмет, класс или группа (`name`), учитель, часы в неделю; `mine` — ведёт сам
    пользователь, `can_write` — может вносить записи."""

    id: int
    subject_id: int
    subject: str
    class_id: int | None
    group_id: int | None
    name: str
    teacher_id: int | None
    teacher: str
    hours_per_week: float | None
    mine: bool
    can_write: bool


class Homework(msgspec.Struct):
    text: str
    minutes: int | None
    file_name: str | None
    due_date: str | None
    file_url: str | None


class StudentRef(msgspec.Struct):
    id: int
    name: str


class LessonColumn(msgspec.Struct):
    """Урок (столбец журнала): `recorded: false` — ещё не записан; `status` — held, substituted,
    cancelled…"""

    date: str
    number: int
    id: int | None
    recorded: bool
    topic: str | None
    work_type: str | None
    work_type_name: str | None
    is_control: bool
    plan_item_id: int | None
    status: str
    substitute_id: int | None
    status_reason: str | None
    homework: Homework | None
    register_taken: bool


class Lesson(LessonColumn):
    """Урок; `control_missing` — у кого нет отметки за контрольную."""

    control_missing: list[StudentRef]


class LessonSaved(Lesson):
    """Урок записан; `warnings` — предупреждения (например, вторая контрольная в классе в этот день)."""

    warnings: list[str]


class PlanRef(msgspec.Struct):
    id: int
    number: int
    topic: str
    work_type: str | None


class LessonView(Lesson):
    """Урок и тема КТП, которую предлагается записать (если тема ещё не записана)."""

    suggested_plan_item: PlanRef | None


class Grade(msgspec.Struct):
    position: int
    value: str
    work_type: str
    weight: float | None


class Cell(msgspec.Struct):
    """Клетка после записи: посещаемость (`mark`), отметки, текст клетки, средний балл и прогноз
    учащегося за период."""

    student_id: int
    date: str
    number: int
    mark: str | None
    grades: list[Grade]
    text: str
    warnings: list[str]
    average: float | None
    forecast: str | None


class CellView(msgspec.Struct):
    """Клетка журнала: посещаемость (`mark`), отметки с видами работ и весами, текст клетки."""

    student_id: int
    date: str
    number: int
    mark: str | None
    grades: list[Grade]
    text: str


class PeriodInfo(msgspec.Struct):
    id: int
    kind: str
    number: int
    starts_on: str
    ends_on: str
    closed: bool


class TimetableSlot(msgspec.Struct):
    weekday: int
    lesson_number: int
    room: str | None


class GridStudent(msgspec.Struct):
    """Учащийся журнала: даты прибытия и выбытия (`from`, `to`), средний балл, прогноз и число
    отметок за период."""

    id: int
    last_name: str
    first_name: str
    middle_name: str | None
    name: str
    from_: str | None = msgspec.field(name="from")
    to: str | None = None
    average: float | None = None
    forecast: str | None = None
    count: int = 0


class PeriodGradeValue(msgspec.Struct):
    student_id: int
    period_id: int
    value: str


class WorkType(msgspec.Struct):
    code: str
    name: str
    weight: float
    is_control: bool


class JournalGrid(JournalRow):
    """Журнал за период: периоды, расписание, уроки, учащиеся, клетки, итоговые отметки, виды
    работ с весами, порог прогноза. Без периода (`period: null`) списки пусты."""

    no_marks: bool
    period_kind: str | None
    periods: list[PeriodInfo]
    timetable: list[TimetableSlot]
    period: PeriodInfo | None
    lessons: list[LessonColumn]
    students: list[GridStudent]
    cells: list[CellView]
    period_grades: list[PeriodGradeValue]
    work_types: list[WorkType]
    threshold: float | None


class PeriodGrade(msgspec.Struct):
    journal_id: int
    period_id: int
    student_id: int
    value: str | None


def _name(last: str, first: str, middle: str) -> str:
    return " ".join(x for x in (last, first, middle) if x)


def _journal_json(j, user) -> dict:
    return {"id": j["id"], "subject_id": j["subject_id"], "subject": j["subject_name"], "class_id": j["class_id"],
            "group_id": j["group_id"], "name": j["target_name"], "teacher_id": j["teacher_id"],
            "teacher": _name(j["t_last"], j["t_first"], j["t_middle"]), "hours_per_week": j["hours_per_week"],
            "mine": j["teacher_id"] == user.person_id, "can_write": access.keeps(user, j)}


def _period_json(p) -> dict:
    return {"id": p["id"], "kind": p["kind"], "number": p["number"], "starts_on": p["starts_on"],
            "ends_on": p["ends_on"], "closed": p["closed_at"] is not None}


def _lesson_json(day: str, number: int, row) -> dict:
    """A column of the grid: the timetable's lesson, with what was recorded for it (if anything)."""
    if row is None:
        return {"date": day, "number": number, "id": None, "recorded": False, "topic": "", "work_type": None,
                "work_type_name": None, "is_control": False, "plan_item_id": None, "status": "held",
                "substitute_id": None, "status_reason": "", "homework": None, "register_taken": False}
    homework = None
    if row["hw_text"] or row["hw_file"]:
        homework = {"text": row["hw_text"] or "", "minutes": row["hw_minutes"], "file_name": row["hw_file"],
                    "due_date": row["hw_due"],
                    "file_url": f"/homework-files/{row['id']}" if row["hw_file"] else None}
    return {"date": day, "number": number, "id": row["id"], "recorded": True, "topic": row["topic"],
            "work_type": row["work_type"], "work_type_name": row["work_type_name"],
            "is_control": bool(row["is_control"]),
            "plan_item_id": row["plan_item_id"], "status": row["status"], "substitute_id": row["substitute_id"],
            "status_reason": row["status_reason"], "homework": homework,
            "register_taken": bool(row["register_taken"])}


def _cell_json(student_id: int, day: str, number: int, cell: dict, weights: dict) -> dict:
    return {"student_id": student_id, "date": day, "number": number, "mark": cell["mark"],
            "grades": [{"position": i, "value": v, "work_type": wt, "weight": weights.get(wt)}
                       for i, (v, wt) in enumerate(cell["grades"])],
            "text": cell_text(cell["mark"], [v for v, _ in cell["grades"]])}


@get("/api/v1/journals", opt=READERS, tags=TAGS, summary="Мои журналы")
async def api_journals(request: Request) -> list[JournalRow]:
    """Журналы текущего года, которые пользователь может открыть: свои, те, где он вёл урок на
    замене, журналы своего класса (классному руководителю); администрации — все. `mine` — журнал
    ведёт сам пользователь, `can_write` — может вносить записи (не считая уроков на замене)."""
    user = current_user(request)
    return [msgspec.convert(_journal_json(j, user), JournalRow)
            for j in await request.app.state.db.read(_journals, user)]


def _journals(conn, user) -> list:
    year = store.open_year(conn)
    return access.journals_for(conn, user, year["id"]) if year else []


@get("/api/v1/journals/{journal_id:int}", opt=READERS, dependencies=READ, tags=TAGS, summary="Журнал за период")
async def api_journal(request: Request, info: Readable, period: FromQuery[int | None] = None) -> JournalGrid:
    """Журнал за учебный период (`period` — id периода; по умолчанию текущий): уроки по расписанию
    (дата, номер урока, тема, вид работы, домашнее задание, состояние: проведён / на замене / не
    состоялся; `recorded: false` — урок ещё не записан), учащиеся (с датами прибытия и выбытия,
    средним баллом и прогнозом за период), клетки (отметки с видами работ и весами, посещаемость),
    итоговые отметки, виды работ с весами, расписание журнала."""
    out = _journal_json(info.row, current_user(request))
    out.update(await request.app.state.db.read(_grid, info, period, clock.today().isoformat()))
    return msgspec.convert(out, JournalGrid)


def _grid(conn, info: JournalInfo, period_id: int | None, today: str) -> dict:
    periods = store.periods_of(conn, info)
    if period_id is not None:
        chosen = next((p for p in periods if p["id"] == period_id), None)
        if chosen is None:
            raise NotFound("Такого учебного периода у этого журнала нет.")
    else:
        chosen = store.current_period(periods, today)
    out = dict(no_marks=info.no_marks, period_kind=info.period_kind, periods=[_period_json(p) for p in periods],
               timetable=[dict(r) for r in conn.execute(
                   "SELECT weekday, lesson_number, room FROM timetable_slot WHERE journal_id = ?"
                   " ORDER BY weekday, lesson_number", (info.id,))],
               period=None, lessons=[], students=[], cells=[], period_grades=[], work_types=[], threshold=None)
    if chosen is None:
        return out
    g = store.grid(conn, info, chosen)
    weights = {code: w["weight"] for code, w in g["work_types"].items()}
    out.update(
        period=_period_json(chosen),
        lessons=[_lesson_json(d, n, g["lessons"].get((d, n))) for d, n in g["columns"]],
        students=[{"id": s["id"], "last_name": s["last_name"], "first_name": s["first_name"],
                   "middle_name": s["middle_name"], "name": _name(s["last_name"], s["first_name"], s["middle_name"]),
                   "from": s["from"], "to": s["to"], **g["averages"].get(s["id"], {})} for s in g["students"]],
        cells=[_cell_json(sid, d, n, c, weights) for (sid, d, n), c in sorted(g["cells"].items())],
        period_grades=[{"student_id": sid, "period_id": pid, "value": v}
                       for (sid, pid), v in sorted(g["period_grades"].items())],
        work_types=[{"code": w["code"], "name": w["name"], "weight": w["weight"], "is_control": bool(w["is_control"])}
                    for w in g["work_types"].values()],
        threshold=g["threshold"])
    return out


def _lesson_out(conn, info: JournalInfo, day: str, number: int) -> dict:
    """A lesson as the API answers it (read in the job that wrote it, or in a read)."""
    day = parse_day(day)
    row = conn.execute(
        "SELECT l.*, h.text AS hw_text, h.minutes AS hw_minutes, h.file_name AS hw_file, h.due_date AS hw_due,"
        " wt.name AS work_type_name,"
        " wt.is_control, EXISTS (SELECT 1 FROM register_taken r WHERE r.lesson_id = l.id) AS register_taken"
        " FROM lesson l JOIN work_type wt ON wt.code = l.work_type"
        " LEFT JOIN homework h ON h.lesson_id = l.id WHERE l.journal_id = ? AND l.date = ? AND l.lesson_number = ?",
        (info.id, day, number)).fetchone()
    if row is None and not store.is_scheduled(info, day, number):
        raise NotFound("Такого урока нет в расписании журнала.")
    out = _lesson_json(day, number, row)
    missing = store.control_missing(conn, info, row) if row else []
    out["control_missing"] = [{"id": s["id"], "name": _name(s["last_name"], s["first_name"], s["middle_name"])}
                              for s in missing]
    return out


def _lesson_read(conn, info: JournalInfo, day: str, number: int) -> dict:
    out = _lesson_out(conn, info, day, number)
    item = None if out["topic"] else plan_store.next_item(conn, info.id, out["date"])
    out["suggested_plan_item"] = ({"id": item["id"], "number": item["number"], "topic": item["topic"],
                                   "work_type": item["work_type"]} if item else None)
    return out


@get(LESSON, opt=READERS, dependencies=READ, tags=TAGS, summary="Урок")
async def api_lesson(request: Request, info: Readable, day: FromPath[str], number: FromPath[int]) -> LessonView:
    """Урок: тема, вид работы, домашнее задание, состояние; для оценочной процедуры —
    присутствовавшие учащиеся, у которых ещё нет отметки (`control_missing`, п. 3.2.4);
    `suggested_plan_item` — следующая непройденная тема КТП, пока тема урока не записана."""
    return msgspec.convert(await request.app.state.db.read(_lesson_read, info, day, number), LessonView)


@dataclass
class LessonIn:
    topic: str = ""                 # обязательна, на русском языке (п. 2.7)
    work_type: str = "lesson"       # код вида работы: lesson, control, dictation …
    plan_item_id: int | None = None  # тема КТП, которую даёт урок
    reason: str = ""                # причина изменения (в закрытом периоде обязательна)


@put(LESSON, opt=WRITERS, tags=TAGS, summary="Записать урок")
async def api_lesson_save(request: Request, journal_id: FromPath[int], day: FromPath[str], number: FromPath[int],
                          data: JSONBody[LessonIn]) -> LessonSaved:
    """Записать урок (создать или изменить): тема, вид работы, тема КТП. Запись заменяется целиком.
    `warnings` — предупреждения о дне класса (больше одной оценочной процедуры, домашнее задание
    сверх норм СанПиН)."""
    answer = await request.app.state.db.write(_save_lesson, current_user(request), journal_id, day, number,
                                              data)
    return msgspec.convert(answer, LessonSaved)


def _save_lesson(conn, user, journal_id: int, day: str, number: int, data: LessonIn) -> dict:
    saved = writes.save_lesson(conn, user, journal_id, day, number, data.topic, data.work_type, data.plan_item_id,
                               data.reason[:200])
    return {**_lesson_out(conn, saved.info, saved.day, number), "warnings": saved.warnings}


@dataclass
class LessonStatusIn:
    status: str = ""                  # held — проведён, substituted — на замене, cancelled — не состоялся
    substitute_id: int | None = None  # учитель на замене (id человека)
    status_reason: str = ""           # причина (для несостоявшегося урока обязательна)
    reason: str = ""


@put(LESSON + "/status", opt=WRITERS, tags=TAGS, summary="Замена или пропуск урока")
async def api_lesson_status(request: Request, journal_id: FromPath[int], day: FromPath[str], number: FromPath[int],
                            data: JSONBody[LessonStatusIn]) -> Lesson:
    """Замена и пропуск урока (п. 3.4.4): проведён учителем на замене или не состоялся (с причиной).
    Отмечает учитель журнала или заместитель директора."""
    answer = await request.app.state.db.write(_save_status, current_user(request), journal_id, day, number,
                                              data)
    return msgspec.convert(answer, Lesson)


def _save_status(conn, user, journal_id: int, day: str, number: int, data: LessonStatusIn) -> dict:
    saved = writes.set_lesson_status(conn, user, journal_id, day, number, data.status, data.substitute_id,
                                     data.status_reason, data.reason[:200])
    return _lesson_out(conn, saved.info, saved.day, number)


@dataclass
class RegisterIn:
    taken: bool = True   # посещаемость отмечена (в том числе когда присутствовали все); false — снять
    reason: str = ""     # в закрытом периоде обязательна


@put(LESSON + "/register", opt=WRITERS, tags=TAGS, summary="Посещаемость отмечена")
async def api_register_save(request: Request, journal_id: FromPath[int], day: FromPath[str], number: FromPath[int],
                            data: JSONBody[RegisterIn]) -> Lesson:
    """«Посещаемость отмечена» (п. 3.2.2): учитель отметил присутствующих на уроке — и тогда, когда
    отсутствующих нет. Ставит учитель журнала, заместитель директора или учитель на замене этого
    урока; кто и когда — в журнале изменений (контроль ведения журнала, п. 3.4.4)."""
    answer = await request.app.state.db.write(_save_register, current_user(request), journal_id, day, number,
                                              data)
    return msgspec.convert(answer, Lesson)


def _save_register(conn, user, journal_id: int, day: str, number: int, data: RegisterIn) -> dict:
    saved = writes.set_register(conn, user, journal_id, day, number, bool(data.taken), data.reason[:200])
    return _lesson_out(conn, saved.info, saved.day, number)


@dataclass
class HomeworkIn:
    text: str = ""               # пустой текст без файла — задание снимается
    minutes: int | None = None   # сколько минут займёт (для норм СанПиН)
    remove_file: bool = False    # убрать приложенный файл
    due_date: str | None = None  # к какому дню (ГГГГ-ММ-ДД); пусто — к следующему уроку журнала
    reason: str = ""


@put(LESSON + "/homework", opt=WRITERS, tags=TAGS, summary="Домашнее задание")
async def api_homework_save(request: Request, journal_id: FromPath[int], day: FromPath[str], number: FromPath[int],
                            data: JSONBody[HomeworkIn]) -> LessonSaved:
    """Домашнее задание к уроку (п. 3.2.6): текст и время в минутах, срок `due_date` (по умолчанию —
    следующий урок журнала); приложенный файл остаётся, пока не указано `remove_file`. `warnings` — если у класса в этот день задано больше нормы СанПиН."""
    answer = await request.app.state.db.write(_save_homework, current_user(request), journal_id, day, number,
                                              data)
    return msgspec.convert(answer, LessonSaved)


def _save_homework(conn, user, journal_id: int, day: str, number: int, data: HomeworkIn) -> dict:
    saved = writes.set_homework(conn, user, journal_id, day, number, data.text, data.minutes, None,
                                data.remove_file, data.reason[:200], data.due_date or None)
    return {**_lesson_out(conn, saved.info, saved.day, number), "warnings": saved.warnings}


def _attach_file(conn, user, journal_id: int, day: str, number: int, stored: tuple[str, str, int],
                 reason: str) -> dict:
    saved = writes.attach_homework_file(conn, user, journal_id, day, number, stored, reason)
    return {**_lesson_out(conn, saved.info, saved.day, number), "warnings": saved.warnings}


@post(LESSON + "/homework/file", opt=WRITERS, tags=TAGS, summary="Файл домашнего задания", status_code=200,
      request_max_body_size=files.UPLOAD_LIMIT, exception_handlers=too_large(files.TOO_LARGE_UPLOAD))
async def api_homework_file(request: Request, journal_id: FromPath[int], day: FromPath[str],
                            number: FromPath[int]) -> LessonSaved:
    """Приложить файл к домашнему заданию: тело multipart/form-data, поле `file` (не больше 10 МБ),
    необязательное поле `reason`; прежний файл заменяется, текст задания остаётся. Скачать —
    GET /homework-files/{id урока}."""
    db, user = request.app.state.db, current_user(request)
    # The form is read by hand, after the checks: a refused request never has its file read
    # (the write decides again inside its own transaction).
    await db.read(access.for_upload, user, journal_id, day, number)
    form = await request.form() if request.content_type[0] == "multipart/form-data" else {}
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise JournalError("Приложите файл (поле file, multipart/form-data).")
    content = await upload.read()
    if len(content) > files.MAX_HOMEWORK_FILE:
        raise JournalError(files.TOO_LARGE)
    data_dir = request.app.state.settings.data_dir
    stored = files.store_homework_file(data_dir, upload.filename, content)
    try:
        answer = await db.write(_attach_file, user, journal_id, day, number, stored,
                                str(form.get("reason") or "")[:200])
        return msgspec.convert(answer, LessonSaved)
    except Exception:
        files.discard(data_dir, stored)
        raise


def _cell_out(conn, saved: writes.Written, number: int, student_id: int) -> dict:
    """The cell as the API answers it, with the student's average and forecast. Read inside the
    write job that changed the cell: what it has just written, no read after."""
    info, day = saved.info, saved.day
    grades = conn.execute(
        "SELECT g.position, g.value, g.work_type, wt.weight FROM grade g JOIN lesson l ON l.id = g.lesson_id"
        " JOIN work_type wt ON wt.code = g.work_type"
        " WHERE l.journal_id = ? AND l.date = ? AND l.lesson_number = ? AND g.student_id = ? ORDER BY g.position",
        (info.id, day, number, student_id)).fetchall()
    row = conn.execute(
        "SELECT a.mark FROM attendance a JOIN lesson l ON l.id = a.lesson_id"
        " WHERE l.journal_id = ? AND l.date = ? AND l.lesson_number = ? AND a.student_id = ?",
        (info.id, day, number, student_id)).fetchone()
    mark = row[0] if row else None
    summary = store.student_period_summary(conn, info, student_id, day)
    return {"student_id": student_id, "date": day, "number": number, "mark": mark,
            "grades": [dict(g) for g in grades], "text": cell_text(mark, [g["value"] for g in grades]),
            "warnings": saved.warnings, **summary}


@dataclass
class CellIn:
    value: str = ""   # как в клетке журнала: «5», «5/4», «н», «оп 4», «зч»; пусто — очистить клетку
    reason: str = ""


def _save_cell(conn, user, journal_id: int, day: str, number: int, student_id: int, value: str,
               reason: str) -> dict:
    saved = writes.set_cell(conn, user, journal_id, day, number, student_id, value[:40], reason[:200])
    return _cell_out(conn, saved, number, student_id)


@put(CELL, opt=WRITERS, tags=TAGS, summary="Записать клетку")
async def api_cell_save(request: Request, journal_id: FromPath[int], day: FromPath[str], number: FromPath[int],
                        student_id: FromPath[int], data: JSONBody[CellIn]) -> Cell:
    """Клетка журнала — то, что учитель набирает в ней (п. 3.2.2–3.2.3): отметки (до трёх, «5/4»)
    и/или посещаемость (Н, Б, У, ОП); содержимое клетки заменяется. Ответ — клетка, средний балл
    и прогноз учащегося за период."""
    answer = await request.app.state.db.write(_save_cell, current_user(request), journal_id, day, number, student_id,
                                              data.value, data.reason)
    return msgspec.convert(answer, Cell)


@delete(CELL, opt=WRITERS, tags=TAGS, summary="Очистить клетку", status_code=200)
async def api_cell_clear(request: Request, journal_id: FromPath[int], day: FromPath[str], number: FromPath[int],
                         student_id: FromPath[int], reason: FromQuery[str] = "") -> Cell:
    """Очистить клетку: снять отметки и посещаемость (в истории клетки удаление сохраняется).
    В закрытом периоде — только заместитель директора, с причиной (`reason`)."""
    answer = await request.app.state.db.write(_save_cell, current_user(request), journal_id, day, number, student_id,
                                              "", reason)
    return msgspec.convert(answer, Cell)


@dataclass
class AttendanceIn:
    mark: str | None = None   # Н, Б, У, ОП; пусто — присутствовал
    reason: str = ""


def _save_attendance(conn, user, journal_id: int, day: str, number: int, student_id: int, mark: str | None,
                     reason: str) -> dict:
    saved = writes.set_attendance(conn, user, journal_id, day, number, student_id, mark, reason[:200])
    return _cell_out(conn, saved, number, student_id)


@put(CELL + "/attendance", opt=WRITERS, tags=TAGS, summary="Посещаемость")
async def api_attendance_save(request: Request, journal_id: FromPath[int], day: FromPath[str],
                              number: FromPath[int], student_id: FromPath[int],
                              data: JSONBody[AttendanceIn]) -> Cell:
    """Посещаемость учащегося на уроке: Н, Б, У, ОП или пусто; отметки в клетке остаются
    (отсутствовавшему отметку поставить нельзя — тогда 400)."""
    answer = await request.app.state.db.write(_save_attendance, current_user(request), journal_id, day, number,
                                              student_id, data.mark, data.reason)
    return msgspec.convert(answer, Cell)


@dataclass
class GradeTypeIn:
    work_type: str = ""   # код вида работы: lesson, control, homework …
    reason: str = ""


@put(CELL + "/grades/{position:int}", opt=WRITERS, tags=TAGS, summary="Вид работы отметки")
async def api_grade_type_save(request: Request, journal_id: FromPath[int], day: FromPath[str],
                              number: FromPath[int], student_id: FromPath[int], position: FromPath[int],
                              data: JSONBody[GradeTypeIn]) -> Cell:
    """Вид работы (и тем самым вес) одной отметки клетки; `position` — её номер в клетке с 0."""
    answer = await request.app.state.db.write(_save_grade_type, current_user(request), journal_id, day, number,
                                              student_id, position, data)
    return msgspec.convert(answer, Cell)


def _save_grade_type(conn, user, journal_id: int, day: str, number: int, student_id: int, position: int,
                     data: GradeTypeIn) -> dict:
    saved = writes.set_grade_work_type(conn, user, journal_id, day, number, student_id, position, data.work_type,
                                       data.reason[:200])
    return _cell_out(conn, saved, number, student_id)


@dataclass
class PeriodGradeIn:
    value: str | None = None   # 5, 4, 3, 2, зч, нз, н/а, осв; пусто — снять
    reason: str = ""           # в закрытом периоде обязательна (изменяет только заместитель директора)


@put("/api/v1/journals/{journal_id:int}/period-grades/{period_id:int}/{student_id:int}", opt=WRITERS, tags=TAGS,
     summary="Итоговая отметка")
async def api_period_grade_save(request: Request, journal_id: FromPath[int], period_id: FromPath[int],
                                student_id: FromPath[int], data: JSONBody[PeriodGradeIn]) -> PeriodGrade:
    """Итоговая отметка за период (п. 3.2.7): ставит учитель журнала или заместитель директора."""
    value = await request.app.state.db.write(writes.set_period_grade, current_user(request), journal_id, period_id,
                                             student_id, (data.value or "")[:10], data.reason[:200])
    return PeriodGrade(journal_id, period_id, student_id, value)


ROUTES = [api_journals, api_journal, api_lesson, api_lesson_save, api_lesson_status, api_register_save, api_homework_save,
          api_homework_file, api_cell_save, api_cell_clear, api_attendance_save, api_grade_type_save,
          api_period_grade_save]
