"""nanolive.bench"""
