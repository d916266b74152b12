"""jrsv/train"""
