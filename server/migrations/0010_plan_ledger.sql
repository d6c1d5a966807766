-- The КТП joins the ledger (issue 10): who changed a journal's plan, and when, is read from
-- the hash-chained audit log (entries `plan_item:<journal>:<item>`, the action named in their
-- reason), so the plan's own history table goes. The КТП, the grading settings and the work
-- types are recorded as they stand at the next start (server/ledger.py, extend_coverage);
-- the plan's earlier history (plan_log) is not carried over: the ledger's chain is hashed by
-- the program, not by SQL.
DROP TABLE plan_log;
