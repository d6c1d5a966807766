"""What may be typed into the journal and the school's limits (§3.2, SanPiN)."""

from __future__ import annotations

import re
from datetime import date

from ..errors import UserError


class JournalError(UserError):
    """A journal entry that cannot be taken; the message is Russian and says why."""


class ReasonRequired(JournalError):
    """The period is closed: the deputy may change it, with a reason (the grid then asks)."""


GRADES = ("5", "4", "3", "2", "1", "зч", "нз")
NUMERIC = {"5": 5, "4": 4, "3": 3, "2": 2, "1": 1}
ATTENDANCE = ("Н", "Б", "У", "ОП")
ATTENDANCE_LABELS = {"Н": "отсутствовал(а) без уважительной причины", "Б": "болел(а)",
                     "У": "отсутствовал(а) по уважительной причине", "ОП": "опоздал(а)"}
ABSENT = ("Н", "Б", "У")
PERIOD_GRADES = ("5", "4", "3", "2", "зч", "нз", "н/а", "осв")
PERIOD_GRADE_LABELS = {"н/а": "не аттестован(а)", "осв": "освобождён(а)"}
# SanPiN 1.2.3685-21: the longest daily homework, minutes, by parallel.
HOMEWORK_LIMIT_MINUTES = {1: 60, 2: 90, 3: 90, 4: 120, 5: 120, 6: 150, 7: 150, 8: 150, 9: 210, 10: 210, 11: 210}
MAX_GRADES_PER_CELL = 3

# A teacher whose keyboard is left on the Latin layout types "y" for "н": take it.
LATIN_LAYOUT = str.maketrans("qwertyuiop[]asdfghjkl;'zxcvbnm,.", "йцукенгшщзхъфывапролджэячсмитьбю")
_TOKEN = re.compile(r"[\s/,;]+")


def parse_cell(text: str) -> tuple[str | None, list[str]]:
    """'5/4' → (None, ['5','4']); 'н' → ('Н', []); 'оп 5' → ('ОП', ['5']); '' → (None, [])."""
    raw = (text or "").strip().lower().replace("ё", "е")
    if not raw:
        return None, []
    # Typed in the Latin layout: letters, or the keys that are letters in Russian — «,» is «б»,
    # so a lone "," is Б (it used to be read as a separator and cleared the cell).
    if re.search(r"[a-z]", raw) or re.fullmatch(r"[\s\[\];',.]+", raw):
        raw = raw.translate(LATIN_LAYOUT)
    mark = None
    grades: list[str] = []
    tokens = [t for part in _TOKEN.split(raw) for t in re.findall(r"[а-я]+|\d|[^\sа-я\d]+", part)]
    for token in tokens:
        if token.upper() in ATTENDANCE:
            if mark:
                raise JournalError("В клетке может быть только одна отметка посещаемости.")
            mark = token.upper()
        elif token in GRADES:
            grades.append(token)
        else:
            raise JournalError(f"«{token[:10]}» — не отметка. Можно: 5, 4, 3, 2, зч, нз, а также Н, Б, У, ОП.")
    if mark is None and not grades:
        # Something was typed, nothing in it is a mark: refuse, never clear the cell.
        raise JournalError(f"«{text.strip()[:10]}» — не отметка. Можно: 5, 4, 3, 2, зч, нз, а также Н, Б, У, ОП. "
                           "Чтобы очистить клетку, сотрите её содержимое.")
    if len(grades) > MAX_GRADES_PER_CELL:
        raise JournalError(f"В одной клетке не больше {MAX_GRADES_PER_CELL} отметок.")
    if mark in ABSENT and grades:
        raise JournalError("Учащийся отсутствовал на уроке: отметку за этот урок поставить нельзя.")
    return mark, grades


def parse_day(text) -> str:
    """A lesson's date as typed or sent (ГГГГ-ММ-ДД), in the form it is stored."""
    try:
        return date.fromisoformat(str(text or "")).isoformat()
    except ValueError:
        raise JournalError("Неверная дата урока.") from None


def cell_text(mark: str | None, grades: list[str]) -> str:
    return " ".join(x for x in (mark, "/".join(grades)) if x)


def check_topic(topic: str) -> str:
    """§2.7: the topic is mandatory and written in Russian."""
    topic = " ".join((topic or "").split())
    if not topic:
        raise JournalError("Укажите тему урока (п. 2.7 Регламента: тема обязательна).")
    if len(topic) > 300:
        raise JournalError("Тема урока слишком длинная (не больше 300 знаков).")
    cyr = len(re.findall(r"[А-Яа-яЁё]", topic))
    lat = len(re.findall(r"[A-Za-z]", topic))
    if cyr == 0 or lat > cyr:
        raise JournalError("Тема урока записывается на русском языке (п. 2.7 Регламента), "
                           "в том числе на уроках иностранного языка.")
    return topic


def weighted_average(grades: list[tuple[str, float]]) -> float | None:
    """Σ(отметка × вес) / Σ(вес) over numeric grades; зч/нз do not count."""
    total = weight = 0.0
    for value, w in grades:
        if value in NUMERIC:
            total += NUMERIC[value] * w
            weight += w
    return round(total / weight, 2) if weight else None


def forecast(average: float | None, threshold: float) -> str | None:
    """The period grade the average points to: 3.5 → 4 when the threshold is 0.5."""
    if average is None:
        return None
    whole = int(average)
    grade = whole + (1 if average - whole >= threshold - 1e-9 else 0)
    return str(min(max(grade, 2), 5))
