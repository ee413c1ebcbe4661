"""Pretrained encoders behind one small interface (see base.py)."""
