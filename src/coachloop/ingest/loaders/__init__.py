"""One module per import kind: how its rows are checked, resolved and published."""
