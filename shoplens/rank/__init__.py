"""The learned ranker: features from a search's candidates, the log and the shopper's profile; an MLP
trained in torch on logged clicks (position bias corrected), served by ONNX Runtime; versioned in
STORE/ranker/. The engine re-ranks its fused candidates with it (`Engine.search_query`)."""
