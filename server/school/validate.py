"""Parsing what people type into forms and files: dates, times, names, classes."""

from __future__ import annotations

import re
from datetime import datetime

from .. import clock
from .errors import SchoolError

CLASS_LETTERS = "АБВГДЕЖЗИКЛМНОПРСТУФХЦЧШЭЮЯ"
WEEKDAYS = {1: "Понедельник", 2: "Вторник", 3: "Среда", 4: "Четверг", 5: "Пятница", 6: "Суббота"}
PERIOD_KINDS = {"quarter": "четверть", "trimester": "триместр", "half": "полугодие", "year": "год"}
PERIOD_KIND_PLURAL = {"quarter": "четверти", "trimester": "триместры", "half": "полугодия"}
GROUP_KINDS = {
    "subgroup": "подгруппа класса",
    "elective": "факультатив / элективный курс",
    "igz": "ИГЗ",
    "individual": "индивидуальный учебный план",
    "home": "обучение на дому",
}
STUDY_FORMS = ("очная", "семейная", "на дому", "индивидуальный план")
RELATIONS = ("мать", "отец", "опекун", "попечитель", "законный представитель")


def parse_date(text: str, what: str = "Дата") -> str:
    """'30.11.2026', '30.11.26' or '2026-11-30' → '2026-11-30'."""
    text = (text or "").strip()
    if not text:
        raise SchoolError(f"{what}: не указана.")
    for fmt in ("%d.%m.%Y", "%Y-%m-%d", "%d.%m.%y", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            continue
    raise SchoolError(f"{what}: «{text[:30]}» — не дата (нужно ДД.ММ.ГГГГ).")


def parse_time(text: str, what: str = "Время") -> str:
    m = re.fullmatch(r"\s*(\d{1,2})[:.](\d{2})\s*", text or "")
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise SchoolError(f"{what}: «{(text or '')[:10]}» — нужно ЧЧ:ММ, например 08:30.")
    return f"{int(m.group(1)):02d}:{m.group(2)}"


def parse_int(text, what: str, lo: int, hi: int) -> int:
    try:
        value = int(str(text).strip())
    except (TypeError, ValueError):
        raise SchoolError(f"{what}: нужно целое число от {lo} до {hi}.") from None
    if not lo <= value <= hi:
        raise SchoolError(f"{what}: нужно число от {lo} до {hi}.")
    return value


def parse_hours(text) -> float:
    try:
        value = float(str(text).replace(",", ".").strip())
    except (TypeError, ValueError):
        raise SchoolError("Часов в неделю: нужно число, например 3 или 0,5.") from None
    if not 0 < value <= 40 or (value * 2) != int(value * 2):
        raise SchoolError("Часов в неделю: от 0,5 до 40, с шагом 0,5.")
    return value


def parse_class_name(text: str) -> tuple[int, str]:
    """'5А', '5 а', '11-Б' → (5, 'А')."""
    m = re.fullmatch(r"\s*(\d{1,2})\s*[-–]?\s*([А-Яа-яЁё])\s*", text or "")
    if not m:
        raise SchoolError(f"Класс «{(text or '')[:20]}» не распознан: нужно, например, 5А.")
    parallel, letter = int(m.group(1)), m.group(2).upper()
    if not 1 <= parallel <= 11:
        raise SchoolError(f"Класс «{text.strip()}»: параллель должна быть от 1 до 11.")
    if letter not in CLASS_LETTERS:
        raise SchoolError(f"Класс «{text.strip()}»: недопустимая буква «{letter}».")
    return parallel, letter


_NAME = re.compile(r"[А-Яа-яЁё][А-Яа-яЁё' -]*")


def clean_name(text: str, what: str, required: bool = True) -> str:
    """A part of a Russian name, trimmed and with single spaces; Cyrillic only."""
    value = " ".join((text or "").split())
    if not value:
        if required:
            raise SchoolError(f"{what}: не указано.")
        return ""
    if len(value) > 60 or not _NAME.fullmatch(value):
        raise SchoolError(f"{what}: «{value[:30]}» — допустимы только русские буквы, дефис и пробел.")
    return value[0].upper() + value[1:]


def parse_sex(text: str) -> str:
    value = (text or "").strip().lower()
    if value in ("м", "муж", "мужской", "m"):
        return "м"
    if value in ("ж", "жен", "женский", "f"):
        return "ж"
    raise SchoolError(f"Пол: «{(text or '')[:10]}» — укажите м или ж.")


def parse_phone(text: str) -> str | None:
    digits = re.sub(r"\D", "", text or "")
    if not digits:
        return None
    if len(digits) == 11 and digits[0] in "78":
        digits = "7" + digits[1:]
    elif len(digits) == 10:
        digits = "7" + digits
    else:
        raise SchoolError(f"Телефон «{text.strip()[:20]}» не распознан: нужно, например, +7 900 123-45-67.")
    return f"+7 {digits[1:4]} {digits[4:7]}-{digits[7:9]}-{digits[9:11]}"


def parse_email(text: str) -> str | None:
    value = (text or "").strip()
    if not value:
        return None
    if len(value) > 100 or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
        raise SchoolError(f"E-mail «{value[:40]}» не похож на адрес электронной почты.")
    return value.lower()


def ru_class_name(parallel: int, letter: str) -> str:
    return f"{parallel}{letter}"


def today_iso() -> str:
    return clock.today().isoformat()
