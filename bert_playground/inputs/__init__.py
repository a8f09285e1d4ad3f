"""Text in: cleaning, tokenizing and padding; the input representation (token + segment + position); reading corpora."""
