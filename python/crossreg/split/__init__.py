"""The synteny split: :mod:`.synteny` computes it, :mod:`.report` writes its files and
reports, :mod:`.defaults` holds its default settings (importable without numpy)."""
