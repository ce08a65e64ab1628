"""nanolive.stream"""
