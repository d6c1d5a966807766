"""Messages (§1.4.8, §3.3.3): threads between staff and families, read receipts,
attachments, pinned announcements, and the class teacher's informing of families (§3.3.4)."""
