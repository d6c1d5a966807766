"""The timetable of a date (§3.4.4 g): the weekly timetable plus the changes the deputy plans
— substitutions for a teacher away, lessons moved, extra lessons, cancellations — and the
teacher's day and week that read it. See README.md."""
