"""jrsv/asr"""
