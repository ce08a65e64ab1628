"""nanolive.analysis"""
