"""jrsv/data"""
