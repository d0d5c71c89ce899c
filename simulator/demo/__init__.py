"""The teaching demo: a small territory run row by row (``world``), every document rendered as a
file (``documents``), its flow graph (``network``) and the day-by-day narration (``teaching``)."""
