-- The day homework is due (§3.2.6 keeps it at the lesson it was set; families look for «ДЗ на
-- завтра»): the date the teacher chose, or NULL — the journal's next lesson that takes place,
-- read from the timetable of dates (server/timetable/dated.py). Older ledger entries of
-- homework read as NULL (ledger.TABLES' `added`).
ALTER TABLE homework ADD COLUMN due_date TEXT;
