"""nanolive.sim"""
