"""Ground-floor primitives every layer may use: paths, atomic writes, rounding, the number
format, Markdown, tidy results, the vocabulary of labels and terminal output."""
