"""The school: its details, academic years, classes, students and their parents."""
