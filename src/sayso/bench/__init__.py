"""The benchmark: WAV scenarios through the real pipeline and the naive baseline (``sayso bench``)."""
