"""Import of class lists (students with their parents) and of staff (§3.5.1) from the files schools
have: CSV, Excel (.xlsx, .xls), LibreOffice (.ods), Word tables (.docx) — see server/school/README.md.

No web here (the pages are server/school/import_routes.py). Three steps:
- read (`files.read_table`): the uploaded bytes → rows of text cells under the header row,
  each with the row number the person sees in Excel (server/tables.py does the reading);
- check (`apply.check`, by `students` and `staff`): every row against one snapshot of the
  school; the Plan (`rows`) names every bad row with all its reasons, or says what would be
  created and what skipped;
- apply (`apply.run_import`): check again and apply inside one `db.write` transaction — every
  person, account, role, enrolment and parent link a ledger entry of the importer — and
  record the import in import_log.
Between the check and the confirmation the file waits in DATA/imports/ (`pending`).

Matching, so that importing the same file twice creates nothing new: students by
ФИО + date of birth; parents by ФИО among the same student's parents, else by ФИО +
phone or ФИО + e-mail (never by name alone); staff by ФИО among staff.
"""

from __future__ import annotations

# What the app uses (the КТП reads its files through server/tables.py, as this package does).
from .files import read_table
from .pending import PENDING_TTL_SECONDS, purge_pending

__all__ = ["PENDING_TTL_SECONDS", "purge_pending", "read_table"]
