"""Query -> candidates per component -> fused, explained hits."""
