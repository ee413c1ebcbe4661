"""The encode stage: run encoders over products, through a persistent feature cache."""
