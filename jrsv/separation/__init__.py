"""jrsv/separation"""
