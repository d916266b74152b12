"""jrsv/decode"""
