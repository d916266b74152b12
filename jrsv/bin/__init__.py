"""jrsv/bin"""
