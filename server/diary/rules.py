"""Pure arithmetic the diary shows: the average's formula, the "what grade do I need" helper,
the running average for the chart. No database here: the journal's rules decide what an
average and a forecast are (journal.rules.weighted_average / forecast); this module only
explains them to a family."""

from __future__ import annotations

from datetime import date

from ..journal.rules import NUMERIC, forecast, weighted_average

# More fives than this in one period is not advice anyone can follow.
MAX_ADVICE_COUNT = 30


def ru_number(value: float, decimals: int | None = None) -> str:
    """4.666 → '4,67' (decimals=2); 1.5 → '1,5'; 2.0 → '2'."""
    if decimals is not None:
        return f"{value:.{decimals}f}".replace(".", ",")
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text.replace(".", ",")


def formula(grades: list[tuple[str, float]]) -> str | None:
    """«(5×2 + 4×1) / (2 + 1) = 4,67» over the numeric grades; None when there are none."""
    numeric = [(v, w) for v, w in grades if v in NUMERIC]
    if not numeric:
        return None
    avg = weighted_average(numeric)
    top = " + ".join(f"{v}×{ru_number(w)}" for v, w in numeric)
    bottom = " + ".join(ru_number(w) for _, w in numeric)
    if len(numeric) == 1:
        return f"{top} / {bottom} = {ru_number(avg, 2)}"
    return f"({top}) / ({bottom}) = {ru_number(avg, 2)}"


def plural(n: int, one: str, few: str, many: str) -> str:
    """Russian plural: 1 пятёрка, 2 пятёрки, 5 пятёрок, 21 пятёрка."""
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many


GRADE_WORDS = {"5": ("пятёрка", "пятёрки", "пятёрок"), "4": ("четвёрка", "четвёрки", "четвёрок")}


def _count_needed(grades: list[tuple[str, float]], value: str, weight: float, target: int,
                  threshold: float) -> int | None:
    """How many more `value` grades of `weight` bring the forecast to at least `target`."""
    added: list[tuple[str, float]] = []
    for n in range(1, MAX_ADVICE_COUNT + 1):
        added.append((value, weight))
        result = forecast(weighted_average(grades + added), threshold)
        if result is not None and int(result) >= target:
            return n
    return None


def what_i_need(grades: list[tuple[str, float]], threshold: float,
                work_types: list[tuple[str, float]]) -> dict:
    """Which next grades move the forecast up, and which one grade would bring it down.

    `work_types` are (name, weight) of the kinds of work to count in, lightest first (урок,
    контрольная работа). Returns {"forecast", "targets": [{"target", "ways": [{"count",
    "value", "work_type", "weight"}]}], "risk": {"value", "work_type", "forecast"} | None}."""
    current = forecast(weighted_average(grades), threshold)
    out: dict = {"forecast": current, "targets": [], "risk": None}
    if current is None:
        return out
    for target in range(int(current) + 1, 6):
        ways = []
        for value in ("5", "4"):
            if int(value) < target - 1 + threshold:
                continue  # fours alone never lift the average to a forecast of 5
            for name, weight in work_types if value == "5" else work_types[:1]:
                count = _count_needed(grades, value, weight, target, threshold)
                # A heavier work that needs as many grades, or a way beyond reach, adds nothing.
                if ways and (count is None or any(w["count"] == count and w["value"] == value for w in ways)):
                    continue
                ways.append({"count": count, "value": value, "work_type": name, "weight": weight})
        out["targets"].append({"target": str(target), "ways": ways})
    if work_types:
        name, weight = work_types[0]
        for value in ("4", "3", "2"):
            after = forecast(weighted_average(grades + [(value, weight)]), threshold)
            if after is not None and int(after) < int(current):
                out["risk"] = {"value": value, "work_type": name, "forecast": after}
                break
    return out


def advice_lines(advice: dict) -> list[str]:
    """The helper's result as sentences a parent reads."""
    current = advice["forecast"]
    if current is None:
        return ["Отметок пока нет: прогноз появится после первой отметки."]
    lines = []
    for t in advice["targets"]:
        parts = []
        for way in t["ways"]:
            words = GRADE_WORDS[way["value"]]
            kind = f"({way['work_type']}, вес {ru_number(way['weight'])})"
            if way["count"] is None:
                parts.append(f"больше {MAX_ADVICE_COUNT} {words[2]} {kind}")
            else:
                parts.append(f"{way['count']} {plural(way['count'], *words)} {kind}")
        if parts:
            lines.append(f"Чтобы прогноз стал «{t['target']}»: ещё " + " или ".join(parts) + ".")
    if not advice["targets"]:
        lines.append("Прогноз — «5», это высшая отметка.")
    risk = advice["risk"]
    if risk:
        lines.append(f"Одна отметка «{risk['value']}» ({risk['work_type']}) снизит прогноз до «{risk['forecast']}».")
    elif current != "2":
        lines.append("Даже одна отметка «2» за урок прогноз не снизит.")
    return lines


def running_average(grades: list[tuple[str, str, float]]) -> list[tuple[str, float]]:
    """(date, value, weight) in date order → the weighted average at the end of each day."""
    points: list[tuple[str, float]] = []
    seen: list[tuple[str, float]] = []
    for day, value, weight in grades:
        if value not in NUMERIC:
            continue
        seen.append((value, weight))
        avg = weighted_average(seen)
        if points and points[-1][0] == day:
            points[-1] = (day, avg)
        else:
            points.append((day, avg))
    return points


def chart(points: list[tuple[str, float]], start: str, end: str, width: int = 320, height: int = 110) -> dict | None:
    """Coordinates of a small SVG line chart of the running average from `start` to `end`.

    The template draws it with presentation attributes and CSS classes (the CSP forbids
    inline styles). Values 2…5 fill the height (1 when a grade of 1 pulls it that low)."""
    if not points:
        return None
    left, right, top, bottom = 26, 8, 8, 18
    first, last = date.fromisoformat(start), date.fromisoformat(max(end, points[-1][0]))
    span = max((last - first).days, 1)
    low = 1 if min(v for _, v in points) < 2 else 2
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(day: str) -> float:
        return round(left + plot_w * (date.fromisoformat(day) - first).days / span, 1)

    def y(value: float) -> float:
        return round(top + plot_h * (5 - value) / (5 - low), 1)

    dots = [{"x": x(d), "y": y(v), "title": f"{date.fromisoformat(d):%d.%m.%Y}: {ru_number(v, 2)}"}
            for d, v in points]
    return {
        "width": width, "height": height,
        "line": " ".join(f"{p['x']},{p['y']}" for p in dots),
        "dots": dots,
        "levels": [{"y": y(v), "label": str(v)} for v in range(low, 6)],
        "x0": left, "x1": width - right, "y_axis": height - 4,
        "start_label": f"{first:%d.%m}", "end_label": f"{last:%d.%m}",
        "summary": f"Средний балл с {first:%d.%m.%Y} по {last:%d.%m.%Y}: от {ru_number(points[0][1], 2)} "
                   f"до {ru_number(points[-1][1], 2)}",
    }
