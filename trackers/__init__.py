"""nanolive.trackers"""
