"""Reports and journal control (issue 13): see README.md beside this file."""
