"""Audio: reading/writing files, format conversion, VAD and streaming segmentation."""
