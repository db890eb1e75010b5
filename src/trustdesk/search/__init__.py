"""Search for staff: by case, report or subject id, by text, and by exact personal identifier."""
