"""The КТП — calendar-thematic plan of a journal (§1.4.2, §3.2.1): its own area, as DESIGN.md
draws it. rules.py checks items; files.py reads and writes КТП files (CSV/XLSX); store.py
reads; writes.py changes the plan (recorded in the ledger); routes.py and api.py are the
page and the JSON API. Who may read or change a journal's plan is the journal's own rule
(server/journal/access.py). See README.md beside this file."""
