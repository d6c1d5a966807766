"""The class journal (§3.2): lessons, КТП, attendance, grades, homework, period grades, audit."""
