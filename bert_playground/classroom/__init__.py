"""Lesson mode's exercise sets."""
