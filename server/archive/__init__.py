"""The journal's archive (issue 14): sealed PDF/XLSX copies of the journals and the сводная ведомость."""
