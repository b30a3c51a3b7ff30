"""Text helpers every stage may use: normalising text and matching it, figures and units, place names."""
