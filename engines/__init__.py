"""nanolive.engines"""
