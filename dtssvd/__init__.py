"""dtssvd"""
